//! The rule tables, as data: every E-ARK requirement (`profiles/eark-rules.toml`) and every DA/T 70-2018 item
//! (`profiles/dat70-items.toml`). Code refers to rules by their IDs verbatim; the tables say how binding each is,
//! which spec versions it applies to and which of the four properties it counts against.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::{Property, Spec};

/// How binding an E-ARK requirement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Requirement {
    MUST,
    SHOULD,
    MAY,
}

/// Whether a rule belongs to the common specification (every package) or to the SIP profile only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Csip,
    Sip,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    pub level: Requirement,
    pub scope: Scope,
    pub versions: Vec<String>,
    pub location: String,
    pub cardinality: String,
    pub name: String,
    #[serde(default)]
    pub zh: Option<String>,
    /// The DA/T 70-2018 item a failure counts against.
    pub dat70: String,
    /// Whether a machine can tell from the package alone that the requirement is broken (`false` where the
    /// requirement depends on what the producer knows, e.g. CSIP8 "when the package has been modified", or
    /// names a thing only by the attribute it constrains, e.g. CSIP90 the Metadata division's LABEL). The
    /// requirement-coverage test counts the testable ones.
    #[serde(default = "yes")]
    pub testable: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dat70Item {
    pub id: String,
    pub property: Property,
    pub zh: String,
    pub en: String,
    /// "T", "C" or "U", as in STANDARDS.md.
    pub certainty: String,
}

#[derive(Debug, Deserialize)]
struct RuleFile {
    rule: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
struct ItemFile {
    item: Vec<Dat70Item>,
}

/// Both tables, indexed.
#[derive(Debug)]
pub struct RuleTable {
    pub rules: Vec<Rule>,
    pub items: Vec<Dat70Item>,
    by_id: HashMap<String, usize>,
    item_by_id: HashMap<String, usize>,
}

/// The prefix of rule IDs taken from DA/T 70-2018.
pub const DAT70: &str = "DA/T 70-2018 ";

const EARK_TOML: &str = include_str!("../../profiles/eark-rules.toml");
const DAT70_TOML: &str = include_str!("../../profiles/dat70-items.toml");

impl RuleTable {
    /// Parse tables from TOML text.
    pub fn from_toml(eark: &str, dat70: &str) -> Result<RuleTable, toml::de::Error> {
        let rules = toml::from_str::<RuleFile>(eark)?.rule;
        let items = toml::from_str::<ItemFile>(dat70)?.item;
        let by_id = rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        let item_by_id = items
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        Ok(RuleTable {
            rules,
            items,
            by_id,
            item_by_id,
        })
    }

    /// The tables built into the binary.
    pub fn embedded() -> &'static RuleTable {
        static TABLE: OnceLock<RuleTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            // The embedded tables are part of the source and checked by a unit test: a parse error is a bug.
            RuleTable::from_toml(EARK_TOML, DAT70_TOML).expect("embedded rule tables parse")
        })
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.by_id.get(id).map(|&i| &self.rules[i])
    }

    /// A DA/T 70 item by its number ("1.1") or its full rule ID ("DA/T 70-2018 1.1").
    pub fn item(&self, id: &str) -> Option<&Dat70Item> {
        let id = id.strip_prefix(DAT70).unwrap_or(id);
        self.item_by_id.get(id).map(|&i| &self.items[i])
    }

    /// Whether a rule ID (E-ARK or DA/T 70) is in the tables.
    pub fn knows(&self, id: &str) -> bool {
        self.rule(id).is_some() || (id.starts_with(DAT70) && self.item(id).is_some())
    }

    /// Whether an E-ARK rule applies under a spec: SIP rules only for SIP profiles, and only for the versions
    /// the table lists. DA/T 70 rules always apply.
    pub fn applies(&self, id: &str, spec: Spec) -> bool {
        let Some(r) = self.rule(id) else {
            return true;
        };
        if r.scope == Scope::Sip && matches!(spec, Spec::Csip) {
            return false;
        }
        r.versions.iter().any(|v| v == spec.version())
    }

    /// The property a rule counts against.
    pub fn property(&self, id: &str) -> Property {
        let item = match self.rule(id) {
            Some(r) => self.item(&r.dat70),
            None => self.item(id),
        };
        item.map(|i| i.property).unwrap_or(Property::Authenticity)
    }

    /// Display name of a rule in a language.
    pub fn title(&self, id: &str, zh: bool) -> String {
        if let Some(r) = self.rule(id) {
            return if zh {
                r.zh.clone().unwrap_or_else(|| r.name.clone())
            } else {
                r.name.clone()
            };
        }
        match self.item(id) {
            Some(i) if zh => i.zh.clone(),
            Some(i) => i.en.clone(),
            None => id.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_tables_parse_and_are_complete() {
        let t = RuleTable::embedded();
        assert_eq!(t.rules.len(), 168);
        assert_eq!(t.items.len(), 16);
        for id in [
            "CSIPSTR1", "CSIPSTR4", "CSIP0", "CSIP1", "CSIP119", "SIP1", "SIP35",
        ] {
            assert!(t.rule(id).is_some(), "{id}");
        }
        for r in &t.rules {
            assert!(
                t.item(&r.dat70).is_some(),
                "{} maps to unknown DA/T 70 item {}",
                r.id,
                r.dat70
            );
        }
        assert!(t.knows("DA/T 70-2018 4.2"));
        assert!(!t.applies("SIP15", Spec::Csip));
        assert!(t.applies("SIP15", Spec::Sip220));
        assert!(t.applies("CSIP1", Spec::Csip));
    }
}
