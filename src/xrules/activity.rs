//! What the X Activity API delivers that perch reads: the event types an
//! account is subscribed to unless its config says otherwise. Config
//! checks them, `perch x subscribe` asks for them and the webhook reads
//! them.

/// The event types perch reads: mentions, DMs received, and DMs sent (a
/// reply typed in X's own app joins its ticket as the team's).
pub const EVENTS: [&str; 3] = ["post.mention.create", "dm.received", "dm.sent"];

/// Whether perch reads `event_type` (the rest are acknowledged and left).
pub fn understood(event_type: &str) -> bool {
    EVENTS.contains(&event_type)
}
