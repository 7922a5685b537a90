//! The catalog profile against the seed, the `dangan catalog` and `dangan danghao` commands, and
//! malformed-profile refusals.

use std::collections::BTreeSet;
use std::path::PathBuf;

mod common;

use assert_cmd::Command;
use dangan::catalog::{Carrier, Catalog, Danghao, Electronic, Kind, Retention};
use predicates::prelude::*;
use proptest::prelude::*;

fn dangan() -> Command {
    Command::cargo_bin("dangan").expect("binary builds")
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// The seed's numbering, read off the seed by hand: (parent, number of numbered children 1..=n).
/// Categories and classes are listed explicitly so this derivation is independent of the generator.
const SHAPE: &[(&str, u32)] = &[
    // 一 市级: 1 管理类 (1.1–1.4), 2 特殊载体类 (2.1–2.4, 2.3 电子类 with 5 items)
    ("S", 2),
    ("S-1", 4),
    ("S-1.1", 17),
    ("S-1.2", 4),
    ("S-1.3", 11),
    ("S-1.4", 5),
    ("S-2", 4),
    ("S-2.3", 5),
    // 二 县级: 1 管理类, 2 项目类 (立项…其他), 3 特殊载体类
    ("X", 3),
    ("X-1", 4),
    ("X-1.1", 17),
    ("X-1.2", 4),
    ("X-1.3", 10),
    ("X-1.4", 3),
    ("X-2", 6),
    ("X-2.1", 6),
    ("X-2.2", 4),
    ("X-2.3", 8),
    ("X-2.4", 3),
    ("X-2.5", 4),
    ("X-2.6", 5),
    ("X-3", 4),
    ("X-3.3", 5),
    // 三 乡镇
    ("Z", 3),
    ("Z-1", 4),
    ("Z-1.1", 4),
    ("Z-1.2", 4),
    ("Z-1.3", 12),
    ("Z-1.4", 5),
    ("Z-2", 6),
    ("Z-2.3", 1),
    ("Z-3", 4),
    // 四 行政村
    ("C", 3),
    ("C-1", 4),
    ("C-1.1", 7),
    ("C-1.2", 4),
    ("C-1.3", 6),
    ("C-1.4", 3),
    ("C-3", 4),
    ("C-3.1", 10),
];

fn expected_codes() -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for (parent, n) in SHAPE {
        for i in 1..=*n {
            codes.insert(if parent.len() == 1 {
                format!("{parent}-{i}")
            } else {
                format!("{parent}.{i}")
            });
        }
    }
    // 五 贫困户 has no category heading: its items are 1.1–1.7.
    for i in 1..=7 {
        codes.insert(format!("H-1.{i}"));
    }
    codes
}

#[test]
fn profile_has_the_seeds_229_numbered_nodes() {
    let c = Catalog::embedded();
    let got: BTreeSet<String> = c.numbered().map(|n| n.code.clone()).collect();
    let want = expected_codes();
    assert_eq!(want.len(), 229, "the hand-made shape itself");
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    for (level, count) in [("S", 52), ("X", 86), ("Z", 43), ("C", 41), ("H", 7)] {
        assert_eq!(
            c.numbered().filter(|n| n.level == level).count(),
            count,
            "level {level}"
        );
    }
}

#[test]
fn every_node_is_well_formed() {
    let c = Catalog::embedded();
    for n in c.nodes() {
        assert!(!n.text.trim().is_empty(), "{} has no text", n.code);
        assert!(!n.name.trim().is_empty(), "{} has no name", n.code);
        match &n.parent {
            None => assert_eq!(n.kind, Kind::Level, "{}", n.code),
            Some(p) => {
                let parent = c.get(p).unwrap_or_else(|| panic!("{}: parent {p}", n.code));
                assert_eq!(parent.level, n.level);
                assert!(c.children(p).iter().any(|k| k.code == n.code));
            }
        }
        // A node's text starts with its own number, as the seed writes it.
        if let Some(number) = n.code.split_once('-').map(|(_, num)| num) {
            assert!(n.text.starts_with(number), "{}: {}", n.code, n.text);
        }
    }
    assert_eq!(c.levels.len(), 5);
}

