//! The durable store, on sled 0.34.
//!
//! Trees (every key is UTF-8; numbers are zero-padded to sort):
//!
//! | tree          | key                              | value                 |
//! |---------------|----------------------------------|-----------------------|
//! | tickets       | ticket number                    | `Ticket`              |
//! | tweets        | tweet id                         | ticket number         |
//! | conversations | `ConversationKey::storage_key`   | ticket number         |
//! | threads       | `ChatThread::storage_key`        | ticket number         |
//! | cursors       | `account/source`                 | cursor string         |
//! | seen          | `namespace/event id`             | expiry (unix seconds) |
//! |               | `auto/account/customer/reply`    | end of its quiet time |
//! | outbox        | sequence                         | `OutboxEntry`         |
//! | agents        | agent id                         | `AgentRecord`         |
//! | audit         | `ticket/revision/n`             | `AuditEntry`          |
//! | meta          | name                             | counters, schema      |
//! | tokens        | account key                      | OAuth 2 refresh token |
//! | inbox         | `account/post|dm/id`             | inbound item          |
//! | chat_inbox    | sequence                         | `ChatEvent`           |
//! | chat_views    | `ticket/route`                   | `RouteView`           |
//! | chat_sync     | ticket number                    | revision to show      |
//! | ticket_index  | see `index`                      | ticket summary        |
//! | outbox_index  | see `index`                      | outbox number         |
//!
//! Every value is framed by `codec` (schema version + CRC-32). Writes that
//! touch several trees, and every claim change, run in one sled transaction,
//! so racing agents get exactly one winner. sled writes to disk in the
//! background every 500 ms; every public write here flushes before it
//! returns, so what a caller acknowledges outward survives a crash.

mod agents;
mod alarms;
mod audit;
mod chat;
pub mod codec;
mod dump;
mod error;
mod index;
mod ingest;
mod outbox;
mod tickets;

use std::path::Path;

use sled::transaction::{ConflictableTransactionError, TransactionError};

pub use agents::AgentRecord;
pub use audit::AuditEntry;
pub use chat::{ChatEvents, RouteView};
pub use dump::ImportSummary;
pub use error::StoreError;
pub use index::Summary;
pub use outbox::{Compacted, Delivery, OutboxCounts, OutboxEntry, OutboxId};
pub use tickets::{Also, FirstReply, Opened, Outgoing, Updated};

/// sled's page cache (its default is 1 GiB): what perch reads often is
/// the open tickets, the indexes and the work queues, far less than this.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// How often sled's background flusher wakes (its default is 500 ms).
/// perch flushes every write itself before it answers or moves on, so the
/// flusher makes nothing durable that is not already; what it does is
/// clean sled's segments, a little each time it wakes, and on a store
/// where much was removed (a year's sent replies forgotten at once) that
/// cleaning takes a steady share of a core whenever anything is written:
/// 17% at 500 ms on the bench's 1,000,000-ticket store with a write every
/// 3 s, 1.7% at 5 s. Space is reclaimed as surely, ten times slower.
const FLUSHER_EVERY_MS: u64 = 5_000;

/// The `meta` key of the counter behind `next_number`.
const NEXT_NUMBER: &str = "next_number";

/// Every tree, in export order.
pub const TREES: [&str; 15] = [
    "meta",
    "tickets",
    "tweets",
    "conversations",
    "threads",
    "cursors",
    "seen",
    "outbox",
    "agents",
    "audit",
    "tokens",
    "inbox",
    "chat_inbox",
    "chat_views",
    "chat_sync",
];

