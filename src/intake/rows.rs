//! Checking the rows of the 目录 against the catalog and DA/T 22 / DA/T 46.

use std::collections::{BTreeMap, HashMap};

use crate::catalog::{Catalog, CatalogError, Danghao, Retention};
use crate::model::{Finding, Level};

use super::{Columns, Field, IntakeError, Item, Table};

/// Rule identifiers of intake findings, verbatim.
pub mod rules {
    pub const COLUMNS: &str = "INTAKE.COLUMNS";
    pub const REQUIRED: &str = "INTAKE.REQUIRED";
    pub const CATALOG_CODE: &str = "INTAKE.CATALOG_CODE";
    pub const DUPLICATE: &str = "INTAKE.DUPLICATE_DANGHAO";
    pub const DANGHAO: &str = "DA/T 22-2015 档号";
    pub const ITEM_GAP: &str = "DA/T 22-2015 件号";
    pub const RETENTION: &str = "DA/T 22-2015 保管期限";
    pub const DATE: &str = "DA/T 46-2009 M33";
    pub const CLASSIFICATION: &str = "DA/T 46-2009 M38";
    pub const PAGES: &str = "DA/T 46-2009 M43";
}

pub(super) fn at(manifest: &str, row: usize) -> Option<String> {
    Some(format!("{manifest}:{row}"))
}

fn finding(rule: &str, level: Level, path: Option<String>, zh: String, en: String) -> Finding {
    Finding::new(rule, level, path, zh, en)
}

/// Normalize the dates people write: 2019-05-01, 2019/5/1, 2019.5.1, 20190501, 2019年5月1日, 2019-05, 2019.
/// Returns `YYYY-MM-DD`, `YYYY-MM` or `YYYY`, or `None` when it is not a real date.
pub fn normalize_date(s: &str) -> Option<String> {
    let t = s.trim().trim_end_matches(['日', '月', '年']);
    let parts: Vec<&str> = if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) {
        vec![&t[0..4], &t[4..6], &t[6..8]]
    } else {
        t.split(['-', '/', '.', '年', '月']).collect()
    };
    let nums: Option<Vec<u32>> = parts
        .iter()
        .map(|p| {
            if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                p.parse().ok()
            }
        })
        .collect();
    let nums = nums?;
    let year_ok = |y: u32| (1000..=2999).contains(&y) && parts[0].len() == 4;
    match nums.as_slice() {
        [y] if year_ok(*y) => Some(format!("{y:04}")),
        [y, m] if year_ok(*y) && (1..=12).contains(m) => Some(format!("{y:04}-{m:02}")),
        [y, m, d] if year_ok(*y) => {
            let date = jiff::civil::Date::new(*y as i16, *m as i8, *d as i8).ok()?;
            Some(date.to_string())
        }
        _ => None,
    }
}