#[test]
fn spot_check_wording_against_the_seed() {
    let c = Catalog::embedded();
    // (code, name, a phrase of the seed's wording of that line)
    let cases = [
        ("S-1", "管理类", "1、管理类"),
        ("S-1.1", "综合类", "1.1综合类。主要包括:"),
        (
            "S-1.1.1",
            "精准扶贫工作机构成立、调整",
            "印章启用等机构、人事方面的文件材料",
        ),
        (
            "S-1.1.17",
            "其他有保存利用价值的文件材料",
            "1.1.17 其他有保存利用价值的文件材料。",
        ),
        (
            "S-1.2.1",
            "各县贫困人口、贫困村各类汇总台账",
            "各县贫困人口、贫困村各类汇总台账",
        ),
        (
            "S-1.3.10",
            "针对帮扶村结对帮扶方案、责任书、统计表及确定驻村工作队、帮扶计划等形成的文件材料",
            "确定驻村工作队",
        ),
        (
            "S-1.4.1",
            "针对贫困县退出摘帽形成的初审、预评估、方案、核查等文件材料",
            "初审、预评估",
        ),
        ("S-2.3.3", "电子政务邮件", "2.3.3 电子政务邮件；"),
        ("S-2.4", "实物类", "2.4 实物类"),
        (
            "X-1.3.6",
            "组织、开展的基础设施扶贫工程",
            "以工代赈及文化室、卫生室、达标中心校",
        ),
        (
            "X-1.4.2",
            "针对本县退出摘帽出具的印证资料、请示、验收、评估检查所形成的报表、文件资料",
            "退出摘帽",
        ),
        ("X-2", "项目类", "2、项目类"),
        ("X-2.1", "立项材料", "2.1 立项材料"),
        (
            "X-2.1.4",
            "土岩样说明",
            "土岩样说明，地形、地貌、地震、气象等基础材料",
        ),
        ("X-2.3.5", "土建施工文件", "2.3.5 土建施工文件；"),
        (
            "X-2.5.2",
            "质量评审、工程现场声像材料",
            "质量评审、工程现场声像材料",
        ),
        (
            "X-2.6.5",
            "扶贫小额信贷评级授信、发放、获得扶贫贴息贷款等文件",
            "扶贫小额信贷评级授信",
        ),
        ("X-3.3.4", "网络信息", "3.3.4 网络信息；"),
        (
            "Z-1.3.2",
            "本乡镇危房改造台账",
            "1.3.2 本乡镇危房改造台账；",
        ),
        (
            "Z-2.3.1",
            "易地搬迁一户一档",
            "腾退协议、会议记录、公示照片",
        ),
        ("Z-3.1", "照片类", "3.1 照片类；"),
        ("C-1.1.4", "本村两委班子名册", "1.1.4 本村两委班子名册；"),
        ("C-1.2", "精准识别类", "1.2 精准识别类（按年度归类）"),
        (
            "C-3.1.6",
            "危房改造前、后照片",
            "3.1.6 危房改造前、后照片；",
        ),
        (
            "C-3.1.10",
            "反映精准扶贫工作的其他照片",
            "反映精准扶贫工作的其他照片",
        ),
        ("H-1.1", "扶贫手册", "1.1 扶贫手册；"),
        (
            "H-1.4",
            "住房安全鉴定书、认定书",
            "1.4 住房安全鉴定书、认定书；",
        ),
        ("H-1.5", "饮水安全认定书", "饮水安全认定书（村级有也可以）"),
    ];
    for (code, name, phrase) in cases {
        let n = c.get(code).unwrap_or_else(|| panic!("{code} missing"));
        assert_eq!(n.name, name, "{code}");
        assert!(
            n.text.contains(phrase),
            "{code}: {:?} lacks {phrase:?}",
            n.text
        );
    }
}

#[test]
fn annotations_follow_the_seed() {
    let c = Catalog::embedded();
    let get = |code: &str| c.get(code).unwrap_or_else(|| panic!("{code}"));
    assert_eq!(get("S-2.1").carrier, Some(Carrier::Photo));
    assert_eq!(get("X-3.2").carrier, Some(Carrier::AudioVideo));
    assert_eq!(get("Z-3.4").carrier, Some(Carrier::Object));
    assert_eq!(get("C-3.1.6").carrier, Some(Carrier::Photo));
    assert_eq!(get("S-2.3.1").electronic, Some(Electronic::BornDigital));
    assert_eq!(get("S-2.3.2").electronic, Some(Electronic::Digitized));
    assert_eq!(get("X-3.3.3").electronic, Some(Electronic::Email));
    assert_eq!(get("S-2.3.4").electronic, Some(Electronic::Web));
    assert_eq!(get("X-3.3.5").electronic, Some(Electronic::Other));
    assert!(get("C-1.2").by_year && get("C-1.4").by_year);
    assert!(!get("C-1.3").by_year);
    assert_eq!(get("C-2").see, ["X-2", "Z-2"]);
    assert_eq!(get("Z-1.1.1").see, ["S-1.1", "X-1.1"]);
    assert!(
        get("C-2")
            .note
            .as_deref()
            .unwrap_or("")
            .contains("可以参考")
    );
    assert_eq!(
        c.path_names("X-1.3.6")[..3],
        ["县级".to_string(), "管理类".into(), "精准施策类".into()]
    );
}

