//! What ingest needs to resume without losing or repeating anything: the
//! cursor of each source, and the ids of inbound events already handled.

use chrono::{DateTime, Duration, Utc};

use super::{codec, Store, StoreError};

impl Store {
    /// The cursor of one ingest source (`since_id`, a page token, ...).
    pub fn cursor(&self, account: &str, source: &str) -> Result<Option<String>, StoreError> {
        self.get(&self.cursors, "cursors", &format!("{account}/{source}"))
    }

    /// Moves a cursor. Call only after what it covers is recorded.
    pub fn set_cursor(&self, account: &str, source: &str, value: &str) -> Result<(), StoreError> {
        self.put(&self.cursors, &format!("{account}/{source}"), &value)
    }

    /// Records an inbound event id. `true` the first time (handle it),
    /// `false` when it was already seen and has not expired (drop it).
    /// Atomic: two deliveries racing get one `true`.
    pub fn mark_seen(
        &self,
        namespace: &str,
        id: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = format!("{namespace}/{id}");
        let fresh = codec::encode(&(now + ttl).timestamp())?;
        loop {
            let current = self.seen.get(&key)?;
            if let Some(bytes) = &current {
                let expires: i64 = codec::decode("seen", key.as_bytes(), bytes)?;
                if expires > now.timestamp() {
                    return Ok(false);
                }
            }
            if self
                .seen
                .compare_and_swap(&key, current, Some(fresh.as_slice()))?
                .is_ok()
            {
                self.flush()?;
                return Ok(true);
            }
        }
    }

    /// Drops expired event ids; returns how many.
    pub fn purge_seen(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut removed = 0;
        for item in self.seen.iter() {
            let (key, bytes) = item?;
            let expires: i64 = codec::decode("seen", &key, &bytes)?;
            if expires <= now.timestamp()
                && self
                    .seen
                    .compare_and_swap(&key, Some(bytes), None as Option<&[u8]>)?
                    .is_ok()
            {
                removed += 1;
            }
        }
        if removed > 0 {
            self.flush()?;
        }
        Ok(removed)
    }
}
