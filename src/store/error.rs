use std::path::PathBuf;

use crate::ticket::TicketId;

/// What can go wrong in the store. None of these is worth retrying
/// automatically: each needs a person (disk, permissions, a damaged value).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    // Not `source`: the message carries sled's words once, not twice.
    #[error("cannot open the store at {}: {reason}; check that the directory is writable", path.display())]
    Open { path: PathBuf, reason: sled::Error },
    #[error("the store at {} is in use by another perch (its lock is held); stop that one first, or give this one its own data_dir", path.display())]
    InUse { path: PathBuf },
    #[error("the store failed: {0}")]
    Sled(#[from] sled::Error),
    #[error(
        "stored value {tree}/{key} is damaged ({reason}); restore from a `perch export` backup"
    )]
    Damaged {
        tree: String,
        key: String,
        reason: String,
    },
    #[error("stored value {tree}/{key} has schema version {found}, newer than this perch reads ({}); upgrade perch", super::codec::SCHEMA_VERSION)]
    Version {
        tree: String,
        key: String,
        found: u8,
    },
    #[error("cannot encode a value for the store: {0}")]
    Encode(serde_json::Error),
    #[error("ticket {0} does not exist")]
    NoSuchTicket(TicketId),
    #[error("the import is not usable: {0}")]
    Import(String),
    #[error("reading or writing the dump failed: {0}")]
    Io(#[from] std::io::Error),
}