#[test]
fn catalog_list_json_lists_every_code() {
    let out = dangan()
        .args(["catalog", "list", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let nodes: Vec<serde_json::Value> = serde_json::from_slice(&out).expect("json");
    let numbered: BTreeSet<String> = nodes
        .iter()
        .filter(|n| n["kind"] != "level")
        .map(|n| n["code"].as_str().expect("code").to_string())
        .collect();
    assert_eq!(numbered, expected_codes());
    for n in &nodes {
        for key in ["code", "level", "kind", "name", "text"] {
            assert!(n[key].is_string(), "{key} in {n}");
        }
        assert!(n.get("parent").is_some());
    }
    let x136 = nodes
        .iter()
        .find(|n| n["code"] == "X-1.3.6")
        .expect("X-1.3.6");
    assert_eq!(x136["parent"], "X-1.3");
    assert_eq!(x136["kind"], "item");
}

#[test]
fn catalog_list_filters_and_tree() {
    dangan()
        .args(["catalog", "list", "--level", "h"])
        .assert()
        .success()
        .stdout(predicate::str::contains("  H-1.4 住房安全鉴定书、认定书"))
        .stdout(predicate::str::contains("X-").not());
    let out = dangan()
        .args(["catalog", "list", "--under", "县级1.3", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let nodes: Vec<serde_json::Value> = serde_json::from_slice(&out).expect("json");
    assert_eq!(nodes.len(), 11, "X-1.3 and its 10 items");
    assert_eq!(nodes[0]["code"], "X-1.3");
    dangan()
        .args(["catalog", "list", "--level", "Q"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown level 'Q'"));
}

#[test]
fn catalog_show_path_text_children() {
    dangan()
        .args(["catalog", "show", "X-1.3.6"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "县级 › 管理类 › 精准施策类 › 组织、开展的基础设施扶贫工程",
        ))
        .stdout(predicate::str::contains("达标卫生院"));
    dangan()
        .args(["catalog", "show", "C-3.1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("下级 (10)"))
        .stdout(predicate::str::contains("C-3.1.6 危房改造前、后照片"));
    let out = dangan()
        .args(["catalog", "show", "c-2", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(v["code"], "C-2");
    assert_eq!(v["see"], serde_json::json!(["X-2", "Z-2"]));
    assert_eq!(v["path"][0]["name"], "行政村");
}

#[test]
fn typed_codes_are_normalized() {
    for typed in [
        "x-1.3.6",
        "Ｘ－１．３．６",
        "县级1.3.6",
        "县1.3.6",
        "X1.3.6",
        " x 1.3.6 ",
    ] {
        let out = dangan()
            .args(["catalog", "show", typed, "--json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["code"], "X-1.3.6", "typed {typed:?}");
    }
}

#[test]
fn unknown_code_exits_2_with_suggestions() {
    dangan()
        .args(["catalog", "show", "X-1.3.66"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown catalog code 'X-1.3.66'"))
        .stderr(predicate::str::contains("X-1.3.6"));
    dangan()
        .args(["catalog", "show", "村3.1.16"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("C-3.1.6").or(predicate::str::contains("C-3.1.10")));
}

#[test]
fn search_finds_dangerous_housing_everywhere() {
    let out = dangan()
        .args(["catalog", "search", "危房", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let hits: Vec<serde_json::Value> = serde_json::from_slice(&out).expect("json");
    let codes: Vec<&str> = hits.iter().filter_map(|h| h["code"].as_str()).collect();
    for want in ["Z-1.3.2", "C-1.3.5", "C-3.1.6"] {
        assert!(codes.contains(&want), "{want} not in {codes:?}");
    }
    // Best first: a heading that is about 危房 ranks above a long list that mentions it.
    let pos = |c: &str| codes.iter().position(|x| *x == c).unwrap_or(usize::MAX);
    assert!(pos("Z-1.3.2") < pos("C-1.3.5"));
    // Several words must all match; a partial phrase still finds its node.
    dangan()
        .args(["catalog", "search", "危房", "照片"])
        .assert()
        .success()
        .stdout(predicate::str::contains("C-3.1.6"))
        .stdout(predicate::str::contains("Z-1.3.2").not());
    dangan()
        .args(["catalog", "search", "危房照片"])
        .assert()
        .success()
        .stdout(predicate::str::contains("C-3.1.6"));
}

#[test]
fn profile_from_a_path() {
    dangan()
        .args(["catalog", "list", "--json", "--profile"])
        .arg(fixture("profiles/base.toml"))
        .assert()
        .success()
        .stdout(predicate::str::contains("\"S-1.1\""))
        .stdout(predicate::str::contains("X-1").not());
}

#[test]
fn malformed_profiles_are_refused_with_line_and_reason() {
    // (fixture, line of the offending node or value, words of the reason)
    let cases = [
        ("bad-duplicate-code.toml", 20, "duplicate code 'S-1'"),
        ("bad-missing-parent.toml", 21, "parent 'S-9' does not exist"),
        ("bad-unknown-level.toml", 14, "unknown level 'Q'"),
        ("bad-unknown-kind.toml", 23, "unknown variant `chapter`"),
        ("bad-empty-text.toml", 20, "empty text"),
        ("bad-code-prefix.toml", 20, "must be 'S-<number>"),
        ("bad-syntax.toml", 17, "invalid basic string"),
        ("bad-unknown-field.toml", 17, "unknown field `colour`"),
        ("bad-unknown-reference.toml", 16, "unknown code 'S-7'"),
    ];
    for (file, line, reason) in cases {
        let path = fixture(&format!("profiles/{file}"));
        let err = Catalog::load(&path).expect_err(file).to_string();
        let want = format!("{}:{line}: ", path.display());
        assert!(
            err.starts_with(&want),
            "{file}: got {err:?}, want prefix {want:?}"
        );
        assert!(err.contains(reason), "{file}: {err:?} lacks {reason:?}");
        dangan()
            .args(["catalog", "list", "--profile"])
            .arg(&path)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(want));
    }
    assert!(Catalog::load(&fixture("profiles/base.toml")).is_ok());
}

#[test]
fn danghao_command() {
    dangan()
        .args([
            "danghao",
            "J001-WS·2019-Y-BGS-0001",
            "J001-WS_2019-D30-0002",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("件号 0001"))
        .stdout(predicate::str::contains("J001-WS·2019-D30-0002"));
    dangan()
        .args(["danghao", "--json", "J001-WS·2019-长期-BGS-0001"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"part\": \"retention\""))
        .stdout(predicate::str::contains("应写作 D30"));
}

fn danghao_strategy() -> impl Strategy<Value = Danghao> {
    (
        "[A-Z0-9]{4}",
        "[A-Z]{2}",
        1000u16..=9999,
        prop_oneof![
            Just(Retention::Permanent),
            Just(Retention::Term30),
            Just(Retention::Term10)
        ],
        proptest::option::of("[A-Z0-9]{1,4}(·[A-Z0-9.]{1,6}){0,2}"),
        1u16..=9999,
    )
        .prop_filter("unit parts must not be empty", |t| {
            t.4.as_ref()
                .is_none_or(|u| u.split('·').all(|s| !s.is_empty()))
        })
        .prop_map(|(fonds, category, year, retention, unit, item)| Danghao {
            fonds,
            category,
            year,
            retention,
            unit,
            item,
        })
}

proptest! {
    #[test]
    fn danghao_format_then_parse_is_identity(d in danghao_strategy()) {
        let text = d.to_string();
        prop_assert_eq!(text.parse::<Danghao>()?, d.clone());
        // and parse ∘ format on the text
        prop_assert_eq!(text.parse::<Danghao>().map(|x| x.to_string())?, text);
    }

    #[test]
    fn danghao_file_stem_round_trips(d in danghao_strategy()) {
        let stem = d.to_file_stem();
        prop_assert!(!stem.contains('·'));
        prop_assert_eq!(Danghao::from_file_stem(&stem)?, d);
    }

    #[test]
    fn danghao_parse_never_panics(s in "\\PC{0,40}") {
        let _ = s.parse::<Danghao>();
    }
}
