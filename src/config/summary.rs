//! The short summary `perch check` prints: accounts, what each ingests,
//! where each routes.

use std::fmt::Write;
use std::time::Duration;

use super::types::{Account, AtCap, Config, SlackMode, XAuth};
use crate::ticket::Priority;

fn every(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

pub fn summary(config: &Config) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_summary(&mut out, config);
    out
}

fn write_summary(out: &mut String, config: &Config) -> std::fmt::Result {
    writeln!(out, "accounts:")?;
    for a in &config.accounts {
        write_account(out, a)?;
    }
    write_chat(out, config)?;
    write_team(out, config)?;
    match config.x.monthly_read_budget {
        Some(b) => writeln!(out, "X reads: budget {b} a month, API {}", config.x.api_url)?,
        None => writeln!(out, "X reads: no budget, API {}", config.x.api_url)?,
    }
    let at_cap = match config.x.spend.at_cap {
        AtCap::Slow => "polling slows",
        AtCap::Stop => "reading stops",
    };
    match config.x.spend.monthly_cap {
        Some(cap) => writeln!(
            out,
            "X spend: cap ${:.2} a month (warnings at 50/80/100%; at the cap {at_cap}; replies always go)",
            cap as f64 / 1e6
        )?,
        None => writeln!(out, "X spend: counted, no cap (x.spend.monthly_cap)")?,
    }
    if config.x.filtered_stream {
        writeln!(
            out,
            "search: on X's filtered stream (polled while it is down)"
        )?;
    }
    writeln!(
        out,
        "store: {}, health: http://{}/healthz",
        config.service.data_dir.display(),
        config.service.health_addr
    )
}

/// An account: who it is, what it ingests, where it routes.
fn write_account(out: &mut String, a: &Account) -> std::fmt::Result {
    writeln!(
        out,
        "  {} (@{}, user {}, {})",
        a.key,
        a.handle,
        a.user_id,
        a.auth.kind()
    )?;
    let mut ingests = Vec::new();
    if let Some(p) = &a.ingest.mentions {
        ingests.push(format!("mentions every {}", every(p.interval)));
    }
    if let Some(p) = &a.ingest.dms {
        ingests.push(format!("DMs every {}", every(p.interval)));
    }
    for s in &a.ingest.search {
        ingests.push(format!(
            "search \"{}\" every {}: {}",
            s.name,
            every(s.interval),
            s.query
        ));
    }
    if let Some(w) = &a.ingest.webhook {
        ingests.push(format!("webhook at {}", w.path));
    }
    writeln!(out, "    ingests: {}", ingests.join("; "))?;
    let mut routes: Vec<String> = a
        .routes
        .slack_channels
        .iter()
        .map(|c| format!("Slack {c}"))
        .collect();
    routes.extend(
        a.routes
            .discord_channels
            .iter()
            .map(|c| format!("Discord {c}")),
    );
    writeln!(out, "    routes to: {}", routes.join(", "))?;
    if let XAuth::OAuth2 { .. } = a.auth {
        writeln!(
            out,
            "    (refresh tokens rotate: the newest is kept in the store)"
        )?;
    }
    Ok(())
}

/// The chat platforms.
fn write_chat(out: &mut String, config: &Config) -> std::fmt::Result {
    if let Some(s) = &config.slack {
        let mode = match &s.mode {
            SlackMode::Socket { .. } => "Socket Mode".to_owned(),
            SlackMode::Events { addr, .. } => format!("Events API on {addr}"),
        };
        writeln!(out, "slack: {mode}, API {}", s.api_url)?;
    }
    if let Some(d) = &config.discord {
        writeln!(
            out,
            "discord: application {}, guilds {}",
            d.application_id,
            d.guild_ids
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        writeln!(
            out,
            "    the bot needs the Message Content intent (Developer Portal → Bot → Privileged Gateway Intents), or thread replies arrive empty"
        )?;
    }
    Ok(())
}

/// The agents, the hours, the targets, the rules and saved replies.
fn write_team(out: &mut String, config: &Config) -> std::fmt::Result {
    let leads = config.agents.iter().filter(|a| a.lead).count();
    writeln!(
        out,
        "agents: {} ({leads} lead{})",
        config.agents.len(),
        if leads == 1 { "" } else { "s" }
    )?;
    match &config.support_hours {
        Some(h) => {
            let open_days = h.weekly.iter().filter(|d| !d.is_empty()).count();
            writeln!(
                out,
                "support hours: {}, open {open_days} days a week, {} holidays",
                h.zone,
                h.holidays.len()
            )?;
        }
        None => writeln!(out, "support hours: round the clock")?,
    }
    let targets: Vec<String> = Priority::ALL
        .into_iter()
        .zip(config.response_targets.first)
        .filter_map(|(p, d)| Some(format!("{p} {}", every(d?.to_std().ok()?))))
        .collect();
    if !targets.is_empty() {
        let t = &config.response_targets;
        let counted = if t.hours.is_some() {
            " (in support hours)"
        } else {
            ""
        };
        writeln!(
            out,
            "response targets: {}{counted}; warning at {}%",
            targets.join(", "),
            t.warn_percent
        )?;
        let ladder: Vec<String> = t
            .ladder
            .iter()
            .map(|r| {
                let who = match &r.ping {
                    crate::ticket::targets::Ping::OnCall => "on call".to_owned(),
                    crate::ticket::targets::Ping::Agents => "agents".to_owned(),
                    crate::ticket::targets::Ping::Leads => "leads".to_owned(),
                    crate::ticket::targets::Ping::Agent(a) => a.to_string(),
                };
                format!("{who} +{}m", r.after.num_minutes())
            })
            .collect();
        writeln!(out, "escalation after a breach: {}", ladder.join(", "))?;
    }
    match &config.oncall {
        Some(rota) => writeln!(
            out,
            "on call: a rota of {} shifts ({})",
            rota.shifts.len(),
            rota.zone
        )?,
        None => writeln!(out, "on call: no rota (`oncall me` stands in)")?,
    }
    writeln!(
        out,
        "rules: {}, saved replies: {}",
        config.rules.0.len(),
        config.saved_replies.len()
    )
}
