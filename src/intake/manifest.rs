//! Reading the 目录 (hand-over list): CSV in UTF-8 (with or without BOM) or GB18030/GBK, or XLSX.
//!
//! The result is a table of text cells with the spreadsheet's own row numbers (the header is row 1), so
//! every later message can name the row a person sees in Excel or WPS.
//!
//! A 目录 is untrusted input. Its size, and for a workbook every zip part's size and compression ratio, are
//! checked before a parser sees it (a 2 MB XLSX whose shared strings are padded inflates to 2 GB); a
//! cell's length is capped; control characters in cells are reported, never silently dropped.

use std::io::Read;
use std::path::Path;

use crate::model::{Finding, Level};

use super::IntakeError;

/// Limits on a 目录, checked before parsing. A real 目录 of 100 000 rows is a few tens of MB of XML.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest 目录 file (CSV or workbook) read at all.
    pub max_file: u64,
    /// Largest uncompressed part of a workbook (`xl/sharedStrings.xml`, a sheet).
    pub max_part: u64,
    /// Largest sum of a workbook's uncompressed parts.
    pub max_total: u64,
    /// Largest compression ratio of one part, judged only for parts above `ratio_floor` bytes.
    pub max_ratio: u64,
    pub ratio_floor: u64,
    /// Most zip entries a workbook may have.
    pub max_entries: usize,
    /// Longest cell, in characters (Excel's own limit is 32 767); longer cells are cut here and reported.
    pub max_cell_chars: usize,
}

/// The limits intake applies: `[limits]` of the embedded profiles/intake.toml (data, not code).
pub fn limits() -> &'static Limits {
    &super::Columns::embedded_ref().limits
}

/// Rule of the findings about cells (length, control characters).
pub const CELL_RULE: &str = "INTAKE.CELL";

/// How the manifest's text was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Gb18030,
    /// Cells came from an XLSX workbook (always Unicode).
    Xlsx,
}

/// A manifest as read: headers and rows of trimmed text.
#[derive(Debug, Clone)]
pub struct Table {
    pub encoding: Encoding,
    pub headers: Vec<String>,
    /// (spreadsheet row number, cells). Blank rows are dropped but numbering keeps counting them.
    pub rows: Vec<(usize, Vec<String>)>,
    /// Problems with single cells (too long: cut to [`Limits::max_cell_chars`]; control characters).
    pub findings: Vec<Finding>,
}

