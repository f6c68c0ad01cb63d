//! The time, injected: the relay asks its clock, never the system
//! directly, so a test can set the time a deadline is checked at.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's time: what perch runs on.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A time that moves only when told to.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The system's time, moved ahead by hand: the sandbox's scene lets
/// half an hour pass for perch in a moment, while the fakes keep the
/// real time.
#[derive(Default)]
pub struct AheadClock(Mutex<chrono::Duration>);

impl AheadClock {
    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }
}

impl Clock for AheadClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let clock = ManualClock::new(t0);
        assert_eq!(clock.now(), t0);
        clock.advance(chrono::Duration::minutes(5));
        assert_eq!(clock.now(), t0 + chrono::Duration::minutes(5));
        clock.set(t0);
        assert_eq!(clock.now(), t0);
    }

    #[test]
    fn an_ahead_clock_runs_ahead_of_the_system_by_what_it_was_moved() {
        let ahead = AheadClock::default();
        ahead.advance(chrono::Duration::hours(1));
        let gap = ahead.now() - Utc::now();
        assert!(gap > chrono::Duration::minutes(59) && gap <= chrono::Duration::hours(1));
    }
}
