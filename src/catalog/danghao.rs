//! Archival reference codes (档号) after DA/T 22-2015.
//!
//! `全宗号-门类代码·年度-保管期限-机构(问题)代码-件号`, e.g. `J001-WS·2019-Y-BGS-0001`: levels are joined by
//! `-`, codes of the same level by the middle dot `·` (U+00B7). The 机构(问题)代码 may be left out when an
//! archive does not arrange by organisation or subject (`J001-WS·2019-D30-0007`).
//!
//! `·` is awkward in file names (some systems mangle it), so [`Danghao::to_file_stem`] maps it to `_`,
//! which no part of a 档号 may contain, and [`Danghao::from_file_stem`] maps it back losslessly.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The separator between codes of the same level (U+00B7 MIDDLE DOT).
pub const MIDDLE_DOT: char = '\u{00B7}';
/// What [`MIDDLE_DOT`] becomes in file names.
pub const FILE_SAFE_DOT: char = '_';

/// Retention period (保管期限).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Retention {
    /// 永久 — `Y`.
    Permanent,
    /// 定期30年 — `D30`.
    Term30,
    /// 定期10年 — `D10`.
    Term10,
}

impl Retention {
    /// The DA/T 22-2015 code: `Y`, `D30`, `D10`.
    pub fn code(self) -> &'static str {
        match self {
            Retention::Permanent => "Y",
            Retention::Term30 => "D30",
            Retention::Term10 => "D10",
        }
    }

    /// The DA/T 22-2015 wording: 永久, 定期30年, 定期10年.
    pub fn label_zh(self) -> &'static str {
        match self {
            Retention::Permanent => "永久",
            Retention::Term30 => "定期30年",
            Retention::Term10 => "定期10年",
        }
    }

    /// The DA/T 46-2009 value list word for this period: 永久, 30年, 10年.
    ///
    /// The 2009 list also has 长期 and 短期, which [`Retention::parse_any`] maps to `D30` and `D10` (the
    /// usual transition rule); going back, `D30`/`D10` become 30年/10年, which are in the 2009 list too.
    pub fn word_2009(self) -> &'static str {
        match self {
            Retention::Permanent => "永久",
            Retention::Term30 => "30年",
            Retention::Term10 => "10年",
        }
    }

    /// Read a retention value in any of the forms found in 目录 spreadsheets: the DA/T 22-2015 codes,
    /// their wording, or the DA/T 46-2009 words (永久, 长期, 短期, 30年, 10年).
    pub fn parse_any(s: &str) -> Option<Self> {
        let t = s.trim();
        Some(match t.to_ascii_uppercase().as_str() {
            "Y" | "永久" => Retention::Permanent,
            "D30" | "定期30年" | "30年" | "长期" | "30" => Retention::Term30,
            "D10" | "定期10年" | "10年" | "短期" | "10" => Retention::Term10,
            _ => return None,
        })
    }
}

impl Serialize for Retention {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Retention {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Retention::parse_any(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown retention '{s}'")))
    }
}

impl fmt::Display for Retention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Which part of a 档号 is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DanghaoPart {
    /// The whole code (wrong number of parts).
    Whole,
    /// 全宗号
    Fonds,
    /// 门类代码
    Category,
    /// 年度
    Year,
    /// 保管期限
    Retention,
    /// 机构(问题)代码
    Unit,
    /// 件号
    Item,
}

impl DanghaoPart {
    pub fn label_zh(self) -> &'static str {
        match self {
            DanghaoPart::Whole => "档号",
            DanghaoPart::Fonds => "全宗号",
            DanghaoPart::Category => "门类代码",
            DanghaoPart::Year => "年度",
            DanghaoPart::Retention => "保管期限",
            DanghaoPart::Unit => "机构(问题)代码",
            DanghaoPart::Item => "件号",
        }
    }
}

/// A 档号 that does not follow DA/T 22-2015, naming the part at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("档号 '{input}': {} ({part:?}) {message}", part.label_zh())]
pub struct DanghaoError {
    pub input: String,
    pub part: DanghaoPart,
    pub message: String,
}

