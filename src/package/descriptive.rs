//! Descriptive metadata: `catalog.xml` (items keyed to catalog codes, schemas/dangan-catalog.xsd) and a
//! simple Dublin Core `dc.xml` for systems that know nothing else.

use crate::catalog::Catalog;
use crate::context::Context;
use crate::intake::Field;

use super::xml::Xml;
use super::{PackageSpec, Source, WrittenFile};
use crate::normalize::searchable::ItemOcr;

/// OCR summaries (`<item>.ocr.json`, issue 14) of the files about to be packaged, keyed by the package
/// path of their full-text file.
pub type OcrSummaries = std::collections::BTreeMap<String, ItemOcr>;

/// Read the OCR summaries among the planned content `(package path, source, mime)`. A summary that cannot
/// be read or parsed is left out (the full text is still referenced; only its confidences are missing).
pub fn ocr_summaries(planned: &[(String, &Source, String)]) -> OcrSummaries {
    let mut out = OcrSummaries::new();
    for (rel, src, _) in planned {
        let Some(base) = rel.strip_suffix(".ocr.json") else {
            continue;
        };
        let bytes = match src {
            Source::Bytes(b) => Some(b.clone()),
            Source::Path(p) | Source::Scratch(p) => crate::fsutil::read_regular(p, 1 << 24).ok(),
            _ => None,
        };
        if let Some(summary) = bytes.and_then(|b| serde_json::from_slice::<ItemOcr>(&b).ok()) {
            out.insert(format!("{base}.txt"), summary);
        }
    }
    out
}

pub const CATALOG_NS: &str = "urn:dangan:catalog:1";

/// DA/T 46-2009 element names for the fields dangan carries, so an archivist can map them.
fn field_element(f: Field) -> Option<(&'static str, &'static str)> {
    Some(match f {
        Field::Creator => ("creator", "M32 责任者"),
        Field::Classification => ("classification", "M38 密级"),
        Field::Remarks => ("remarks", "备注"),
        Field::DocumentNo => ("documentNo", "M31 文件编号"),
        Field::Photographer => ("photographer", "摄影者 (DA/T 54)"),
        Field::Place => ("place", "地点 (DA/T 54)"),
        Field::People => ("people", "人物 (DA/T 54)"),
        Field::Recorder => ("recorder", "录制者 (DA/T 63)"),
        Field::Householder => ("householder", "户主姓名"),
        Field::HouseholdId => ("householdId", "户编号"),
        _ => return None,
    })
}

pub fn catalog_xml(
    spec: &PackageSpec,
    catalog: &Catalog,
    files: &[WrittenFile],
    ocr: &OcrSummaries,
) -> String {
    let mut x = Xml::new();
    x.open(
        "catalog",
        &[
            ("xmlns", CATALOG_NS),
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
            (
                "xsi:schemaLocation",
                "urn:dangan:catalog:1 ../../schemas/dangan-catalog.xsd",
            ),
            ("package", &spec.objid),
            ("profile", &catalog.info.id),
            ("profileName", &catalog.info.name),
            ("profileVersion", &catalog.info.version),
        ],
    );
    for (i, item) in spec.items.iter().enumerate() {
        let row = item.row.to_string();
        let d = &item.danghao;
        x.open("item", &[("row", &row)]);
        x.text("danghao", &[], &d.to_string());
        let year = d.year.to_string();
        let no = format!("{:04}", d.item);
        let mut parts: Vec<(&str, &str)> = vec![
            ("fonds", &d.fonds),
            ("category", &d.category),
            ("year", &year),
            ("retention", d.retention.code()),
        ];
        if let Some(u) = &d.unit {
            parts.push(("unit", u));
        }
        parts.push(("itemNo", &no));
        x.empty("danghaoParts", &parts);
        x.text("catalogCode", &[], &item.catalog_code);
        x.open("catalogPath", &[]);
        for n in catalog.path(&item.catalog_code) {
            x.empty("node", &[("code", &n.code), ("name", &n.name)]);
        }
        x.close();
        x.text("title", &[], &item.title);
        for (field, value) in &item.fields {
            if let Some((el, _)) = field_element(*field)
                && *field == Field::Creator
            {
                x.text(el, &[], value);
            }
        }
        if let Some(date) = &item.date {
            x.text("date", &[], date);
        }
        if let Some(p) = item.pages {
            x.text("pages", &[], &p.to_string());
        }
        x.text(
            "retention",
            &[("code", item.retention.code())],
            item.retention.label_zh(),
        );
        for (field, value) in &item.fields {
            if let Some((el, _)) = field_element(*field)
                && *field != Field::Creator
            {
                x.text(el, &[], value);
            }
        }
        for (k, v) in &item.extra {
            x.text("extra", &[("name", k)], v);
        }
        for f in files.iter().filter(|f| f.item == Some(i)) {
            let mut attrs: Vec<(&str, &str)> = vec![
                ("ref", &f.id),
                ("representation", f.representation.as_deref().unwrap_or("")),
                ("path", &f.path),
            ];
            let page = f.page.map(|p| p.to_string());
            if let Some(p) = &page {
                attrs.push(("page", p));
            }
            x.empty("file", &attrs);
        }
        // Issue 14: the item's full text (for a search index that does not parse PDFs) and the mean OCR
        // confidence of each page, pages under the policy's minimum flagged.
        for f in files.iter().filter(|f| f.item == Some(i)) {
            let Some(summary) = ocr.get(&f.path) else {
                continue;
            };
            let confs: Vec<f64> = summary
                .pages
                .iter()
                .filter_map(|p| p.mean_confidence)
                .collect();
            let mean = (!confs.is_empty())
                .then(|| format!("{:.1}", confs.iter().sum::<f64>() / confs.len() as f64));
            let min = summary.min_confidence.to_string();
            let mut attrs: Vec<(&str, &str)> = vec![
                ("ref", &f.id),
                ("path", &f.path),
                ("engine", &summary.engine),
                ("languages", &summary.languages),
                ("minConfidence", &min),
            ];
            if let Some(m) = &mean {
                attrs.push(("meanConfidence", m));
            }
            x.empty("fullText", &attrs);
            for p in &summary.pages {
                let page = p.page.to_string();
                let words = p.words.to_string();
                let conf = p.mean_confidence.map(|m| format!("{m:.1}"));
                let mut attrs: Vec<(&str, &str)> = vec![("page", &page), ("words", &words)];
                if let Some(c) = &conf {
                    attrs.push(("meanConfidence", c));
                }
                attrs.push((
                    "belowMinimum",
                    if p.below_minimum { "true" } else { "false" },
                ));
                x.empty("ocrPage", &attrs);
            }
        }
        x.close();
    }
    x.finish()
}

pub fn dc_xml(spec: &PackageSpec, ctx: &Context) -> String {
    let mut x = Xml::new();
    x.open(
        "metadata",
        &[
            ("xmlns:dc", "http://purl.org/dc/elements/1.1/"),
            ("xmlns", "urn:dangan:dc:1"),
        ],
    );
    x.text("dc:identifier", &[], &spec.objid);
    x.text("dc:title", &[], &spec.label);
    x.text("dc:publisher", &[], &spec.submitter);
    x.text("dc:date", &[], &ctx.now_rfc3339());
    x.text("dc:type", &[], "Collection");
    x.text("dc:language", &[], "zh");
    for item in &spec.items {
        x.text(
            "dc:relation",
            &[],
            &format!("{} {}", item.danghao, item.title),
        );
    }
    x.finish()
}