/// Whether a stored value reads as its tree's type: intact framing, and
/// JSON that decodes as what perch reads from that tree (`meta` and the X
/// inbox, whose values vary or belong to a layer above, as any JSON).
/// Startup and `perch import` both check every value with it.
pub(crate) fn check(tree: &str, key: &[u8], bytes: &[u8]) -> Result<(), StoreError> {
    fn reads_as<T: serde::de::DeserializeOwned>(
        tree: &str,
        key: &[u8],
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        codec::decode::<T>(tree, key, bytes).map(|_| ())
    }
    match tree {
        "tickets" => reads_as::<crate::ticket::Ticket>(tree, key, bytes),
        "tweets" | "conversations" | "threads" => {
            reads_as::<crate::ticket::TicketId>(tree, key, bytes)
        }
        "seen" => reads_as::<i64>(tree, key, bytes),
        "outbox" => reads_as::<OutboxEntry>(tree, key, bytes),
        "agents" => reads_as::<AgentRecord>(tree, key, bytes),
        "audit" => reads_as::<AuditEntry>(tree, key, bytes),
        "tokens" | "cursors" => reads_as::<String>(tree, key, bytes),
        "chat_inbox" => reads_as::<crate::chat::ChatEvent>(tree, key, bytes),
        "chat_views" => reads_as::<RouteView>(tree, key, bytes),
        "chat_sync" => reads_as::<u64>(tree, key, bytes),
        _ => reads_as::<serde_json::Value>(tree, key, bytes),
    }
}