/// An archival reference code (档号).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Danghao {
    /// 全宗号: 4 letters or digits.
    pub fonds: String,
    /// 门类代码: 2 upper-case letters (`WS` 文书).
    pub category: String,
    /// 年度
    pub year: u16,
    /// 保管期限
    pub retention: Retention,
    /// 机构(问题)代码, absent when the archive does not use it. May hold several same-level codes joined
    /// by `·`.
    pub unit: Option<String>,
    /// 件号, 1–9999, written with 4 digits.
    pub item: u16,
}

impl Danghao {
    /// The 档号 with `·` mapped to `_`, for file names.
    pub fn to_file_stem(&self) -> String {
        self.to_string()
            .replace(MIDDLE_DOT, &FILE_SAFE_DOT.to_string())
    }

    /// Read back a file-name form made by [`Danghao::to_file_stem`].
    pub fn from_file_stem(stem: &str) -> Result<Self, DanghaoError> {
        stem.replace(FILE_SAFE_DOT, &MIDDLE_DOT.to_string()).parse()
    }

    /// The same 档号 with another 件号: the neighbour in a sequence.
    pub fn with_item(&self, item: u16) -> Self {
        Danghao {
            item,
            ..self.clone()
        }
    }

    fn err(input: &str, part: DanghaoPart, message: impl Into<String>) -> DanghaoError {
        DanghaoError {
            input: input.to_string(),
            part,
            message: message.into(),
        }
    }
}

fn is_code_char(c: char) -> bool {
    c.is_alphanumeric() && c != FILE_SAFE_DOT
}

impl FromStr for Danghao {
    type Err = DanghaoError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        use DanghaoPart as P;
        let e = |part, msg: String| Danghao::err(input, part, msg);
        let parts: Vec<&str> = input.split('-').collect();
        if parts.len() != 4 && parts.len() != 5 {
            return Err(e(
                P::Whole,
                format!(
                    "应为 全宗号-门类代码·年度-保管期限-[机构(问题)代码-]件号, 共 4 或 5 段, 实有 {} 段",
                    parts.len()
                ),
            ));
        }
        let fonds = parts[0];
        if fonds.chars().count() != 4 || !fonds.chars().all(is_code_char) {
            return Err(e(P::Fonds, format!("'{fonds}' 应为 4 位字母或数字")));
        }
        let Some((category, year)) = parts[1].split_once(MIDDLE_DOT) else {
            let hint = if parts[1].contains(['.', '・', '•', '･', '·']) {
                "门类代码与年度之间应使用间隔号 '·' (U+00B7)"
            } else {
                "应为 门类代码·年度, 如 WS·2019"
            };
            return Err(e(P::Category, format!("'{}': {hint}", parts[1])));
        };
        if category.len() != 2 || !category.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(e(
                P::Category,
                format!("'{category}' 应为 2 位大写字母, 如 WS"),
            ));
        }
        if year.len() != 4 || !year.chars().all(|c| c.is_ascii_digit()) {
            return Err(e(P::Year, format!("'{year}' 应为 4 位数字")));
        }
        let year: u16 = year
            .parse()
            .map_err(|_| e(P::Year, format!("'{year}' 应为 4 位数字")))?;
        if year < 1000 {
            return Err(e(P::Year, format!("'{year:04}' 不是有效年度")));
        }
        let retention = match parts[2] {
            "Y" => Retention::Permanent,
            "D30" => Retention::Term30,
            "D10" => Retention::Term10,
            other => {
                let hint = Retention::parse_any(other)
                    .map(|r| format!(", 应写作 {}", r.code()))
                    .unwrap_or_default();
                return Err(e(
                    P::Retention,
                    format!("'{other}' 应为 Y、D30 或 D10{hint}"),
                ));
            }
        };
        let unit = if parts.len() == 5 {
            let u = parts[3];
            let ok = !u.is_empty()
                && u.split(MIDDLE_DOT)
                    .all(|s| !s.is_empty() && s.chars().all(|c| is_code_char(c) || c == '.'));
            if !ok {
                return Err(e(
                    P::Unit,
                    format!("'{u}' 应为字母、数字或 '.', 同级代码以 '·' 分隔"),
                ));
            }
            Some(u.to_string())
        } else {
            None
        };
        let item = parts[parts.len() - 1];
        if item.len() != 4 || !item.chars().all(|c| c.is_ascii_digit()) {
            return Err(e(P::Item, format!("'{item}' 应为 4 位数字, 不足补零")));
        }
        let item: u16 = item
            .parse()
            .map_err(|_| e(P::Item, format!("'{item}' 应为 4 位数字")))?;
        if item == 0 {
            return Err(e(P::Item, "件号从 0001 开始".into()));
        }
        Ok(Danghao {
            fonds: fonds.to_string(),
            category: category.to_string(),
            year,
            retention,
            unit,
            item,
        })
    }
}

