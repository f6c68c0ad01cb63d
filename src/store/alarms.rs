//! The response targets' timers as index rows, written with the ticket in
//! the same transaction (`ticket_index`):
//!
//! - `alarm/{at µs}/{number}`: the ticket's next alarm (or its
//!   follow-up, resolved or not) goes off at `at`;
//! - `replan/{number}`: the ticket moved on (the customer wrote, someone
//!   answered or claimed, the priority changed) since its alarms were
//!   planned, so they must be planned again.
//!
//! The alarm loop reads only these: what is due, and what moved.

use chrono::{DateTime, Utc};

use super::codec::{self, number_key};
use super::index::Summary;
use super::{Store, StoreError};
use crate::ticket::targets::{follow_up_due, Basis};
use crate::ticket::{Ticket, TicketId};

/// The timer rows of a ticket: its follow-up, and for an active one
/// its response target's next alarm (or that it must be planned again).
pub(super) fn rows(t: &Ticket, summary: &Summary, active: bool) -> Vec<(String, Summary)> {
    let mut rows = Vec::new();
    let mut next = follow_up_due(t);
    if active {
        if t.alarms.basis == Some(Basis::of(t)) {
            next = next.into_iter().chain(t.alarms.next_at).min();
        } else {
            rows.push((
                format!("replan/{}", number_key(t.id.get())),
                summary.clone(),
            ));
        }
    }
    rows.extend(next.map(|at| (alarm_key(at, t.id), summary.clone())));
    rows
}

fn alarm_key(at: DateTime<Utc>, id: TicketId) -> String {
    format!(
        "alarm/{:020}/{}",
        at.timestamp_micros().max(0),
        number_key(id.get())
    )
}

/// Tickets numbered below this were opened before perch planned alarms.
const ALARMS_FROM: &str = "alarms_from_ticket";

impl Store {
    /// Records that the tickets the store holds now were opened before
    /// perch had response targets (a store an older perch indexed): what
    /// is already past for them is not called out. Kept once set; an
    /// import reproduces its dump and marks nothing.
    pub(super) fn mark_tickets_before_alarms(&self) -> Result<(), StoreError> {
        if self.get::<u64>(&self.meta, "meta", ALARMS_FROM)?.is_some() {
            return Ok(());
        }
        // A store without tickets has nothing from before (and stays
        // empty for an import).
        match self.get::<u64>(&self.meta, "meta", "next_ticket")? {
            Some(next) if next > 1 => self.put(&self.meta, ALARMS_FROM, &next),
            _ => Ok(()),
        }
    }

    /// Whether ticket `id` was opened before perch planned alarms.
    pub fn opened_before_alarms(&self, id: TicketId) -> Result<bool, StoreError> {
        let from: Option<u64> = self.get(&self.meta, "meta", ALARMS_FROM)?;
        Ok(from.is_some_and(|from| id.get() < from))
    }

    /// The tickets whose next alarm is due at `now`, the earliest first.
    pub fn alarms_due(&self, now: DateTime<Utc>) -> Result<Vec<TicketId>, StoreError> {
        let end = format!("alarm/{:020}0", now.timestamp_micros().max(0));
        self.index_ids(
            self.ticket_index
                .range(b"alarm/".as_slice()..end.as_bytes()),
        )
    }

    /// When the next alarm of any ticket goes off.
    pub fn next_alarm(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let Some(item) = self.ticket_index.scan_prefix("alarm/").next() else {
            return Ok(None);
        };
        let (key, _) = item?;
        let micros = codec::show_key(&key)
            .get(6..26)
            .and_then(|m| m.parse::<i64>().ok());
        Ok(micros.and_then(DateTime::from_timestamp_micros))
    }

    /// The active tickets whose alarms must be planned again.
    pub fn alarms_to_plan(&self) -> Result<Vec<TicketId>, StoreError> {
        self.index_ids(self.ticket_index.scan_prefix("replan/"))
    }

    fn index_ids(&self, rows: sled::Iter) -> Result<Vec<TicketId>, StoreError> {
        let mut out = Vec::new();
        for item in rows {
            let (key, value) = item?;
            let row: Summary = codec::decode("ticket_index", &key, &value)?;
            out.push(row.id);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::index::VERSION_KEY;
    use super::*;
    use crate::testing::mention;

    #[test]
    fn tickets_an_older_perch_opened_are_marked_as_from_before_alarms() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("open");
        let old = store
            .open_ticket(mention(1))
            .expect("open")
            .ticket()
            .clone();
        assert!(
            !store.opened_before_alarms(old.id).expect("read"),
            "a new store"
        );
        // As an older perch left it: indexed by version 1, no mark.
        store.put(&store.meta, VERSION_KEY, &1u64).expect("version");
        store.meta.remove(ALARMS_FROM).expect("unmark");
        drop(store);
        let store = Store::open(dir.path()).expect("open again");
        let new = store
            .open_ticket(mention(2))
            .expect("open")
            .ticket()
            .clone();
        assert!(store.opened_before_alarms(old.id).expect("read"));
        assert!(!store.opened_before_alarms(new.id).expect("read"));
    }
}
