//! Warnings about what X bills: when the month's spend passes 50%, 80%
//! and 100% of `x.spend.monthly_cap`, perch says so once (per month and
//! share) in the log and in every support channel, with what happens at
//! the cap. The polls themselves slow down or stop (`twitter::ingest`);
//! replies are never held.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::Relay;
use crate::chat::{Platform, Text};
use crate::twitter::spend::{self, Month};
use crate::twitter::XError;

/// How often the month's spend is looked at.
const CHECK: Duration = Duration::from_secs(5);

/// Looks at the month's spend until `stop`, telling each share once.
pub async fn spending_loop(relay: Arc<Relay>, mut stop: watch::Receiver<bool>) {
    if relay.core.config.x.spend.monthly_cap.is_none() {
        return;
    }
    let mut tick = tokio::time::interval(CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if let Err(e) = relay.tell_spending(relay.now()).await {
            tracing::warn!(error = %e, "cannot read the month's X spend; will look again");
        }
    }
}

impl Relay {
    /// Says the share of the cap the month's spend has passed, if it was
    /// not said yet this month.
    pub async fn tell_spending(&self, now: DateTime<Utc>) -> Result<(), XError> {
        let core = &self.core;
        let Some(cap) = core.config.x.spend.monthly_cap else {
            return Ok(());
        };
        let month = Month::read(&core.store, core.config.x.spend, now)?;
        let Some(share) = spend::threshold(month.spent, cap) else {
            return Ok(());
        };
        // Once per month and share: the counter is 1 after the first add.
        let told = format!("spend-told/{}/{share}", month.month);
        if core.store.add_to_counter(&told, 1)? > 1 {
            return Ok(());
        }
        tracing::warn!(share, spent = %spend::show(month.spent), cap = %spend::show(cap), "{}", month.line());
        let line = format!(
            "⚠️ {share}% of this month's X spending cap is spent. {}",
            month.line()
        );
        for (platform, channel) in self.support_channels() {
            let Some(chat) = core.platforms.iter().find(|p| p.platform() == platform) else {
                continue;
            };
            if let Err(e) = chat.announce(&channel, &Text::Ours(line.clone())).await {
                tracing::warn!(platform = platform.name(), channel, error = %e, "cannot post the X spending warning");
            }
        }
        Ok(())
    }

    /// Every channel a ticket goes to, once each.
    pub(super) fn support_channels(&self) -> BTreeSet<(Platform, String)> {
        let mut out = BTreeSet::new();
        for account in &self.core.config.accounts {
            for c in &account.routes.slack_channels {
                out.insert((Platform::Slack, c.to_string()));
            }
            for c in &account.routes.discord_channels {
                out.insert((Platform::Discord, c.to_string()));
            }
        }
        out
    }
}