/// A column's letters as Excel shows them: 0 → A, 25 → Z, 26 → AA.
pub fn column_letters(index: usize) -> String {
    let mut n = index + 1;
    let mut out = Vec::new();
    while n > 0 {
        let r = (n - 1) % 26;
        out.push(b'A' + r as u8);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Check every cell (header included): cut cells longer than the limit and report them, and report
/// control characters (other than tab and line breaks), which XML metadata cannot carry, naming the row
/// and the column.
fn check_cells(table: &mut Table, header_row: usize, manifest: &str, limits: &Limits) {
    let headers = table.headers.clone();
    let mut findings = Vec::new();
    let rows = std::iter::once((header_row, &mut table.headers))
        .chain(table.rows.iter_mut().map(|(r, c)| (*r, c)));
    for (row, cells) in rows {
        for (i, cell) in cells.iter_mut().enumerate() {
            let col = match headers.get(i).filter(|h| !h.is_empty()) {
                Some(h) => format!("{} ({h})", column_letters(i)),
                None => column_letters(i),
            };
            let path = Some(format!("{manifest}:{row}"));
            if let Some((cut, _)) = cell.char_indices().nth(limits.max_cell_chars) {
                let chars = cell.chars().count();
                cell.truncate(cut);
                findings.push(Finding::new(
                    CELL_RULE,
                    Level::Error,
                    path.clone(),
                    format!(
                        "第 {row} 行 {col} 列长 {chars} 字符, 超过上限 {} 字符 (已截断)",
                        limits.max_cell_chars
                    ),
                    format!(
                        "row {row}, column {col}: {chars} characters, more than the limit of {} (cut)",
                        limits.max_cell_chars
                    ),
                ));
            }
            let controls: Vec<String> = cell
                .chars()
                .filter(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
                .map(|c| format!("U+{:04X}", c as u32))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if !controls.is_empty() {
                findings.push(Finding::new(
                    CELL_RULE,
                    Level::Error,
                    path,
                    format!(
                        "第 {row} 行 {col} 列含控制字符 {}, XML 元数据不能容纳; 请在目录中删除",
                        controls.join(", ")
                    ),
                    format!(
                        "row {row}, column {col}: control character {}, which XML metadata cannot carry; remove it from the manifest",
                        controls.join(", ")
                    ),
                ));
            }
        }
    }
    table.findings = findings;
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Read a 目录 file whole, refusing FIFOs and devices and anything over the limit.
fn read_file(path: &Path, limits: &Limits) -> Result<Vec<u8>, IntakeError> {
    crate::fsutil::read_regular(path, limits.max_file).map_err(|source| IntakeError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Check a workbook's zip container before any parser inflates it: entry count, each part's declared
/// size and compression ratio, the total, and then each part's real inflated size (a header can lie),
/// streamed without keeping the bytes.
pub fn check_workbook_parts(bytes: &[u8], file: &Path, limits: &Limits) -> Result<(), IntakeError> {
    let err = |message: String| IntakeError::Manifest {
        file: file.to_path_buf(),
        row: 0,
        message,
    };
    let mib = |n: u64| format!("{} MiB", n >> 20);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| err(format!("not a readable XLSX workbook (zip): {e}")))?;
    if zip.len() > limits.max_entries {
        return Err(err(format!(
            "{} zip entries, more than the limit of {}: not read",
            zip.len(),
            limits.max_entries
        )));
    }
    let mut total = 0u64;
    let mut parts = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let e = zip
            .by_index_raw(i)
            .map_err(|e| err(format!("XLSX entry {i}: {e}")))?;
        let name = e
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("entry {i}"));
        let (size, packed) = (e.size(), e.compressed_size());
        if size > limits.max_part {
            return Err(err(format!(
                "XLSX part {name}: {size} bytes uncompressed, more than the limit of {} for one part (padded or a zip bomb): not read",
                mib(limits.max_part)
            )));
        }
        if size > limits.ratio_floor && size / packed.max(1) > limits.max_ratio {
            return Err(err(format!(
                "XLSX part {name}: {size} bytes from {packed} compressed, a ratio over {}:1 (padded or a zip bomb): not read",
                limits.max_ratio
            )));
        }
        total += size;
        if total > limits.max_total {
            return Err(err(format!(
                "XLSX parts add up to more than {} uncompressed (at {name}): not read",
                mib(limits.max_total)
            )));
        }
        parts.push((name, size));
    }
    let mut buf = vec![0u8; 64 << 10];
    for (i, (name, size)) in parts.iter().enumerate() {
        let mut e = zip
            .by_index(i)
            .map_err(|e| err(format!("XLSX part {name}: {e}")))?;
        let cap = (*size).min(limits.max_part) + 1;
        let mut reader = (&mut e).take(cap);
        let mut n = 0u64;
        loop {
            let k = reader
                .read(&mut buf)
                .map_err(|e| err(format!("XLSX part {name}: {e}")))?;
            if k == 0 {
                break;
            }
            n += k as u64;
        }
        if n > *size {
            return Err(err(format!(
                "XLSX part {name}: inflates to more than the {size} bytes its header declares: not read"
            )));
        }
    }
    Ok(())
}

/// Decode CSV bytes: a UTF-8 BOM or valid UTF-8 is UTF-8; anything else is read as GB18030 (a superset
/// of GBK and GB2312, which is what Excel and WPS write on Chinese Windows) and must decode cleanly.
pub fn decode_text(bytes: &[u8], file: &Path) -> Result<(String, Encoding), IntakeError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest)
            .map(|s| (s.to_string(), Encoding::Utf8Bom))
            .map_err(|e| IntakeError::Encoding {
                file: file.to_path_buf(),
                message: format!(
                    "UTF-8 BOM but invalid UTF-8 at byte {}",
                    e.valid_up_to() + 3
                ),
            });
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_string(), Encoding::Utf8));
    }
    let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
    if had_errors {
        return Err(IntakeError::Encoding {
            file: file.to_path_buf(),
            message: "neither UTF-8 nor GB18030/GBK: save the 目录 as UTF-8 CSV or XLSX".into(),
        });
    }
    Ok((text.into_owned(), Encoding::Gb18030))
}

