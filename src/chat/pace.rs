//! One pacing and rate-limit policy for every chat platform: a post to a
//! channel waits for that channel's next slot (Slack and Discord take
//! about one message a second in a channel), a channel the platform said
//! is spent (Discord's `X-RateLimit-Remaining: 0`) waits until the
//! platform said it resets, and a 429 is waited out a few times for as
//! long as the platform asked. Slots are kept per channel, so one
//! channel's wait never holds back another's.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::ChatError;

/// How many times a 429 is waited out before the error is handed back.
const RATE_LIMIT_ATTEMPTS: u32 = 3;

pub(crate) struct Pacer<K> {
    /// The platform, for logs.
    platform: &'static str,
    interval: Duration,
    next: Mutex<HashMap<K, Instant>>,
    metrics: crate::metrics::Metrics,
}

impl<K: Hash + Eq + Clone + std::fmt::Display> Pacer<K> {
    /// One post per `interval` in each channel (zero: no pacing).
    pub(crate) fn new(platform: &'static str, interval: Duration) -> Self {
        Self {
            platform,
            interval,
            next: Mutex::new(HashMap::new()),
            metrics: crate::metrics::Metrics::default(),
        }
    }

    /// Counts each call, and each 429, into `metrics`.
    pub(crate) fn count_into(&mut self, metrics: crate::metrics::Metrics) {
        self.metrics = metrics;
    }

    /// Holds `channel` for `wait` from now: the platform said its bucket is
    /// spent until then. A later slot already taken stays as it is.
    pub(crate) async fn hold(&self, channel: &K, wait: Duration) {
        let until = Instant::now() + wait;
        let mut next = self.next.lock().await;
        let slot = next.entry(channel.clone()).or_insert(until);
        *slot = (*slot).max(until);
    }

    /// Waits for `channel`'s next slot and takes it.
    async fn slot(&self, channel: &K) {
        let wait = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = next
                .get(channel)
                .copied()
                .filter(|t| *t > now)
                .unwrap_or(now);
            next.insert(channel.clone(), slot + self.interval);
            slot.saturating_duration_since(now)
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Runs `call` in `channel`'s next slot; a 429 is waited out (for the
    /// platform's `retry_after`) and the call made again, a few times.
    pub(crate) async fn run<T, F, Fut>(&self, channel: &K, mut call: F) -> Result<T, ChatError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ChatError>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.slot(channel).await;
            let answer = call().await;
            self.metrics.chat_post(
                self.platform,
                matches!(answer, Err(ChatError::RateLimited { .. })),
            );
            match answer {
                Err(ChatError::RateLimited { retry_after }) if attempt < RATE_LIMIT_ATTEMPTS => {
                    tracing::warn!(
                        platform = self.platform,
                        %channel,
                        wait_ms = u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX),
                        "rate limited; waiting"
                    );
                    tokio::time::sleep(retry_after).await;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn posts_in_one_channel_take_turns_and_other_channels_do_not_wait() {
        let pacer = Pacer::new("test", Duration::from_secs(1));
        let start = tokio::time::Instant::now();
        pacer.run(&"a", || async { Ok(()) }).await.ok();
        pacer.run(&"a", || async { Ok(()) }).await.ok();
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(1),
            "a's second post waits"
        );
        pacer.run(&"b", || async { Ok(()) }).await.ok();
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(1),
            "b does not wait for a"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_spent_channel_waits_until_the_platform_said_it_resets() {
        let pacer = Pacer::new("test", Duration::from_secs(1));
        let start = tokio::time::Instant::now();
        pacer.run(&"a", || async { Ok(()) }).await.ok();
        // The answer said: nothing left for 3 s.
        pacer.hold(&"a", Duration::from_secs(3)).await;
        pacer.run(&"a", || async { Ok(()) }).await.ok();
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(3),
            "held past the slot"
        );
        // A hold shorter than the next slot changes nothing.
        pacer.hold(&"a", Duration::from_millis(10)).await;
        pacer.run(&"a", || async { Ok(()) }).await.ok();
        assert_eq!(start.elapsed(), Duration::from_secs(4));
        pacer.run(&"b", || async { Ok(()) }).await.ok();
        assert_eq!(start.elapsed(), Duration::from_secs(4), "b is not held");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_is_waited_out_for_as_long_as_the_platform_asked_a_few_times() {
        let pacer = Pacer::new("test", Duration::ZERO);
        let calls = AtomicU32::new(0);
        let start = tokio::time::Instant::now();
        let got = pacer
            .run(&"a", || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0 => Err(ChatError::RateLimited {
                        retry_after: Duration::from_millis(1500),
                    }),
                    _ => Ok(7),
                }
            })
            .await;
        assert_eq!(got.ok(), Some(7));
        assert_eq!(start.elapsed(), Duration::from_millis(1500));
        // Always limited: handed back after the last attempt.
        let limited = pacer
            .run(&"b", || async {
                Err::<(), _>(ChatError::RateLimited {
                    retry_after: Duration::from_secs(1),
                })
            })
            .await;
        assert!(matches!(limited, Err(ChatError::RateLimited { .. })));
    }
}
