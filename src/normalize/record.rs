//! Provenance agents (issue 5, item 3): every action yields a [`crate::model::Event`] — sources, outputs,
//! agents (dangan and the crate or tool with its version), exact parameters, outcome, start and end time —
//! a PREMIS 3.0 event (`nor` normalization for preservation copies, `cre` creation for access copies)
//! with a `derivation` relationship from each output to its source. Here: the agents of the crates and
//! tools that do the work, with their versions.

use crate::model::{Agent, AgentKind};

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
