//! Plain data shared by the pipeline: items, files, identifications, agents and events.
//!
//! No I/O happens here. Types serialize to JSON with snake_case keys so reports and `--json` output use
//! them directly.

use std::collections::BTreeMap;

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

/// One computer file of a batch, as the one scan saw it (`dangan::scan`): size, digests, identification and
/// header characterization, all from one read. Every later stage takes the record instead of going back
/// to the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Path relative to the batch (or package) root, with `/` separators.
    pub path: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub digests: Vec<Digest>,
    /// The format family (which handler read the headers; the page rule).
    #[serde(default = "unknown_family")]
    pub family: crate::identify::Family,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identification: Option<Identification>,
    /// What the format's handler read from the headers.
    #[serde(skip)]
    pub characterization: Option<crate::handler::Characterization>,
    /// Why the headers could not be read (the file is still kept and hashed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn unknown_family() -> crate::identify::Family {
    crate::identify::Family::Unknown
}

impl FileRecord {
    /// The value of one digest (`sha256`, `sm3`, …), when it was computed.
    pub fn digest(&self, algorithm: &str) -> Option<&str> {
        self.digests
            .iter()
            .find(|d| d.algorithm == algorithm)
            .map(|d| d.value.as_str())
    }
}

/// The fields of a 目录 row that intake knows (columns are found by `profiles/intake.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Danghao,
    Title,
    CatalogCode,
    Creator,
    Date,
    Pages,
    Retention,
    Classification,
    Remarks,
    FileName,
    Fonds,
    Year,
    ItemNo,
    DocumentNo,
    Photographer,
    Place,
    People,
    Recorder,
    Householder,
    HouseholdId,
}

/// How a file was tied to its item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchBasis {
    /// Named by the 档号 (DA/T 31-2017 9.6): one file for the whole item.
    Danghao,
    /// Named 档号-NNNN: one page image.
    PageSequence,
    /// Listed in the 文件名 column.
    Column,
}

/// A file of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemFile {
    /// Path relative to the batch folder, `/`-separated.
    pub path: String,
    /// Page number for page images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    pub matched_by: MatchBasis,
}

/// One item (件) of the 目录, as intake read and checked it: one document, filed under one catalog node,
/// with its files matched by name (DA/T 31-2017 9.6) or by the 文件名 column.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// The row in the 目录 (header = row 1).
    pub row: usize,
    pub danghao: crate::catalog::Danghao,
    /// Normalized catalog code (`X-1.3.6`).
    pub catalog_code: String,
    pub title: String,
    pub retention: crate::catalog::Retention,
    /// Normalized date: `YYYY-MM-DD`, `YYYY-MM` or `YYYY`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
    /// Every other field given in the row, by field.
    pub fields: BTreeMap<Field, String>,
    /// Columns intake does not know, kept by their header.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
    /// Files in order: whole-item files first, then pages by number, then column-listed files.
    pub files: Vec<ItemFile>,
}

impl Item {
    pub fn field(&self, f: Field) -> Option<&str> {
        self.fields.get(&f).map(String::as_str)
    }
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

/// Where the paths of an [`Event`] live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Root {
    /// `sources` relative to the input folder (originals); `outputs` relative to the output folder.
    #[default]
    Input,
    /// `sources` and `outputs` relative to the output folder (a derivative run through the policy again,
    /// e.g. an extracted attachment).
    Output,
    /// `sources` and `outputs` are paths in the information package (`representations/…`).
    Package,
}

/// A PREMIS `derivation` relationship: `output` is derived from `source` (by the event that made it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Derivation {
    pub source: String,
    pub output: String,
}

/// The one event type (PREMIS 3.0 event): something that happened to one or more files — a normalization,
/// an identification, a QC check, a digest calculation, OCR, an e-mail split. Every stage that acts on a
/// file records one; `package::premis` writes them (linking objects with role `source` / `outcome`,
/// linking agents, and a `derivation` relationship from each output to each source).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Event identifier, assigned from the [`crate::context::Context`] once a run is complete, in event
    /// order, so that parallel work gives the same identifiers every time.
    pub id: String,
    pub event_type: EventType,
    /// What was done: `tiff-master`, `item-pdf`, `jpeg`, `wav`, `mbox-split`, `attachment`, `ocr`, …
    /// (empty for events that are not an action of the policy, e.g. a QC check).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub action: String,
    /// The policy rule (or profile rule) that asked for it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rule: String,
    /// Where `sources` and `outputs` live.
    #[serde(default)]
    pub source_root: Root,
    /// Objects acted on (PREMIS linkingObjectRole `source`), in order (an item's pages in page order).
    pub sources: Vec<String>,
    /// Objects made (PREMIS linkingObjectRole `outcome`); empty when skipped or failed.
    #[serde(default)]
    pub outputs: Vec<String>,
    /// Who did it: dangan, then the crate or tool with its version.
    pub agents: Vec<Agent>,
    /// The exact parameters, as strings, in a stable order.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    pub outcome: Outcome,
    /// Free text: why it failed or was skipped, what a check measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// RFC 3339 times, taken from the [`crate::context::Context`] clock.
    pub started: String,
    pub ended: String,
}