/// A handle on the store. Cheap to clone; every clone sees the same data.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    meta: sled::Tree,
    tickets: sled::Tree,
    tweets: sled::Tree,
    conversations: sled::Tree,
    threads: sled::Tree,
    cursors: sled::Tree,
    seen: sled::Tree,
    outbox: sled::Tree,
    agents: sled::Tree,
    audit: sled::Tree,
    tokens: sled::Tree,
    inbox: sled::Tree,
    chat_inbox: sled::Tree,
    chat_views: sled::Tree,
    chat_sync: sled::Tree,
    ticket_index: sled::Tree,
    outbox_index: sled::Tree,
    /// How many tickets have been read whole (the relay's loops should
    /// read only the ones they have work for).
    ticket_reads: std::sync::Arc<std::sync::atomic::AtomicU64>,
    inbox_arrivals: std::sync::Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let open_err = |reason: sled::Error| {
            // sled's file lock: another process has this store open.
            let locked = match &reason {
                sled::Error::Io(e) => {
                    e.kind() == std::io::ErrorKind::WouldBlock
                        || e.get_ref()
                            .and_then(|inner| inner.downcast_ref::<std::io::Error>())
                            .is_some_and(|inner| inner.kind() == std::io::ErrorKind::WouldBlock)
                        || e.to_string().contains("could not acquire lock")
                }
                _ => false,
            };
            if locked {
                StoreError::InUse {
                    path: dir.to_owned(),
                }
            } else {
                StoreError::Open {
                    path: dir.to_owned(),
                    reason,
                }
            }
        };
        let db = Self::open_db(dir).map_err(open_err)?;
        let tree = |name: &str| db.open_tree(name).map_err(open_err);
        let store = Self {
            meta: tree("meta")?,
            tickets: tree("tickets")?,
            tweets: tree("tweets")?,
            conversations: tree("conversations")?,
            threads: tree("threads")?,
            cursors: tree("cursors")?,
            seen: tree("seen")?,
            outbox: tree("outbox")?,
            agents: tree("agents")?,
            audit: tree("audit")?,
            tokens: tree("tokens")?,
            inbox: tree("inbox")?,
            chat_inbox: tree("chat_inbox")?,
            chat_views: tree("chat_views")?,
            chat_sync: tree("chat_sync")?,
            ticket_index: tree("ticket_index")?,
            outbox_index: tree("outbox_index")?,
            ticket_reads: std::sync::Arc::default(),
            inbox_arrivals: std::sync::Arc::default(),
            db,
        };
        if store.ensure_indexes()? {
            tracing::info!("store indexed");
        }
        Ok(store)
    }

    /// sled's file lock outlives a closed store for a moment: a write
    /// sled finishes on a background thread holds the file after the last
    /// handle is dropped (sled's own tests block on the lock for this
    /// reason). So a lock that is taken is asked for again for up to
    /// `LOCK_PATIENCE` before the store counts as another process's.
    fn open_db(dir: &Path) -> Result<sled::Db, sled::Error> {
        const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(1);
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(5);
        loop {
            match sled::Config::new()
                .path(dir)
                .use_compression(Self::compressed(dir))
                .cache_capacity(CACHE_BYTES)
                .flush_every_ms(Some(FLUSHER_EVERY_MS))
                .open()
            {
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock")
                        && started.elapsed() < LOCK_PATIENCE =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(100));
                }
                other => return other,
            }
        }
    }

    /// Whether the store in `dir` is (or, new, will be) kept compressed
    /// (zstd, through sled: JSON shrinks to about a third). sled cannot
    /// change this on an existing store, so one made before compression
    /// stays as it is (an export and import into a new directory
    /// compresses it).
    fn compressed(dir: &Path) -> bool {
        match std::fs::read_to_string(dir.join("conf")) {
            Ok(conf) => !conf.lines().any(|l| l.trim() == "use_compression: false"),
            Err(_) => true,
        }
    }

    fn tree(&self, name: &str) -> Option<&sled::Tree> {
        Some(match name {
            "meta" => &self.meta,
            "tickets" => &self.tickets,
            "tweets" => &self.tweets,
            "conversations" => &self.conversations,
            "threads" => &self.threads,
            "cursors" => &self.cursors,
            "seen" => &self.seen,
            "outbox" => &self.outbox,
            "agents" => &self.agents,
            "audit" => &self.audit,
            "tokens" => &self.tokens,
            "inbox" => &self.inbox,
            "chat_inbox" => &self.chat_inbox,
            "chat_views" => &self.chat_views,
            "chat_sync" => &self.chat_sync,
            _ => return None,
        })
    }

    /// Makes every write so far durable. Called by each write before it
    /// returns; public for callers that batch.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// The next number for an outbox entry or a chat journal entry, from
    /// a counter in `meta` (so it travels with an export: sled's own id
    /// generator starts again at 0 in an imported store, and its numbers
    /// would overwrite imported entries). A store without the counter
    /// starts after the highest number either tree holds.
    pub(crate) fn next_number(&self) -> Result<u64, StoreError> {
        let highest = |tree: &sled::Tree| -> Result<u64, StoreError> {
            Ok(match tree.last()? {
                Some((key, _)) => codec::show_key(&key).parse::<u64>().map_or(0, |n| n + 1),
                None => 0,
            })
        };
        let seed = if self.meta.contains_key(NEXT_NUMBER)? {
            0
        } else {
            highest(&self.outbox)?.max(highest(&self.chat_inbox)?)
        };
        let mut damaged = None;
        let taken = self.meta.fetch_and_update(NEXT_NUMBER, |old| {
            let n = match old
                .map(|bytes| codec::decode::<u64>("meta", NEXT_NUMBER.as_bytes(), bytes))
            {
                Some(Ok(n)) => n,
                Some(Err(e)) => {
                    damaged = Some(e);
                    return old.map(<[u8]>::to_vec);
                }
                None => seed,
            };
            codec::encode(&(n + 1)).ok()
        })?;
        if let Some(e) = damaged {
            return Err(e);
        }
        match taken {
            Some(bytes) => codec::decode("meta", NEXT_NUMBER.as_bytes(), &bytes),
            None => Ok(seed),
        }
    }

    /// How many tickets have been read whole since the store was opened.
    pub fn ticket_reads(&self) -> u64 {
        self.ticket_reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether every tree is empty (a fresh store, fit for `import`).
    pub fn is_empty(&self) -> bool {
        let only_indexed = |tree: &sled::Tree| {
            tree.iter()
                .keys()
                .all(|k| k.is_ok_and(|k| k == index::VERSION_KEY.as_bytes()))
        };
        TREES.iter().all(|name| match self.tree(name) {
            Some(tree) if *name == "meta" => only_indexed(tree),
            Some(tree) => tree.is_empty(),
            None => true,
        })
    }

    /// How many values tree `name` holds: sled counts by walking the tree,
    /// so this is for the work queues (`inbox`, `chat_inbox`,
    /// `chat_sync`), which stay small.
    pub fn queued(&self, name: &str) -> usize {
        self.tree(name).map_or(0, sled::Tree::len)
    }

    /// How many values each tree holds (walks every tree: for tools).
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        TREES
            .iter()
            .filter_map(|t| self.tree(t).map(|tree| (*t, tree.len())))
            .collect()
    }

    /// Reads every value of every tree as what it should be (`check`), so
    /// a damaged one is found now rather than when someone needs it.
    pub fn verify(&self) -> Result<usize, StoreError> {
        Ok(self.check_trees(&TREES, &|| true)?.unwrap_or_default())
    }

    /// What perch works on, read back as `verify` reads it: the trees of
    /// work and settings whole, and of the history only the open and
    /// claimed tickets and the replies not yet delivered. Given up (`None`)
    /// as soon as `going` says so. (Reading a year of history would also
    /// keep sled's pages of all of it in memory; `perch verify` reads it.)
    pub fn verify_live(&self, going: &dyn Fn() -> bool) -> Result<Option<usize>, StoreError> {
        const HISTORY: [&str; 7] = [
            "tickets",
            "tweets",
            "conversations",
            "threads",
            "outbox",
            "audit",
            "chat_views",
        ];
        let live: Vec<&str> = TREES.into_iter().filter(|t| !HISTORY.contains(t)).collect();
        let Some(n) = self.check_trees(&live, going)? else {
            return Ok(None);
        };
        Ok(Some(n + self.active()?.len() + self.undelivered()?.len()))
    }

    /// Checks every value of the trees `names`; `None` once `going` says
    /// to stop (asked every 1,024 values).
    fn check_trees(
        &self,
        names: &[&str],
        going: &dyn Fn() -> bool,
    ) -> Result<Option<usize>, StoreError> {
        let mut n = 0;
        for name in names {
            let Some(tree) = self.tree(name) else {
                continue;
            };
            for item in tree.iter() {
                let (key, value) = item?;
                check(name, &key, &value)?;
                n += 1;
                if n % 1024 == 0 && !going() {
                    return Ok(None);
                }
            }
        }
        Ok(Some(n))
    }

    /// The newest OAuth 2.0 refresh token of an account (they rotate).
    pub fn refresh_token(&self, account: &str) -> Result<Option<String>, StoreError> {
        self.get(&self.tokens, "tokens", account)
    }

    /// Stores (and flushes) a rotated refresh token.
    pub fn set_refresh_token(&self, account: &str, token: &str) -> Result<(), StoreError> {
        self.put(&self.tokens, account, &token)
    }

    fn get<T: serde::de::DeserializeOwned>(
        &self,
        tree: &sled::Tree,
        name: &str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        match tree.get(key)? {
            Some(bytes) => codec::decode(name, key.as_bytes(), &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn put<T: serde::Serialize>(
        &self,
        tree: &sled::Tree,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        tree.insert(key, codec::encode(value)?)?;
        self.flush()
    }

    fn all<T: serde::de::DeserializeOwned>(
        &self,
        tree: &sled::Tree,
        name: &str,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let mut out = Vec::with_capacity(tree.len());
        for item in tree.iter() {
            let (key, value) = item?;
            let decoded = codec::decode(name, &key, &value)?;
            out.push((codec::show_key(&key), decoded));
        }
        Ok(out)
    }
}

/// Why a transaction gave up without writing.
enum Abort<R> {
    Store(StoreError),
    Refused(R),
}

type TxResult<T, R> = Result<T, ConflictableTransactionError<Abort<R>>>;

fn abort<T, R>(e: StoreError) -> TxResult<T, R> {
    Err(ConflictableTransactionError::Abort(Abort::Store(e)))
}

/// Unwraps a transaction's outcome: storage errors and store aborts become
/// `StoreError`; a refusal stays a value for the caller.
fn finish<T, R>(result: Result<T, TransactionError<Abort<R>>>) -> Result<Result<T, R>, StoreError> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(TransactionError::Abort(Abort::Refused(r))) => Ok(Err(r)),
        Err(TransactionError::Abort(Abort::Store(e))) => Err(e),
        Err(TransactionError::Storage(e)) => Err(StoreError::Sled(e)),
    }
}

#[cfg(test)]
mod tests;
