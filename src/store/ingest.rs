//! What ingest needs to resume without losing or repeating anything: the
//! cursor of each source, and the ids of inbound events already handled.

use std::convert::Infallible;

use chrono::{DateTime, Duration, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sled::Transactional;

use super::{abort, codec, finish, Store, StoreError, TxResult};

impl Store {
    /// The cursor of one ingest source (`since_id`, a page token, ...).
    pub fn cursor(&self, account: &str, source: &str) -> Result<Option<String>, StoreError> {
        self.get(&self.cursors, "cursors", &format!("{account}/{source}"))
    }

    /// Moves a cursor. Call only after what it covers is recorded.
    /// Every cursor whose source ends in `suffix`, as `account/source`
    /// (without it) to value.
    pub fn cursors_named(&self, suffix: &str) -> Result<Vec<(String, String)>, StoreError> {
        let mut out = Vec::new();
        for (key, value) in self.all::<String>(&self.cursors, "cursors")? {
            if let Some(name) = key.strip_suffix(suffix) {
                out.push((name.to_owned(), value));
            }
        }
        Ok(out)
    }

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
                if unexpired(key.as_bytes(), bytes, now)? {
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
            if !unexpired(&key, &bytes, now)?
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

    /// Records an inbound item unless its key was seen (and has not
    /// expired): the item joins the inbox and its key the seen ids in one
    /// transaction, so an item is recorded once whichever source, retry or
    /// restart brings it again. `true` when it was new.
    pub fn record_inbound<T: Serialize>(
        &self,
        key: &str,
        item: &T,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let seen_key = format!("inbound/{key}");
        let new = self.record_once(&self.inbox, &seen_key, key, &codec::encode(item)?, ttl, now)?;
        if new {
            self.inbox_arrivals.notify_one();
        }
        Ok(new)
    }

    /// Whether an inbound item with this key was recorded (and its seen id
    /// has not expired), without recording anything.
    pub fn was_recorded(&self, key: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let seen_key = format!("inbound/{key}");
        match self.seen.get(&seen_key)? {
            Some(bytes) => unexpired(seen_key.as_bytes(), &bytes, now),
            None => Ok(false),
        }
    }

    /// Notified when an item joins the X inbox (in this process), so the
    /// relay takes it at once instead of at its next tick.
    pub fn inbox_arrivals(&self) -> &tokio::sync::Notify {
        &self.inbox_arrivals
    }

    /// Puts `value` under `key` in `journal` and `seen_key` in the seen ids,
    /// in one transaction, unless `seen_key` was seen and has not expired.
    /// `true` when it was new.
    pub(super) fn record_once(
        &self,
        journal: &sled::Tree,
        seen_key: &str,
        key: &str,
        value: &[u8],
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let expiry = codec::encode(&(now + ttl).timestamp())?;
        let result =
            (&self.seen, journal).transaction(|(seen, journal)| -> TxResult<bool, Infallible> {
                if let Some(bytes) = seen.get(seen_key.as_bytes())? {
                    if unexpired(seen_key.as_bytes(), &bytes, now).or_else(abort)? {
                        return Ok(false);
                    }
                }
                seen.insert(seen_key.as_bytes(), expiry.clone())?;
                journal.insert(key.as_bytes(), value)?;
                Ok(true)
            });
        let new = finish(result)?.unwrap_or_else(|never| match never {});
        if new {
            self.flush()?;
        }
        Ok(new)
    }

    /// Inbound items not yet taken by the relay, in key order.
    pub fn inbox<T: DeserializeOwned>(&self) -> Result<Vec<(String, T)>, StoreError> {
        self.all(&self.inbox, "inbox")
    }

    /// The relay took an item (it stays in `seen` until it expires).
    pub fn take_inbound(&self, key: &str) -> Result<(), StoreError> {
        self.inbox.remove(key)?;
        self.flush()
    }

    /// Adds `n` to a counter in `meta` and returns the new total.
    pub fn add_to_counter(&self, name: &str, n: u64) -> Result<u64, StoreError> {
        let key = format!("counter/{name}");
        loop {
            let current = self.meta.get(&key)?;
            let total = match &current {
                Some(bytes) => codec::decode::<u64>("meta", key.as_bytes(), bytes)?,
                None => 0,
            } + n;
            let next = codec::encode(&total)?;
            if self
                .meta
                .compare_and_swap(&key, current, Some(next))?
                .is_ok()
            {
                self.flush()?;
                return Ok(total);
            }
        }
    }

    /// A counter's value, if it was ever set.
    pub fn counter(&self, name: &str) -> Result<Option<u64>, StoreError> {
        self.get(&self.meta, "meta", &format!("counter/{name}"))
    }

    /// Sets a counter to `n` (a figure read from elsewhere).
    pub fn set_counter(&self, name: &str, n: u64) -> Result<(), StoreError> {
        self.meta
            .insert(format!("counter/{name}"), codec::encode(&n)?)?;
        self.flush()
    }

    /// Counters whose name starts with `prefix`.
    pub fn counters(&self, prefix: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let mut out = Vec::new();
        for item in self.meta.scan_prefix(format!("counter/{prefix}")) {
            let (key, bytes) = item?;
            let n: u64 = codec::decode("meta", &key, &bytes)?;
            let name = codec::show_key(&key);
            out.push((name.trim_start_matches("counter/").to_owned(), n));
        }
        Ok(out)
    }
}

/// Whether a seen id (its value: when it expires) still holds at `now`.
pub(super) fn unexpired(key: &[u8], bytes: &[u8], now: DateTime<Utc>) -> Result<bool, StoreError> {
    let expires: i64 = codec::decode("seen", key, bytes)?;
    Ok(expires > now.timestamp())
}
