//! What X allows, as pure facts and arithmetic with no I/O: the rate
//! limits X publishes and how often a source can be polled within them
//! (`limits`), how X measures a post or a DM (`text`), the X
//! Activity API events perch reads (`activity`), and what X bills
//! (`prices`).
//! The bottom of the crate: config (to warn in `perch check`), the X
//! client and ingest (to pace), and the fake X (to enforce) all read the
//! same numbers.

pub mod activity;
pub mod limits;
pub mod prices;
pub mod text;
