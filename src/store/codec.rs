//! How values are laid out on disk: one byte of schema version, a CRC-32 of
//! the payload, then the payload as JSON.
//!
//! ```text
//! [version: u8][crc32(payload): u32 big-endian][payload: JSON]
//! ```
//!
//! JSON keeps values readable in an export and tolerant of added fields;
//! the checksum turns a damaged value into an error naming its key instead
//! of a wrong answer or a panic.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::StoreError;

/// The layout this build writes and reads.
pub const SCHEMA_VERSION: u8 = 1;
const HEADER: usize = 5;

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let payload = serde_json::to_vec(value).map_err(StoreError::Encode)?;
    Ok(frame(&payload))
}

/// Wraps an already-serialised JSON payload.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.push(SCHEMA_VERSION);
    out.extend_from_slice(&crc32fast::hash(payload).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Checks version and checksum and returns the JSON payload.
pub fn unframe<'a>(tree: &str, key: &[u8], bytes: &'a [u8]) -> Result<&'a [u8], StoreError> {
    let damaged = |reason: String| StoreError::Damaged {
        tree: tree.to_owned(),
        key: show_key(key),
        reason,
    };
    if bytes.len() < HEADER {
        return Err(damaged(format!(
            "{} bytes is shorter than the header",
            bytes.len()
        )));
    }
    let (header, payload) = bytes.split_at(HEADER);
    if header[0] != SCHEMA_VERSION {
        return Err(StoreError::Version {
            tree: tree.to_owned(),
            key: show_key(key),
            found: header[0],
        });
    }
    let stored = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
    let actual = crc32fast::hash(payload);
    if stored != actual {
        return Err(damaged(format!(
            "checksum {actual:08x} does not match the stored {stored:08x}"
        )));
    }
    Ok(payload)
}

pub fn decode<T: DeserializeOwned>(tree: &str, key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    let payload = unframe(tree, key, bytes)?;
    serde_json::from_slice(payload).map_err(|e| StoreError::Damaged {
        tree: tree.to_owned(),
        key: show_key(key),
        reason: format!("the value does not read as expected ({e})"),
    })
}

/// A key as text for messages (keys are UTF-8 in this store, but a damaged
/// one may not be).
pub fn show_key(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(s) => s.to_owned(),
        Err(_) => key.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// Numeric keys are zero-padded so that they sort in order as text.
pub fn number_key(n: u64) -> String {
    format!("{n:020}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_damage() {
        let bytes = encode(&vec![1, 2, 3]).unwrap_or_default();
        assert_eq!(
            decode::<Vec<i32>>("t", b"k", &bytes).ok(),
            Some(vec![1, 2, 3])
        );

        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x01;
        let err = decode::<Vec<i32>>("tickets", b"00000000000000000042", &flipped).err();
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("tickets/00000000000000000042") && msg.contains("checksum"),
            "{msg}"
        );

        let short = decode::<Vec<i32>>("t", b"k", &[1, 0])
            .err()
            .map(|e| e.to_string());
        assert!(short.is_some_and(|m| m.contains("shorter than the header")));

        let mut future = bytes.clone();
        future[0] = 9;
        let msg = decode::<Vec<i32>>("t", b"k", &future)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("schema version 9"), "{msg}");

        // Right checksum, wrong shape.
        let wrong = frame(br#"{"not":"a list"}"#);
        let msg = decode::<Vec<i32>>("t", b"k", &wrong)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("does not read as expected"), "{msg}");
    }

    #[test]
    fn number_keys_sort_as_numbers() {
        assert!(number_key(9) < number_key(10));
        assert_eq!(number_key(42).len(), 20);
    }
}