impl fmt::Display for Danghao {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}{}{:04}-{}-",
            self.fonds, self.category, MIDDLE_DOT, self.year, self.retention
        )?;
        if let Some(u) = &self.unit {
            write!(f, "{u}-")?;
        }
        write!(f, "{:04}", self.item)
    }
}

impl Serialize for Danghao {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Danghao {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let d: Danghao = "J001-WS·2019-Y-BGS-0001".parse().unwrap();
        assert_eq!(d.fonds, "J001");
        assert_eq!(d.category, "WS");
        assert_eq!(d.year, 2019);
        assert_eq!(d.retention, Retention::Permanent);
        assert_eq!(d.unit.as_deref(), Some("BGS"));
        assert_eq!(d.item, 1);
        assert_eq!(d.to_string(), "J001-WS·2019-Y-BGS-0001");
        let without_unit: Danghao = "0427-WS·2020-D30-0012".parse().unwrap();
        assert_eq!(without_unit.unit, None);
        assert_eq!(without_unit.to_string(), "0427-WS·2020-D30-0012");
    }

    #[test]
    fn errors_name_the_part() {
        for (input, part) in [
            ("J001-WS·2019-Y", DanghaoPart::Whole),
            ("J01-WS·2019-Y-BGS-0001", DanghaoPart::Fonds),
            ("J001-WS.2019-Y-BGS-0001", DanghaoPart::Category),
            ("J001-ws·2019-Y-BGS-0001", DanghaoPart::Category),
            ("J001-WS·19-Y-BGS-0001", DanghaoPart::Year),
            ("J001-WS·2019-永久-BGS-0001", DanghaoPart::Retention),
            ("J001-WS·2019-D20-BGS-0001", DanghaoPart::Retention),
            ("J001-WS·2019-Y-B_S-0001", DanghaoPart::Unit),
            ("J001-WS·2019-Y-BGS-1", DanghaoPart::Item),
            ("J001-WS·2019-Y-BGS-0000", DanghaoPart::Item),
        ] {
            let err = input.parse::<Danghao>().unwrap_err();
            assert_eq!(err.part, part, "{input}: {err}");
        }
        let err = "J001-WS·2019-永久-BGS-0001".parse::<Danghao>().unwrap_err();
        assert!(err.message.contains("应写作 Y"), "{err}");
    }

    #[test]
    fn retention_words_both_ways() {
        assert_eq!(Retention::parse_any("永久"), Some(Retention::Permanent));
        assert_eq!(Retention::parse_any("长期"), Some(Retention::Term30));
        assert_eq!(Retention::parse_any("短期"), Some(Retention::Term10));
        assert_eq!(Retention::parse_any("30年"), Some(Retention::Term30));
        assert_eq!(Retention::parse_any("定期10年"), Some(Retention::Term10));
        assert_eq!(Retention::parse_any("d30"), Some(Retention::Term30));
        assert_eq!(Retention::parse_any("五年"), None);
        for r in [Retention::Permanent, Retention::Term30, Retention::Term10] {
            assert_eq!(Retention::parse_any(r.word_2009()), Some(r));
            assert_eq!(Retention::parse_any(r.code()), Some(r));
            assert_eq!(Retention::parse_any(r.label_zh()), Some(r));
        }
    }

    #[test]
    fn file_stem_round_trip() {
        let d: Danghao = "J001-WS·2019-D10-BGS·X1.3.6-0420".parse().unwrap();
        assert_eq!(d.to_file_stem(), "J001-WS_2019-D10-BGS_X1.3.6-0420");
        assert_eq!(Danghao::from_file_stem(&d.to_file_stem()).unwrap(), d);
    }
}
