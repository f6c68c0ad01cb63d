//! The append-only audit log: who did what to which ticket, and when.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{codec, Store, StoreError};
use crate::ticket::{Agent, TicketId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub ticket: Option<TicketId>,
    /// `None` when perch itself acted (a new ticket, an idle release).
    pub actor: Option<Agent>,
    pub action: String,
    pub detail: Option<String>,
}

impl Store {
    /// One ticket's history in order, or the whole log by time.
    pub fn audit_log(&self, ticket: Option<TicketId>) -> Result<Vec<AuditEntry>, StoreError> {
        let mut out = Vec::new();
        let prefix = ticket.map(|id| format!("{}/", codec::number_key(id.get())));
        for item in self
            .audit
            .scan_prefix(prefix.as_deref().unwrap_or_default())
        {
            let (key, bytes) = item?;
            out.push(codec::decode::<AuditEntry>("audit", &key, &bytes)?);
        }
        if ticket.is_none() {
            out.sort_by_key(|e| e.at);
        }
        Ok(out)
    }
}
