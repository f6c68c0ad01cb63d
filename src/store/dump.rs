//! `perch export` / `perch import`: the whole store as JSON lines.
//!
//! ```text
//! {"perch_export":1,"schema":1}
//! {"tree":"tickets","key":"00000000000000000001","value":{...}}
//! ...
//! ```
//!
//! Values are copied byte for byte (as raw JSON), so an import reproduces
//! each value, and its checksum, exactly.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{codec, Store, StoreError, TREES};

const FORMAT: u32 = 1;

/// How many lines an import holds in memory before it writes them.
const IMPORT_BATCH: usize = 10_000;

#[derive(Serialize, Deserialize)]
struct Header {
    perch_export: u32,
    schema: u8,
}

#[derive(Serialize)]
struct LineOut<'a> {
    tree: &'a str,
    key: &'a str,
    value: &'a RawValue,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineIn {
    tree: String,
    key: String,
    value: Box<RawValue>,
}

/// What an import wrote, per tree.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub per_tree: Vec<(String, usize)>,
}

impl ImportSummary {
    pub fn total(&self) -> usize {
        self.per_tree.iter().map(|(_, n)| n).sum()
    }
}

impl Store {
    /// Writes every tree as JSON lines; returns how many values. A damaged
    /// value stops the export with an error naming it.
    pub fn export(&self, out: &mut dyn Write) -> Result<usize, StoreError> {
        let header = Header {
            perch_export: FORMAT,
            schema: codec::SCHEMA_VERSION,
        };
        serde_json::to_writer(&mut *out, &header).map_err(StoreError::Encode)?;
        out.write_all(b"\n")?;
        let mut n = 0;
        for name in TREES {
            let Some(tree) = self.tree(name) else {
                continue;
            };
            for item in tree.iter() {
                let (key, bytes) = item?;
                let payload = codec::unframe(name, &key, &bytes)?;
                let damaged = |reason: String| StoreError::Damaged {
                    tree: name.to_owned(),
                    key: codec::show_key(&key),
                    reason,
                };
                let key = std::str::from_utf8(&key)
                    .map_err(|_| damaged("the key is not UTF-8".to_owned()))?;
                let text = std::str::from_utf8(payload)
                    .map_err(|_| damaged("the value is not UTF-8".to_owned()))?;
                let value: &RawValue =
                    serde_json::from_str(text).map_err(|e| damaged(format!("not JSON: {e}")))?;
                serde_json::to_writer(
                    &mut *out,
                    &LineOut {
                        tree: name,
                        key,
                        value,
                    },
                )
                .map_err(StoreError::Encode)?;
                out.write_all(b"\n")?;
                n += 1;
            }
        }
        out.flush()?;
        Ok(n)
    }

    /// Reads an export into this store, which must be empty, as it comes:
    /// written in batches of `IMPORT_BATCH` lines, so that memory stays
    /// bounded whatever the dump's size. Every line is checked as startup
    /// would; a bad one empties the store again and names its line, so a
    /// bad dump leaves the store as it found it.
    pub fn import(&self, input: &mut dyn BufRead) -> Result<ImportSummary, StoreError> {
        if !self.is_empty() {
            return Err(StoreError::Import(
                "the store is not empty; import only into a new, empty data_dir".to_owned(),
            ));
        }
        match self.import_lines(input) {
            Ok(summary) => {
                self.index_all()?;
                self.flush()?;
                Ok(summary)
            }
            Err(e) => {
                for name in TREES {
                    if let Some(tree) = self.tree(name) {
                        tree.clear()?;
                    }
                }
                self.flush()?;
                Err(e)
            }
        }
    }

    fn import_lines(&self, input: &mut dyn BufRead) -> Result<ImportSummary, StoreError> {
        let mut lines = input.lines();
        let header = lines
            .next()
            .ok_or_else(|| StoreError::Import("the dump is empty (no header line)".to_owned()))??;
        match serde_json::from_str::<Header>(&header) {
            Ok(h) if h.perch_export == FORMAT && h.schema == codec::SCHEMA_VERSION => {}
            Ok(h) => {
                return Err(StoreError::Import(format!(
                    "line 1: the dump has format {} schema {}; this perch reads format {FORMAT} schema {}",
                    h.perch_export,
                    h.schema,
                    codec::SCHEMA_VERSION
                )))
            }
            Err(_) => {
                return Err(StoreError::Import(
                    "line 1 is not a perch export header; was this file made by `perch export`?".to_owned(),
                ))
            }
        }
        let mut batches: Vec<(&str, sled::Batch, usize)> = TREES
            .iter()
            .map(|t| (*t, sled::Batch::default(), 0))
            .collect();
        let mut pending = 0;
        for (i, line) in lines.enumerate() {
            let line = line?;
            let number = i + 2;
            if line.trim().is_empty() {
                continue;
            }
            let parsed: LineIn = serde_json::from_str(&line)
                .map_err(|e| StoreError::Import(format!("line {number}: {e}")))?;
            let Some((_, batch, count)) = batches.iter_mut().find(|(t, _, _)| *t == parsed.tree)
            else {
                return Err(StoreError::Import(format!(
                    "line {number}: `{}` is not a perch tree (known: {})",
                    parsed.tree,
                    TREES.join(", ")
                )));
            };
            let value = codec::frame(parsed.value.get().as_bytes());
            // What startup would refuse is refused here, by its line.
            super::check(parsed.tree.as_str(), parsed.key.as_bytes(), &value)
                .map_err(|e| StoreError::Import(format!("line {number}: {e}")))?;
            batch.insert(parsed.key.as_bytes(), value);
            *count += 1;
            pending += 1;
            if pending == IMPORT_BATCH {
                self.apply(&mut batches)?;
                pending = 0;
            }
        }
        self.apply(&mut batches)?;
        Ok(ImportSummary {
            per_tree: batches
                .into_iter()
                .map(|(name, _, count)| (name.to_owned(), count))
                .collect(),
        })
    }

    /// Writes what the batches hold and leaves them empty.
    fn apply(&self, batches: &mut [(&str, sled::Batch, usize)]) -> Result<(), StoreError> {
        for (name, batch, _) in batches {
            if let Some(tree) = self.tree(name) {
                tree.apply_batch(std::mem::take(batch))?;
            }
        }
        Ok(())
    }
}