fn is_blank(cells: &[String]) -> bool {
    cells.iter().all(|c| c.trim().is_empty())
}

/// Read a CSV manifest.
pub fn read_csv(path: &Path) -> Result<Table, IntakeError> {
    let bytes = read_file(path, limits())?;
    let (text, encoding) = decode_text(&bytes, path)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut headers = None;
    let mut header_row = 1;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| IntakeError::Manifest {
            file: path.to_path_buf(),
            row: e.position().map(|p| p.line() as usize).unwrap_or(i + 1),
            message: format!("CSV: {e}"),
        })?;
        // csv counts physical lines; a quoted cell may span lines, so take its own line number.
        let row = record
            .position()
            .map(|p| p.line() as usize)
            .unwrap_or(i + 1);
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
        if headers.is_none() {
            if is_blank(&cells) {
                continue;
            }
            header_row = row;
            headers = Some(cells);
        } else if !is_blank(&cells) {
            rows.push((row, cells));
        }
    }
    let mut table = Table {
        encoding,
        headers: headers.ok_or_else(|| IntakeError::Manifest {
            file: path.to_path_buf(),
            row: 1,
            message: "the manifest is empty: no header row".into(),
        })?,
        rows,
        findings: Vec::new(),
    };
    check_cells(&mut table, header_row, &file_name(path), limits());
    Ok(table)
}

/// Excel stores dates as days since 1899-12-30 (the 1900 leap-year bug folded in).
fn excel_date(days: f64) -> Option<String> {
    if !(1.0..2_958_466.0).contains(&days) {
        return None;
    }
    let base = jiff::civil::date(1899, 12, 30);
    let d = base
        .checked_add(jiff::Span::new().days(days.floor() as i64))
        .ok()?;
    Some(d.to_string())
}

fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        // Whole numbers (页数, 件号, 年度) must not come out as "12.0".
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => excel_date(dt.as_f64()).unwrap_or_else(|| dt.to_string()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#ERROR {e:?}"),
    }
}

/// Read the first worksheet of an XLSX manifest (XLSM, ODS and XLS too), after checking its size and,
/// for the zip-based formats, its parts ([`check_workbook_parts`]).
pub fn read_xlsx(path: &Path) -> Result<Table, IntakeError> {
    use calamine::Reader;
    let err = |message: String| IntakeError::Manifest {
        file: path.to_path_buf(),
        row: 0,
        message,
    };
    let bytes = read_file(path, limits())?;
    // XLS is a compound file, not a zip: only its size is checked.
    if bytes.starts_with(b"PK") {
        check_workbook_parts(&bytes, path, limits())?;
    }
    let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(&bytes[..]))
        .map_err(|e| err(format!("XLSX: {e}")))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| err("the workbook has no worksheet".into()))?
        .map_err(|e| err(format!("XLSX: {e}")))?;
    // Row numbers as Excel shows them: the range may start below row 1.
    let first_row = range.start().map(|(r, _)| r as usize + 1).unwrap_or(1);
    let mut headers = None;
    let mut header_row = first_row;
    let mut rows = Vec::new();
    for (i, r) in range.rows().enumerate() {
        let cells: Vec<String> = r.iter().map(cell_text).collect();
        let row = first_row + i;
        if headers.is_none() {
            if !is_blank(&cells) {
                header_row = row;
                headers = Some(cells);
            }
        } else if !is_blank(&cells) {
            rows.push((row, cells));
        }
    }
    let mut table = Table {
        encoding: Encoding::Xlsx,
        headers: headers.ok_or_else(|| err("the manifest is empty: no header row".into()))?,
        rows,
        findings: Vec::new(),
    };
    check_cells(&mut table, header_row, &file_name(path), limits());
    Ok(table)
}

