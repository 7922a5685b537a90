//! `dangan intake`: reading 目录 spreadsheets and matching files, one test per problem it must catch.

mod common;

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn dangan() -> Command {
    Command::cargo_bin("dangan").expect("binary builds")
}

const HEADER: &str = "档号,题名,责任者,日期,页数,保管期限,密级,分类号,备注,文件名";

/// A batch folder with a 目录.csv (UTF-8) and the named files (each with distinct bytes).
fn batch(dir: &Path, rows: &[&str], files: &[&str]) {
    let mut csv = String::from(HEADER);
    csv.push('\n');
    for r in rows {
        csv.push_str(r);
        csv.push('\n');
    }
    std::fs::write(dir.join("目录.csv"), csv).expect("write csv");
    for (i, f) in files.iter().enumerate() {
        let p = dir.join(f);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, format!("file {i} {f}")).expect("write file");
    }
}

fn run_json(dir: &Path) -> (i32, Value) {
    let out = dangan()
        .args(["intake", "--json"])
        .arg(dir)
        .output()
        .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "json: {e}\nstdout {}\nstderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

/// The findings with the given rule, as (level, path, message).
fn findings(v: &Value, rule: &str) -> Vec<(String, String, String)> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| {
            (
                f["level"].as_str().unwrap_or("").to_string(),
                f["path"].as_str().unwrap_or("").to_string(),
                f["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

const R1: &str = "J001-WS·2019-Y-BGS-0001,关于成立脱贫攻坚领导小组的通知,县扶贫办,2019-03-01,2,永久,公开,X-1.1.1,,";
const R2: &str = "J001-WS·2019-Y-BGS-0002,危房改造台账,乡政府,2019年5月6日,,Y,公开,Z-1.3.2,,";
const R3: &str = "J001-WS·2019-Y-BGS-0003,危房改造前后照片,村委会,20190601,,永久,公开,c3.1.6,,photos/p1.jpg；photos/p2.jpg";
const GOOD_FILES: &[&str] = &[
    "J001-WS_2019-Y-BGS-0001-0001.tif",
    "J001-WS_2019-Y-BGS-0001-0002.tif",
    "J001-WS·2019-Y-BGS-0002.pdf",
    "photos/p1.jpg",
    "photos/p2.jpg",
];

fn tree_digest(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.expect("walk");
        if e.file_type().is_file() {
            out.push((
                e.path().display().to_string(),
                std::fs::read(e.path()).expect("read"),
            ));
        }
    }
    out
}

#[test]
fn a_good_batch_is_valid_and_matched() {
    let dir = tempfile::tempdir().expect("tempdir");
    batch(dir.path(), &[R1, R2, R3], GOOD_FILES);
    let before = tree_digest(dir.path());
    let (code, v) = run_json(dir.path());
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["valid"], true);
    assert_eq!(v["encoding"], "utf8");
    let items = v["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["row"], 2);
    assert_eq!(items[0]["catalog_code"], "X-1.1.1");
    assert_eq!(items[0]["retention"], "Y");
    assert_eq!(items[0]["files"][0]["path"], GOOD_FILES[0]);
    assert_eq!(items[0]["files"][1]["page"], 2);
    assert_eq!(items[1]["date"], "2019-05-06");
    assert_eq!(items[1]["files"][0]["matched_by"], "danghao");
    assert_eq!(items[2]["catalog_code"], "C-3.1.6", "typed code normalized");
    assert_eq!(items[2]["date"], "2019-06-01");
    assert_eq!(items[2]["files"][1]["path"], "photos/p2.jpg");
    assert_eq!(items[2]["files"][1]["matched_by"], "column");
    // Intake reads; it never writes into or changes the batch.
    assert_eq!(tree_digest(dir.path()), before);
}

#[test]
fn gbk_and_bom_csv_are_read() {
    for enc in ["gbk", "bom"] {
        let dir = tempfile::tempdir().expect("tempdir");
        batch(dir.path(), &[R1], &GOOD_FILES[..2]);
        let text = format!("{HEADER}\n{R1}\n");
        let bytes = match enc {
            "gbk" => encoding_rs::GBK.encode(&text).0.into_owned(),
            _ => [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
        };
        std::fs::write(dir.path().join("目录.csv"), bytes).expect("write");
        let (code, v) = run_json(dir.path());
        assert_eq!(code, 0, "{enc}: {v:#}");
        assert_eq!(
            v["encoding"],
            if enc == "gbk" { "gb18030" } else { "utf8_bom" }
        );
        assert_eq!(v["items"][0]["title"], "关于成立脱贫攻坚领导小组的通知");
    }
}

/// A minimal XLSX (inline strings and numbers) written with the zip crate.
fn write_xlsx(path: &Path, rows: &[Vec<&str>]) {
    use std::io::Write;
    let col = |i: usize| ((b'A' + i as u8) as char).to_string();
    let mut sheet = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    for (r, cells) in rows.iter().enumerate() {
        sheet.push_str(&format!(r#"<row r="{}">"#, r + 1));
        for (c, v) in cells.iter().enumerate() {
            let rf = format!("{}{}", col(c), r + 1);
            if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
                sheet.push_str(&format!(r#"<c r="{rf}"><v>{v}</v></c>"#));
            } else {
                sheet.push_str(&format!(
                    r#"<c r="{rf}" t="inlineStr"><is><t>{v}</t></is></c>"#
                ));
            }
        }
        sheet.push_str("</row>");
    }
    sheet.push_str("</sheetData></worksheet>");
    let files = [
        ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.to_string()),
        ("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_string()),
        ("xl/workbook.xml", r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="目录" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_string()),
        ("xl/_rels/workbook.xml.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.to_string()),
        ("xl/worksheets/sheet1.xml", sheet),
    ];
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).expect("create xlsx"));
    for (name, body) in files {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .expect("entry");
        zip.write_all(body.as_bytes()).expect("write entry");
    }
    zip.finish().expect("finish xlsx");
}

#[test]
fn xlsx_is_read_with_row_numbers() {
    let dir = tempfile::tempdir().expect("tempdir");
    batch(dir.path(), &[], &GOOD_FILES[..2]);
    std::fs::remove_file(dir.path().join("目录.csv")).expect("rm");
    write_xlsx(
        &dir.path().join("目录.xlsx"),
        &[
            vec!["档号", "题名", "页数", "分类号"],
            vec!["J001-WS·2019-Y-BGS-0001", "通知", "3", "X-1.1.1"],
        ],
    );
    let (code, v) = run_json(dir.path());
    assert_eq!(v["encoding"], "xlsx");
    assert_eq!(v["items"][0]["pages"], 3, "numeric cell read as 3, not 3.0");
    // 页数 3 but two page images: reported on row 2 of the sheet.
    assert_eq!(code, 1);
    let f = findings(&v, "DA/T 46-2009 M43");
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0].1, "目录.xlsx:2");
}

/// One invalid batch: (name, rows, files, rule, path of the finding, words of the message).
type Case<'a> = (
    &'a str,
    Vec<String>,
    Vec<&'a str>,
    &'a str,
    &'a str,
    &'a str,
);

#[test]
fn every_problem_is_reported_with_its_row() {
    let cases: Vec<Case> = vec![
        (
            "unknown catalog code",
            vec![R1.replace("X-1.1.1", "X-1.1.71")],
            GOOD_FILES[..2].to_vec(),
            "INTAKE.CATALOG_CODE",
            "目录.csv:2",
            "X-1.1.17,",
        ),
        (
            "missing file",
            vec![R1.into(), R2.into()],
            GOOD_FILES[..2].to_vec(),
            "INTAKE.FILE_MISSING",
            "目录.csv:3",
            "没有对应的文件",
        ),
        (
            "file no row claims",
            vec![R1.into()],
            vec![GOOD_FILES[0], GOOD_FILES[1], "stray.tif"],
            "INTAKE.FILE_UNCLAIMED",
            "stray.tif",
            "未在目录中登记",
        ),
        (
            "duplicate 档号",
            vec![R1.into(), R1.replace("关于", "再次")],
            GOOD_FILES[..2].to_vec(),
            "INTAKE.DUPLICATE_DANGHAO",
            "目录.csv:3",
            "第 2 行已有",
        ),
        (
            "gap in 件号",
            vec![R1.into(), R2.replace("0002", "0004")],
            vec![GOOD_FILES[0], GOOD_FILES[1], "J001-WS_2019-Y-BGS-0004.pdf"],
            "DA/T 22-2015 件号",
            "目录.csv:2",
            "缺少 0002, 0003",
        ),
        (
            "bad date",
            vec![R1.replace("2019-03-01", "2019-02-30")],
            GOOD_FILES[..2].to_vec(),
            "DA/T 46-2009 M33",
            "目录.csv:2",
            "不是有效日期",
        ),
        (
            "页数 disagrees with page files",
            vec![R1.replace(",2,永久", ",3,永久")],
            GOOD_FILES[..2].to_vec(),
            "DA/T 46-2009 M43",
            "目录.csv:2",
            "页数 3 与页面文件数 2 不一致",
        ),
        (
            "bad retention value",
            vec![R1.replace(",永久,", ",五年,")],
            GOOD_FILES[..2].to_vec(),
            "DA/T 22-2015 保管期限",
            "目录.csv:2",
            "无法识别",
        ),
        (
            "retention disagrees with 档号",
            vec![R1.replace(",永久,", ",定期30年,")],
            GOOD_FILES[..2].to_vec(),
            "DA/T 22-2015 保管期限",
            "目录.csv:2",
            "不一致",
        ),
        (
            "malformed 档号",
            vec![R1.replace("J001-WS·2019", "J001-WS.2019")],
            vec![],
            "DA/T 22-2015 档号",
            "目录.csv:2",
            "间隔号",
        ),
        (
            "gap in page images",
            vec![R1.replace(",2,永久", ",,永久")],
            vec![GOOD_FILES[0], "J001-WS_2019-Y-BGS-0001-0003.tif"],
            "DA/T 31-2017 9.6",
            "目录.csv:2",
            "缺少页面 0002",
        ),
        (
            "dangerous 文件名",
            vec![R3.replace("photos/p1.jpg；photos/p2.jpg", "../etc/passwd")],
            vec![],
            "INTAKE.PATH",
            "目录.csv:2",
            "不安全",
        ),
        (
            "bad 密级",
            vec![R1.replace(",公开,", ",内部,")],
            GOOD_FILES[..2].to_vec(),
            "DA/T 46-2009 M38",
            "目录.csv:2",
            "不在值域内",
        ),
    ];
    for (name, rows, files, rule, path, words) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        batch(dir.path(), &rows, &files);
        let (code, v) = run_json(dir.path());
        assert_eq!(code, 1, "{name}: exit code; {v:#}");
        assert_eq!(v["valid"], false, "{name}");
        let f = findings(&v, rule);
        assert!(
            f.iter()
                .any(|(level, p, m)| level == "error" && p == path && m.contains(words)),
            "{name}: no error {rule} at {path} with {words:?}; got {:#}",
            v["findings"]
        );
    }
}

#[test]
fn missing_columns_and_unknown_manifest() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("目录.csv"),
        "档号,题名\nJ001-WS·2019-Y-BGS-0001,x\n",
    )
    .expect("write");
    let (code, v) = run_json(dir.path());
    assert_eq!(code, 1);
    let f = findings(&v, "INTAKE.COLUMNS");
    assert!(
        f.iter()
            .any(|(_, p, m)| p == "目录.csv:1" && m.contains("分类号")),
        "{f:?}"
    );

    let empty = tempfile::tempdir().expect("tempdir");
    dangan()
        .arg("intake")
        .arg(empty.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no 目录 found"));
}

#[test]
fn text_report_is_in_chinese() {
    let dir = tempfile::tempdir().expect("tempdir");
    batch(
        dir.path(),
        &[&R1.replace("X-1.1.1", "X-9")],
        &GOOD_FILES[..2],
    );
    dangan()
        .arg("intake")
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicates::str::contains(
            "错误 [INTAKE.CATALOG_CODE] 目录.csv:2: 分类号 'X-9' 不在目录",
        ))
        .stdout(predicates::str::contains("不能打包"));
}
