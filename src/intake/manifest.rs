//! Reading the 目录 (hand-over list): CSV in UTF-8 (with or without BOM) or GB18030/GBK, or XLSX.
//!
//! The result is a table of text cells with the spreadsheet's own row numbers (the header is row 1), so
//! every later message can name the row a person sees in Excel or WPS.

use std::path::Path;

use super::IntakeError;

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
    let bytes = std::fs::read(path).map_err(|source| IntakeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let (text, encoding) = decode_text(&bytes, path)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut headers = None;
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
            headers = Some(cells);
        } else if !is_blank(&cells) {
            rows.push((row, cells));
        }
    }
    Ok(Table {
        encoding,
        headers: headers.ok_or_else(|| IntakeError::Manifest {
            file: path.to_path_buf(),
            row: 1,
            message: "the 目录 is empty: no header row".into(),
        })?,
        rows,
    })
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

/// Read the first worksheet of an XLSX manifest.
pub fn read_xlsx(path: &Path) -> Result<Table, IntakeError> {
    use calamine::Reader;
    let err = |message: String| IntakeError::Manifest {
        file: path.to_path_buf(),
        row: 0,
        message,
    };
    let mut wb = calamine::open_workbook_auto(path).map_err(|e| err(format!("XLSX: {e}")))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| err("the workbook has no worksheet".into()))?
        .map_err(|e| err(format!("XLSX: {e}")))?;
    // Row numbers as Excel shows them: the range may start below row 1.
    let first_row = range.start().map(|(r, _)| r as usize + 1).unwrap_or(1);
    let mut headers = None;
    let mut rows = Vec::new();
    for (i, r) in range.rows().enumerate() {
        let cells: Vec<String> = r.iter().map(cell_text).collect();
        let row = first_row + i;
        if headers.is_none() {
            if !is_blank(&cells) {
                headers = Some(cells);
            }
        } else if !is_blank(&cells) {
            rows.push((row, cells));
        }
    }
    Ok(Table {
        encoding: Encoding::Xlsx,
        headers: headers.ok_or_else(|| err("the 目录 is empty: no header row".into()))?,
        rows,
    })
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
    fn excel_dates() {
        assert_eq!(excel_date(43586.0).as_deref(), Some("2019-05-01"));
        assert_eq!(excel_date(-3.0), None);
    }
}
