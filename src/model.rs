//! Plain data shared by the pipeline: items, files, identifications, agents and events.
//!
//! No I/O happens here. Types serialize to JSON with snake_case keys so reports and `--json` output use
//! them directly.

use serde::{Deserialize, Serialize};

/// What kind of actor an [`Agent`] is (PREMIS agentType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentKind {
    /// Software, including dangan itself and every external tool it runs.
    Software,
    /// A person: an operator or a submitter.
    Person,
    /// An organisation: the archive or the digitization contractor.
    Organization,
}

/// Someone or something that acted on a record (PREMIS agent, METS agent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    pub kind: AgentKind,
    pub name: String,
    /// Version for software agents ("dangan 0.1.0", "ffmpeg 5.1.6").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl Agent {
    /// dangan itself, as a software agent.
    pub fn dangan() -> Self {
        Agent {
            kind: AgentKind::Software,
            name: "dangan".into(),
            version: Some(crate::VERSION.into()),
        }
    }
}

/// How a file's format was determined: PRONOM PUID (where PRONOM has one), MIME type, and the basis.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identification {
    /// PRONOM persistent unique identifier, e.g. `fmt/353`; `None` where PRONOM has none (OFD).
    pub puid: Option<String>,
    pub mime: String,
    pub format: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Character encoding, for text formats only: `UTF-8`, `GB18030`, `UTF-16LE`, `ASCII`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// What matched: "signature 'II*\\0' at offset 0", "zip entry OFD.xml", …
    pub basis: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A digest with the algorithm that produced it. The algorithm is always recorded beside the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    /// Lower-case algorithm name as BagIt spells it: `sha256`, `sha512`, `sha1`, `md5`, `sm3`.
    pub algorithm: String,
    /// Lower-case hexadecimal value.
    pub value: String,
}

/// One computer file of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Path relative to the batch (or package) root, with `/` separators.
    pub path: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub digests: Vec<Digest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identification: Option<Identification>,
}

/// One item (件) of the 目录: one document, filed under one catalog node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// The 档号 as written in the 目录.
    pub danghao: String,
    /// Catalog code (分类号), normalized: `X-1.3.6`.
    pub catalog_code: String,
    /// 题名
    pub title: String,
    /// 责任者
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    /// 日期, ISO 8601 (`2019-05-01`) or a year.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// 页数
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
    /// 密级
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
    /// 备注
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remarks: Option<String>,
    pub files: Vec<FileRecord>,
}

/// PREMIS event types used by dangan (<http://id.loc.gov/vocabulary/preservation/eventType/>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    Capture,
    Creation,
    MessageDigestCalculation,
    FormatIdentification,
    Validation,
    Normalization,
    Ingestion,
    FixityCheck,
    VirusCheck,
    InformationPackageCreation,
}

impl EventType {
    /// The code of the Library of Congress event-type vocabulary (`cap`, `mes`, `nor`, …).
    pub fn code(self) -> &'static str {
        match self {
            EventType::Capture => "cap",
            EventType::Creation => "cre",
            EventType::MessageDigestCalculation => "mes",
            EventType::FormatIdentification => "for",
            EventType::Validation => "val",
            EventType::Normalization => "nor",
            EventType::Ingestion => "ing",
            EventType::FixityCheck => "fix",
            EventType::VirusCheck => "vir",
            EventType::InformationPackageCreation => "ipc",
        }
    }

    /// The vocabulary URI of this event type.
    pub fn uri(self) -> String {
        format!(
            "http://id.loc.gov/vocabulary/preservation/eventType/{}",
            self.code()
        )
    }
}

/// Whether an event succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Warning,
    Failure,
    /// The step did not run (a tool was missing); the detail says why. Never silent.
    Skipped,
}

/// Something that happened to one or more files (a PREMIS event in waiting).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub event_type: EventType,
    /// RFC 3339 time, taken from the [`crate::context::Context`] clock.
    pub date_time: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub agents: Vec<Agent>,
    /// Paths of the files the event acted on (sources first).
    pub objects: Vec<String>,
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Info,
    Warning,
    Error,
}

/// A problem found while checking something: data for a report, not an error that stops the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule, verbatim from its source: `CSIP1`, `DA/T 31-2017 9.4`, `RFC 8493 §2.2.3`.
    pub rule: String,
    pub level: Level,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub message: String,
}
