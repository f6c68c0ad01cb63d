//! How long to wait before trying again after a passing failure: one
//! policy, doubling from a first wait up to a ceiling, for every retry in
//! the crate (the X client's reads after a 5xx, the outbox's replies that
//! X did not take). Pure: callers sleep or schedule.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure.
    pub first: Duration,
    /// No wait is longer.
    pub max: Duration,
}

impl Backoff {
    /// The wait after failure number `attempt` (1 for the first):
    /// `first`, doubling each time, never above `max`.
    pub fn after(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.first
            .checked_mul(1u32 << doublings)
            .map_or(self.max, |d| d.min(self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_the_first_up_to_the_ceiling() {
        let b = Backoff {
            first: Duration::from_millis(500),
            max: Duration::from_secs(3),
        };
        let waits: Vec<u128> = (1..=5).map(|n| b.after(n).as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 3000, 3000]);
        assert_eq!(b.after(0), Duration::from_millis(500));
        assert_eq!(b.after(u32::MAX), Duration::from_secs(3));
    }
}