/// Read every row into an item, collecting findings. Rows that cannot make an item (no valid 档号) are
/// reported and left out; the batch is then invalid anyway.
pub(super) fn check_rows(
    table: &Table,
    manifest: &str,
    catalog: &Catalog,
    columns: &Columns,
) -> Result<(Vec<Item>, Vec<Finding>), IntakeError> {
    // Cell problems found while reading (too long, control characters) come first.
    let mut findings = table.findings.clone();
    let mut by_col: Vec<Option<Field>> = Vec::new();
    let mut seen: HashMap<Field, &str> = HashMap::new();
    let mut unknown = Vec::new();
    for h in &table.headers {
        let f = columns.field_of(h);
        if let Some(f) = f {
            if let Some(prev) = seen.insert(f, h) {
                findings.push(finding(
                    rules::COLUMNS,
                    Level::Error,
                    at(manifest, 1),
                    format!(
                        "列 '{prev}' 与 '{h}' 是同一字段 ({}), 只能保留一列",
                        columns.label(f)
                    ),
                    format!(
                        "columns '{prev}' and '{h}' are the same field ({f:?}); keep only one",
                    ),
                ));
            }
        } else if !h.is_empty() {
            unknown.push(h.clone());
        }
        by_col.push(f);
    }
    if !unknown.is_empty() {
        findings.push(finding(
            rules::COLUMNS,
            Level::Info,
            at(manifest, 1),
            format!("未识别的列将原样保留: {}", unknown.join(", ")),
            format!(
                "unknown columns are kept as they are: {}",
                unknown.join(", ")
            ),
        ));
    }
    let missing: Vec<Field> = columns
        .required()
        .filter(|f| !seen.contains_key(f))
        .collect();
    if !missing.is_empty() {
        let zh: Vec<&str> = missing.iter().map(|f| columns.label(*f)).collect();
        let en: Vec<String> = missing.iter().map(|f| format!("{f:?}")).collect();
        findings.push(finding(
            rules::COLUMNS,
            Level::Error,
            at(manifest, 1),
            format!("缺少必备列: {}", zh.join(", ")),
            format!("required columns missing: {}", en.join(", ")),
        ));
        return Ok((Vec::new(), findings));
    }

    let mut items = Vec::new();
    let mut first_row_of: HashMap<String, usize> = HashMap::new();
    for (row, cells) in &table.rows {
        let row = *row;
        let loc = || at(manifest, row);
        let mut fields = BTreeMap::new();
        let mut extra = BTreeMap::new();
        for (i, cell) in cells.iter().enumerate() {
            if cell.is_empty() {
                continue;
            }
            match by_col.get(i).copied().flatten() {
                Some(f) => {
                    fields.insert(f, cell.clone());
                }
                None => {
                    let header = table.headers.get(i).cloned().unwrap_or_default();
                    let key = if header.is_empty() {
                        format!("列{}", i + 1)
                    } else {
                        header
                    };
                    extra.insert(key, cell.clone());
                }
            }
        }
        for f in columns.required() {
            if !fields.contains_key(&f) {
                findings.push(finding(
                    rules::REQUIRED,
                    Level::Error,
                    loc(),
                    format!("{} 为空", columns.label(f)),
                    format!("{f:?} is empty"),
                ));
            }
        }
        let Some(dh_text) = fields.get(&Field::Danghao) else {
            continue;
        };
        // The file-name form ('_' for '·') is accepted in the 目录 too, and reported.
        let danghao = match dh_text.parse::<Danghao>() {
            Ok(d) => d,
            Err(e) => match Danghao::from_file_stem(dh_text) {
                Ok(d) => {
                    findings.push(finding(
                        rules::DANGHAO,
                        Level::Warning,
                        loc(),
                        format!("档号 '{dh_text}' 用 '_' 代替了间隔号 '·', 按 '{d}' 读取"),
                        format!(
                            "reference code '{dh_text}' has '_' for the separator '·'; read as '{d}'"
                        ),
                    ));
                    d
                }
                Err(_) => {
                    findings.push(finding(
                        rules::DANGHAO,
                        Level::Error,
                        loc(),
                        format!("档号无效: {e}"),
                        format!("invalid reference code: {e}"),
                    ));
                    continue;
                }
            },
        };
        if let Some(first) = first_row_of.insert(danghao.to_string(), row) {
            findings.push(finding(
                rules::DUPLICATE,
                Level::Error,
                loc(),
                format!("档号 {danghao} 重复 (第 {first} 行已有)"),
                format!("reference code {danghao} repeated (already in row {first})"),
            ));
        }

        let catalog_code = match fields.get(&Field::CatalogCode) {
            Some(code) => match catalog.resolve(code) {
                Ok(node) => node.code.clone(),
                Err(CatalogError::UnknownCode { suggestions, .. }) => {
                    let hint = if suggestions.is_empty() {
                        String::new()
                    } else {
                        format!("; 是否为 {}?", suggestions.join(", "))
                    };
                    findings.push(finding(
                        rules::CATALOG_CODE,
                        Level::Error,
                        loc(),
                        format!("分类号 '{code}' 不在目录 {} 中{hint}", catalog.info.name),
                        format!(
                            "catalog code '{code}' is not in the catalog {}{}",
                            catalog.info.name,
                            if suggestions.is_empty() {
                                String::new()
                            } else {
                                format!("; did you mean {}?", suggestions.join(", "))
                            }
                        ),
                    ));
                    String::new()
                }
                Err(other) => return Err(IntakeError::Columns(other.to_string())),
            },
            None => String::new(),
        };

        // 保管期限 column, if given, must agree with the 档号.
        if let Some(r) = fields.get(&Field::Retention) {
            match Retention::parse_any(r) {
                None => {
                    findings.push(finding(
                        rules::RETENTION,
                        Level::Error,
                        loc(),
                        format!(
                            "保管期限 '{r}' 无法识别 (应为 永久/定期30年/定期10年 或 Y/D30/D10)"
                        ),
                        format!(
                            "retention period '{r}' not recognised (permanent, 30 or 10 years: Y, D30 or D10)"
                        ),
                    ));
                }
                Some(r2) if r2 != danghao.retention => {
                    findings.push(finding(
                        rules::RETENTION,
                        Level::Error,
                        loc(),
                        format!(
                            "保管期限 '{r}' 与档号中的 {} ({}) 不一致",
                            danghao.retention.code(),
                            danghao.retention.label_zh()
                        ),
                        format!(
                            "retention period '{r}' disagrees with {} in the reference code",
                            danghao.retention.code(),
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        let mut part_disagrees = |(label, label_en): (&str, &str), given: &str, want: String| {
            findings.push(finding(
                rules::DANGHAO,
                Level::Error,
                loc(),
                format!("{label} '{given}' 与档号 {danghao} 中的 '{want}' 不一致"),
                format!(
                    "{label_en} '{given}' disagrees with '{want}' in the reference code {danghao}"
                ),
            ));
        };
        if let Some(f) = fields.get(&Field::Fonds)
            && f != &danghao.fonds
        {
            part_disagrees(("全宗号", "fonds"), f, danghao.fonds.clone());
        }
        if let Some(y) = fields.get(&Field::Year)
            && y.parse::<u16>().ok() != Some(danghao.year)
        {
            part_disagrees(("年度", "year"), y, danghao.year.to_string());
        }
        if let Some(n) = fields.get(&Field::ItemNo)
            && n.trim_start_matches('0').parse::<u16>().ok() != Some(danghao.item)
        {
            part_disagrees(("件号", "item number"), n, format!("{:04}", danghao.item));
        }

        let date = match fields.get(&Field::Date) {
            None => None,
            Some(d) => match normalize_date(d) {
                Some(n) => {
                    if !n.starts_with(&danghao.year.to_string()) {
                        findings.push(finding(
                            rules::DATE,
                            Level::Warning,
                            loc(),
                            format!("日期 {n} 不在档号年度 {} 内", danghao.year),
                            format!(
                                "date {n} is not in the year {} of the reference code",
                                danghao.year
                            ),
                        ));
                    }
                    Some(n)
                }
                None => {
                    findings.push(finding(
                        rules::DATE,
                        Level::Error,
                        loc(),
                        format!("日期 '{d}' 不是有效日期 (如 2019-05-01、20190501、2019年5月1日)"),
                        format!("date '{d}' is not a valid date (e.g. 2019-05-01, 20190501)"),
                    ));
                    None
                }
            },
        };
        let pages = match fields.get(&Field::Pages) {
            None => None,
            Some(p) => match p.parse::<u32>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    findings.push(finding(
                        rules::PAGES,
                        Level::Error,
                        loc(),
                        format!("页数 '{p}' 应为正整数"),
                        format!("page count '{p}' must be a positive whole number"),
                    ));
                    None
                }
            },
        };
        if let Some(c) = fields.get(&Field::Classification)
            && !columns.classifications().iter().any(|v| v == c)
        {
            findings.push(finding(
                rules::CLASSIFICATION,
                Level::Error,
                loc(),
                format!(
                    "密级 '{c}' 不在值域内 ({})",
                    columns.classifications().join("/")
                ),
                format!(
                    "security classification '{c}' is not one of the allowed values (DA/T 46-2009 M38)"
                ),
            ));
        }
        items.push(Item {
            row,
            title: fields.get(&Field::Title).cloned().unwrap_or_default(),
            retention: danghao.retention,
            danghao,
            catalog_code,
            date,
            pages,
            fields,
            extra,
            files: Vec::new(),
        });
    }

    // 件号 must run without gaps within one 全宗-门类-年度-期限-机构 group (DA/T 22-2015).
    let mut groups: BTreeMap<String, Vec<(u16, usize)>> = BTreeMap::new();
    for it in &items {
        let g = it.danghao.with_item(1).to_string();
        let key = g.trim_end_matches("-0001").to_string();
        groups
            .entry(key)
            .or_default()
            .push((it.danghao.item, it.row));
    }
    for (group, mut nums) in groups {
        nums.sort();
        nums.dedup_by_key(|(n, _)| *n);
        let (first, _) = nums[0];
        let missing: Vec<String> = nums
            .windows(2)
            .flat_map(|w| (w[0].0 + 1)..w[1].0)
            .map(|n| format!("{n:04}"))
            .collect();
        if !missing.is_empty() {
            findings.push(finding(
                rules::ITEM_GAP,
                Level::Error,
                at(manifest, nums[0].1),
                format!("{group} 的件号不连续, 缺少 {}", missing.join(", ")),
                format!(
                    "item numbers of {group} have gaps: {} missing",
                    missing.join(", ")
                ),
            ));
        }
        if first != 1 {
            findings.push(finding(
                rules::ITEM_GAP,
                Level::Warning,
                at(manifest, nums[0].1),
                format!("{group} 的件号从 {first:04} 开始, 而不是 0001 (续交批次?)"),
                format!(
                    "item numbers of {group} start at {first:04}, not 0001 (a continued batch?)"
                ),
            ));
        }
    }
    Ok((items, findings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        for (input, want) in [
            ("2019-05-01", Some("2019-05-01")),
            ("2019/5/1", Some("2019-05-01")),
            ("2019.5.1", Some("2019-05-01")),
            ("20190501", Some("2019-05-01")),
            ("2019年5月1日", Some("2019-05-01")),
            ("2019年5月", Some("2019-05")),
            ("2019", Some("2019")),
            ("2019-02-30", None),
            ("2019-13", None),
            ("19-5-1", None),
            ("五月", None),
            ("", None),
        ] {
            assert_eq!(normalize_date(input).as_deref(), want, "{input}");
        }
    }
}
