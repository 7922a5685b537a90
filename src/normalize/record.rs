//! Provenance (issue 5, item 3): every action yields a [`Record`] — source, outputs, agents (dangan and the
//! crate or tool with its version), exact parameters, outcome, start and end time — ready to become a
//! PREMIS 3.0 event (`nor` normalization for preservation copies, `cre` creation for access copies) with a
//! `derivation` relationship from each output to its source.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Agent, AgentKind, Event, EventType, Outcome};

/// Where a path in a record lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Root {
    /// Relative to the input folder (an original).
    Input,
    /// Relative to the output folder (a derivative, e.g. an extracted attachment run through the policy).
    Output,
}

/// One action on one source (or one item's pages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Event identifier, assigned from the [`crate::context::Context`] once the run is complete, in record
    /// order, so that parallel work gives the same identifiers every time.
    pub id: String,
    /// `normalization` (PREMIS `nor`) or `creation` (PREMIS `cre`).
    pub event_type: EventType,
    /// What was done: `tiff-master`, `item-pdf`, `jpeg`, `wav`, `mbox-split`, `attachment`, `html`, `mp4`, ….
    pub action: String,
    /// The policy rule that asked for it.
    pub rule: String,
    pub source_root: Root,
    /// Sources, in order (pages of an item in page order).
    pub sources: Vec<String>,
    /// Outputs relative to the output folder; empty when skipped or failed.
    pub outputs: Vec<String>,
    pub agents: Vec<Agent>,
    /// The exact parameters, as strings, in a stable order.
    pub parameters: BTreeMap<String, String>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub started: String,
    pub ended: String,
}

/// A PREMIS `derivation` relationship: `output` is derived from `source`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Derivation {
    pub source: String,
    pub output: String,
}

impl Record {
    /// The event this record becomes in PREMIS (objects: sources first, then outputs).
    pub fn to_event(&self) -> Event {
        let mut detail = format!("{} (rule {})", self.action, self.rule);
        if !self.parameters.is_empty() {
            let params: Vec<String> = self
                .parameters
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            detail.push_str(&format!("; {}", params.join(", ")));
        }
        if let Some(d) = &self.detail {
            detail.push_str(&format!("; {d}"));
        }
        Event {
            id: self.id.clone(),
            event_type: self.event_type,
            date_time: self.ended.clone(),
            outcome: self.outcome,
            detail: Some(detail),
            agents: self.agents.clone(),
            objects: self
                .sources
                .iter()
                .chain(self.outputs.iter())
                .cloned()
                .collect(),
        }
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

fn software(name: &str, version: &str) -> Agent {
    Agent {
        kind: AgentKind::Software,
        name: name.into(),
        version: Some(version.into()),
    }
}

// Versions of the crates that do the work, as locked in Cargo.lock (checked by the test below).
pub(crate) const IMAGE_VERSION: &str = "0.25.10";
pub(crate) const TIFF_VERSION: &str = "0.9.1";
pub(crate) const SYMPHONIA_VERSION: &str = "0.5.5";
pub(crate) const HOUND_VERSION: &str = "3.5.1";
pub(crate) const MAIL_PARSER_VERSION: &str = "0.11.9";

pub(crate) fn crate_agent(name: &str) -> Agent {
    let version = match name {
        "image" => IMAGE_VERSION,
        "tiff" => TIFF_VERSION,
        "symphonia" => SYMPHONIA_VERSION,
        "hound" => HOUND_VERSION,
        "mail-parser" => MAIL_PARSER_VERSION,
        _ => "unknown",
    };
    software(&format!("{name} (Rust crate)"), version)
}

pub(crate) fn tool_agent(name: &str, version: &str) -> Agent {
    software(name, version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_versions_match_cargo_lock() {
        let lock = include_str!("../../Cargo.lock");
        for (name, v) in [
            ("image", IMAGE_VERSION),
            ("tiff", TIFF_VERSION),
            ("symphonia", SYMPHONIA_VERSION),
            ("hound", HOUND_VERSION),
            ("mail-parser", MAIL_PARSER_VERSION),
        ] {
            let entry = format!("name = \"{name}\"\nversion = \"{v}\"");
            assert!(lock.contains(&entry), "{name} {v} not in Cargo.lock");
        }
    }
}