impl Event {
    /// A successful event by dangan on `sources`, at `now`; the caller adds outputs, agents, parameters.
    pub fn new(event_type: EventType, source_root: Root, sources: Vec<String>, now: &str) -> Self {
        Event {
            id: String::new(),
            event_type,
            action: String::new(),
            rule: String::new(),
            source_root,
            sources,
            outputs: Vec::new(),
            agents: vec![Agent::dangan()],
            parameters: BTreeMap::new(),
            outcome: Outcome::Success,
            detail: None,
            started: now.to_string(),
            ended: now.to_string(),
        }
    }

    /// The same event with its identifier set.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// The same event with these agents (instead of dangan alone).
    pub fn with_agents(mut self, agents: Vec<Agent>) -> Self {
        self.agents = agents;
        self
    }

    /// The same event with this outcome.
    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// The same event with its detail set.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// PREMIS eventDateTime: the end time, or `start/end` (ISO 8601 interval) when they differ.
    pub fn date_time(&self) -> String {
        if self.started.is_empty() || self.started == self.ended {
            self.ended.clone()
        } else {
            format!("{}/{}", self.started, self.ended)
        }
    }

    /// PREMIS eventDetail: action (rule); parameters; detail.
    pub fn detail_text(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.action.is_empty() {
            if self.rule.is_empty() {
                parts.push(self.action.clone());
            } else {
                parts.push(format!("{} (rule {})", self.action, self.rule));
            }
        }
        if !self.parameters.is_empty() {
            let params: Vec<String> = self
                .parameters
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            parts.push(params.join(", "));
        }
        if let Some(d) = &self.detail {
            parts.push(d.clone());
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// Every object the event links to: sources first, then outputs.
    pub fn objects(&self) -> impl Iterator<Item = &String> {
        self.sources.iter().chain(self.outputs.iter())
    }

    /// `derivation` relationships (every output from every source).
    pub fn derivations(&self) -> Vec<Derivation> {
        self.outputs
            .iter()
            .flat_map(|o| {
                self.sources.iter().map(|s| Derivation {
                    source: s.clone(),
                    output: o.clone(),
                })
            })
            .collect()
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Info,
    Warning,
    Error,
}

/// The four properties of DA/T 70-2018 (四性) that a finding of an ingest check counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Property {
    /// 真实性
    Authenticity,
    /// 完整性
    Integrity,
    /// 可用性
    Usability,
    /// 安全性
    Security,
}

impl Property {
    pub const ALL: [Property; 4] = [
        Property::Authenticity,
        Property::Integrity,
        Property::Usability,
        Property::Security,
    ];

    pub fn zh(self) -> &'static str {
        match self {
            Property::Authenticity => "真实性",
            Property::Integrity => "完整性",
            Property::Usability => "可用性",
            Property::Security => "安全性",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Property::Authenticity => "authenticity",
            Property::Integrity => "integrity",
            Property::Usability => "usability",
            Property::Security => "security",
        }
    }

    /// The property's name in `lang`.
    pub fn word(self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.zh(),
            Lang::En => self.en(),
        }
    }
}

/// The language of what dangan prints for people: Chinese (the default, for archivists) or English.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// Pick the text of this language from a pair.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Lang, String> {
        match s.to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "cn" | "chinese" | "中文" => Ok(Lang::Zh),
            "en" | "english" => Ok(Lang::En),
            _ => Err(format!("unknown language '{s}' (zh or en)")),
        }
    }
}

impl Level {
    /// The level's word in `lang`: 错误/警告/提示, error/warning/info.
    pub fn word(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Level::Error, Lang::Zh) => "错误",
            (Level::Warning, Lang::Zh) => "警告",
            (Level::Info, Lang::Zh) => "提示",
            (Level::Error, Lang::En) => "error",
            (Level::Warning, Lang::En) => "warning",
            (Level::Info, Lang::En) => "info",
        }
    }
}

/// A problem found while checking something: data for a report, not an error that stops the run.
///
/// The one finding type of dangan: QC, intake, normalization, fixity and validation all report with it, in
/// Chinese (`message`, the primary text: reports are read by Chinese archivists) and English (`message_en`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule, verbatim from its source: `CSIP1`, `DA/T 31-2017 9.4`, `RFC 8493 §2.2.3`.
    pub rule: String,
    /// The DA/T 70-2018 property the finding counts against, for ingest checks (`validate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<Property>,
    /// error = a failed MUST; warning = SHOULD; info = MAY or a note.
    pub level: Level,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What is wrong, in Chinese. Rule IDs, element names, paths and values stay verbatim.
    pub message: String,
    /// The same in English (`--lang en`). Reports written before it existed still read (empty).
    #[serde(default)]
    pub message_en: String,
}

impl Finding {
    /// A finding with its message in both languages; `zh` and `en` say the same thing.
    pub fn new(
        rule: impl Into<String>,
        level: Level,
        path: Option<String>,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Finding {
        Finding {
            rule: rule.into(),
            property: None,
            level,
            path,
            message: zh.into(),
            message_en: en.into(),
        }
    }

    pub fn with_level(mut self, level: Level) -> Finding {
        self.level = level;
        self
    }

    pub fn with_property(mut self, property: Property) -> Finding {
        self.property = Some(property);
        self
    }

    /// The message in `lang` (the Chinese one where no English was recorded).
    pub fn message_in(&self, lang: Lang) -> &str {
        match lang {
            Lang::En if !self.message_en.is_empty() => &self.message_en,
            _ => &self.message,
        }
    }
}
