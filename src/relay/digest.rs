//! The weekly digest: at `[digest] weekly` (say Monday 09:00 in the
//! team's zone) the last seven days' headline figures go to the digest's
//! channels, once a week whatever restarts: the store counts each week's
//! digest before it is posted. A perch that was down at that moment posts
//! it when it is back the same day, not days late.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, Days, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use tokio::sync::watch;

use super::{reports, Relay};
use crate::chat::{Platform, Text};
use crate::config::Digest;
use crate::report::Report;

/// How often the time is looked at.
const CHECK: Duration = Duration::from_secs(1);

/// The latest weekly moment (`at` minutes after Monday 00:00 in `zone`)
/// at or before `now`.
pub fn last_moment(zone: Tz, at: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = now.with_timezone(&zone).date_naive();
    let monday =
        local.checked_sub_days(Days::new(u64::from(local.weekday().num_days_from_monday())))?;
    let day = monday.checked_add_days(Days::new(u64::from(at / (24 * 60))))?;
    let time = NaiveTime::from_hms_opt((at % (24 * 60)) / 60, at % 60, 0)?;
    let this_week = zone
        .from_local_datetime(&day.and_time(time))
        .earliest()?
        .with_timezone(&Utc);
    if this_week <= now {
        return Some(this_week);
    }
    let day = day.checked_sub_days(Days::new(7))?;
    Some(
        zone.from_local_datetime(&day.and_time(time))
            .earliest()?
            .with_timezone(&Utc),
    )
}

/// Posts the digest each week until `stop`.
pub async fn digest_loop(relay: Arc<Relay>, mut stop: watch::Receiver<bool>) {
    let Some(digest) = relay.core.config.digest.clone() else {
        return;
    };
    let mut told: Option<DateTime<Utc>> = None;
    let mut tick = tokio::time::interval(CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let now = relay.now();
        let Some(moment) = last_moment(digest.zone, digest.at, now) else {
            continue;
        };
        if told == Some(moment) || now - moment > chrono::Duration::hours(24) {
            continue;
        }
        match relay.post_digest(&digest, moment, now).await {
            Ok(()) => told = Some(moment),
            Err(e) => tracing::warn!(error = %e, "cannot post the weekly digest; will try again"),
        }
    }
}

impl Relay {
    /// The digest of the seven days before `now`, posted unless this
    /// week's (`moment`) was posted already.
    async fn post_digest(
        &self,
        digest: &Digest,
        moment: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), crate::store::StoreError> {
        let core = &self.core;
        let key = format!("digest-told/{}", moment.format("%Y-%m-%dT%H:%MZ"));
        if core.store.counter(&key)?.unwrap_or(0) > 0 {
            return Ok(());
        }
        let since = now - chrono::Duration::days(7);
        let figures = reports::figures(&core.store, &core.config, since, now)?;
        let names = |id: &crate::ticket::AgentId| reports::agent_name(&core.config, id);
        let headline = Report {
            figures: &figures,
            names: &names,
            spend: None,
        }
        .headline();
        let mut text = format!("📊 Weekly digest. {headline}");
        if let Some(url) = &digest.report_url {
            text.push_str(&format!("\nThe full report: {url}"));
        }
        // Counted before it is posted: a digest is said at most once.
        if core.store.add_to_counter(&key, 1)? > 1 {
            return Ok(());
        }
        tracing::info!(week = %moment, "posting the weekly digest");
        let mut channels: Vec<(Platform, String)> = digest
            .slack_channels
            .iter()
            .map(|c| (Platform::Slack, c.clone()))
            .chain(
                digest
                    .discord_channels
                    .iter()
                    .map(|c| (Platform::Discord, c.clone())),
            )
            .collect();
        if channels.is_empty() {
            channels = self.support_channels().into_iter().collect();
        }
        for (platform, channel) in channels {
            let Some(chat) = core.platforms.iter().find(|p| p.platform() == platform) else {
                continue;
            };
            if let Err(e) = chat.announce(&channel, &Text::Ours(text.clone())).await {
                tracing::warn!(platform = platform.name(), channel, error = %e, "cannot post the weekly digest");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_s_moment_is_the_latest_one_of_the_week_in_its_zone() {
        let at = |d, h, m| {
            Utc.with_ymd_and_hms(2026, 11, d, h, m, 0)
                .single()
                .unwrap_or_default()
        };
        let monday_nine = 9 * 60;
        // Monday 30 November 2026 in New York (EST) is 14:00 UTC.
        let ny = chrono_tz::America::New_York;
        assert_eq!(
            last_moment(ny, monday_nine, at(30, 14, 0)),
            Some(at(30, 14, 0))
        );
        assert_eq!(
            last_moment(ny, monday_nine, at(30, 13, 59)),
            Some(at(23, 14, 0))
        );
        assert_eq!(
            last_moment(ny, monday_nine, at(29, 23, 0)),
            Some(at(23, 14, 0))
        );
        // Sunday 18:00 UTC, asked on the Monday after.
        let sunday = 6 * 24 * 60 + 18 * 60;
        assert_eq!(
            last_moment(chrono_tz::UTC, sunday, at(30, 1, 0)),
            Some(at(29, 18, 0))
        );
    }
}
