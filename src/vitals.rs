//! Whether each link perch depends on works: a chat platform, an X
//! source being polled. Each link says when it last worked and since when
//! it has been failing; health turns a link that has failed for longer
//! than its patience into `degraded`, naming the link and the reason.
//! Time comes from the injected clock, so tests can let minutes pass.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::clock::{Clock, SystemClock};

/// How long a chat platform may fail before health says so.
pub const PLATFORM_PATIENCE: chrono::Duration = chrono::Duration::minutes(2);

/// How many poll intervals an X source may fail before health says so.
pub const INGEST_ROUNDS: i32 = 3;

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_ok: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(skip)]
    patience: chrono::Duration,
}

impl Link {
    fn new(patience: chrono::Duration) -> Self {
        Self {
            last_ok: None,
            failing_since: None,
            reason: String::new(),
            patience,
        }
    }
}

/// A link failing for longer than its patience.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trouble {
    pub link: String,
    pub reason: String,
    pub minutes: i64,
}

#[derive(Clone)]
pub struct Vitals {
    clock: Arc<dyn Clock>,
    links: Arc<Mutex<BTreeMap<String, Link>>>,
}

impl Default for Vitals {
    fn default() -> Self {
        Self::new(Arc::new(SystemClock))
    }
}

impl Vitals {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            links: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Link>> {
        self.links
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `link` worked just now.
    pub fn ok(&self, link: &str) {
        let now = self.clock.now();
        let mut links = self.lock();
        let entry = links
            .entry(link.to_owned())
            .or_insert_with(|| Link::new(PLATFORM_PATIENCE));
        if entry.failing_since.take().is_some() {
            tracing::info!(link, "works again");
        }
        entry.last_ok = Some(now);
        entry.reason.clear();
    }

    /// `link` failed just now with `reason`; health says so once it has
    /// failed for longer than `patience`.
    pub fn failed(&self, link: &str, reason: impl std::fmt::Display, patience: chrono::Duration) {
        let now = self.clock.now();
        let mut links = self.lock();
        let entry = links
            .entry(link.to_owned())
            .or_insert_with(|| Link::new(patience));
        entry.failing_since.get_or_insert(now);
        entry.reason = reason.to_string();
        entry.patience = patience;
    }

    /// Every link and its state, for `/healthz`.
    pub fn links(&self) -> BTreeMap<String, Link> {
        self.lock().clone()
    }

    /// The links failing for longer than their patience.
    pub fn troubles(&self) -> Vec<Trouble> {
        let now = self.clock.now();
        self.lock()
            .iter()
            .filter_map(|(name, link)| {
                let since = link.failing_since?;
                (now - since > link.patience).then(|| Trouble {
                    link: name.clone(),
                    reason: link.reason.clone(),
                    minutes: (now - since).num_minutes(),
                })
            })
            .collect()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn a_link_is_trouble_only_after_its_patience_and_until_it_works() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let vitals = Vitals::new(clock.clone());
        vitals.failed("slack", "unreachable", PLATFORM_PATIENCE);
        assert!(vitals.troubles().is_empty());
        clock.advance(chrono::Duration::minutes(1));
        // Failing again does not restart the count.
        vitals.failed("slack", "still unreachable", PLATFORM_PATIENCE);
        clock.advance(chrono::Duration::minutes(2));
        assert_eq!(
            vitals.troubles(),
            vec![Trouble {
                link: "slack".into(),
                reason: "still unreachable".into(),
                minutes: 3
            }]
        );
        vitals.ok("slack");
        assert!(vitals.troubles().is_empty());
        assert!(vitals.links()["slack"].last_ok.is_some());
    }
}
