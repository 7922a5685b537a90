//! Reports of a validation for people: a text summary and a self-contained HTML page (no scripts, no external
//! resources), in Chinese by default or in English. The JSON report is the serialized
//! [`crate::validate::Report`] itself.

use std::fmt::Write as _;

use crate::model::Level;
use crate::validate::{Finding, Property, Report, RuleTable};

pub use crate::model::Lang;

fn level_word(l: Level, lang: Lang) -> &'static str {
    l.word(lang)
}

/// A finding's message in the report's language.
fn message(f: &Finding, lang: Lang) -> &str {
    f.message_in(lang)
}

/// The property a finding counts against, or "—" for a finding outside the four (none in validation).
fn prop_word(p: Option<Property>, lang: Lang) -> &'static str {
    p.map(|p| p.word(lang)).unwrap_or("—")
}

/// The text summary: verdict, the four properties, then every finding (errors first).
pub fn text(r: &Report, lang: Lang) -> String {
    let t = RuleTable::embedded();
    let zh = lang == Lang::Zh;
    let mut s = String::new();
    let mut sorted: Vec<_> = r.findings.iter().collect();
    sorted.sort_by_key(|f| std::cmp::Reverse(f.level));
    for f in sorted {
        let _ = writeln!(
            s,
            "{} [{}] {} {}{}",
            level_word(f.level, lang),
            f.rule,
            prop_word(f.property, lang),
            f.path
                .as_deref()
                .map(|p| format!("{p}: "))
                .unwrap_or_default(),
            message(f, lang)
        );
    }
    let _ = writeln!(s);
    for (p, ps) in &r.summary.properties {
        let verdict = match (ps.passed, zh) {
            (true, true) => "通过",
            (false, true) => "不通过",
            (true, false) => "pass",
            (false, false) => "FAIL",
        };
        let items: Vec<String> = ps
            .failed_items
            .iter()
            .map(|i| format!("{i} {}", t.title(i, zh)))
            .collect();
        let _ = writeln!(
            s,
            "{}: {verdict}{}",
            prop_word(Some(*p), lang),
            if items.is_empty() {
                String::new()
            } else {
                format!(" ({})", items.join("; "))
            }
        );
    }
    let sm = &r.summary;
    if zh {
        let _ = writeln!(
            s,
            "{}: 依据 {} ({}), {} 个文件, {} 字节, {} 个条目; {} 个错误, {} 个警告 — {}",
            r.package,
            r.spec_applied,
            match r.spec_source.as_str() {
                "declared" => "包内声明",
                "override" => "--spec 指定",
                "package type" => "无 PROFILE, 按 metsHdr 的 OAISPACKAGETYPE",
                _ => "未识别的 PROFILE, 按 CSIP",
            },
            sm.files,
            sm.bytes,
            sm.items,
            sm.errors,
            sm.warnings,
            if r.accepted { "接收" } else { "拒收" }
        );
    } else {
        let _ = writeln!(
            s,
            "{}: {} ({}), {} files, {} bytes, {} items; {} errors, {} warnings — {}",
            r.package,
            r.spec_applied,
            r.spec_source,
            sm.files,
            sm.bytes,
            sm.items,
            sm.errors,
            sm.warnings,
            if r.accepted { "ACCEPTED" } else { "REJECTED" }
        );
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A self-contained HTML report: verdict, pass/fail per property and per DA/T 70 item, per item (件), and the
/// evidence of every finding.
pub fn html(r: &Report, lang: Lang) -> String {
    let t = RuleTable::embedded();
    let zh = lang == Lang::Zh;
    let w = |z: &'static str, e: &'static str| if zh { z } else { e };
    let mut h = String::new();
    let verdict = if r.accepted {
        w("接收", "ACCEPTED")
    } else {
        w("拒收", "REJECTED")
    };
    let _ = write!(
        h,
        r#"<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title} — {pkg}</title>
<style>
body{{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse;margin:1em 0;width:100%}}th,td{{border:1px solid #bbb;padding:4px 8px;text-align:left;vertical-align:top}}
th{{background:#eee}}.pass{{color:#1a7f37;font-weight:bold}}.fail{{color:#c62828;font-weight:bold}}.warn{{color:#a66a00}}
#verdict{{font-size:1.6em;padding:.4em .8em;display:inline-block;border-radius:4px}}
#verdict.pass{{background:#e6f4ea}}#verdict.fail{{background:#fdecea}}code{{font-size:.9em}}
</style></head><body>
<h1>{title}</h1>
<p>{pkgw}: <code>{pkg}</code> · OBJID: <code>{objid}</code> · {specw}: {spec} ({src}) · {tool}</p>
<p id="verdict" class="{vclass}">{verdictw}: {verdict}</p>
"#,
        lang = if zh { "zh-CN" } else { "en" },
        title = w(
            "电子档案四性检测报告 (DA/T 70-2018)",
            "Four-property check report (DA/T 70-2018)"
        ),
        pkg = esc(&r.package),
        pkgw = w("信息包", "Package"),
        objid = esc(r.object_id.as_deref().unwrap_or("—")),
        specw = w("依据", "Rules"),
        spec = esc(&r.spec_applied),
        src = esc(&r.spec_source),
        tool = esc(&r.tool),
        vclass = if r.accepted { "pass" } else { "fail" },
        verdictw = w("结论", "Verdict"),
    );
    // Per property, per DA/T 70 item.
    let _ = write!(
        h,
        "<h2>{}</h2><table id=\"properties\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        w("四性检测", "The four properties"),
        w("性质", "Property"),
        w("检测项", "Item"),
        w("结果", "Result"),
        w("错误", "Errors"),
        w("警告", "Warnings")
    );
    for p in Property::ALL {
        let items: Vec<_> = t.items.iter().filter(|i| i.property == p).collect();
        for (k, it) in items.iter().enumerate() {
            let rule = format!("{}{}", crate::validate::DAT70, it.id);
            let mine: Vec<_> = r
                .findings
                .iter()
                .filter(|f| f.rule == rule || t.rule(&f.rule).is_some_and(|x| x.dat70 == it.id))
                .collect();
            let errors = mine.iter().filter(|f| f.level == Level::Error).count();
            let warnings = mine.iter().filter(|f| f.level == Level::Warning).count();
            let cell = if errors > 0 {
                format!("<td class=\"fail\">{}</td>", w("不通过", "fail"))
            } else {
                format!("<td class=\"pass\">{}</td>", w("通过", "pass"))
            };
            let head = if k == 0 {
                let ps = r.summary.properties.get(&p);
                let ok = ps.is_none_or(|x| x.passed);
                format!(
                    "<th rowspan=\"{}\" class=\"{}\">{} {}</th>",
                    items.len(),
                    if ok { "pass" } else { "fail" },
                    prop_word(Some(p), lang),
                    if ok {
                        w("通过", "pass")
                    } else {
                        w("不通过", "fail")
                    }
                )
            } else {
                String::new()
            };
            let _ = write!(
                h,
                "<tr>{head}<td>{} {}{}</td>{cell}<td>{errors}</td><td>{warnings}</td></tr>",
                esc(&it.id),
                esc(if zh { &it.zh } else { &it.en }),
                if it.certainty == "C" { "" } else { " [U]" }
            );
        }
    }
    h.push_str("</table>");
    // Checks that did not run.
    let _ = write!(h, "<h2>{}</h2><ul>", w("检测过程", "Checks"));
    for c in &r.summary.checks {
        let _ = write!(
            h,
            "<li>{}: {} — {}</li>",
            esc(&c.name),
            esc(&c.status),
            esc(&c.detail)
        );
    }
    let _ = write!(
        h,
        "</ul><p>{}: {} · {}: {} · {}: {}</p>",
        w("文件数", "Files"),
        r.summary.files,
        w("字节数", "Bytes"),
        r.summary.bytes,
        w("条目数", "Items"),
        r.summary.items
    );
    // Per item.
    if !r.items.is_empty() {
        let _ = write!(
            h,
            "<h2>{}</h2><table id=\"items\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            w("逐件检测", "Per item"),
            w("档号", "Reference code"),
            w("题名", "Title"),
            w("分类号", "Catalog code"),
            w("文件", "Files"),
            w("结果", "Result")
        );
        for it in &r.items {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
                esc(&it.danghao),
                esc(&it.title),
                esc(&it.catalog_code),
                it.files.len(),
                if it.passed { "pass" } else { "fail" },
                if it.passed {
                    w("通过", "pass")
                } else {
                    w("不通过", "fail")
                }
            );
        }
        h.push_str("</table>");
    }
    // Evidence.
    let _ = write!(
        h,
        "<h2>{}</h2><table id=\"findings\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        w("检测发现与证据", "Findings and evidence"),
        w("级别", "Level"),
        w("规则", "Rule"),
        w("性质", "Property"),
        w("位置", "Where"),
        w("说明", "Evidence")
    );
    let mut sorted: Vec<_> = r.findings.iter().collect();
    sorted.sort_by_key(|f| std::cmp::Reverse(f.level));
    for f in sorted {
        let class = match f.level {
            Level::Error => "fail",
            Level::Warning => "warn",
            Level::Info => "",
        };
        let _ = write!(
            h,
            "<tr><td class=\"{class}\">{}</td><td><code>{}</code> {}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            level_word(f.level, lang),
            esc(&f.rule),
            esc(&t.title(&f.rule, zh)),
            prop_word(f.property, lang),
            esc(f.path.as_deref().unwrap_or("")),
            esc(message(f, lang))
        );
    }
    if r.findings.is_empty() {
        let _ = write!(h, "<tr><td colspan=\"5\">{}</td></tr>", w("无", "none"));
    }
    h.push_str("</table></body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Finding;

    fn report() -> Report {
        Report {
            schema: crate::validate::REPORT_SCHEMA.into(),
            version: crate::validate::REPORT_VERSION,
            tool: "dangan".into(),
            package: "p".into(),
            object_id: None,
            accepted: false,
            spec_applied: "E-ARK SIP 2.2.0".into(),
            spec_source: "declared".into(),
            findings: vec![Finding::eark(
                "CSIP1",
                Some("METS.xml".into()),
                "缺少 mets/@OBJID",
                "mets/@OBJID missing",
            )],
            summary: Default::default(),
            items: Vec::new(),
        }
    }

    #[test]
    fn findings_are_printed_in_the_report_language() {
        let r = report();
        let zh = text(&r, Lang::Zh);
        assert!(
            zh.contains("METS.xml: 缺少 mets/@OBJID") && !zh.contains("missing"),
            "{zh}"
        );
        let en = text(&r, Lang::En);
        assert!(
            en.contains("METS.xml: mets/@OBJID missing") && !en.contains("缺少"),
            "{en}"
        );
        let h = html(&r, Lang::Zh);
        assert!(h.contains("缺少 mets/@OBJID") && !h.contains("@OBJID missing"));
        let h = html(&r, Lang::En);
        assert!(h.contains("mets/@OBJID missing") && !h.contains("缺少 mets"));
    }
}
