//! What an operation needs from the outside world, passed in so that runs are reproducible.
//!
//! dangan never reads the clock or draws random identifiers inside the library: the binary builds a
//! [`Context`] (from `--created` and `--id` when given) and hands it down. Tests build one with a fixed
//! time and a seeded [`IdSource`], so the same input gives the same bytes.

use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use uuid::Uuid;

use crate::model::Agent;

/// Where identifiers come from.
#[derive(Debug)]
pub enum IdSource {
    /// Random version-4 UUIDs: the default for real runs.
    Random,
    /// Version-5 UUIDs derived from a seed and a counter: the same seed gives the same sequence.
    Seeded { seed: Uuid, counter: AtomicU64 },
}

impl IdSource {
    /// A deterministic source derived from any text (for example the value of `--id`).
    pub fn seeded(seed: &str) -> Self {
        IdSource::Seeded {
            seed: Uuid::new_v5(&Uuid::NAMESPACE_URL, seed.as_bytes()),
            counter: AtomicU64::new(0),
        }
    }

    /// The next identifier.
    pub fn next_uuid(&self) -> Uuid {
        match self {
            IdSource::Random => Uuid::new_v4(),
            IdSource::Seeded { seed, counter } => {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                Uuid::new_v5(seed, &n.to_be_bytes())
            }
        }
    }

    // --- begin pack (issue 12): one spelling of event identifiers ---
    /// The next PREMIS event identifier: the bare UUID (its `eventIdentifierType` says `UUID`), the one
    /// spelling every command uses (normalize's events once carried `urn:uuid:`, pack's did not).
    pub fn event_id(&self) -> String {
        self.next_uuid().to_string()
    }
    // --- end pack (issue 12) ---
}

/// The clock, the identifier source and the acting agent of one run.
#[derive(Debug)]
pub struct Context {
    /// "Now" for everything this run records (CREATEDATE, PREMIS event times, Bagging-Date).
    pub now: Timestamp,
    pub ids: IdSource,
    /// The software agent doing the work (dangan itself unless embedded elsewhere).
    pub agent: Agent,
}

impl Context {
    /// A context for a real run: the system clock and random identifiers.
    pub fn live() -> Self {
        Context {
            now: Timestamp::now(),
            ids: IdSource::Random,
            agent: Agent::dangan(),
        }
    }

    /// A fixed context: the given time and identifiers seeded from `seed`.
    pub fn fixed(now: Timestamp, seed: &str) -> Self {
        Context {
            now,
            ids: IdSource::seeded(seed),
            agent: Agent::dangan(),
        }
    }

    /// `now` as RFC 3339 in UTC with second precision, the form METS and PREMIS dates use.
    pub fn now_rfc3339(&self) -> String {
        self.now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_repeat_and_differ() {
        let a = IdSource::seeded("batch-1");
        let b = IdSource::seeded("batch-1");
        let first = a.next_uuid();
        assert_eq!(first, b.next_uuid());
        assert_ne!(first, a.next_uuid());
        assert_ne!(first, IdSource::seeded("batch-2").next_uuid());
    }

    #[test]
    fn rfc3339_is_utc_seconds() {
        let now: Timestamp = "2026-11-28T10:11:12.345Z".parse().unwrap();
        assert_eq!(
            Context::fixed(now, "x").now_rfc3339(),
            "2026-11-28T10:11:12Z"
        );
    }
}