/// Read a manifest by its extension.
pub fn read(path: &Path) -> Result<Table, IntakeError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "csv" | "txt" => read_csv(path),
        "xlsx" | "xlsm" | "xls" | "ods" => read_xlsx(path),
        _ => Err(IntakeError::Manifest {
            file: path.to_path_buf(),
            row: 0,
            message: "the 目录 must be .csv or .xlsx".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        let p = Path::new("m.csv");
        assert_eq!(decode_text("档号".as_bytes(), p).unwrap().1, Encoding::Utf8);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice("档号".as_bytes());
        assert_eq!(
            decode_text(&bom, p).unwrap(),
            ("档号".into(), Encoding::Utf8Bom)
        );
        let (gbk, _, _) = encoding_rs::GBK.encode("档号,题名");
        assert_eq!(
            decode_text(&gbk, p).unwrap(),
            ("档号,题名".into(), Encoding::Gb18030)
        );
    }

    #[test]
    fn column_letters_as_excel_shows_them() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }

    #[test]
    fn long_cells_are_cut_and_control_characters_reported_by_row_and_column() {
        let mut t = Table {
            encoding: Encoding::Utf8,
            headers: vec!["档号".into(), "题名".into()],
            rows: vec![
                (2, vec!["A-1".into(), "a\nb\tc".into()]),
                (4, vec!["A-2".into(), "x".repeat(10)]),
                (5, vec!["A\u{0}3".into(), "bell\u{7}\u{1b}".into()]),
            ],
            findings: Vec::new(),
        };
        let limits = Limits {
            max_cell_chars: 8,
            ..*limits()
        };
        check_cells(&mut t, 1, "目录.csv", &limits);
        let got: Vec<(&str, &str)> = t
            .findings
            .iter()
            .map(|f| (f.path.as_deref().unwrap_or(""), f.message_en.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "目录.csv:4",
                    "row 4, column B (题名): 10 characters, more than the limit of 8 (cut)"
                ),
                (
                    "目录.csv:5",
                    "row 5, column A (档号): control character U+0000, which XML metadata cannot carry; remove it from the manifest"
                ),
                (
                    "目录.csv:5",
                    "row 5, column B (题名): control character U+0007, U+001B, which XML metadata cannot carry; remove it from the manifest"
                ),
            ]
        );
        assert_eq!(t.rows[1].1[1], "x".repeat(8));
        assert!(
            t.findings
                .iter()
                .all(|f| f.level == Level::Error && f.rule == CELL_RULE && !f.message.is_empty())
        );
    }

    fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
        use std::io::Write;
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in parts {
            z.start_file(*name, opts).unwrap();
            z.write_all(bytes).unwrap();
        }
        z.finish().unwrap().into_inner()
    }

    #[test]
    fn workbook_parts_are_checked_for_size_and_ratio_before_parsing() {
        let f = Path::new("目录.xlsx");
        let ok = zip_of(&[("xl/workbook.xml", b"<workbook/>")]);
        assert!(check_workbook_parts(&ok, f, limits()).is_ok());
        // 3 MiB of spaces deflate to a few KiB: over the 100:1 ratio above the 1 MiB floor.
        let padded = vec![b' '; 3 << 20];
        let bomb = zip_of(&[("xl/sharedStrings.xml", &padded)]);
        let e = check_workbook_parts(&bomb, f, limits())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("目录.xlsx") && e.contains("xl/sharedStrings.xml") && e.contains("ratio"),
            "{e}"
        );
        let small = Limits {
            max_part: 1 << 20,
            ..*limits()
        };
        let e = check_workbook_parts(&bomb, f, &small)
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than the limit of 1 MiB"), "{e}");
        let e = check_workbook_parts(b"PK not a zip", f, limits())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a readable XLSX"), "{e}");
    }

    #[test]
    fn excel_dates() {
        assert_eq!(excel_date(43586.0).as_deref(), Some("2019-05-01"));
        assert_eq!(excel_date(-3.0), None);
    }
}
