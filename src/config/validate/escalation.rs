//! `[response_targets]`, `[escalation]` and `[oncall]`: how fast each
//! priority is answered, who is called when it is not, and who is on
//! call.

use super::*;
use crate::ticket::oncall::Rota;
use crate::ticket::targets::{Ping, Rung, Targets};

/// Without an `[escalation]` ladder: on call at the breach, the agents
/// 15 minutes later, the leads 30 minutes later.
fn default_ladder() -> Vec<Rung> {
    [(0, Ping::OnCall), (15, Ping::Agents), (30, Ping::Leads)]
        .into_iter()
        .map(|(after, ping)| Rung {
            after: chrono::Duration::minutes(after),
            ping,
        })
        .collect()
}

fn span(c: &mut Checker, key: &str, value: &Option<String>) -> Option<chrono::Duration> {
    let d = c.check(key, parse::duration(value.as_ref()?))?;
    chrono_span(c, key, d)
}

fn chrono_span(c: &mut Checker, key: &str, d: std::time::Duration) -> Option<chrono::Duration> {
    c.check(
        key,
        chrono::Duration::from_std(d).map_err(|_| format!("`{d:?}` is too long")),
    )
}

pub(super) fn targets(
    c: &mut Checker,
    raw: &RawConfig,
    agents: &[AgentConfig],
    hours: Option<&SupportHours>,
) -> Targets {
    let t = &raw.response_targets;
    let mut first = [None; 4];
    for (slot, (p, v)) in first.iter_mut().zip(
        Priority::ALL
            .into_iter()
            .zip([&t.urgent, &t.high, &t.normal, &t.low]),
    ) {
        *slot = span(c, &format!("response_targets.{p}"), v);
    }
    let mut next = [None; 4];
    if let Some(n) = &t.next {
        for (slot, (p, v)) in next.iter_mut().zip(
            Priority::ALL
                .into_iter()
                .zip([&n.urgent, &n.high, &n.normal, &n.low]),
        ) {
            *slot = span(c, &format!("response_targets.next.{p}"), v);
        }
    }
    let set: Vec<_> = Priority::ALL
        .into_iter()
        .zip(first)
        .filter_map(|(p, d)| Some((p, d?)))
        .collect();
    for pair in set.windows(2) {
        if let [(p, a), (q, b)] = pair {
            if a > b {
                c.warn(
                    format!("response_targets.{p}"),
                    format!("is longer than the target for {q}: more urgent tickets usually get shorter targets"),
                );
            }
        }
    }
    let warn_percent = t.warn_at.as_ref().map_or(Some(75), |w| {
        let share = w
            .trim()
            .strip_suffix('%')
            .and_then(|n| n.trim().parse::<u8>().ok())
            .filter(|n| *n < 100);
        c.check(
            "response_targets.warn_at",
            share.ok_or_else(|| {
                format!("`{w}` is not a share of the target; write it like \"75%\" (\"0%\" for no warning)")
            }),
        )
    });
    let counted = t.support_hours_only.unwrap_or(false);
    if counted && hours.is_none() {
        c.fail(
            "response_targets.support_hours_only",
            "is true but there are no [support_hours] to count in; add them or remove the switch",
        );
    }
    let ladder = match &raw.escalation {
        None => default_ladder(),
        Some(e) => e
            .ladder
            .iter()
            .enumerate()
            .filter_map(|(i, r)| rung(c, i, r, agents, &raw.permissions))
            .collect(),
    };
    Targets {
        first,
        next,
        hours: hours.filter(|_| counted).cloned(),
        warn_percent: warn_percent.unwrap_or(75),
        ladder,
    }
}

fn rung(
    c: &mut Checker,
    i: usize,
    raw: &RawRung,
    agents: &[AgentConfig],
    permissions: &RawPermissions,
) -> Option<Rung> {
    let at = format!("escalation.ladder[{i}]");
    let key = format!("{at}.after");
    let after = c
        .check(&key, parse::duration_or_zero(&raw.after))
        .and_then(|d| chrono_span(c, &key, d));
    let ping = match raw.ping.trim() {
        "oncall" => Ping::OnCall,
        "agents" => Ping::Agents,
        "leads" => Ping::Leads,
        key if agents.iter().any(|a| a.key.as_str() == key) => Ping::Agent(key.into()),
        other => {
            c.fail(
                format!("{at}.ping"),
                format!("`{other}` is not `oncall`, `agents`, `leads` or the key of an agent in [[agents]]"),
            );
            return None;
        }
    };
    let (slack, discord) = match ping {
        Ping::Agents => (
            &permissions.slack_agent_group,
            &permissions.discord_agent_role,
        ),
        Ping::Leads => (
            &permissions.slack_lead_group,
            &permissions.discord_lead_role,
        ),
        _ => (&None, &None),
    };
    if matches!(ping, Ping::Agents | Ping::Leads) && slack.is_none() && discord.is_none() {
        c.warn(
            format!("{at}.ping"),
            format!("calls the {} but [permissions] names no group or role for them, so nobody is pinged", raw.ping.trim()),
        );
    }
    Some(Rung {
        after: after?,
        ping,
    })
}

/// `"mon 09:00"` as minutes after Monday 00:00.
/// `[digest]`: when (a day and a time each week, in its zone or the
/// support hours') and where.
pub(super) fn digest(
    c: &mut Checker,
    raw: &RawDigest,
    hours: Option<&SupportHours>,
    platforms: (bool, bool),
) -> Option<Digest> {
    let at = c.check("digest.weekly", shift_start(&raw.weekly));
    let zone = match &raw.time_zone {
        Some(z) => c.check("digest.time_zone", parse::zone(z)),
        None => Some(hours.map_or(chrono_tz::UTC, |h| h.zone)),
    };
    for (key, channels, present, section) in [
        (
            "digest.slack_channels",
            &raw.slack_channels,
            platforms.0,
            "[slack]",
        ),
        (
            "digest.discord_channels",
            &raw.discord_channels,
            platforms.1,
            "[discord]",
        ),
    ] {
        if !channels.is_empty() && !present {
            c.fail(
                key,
                format!("names channels, but the config has no {section}"),
            );
        }
    }
    if let Some(u) = &raw.report_url {
        if url::Url::parse(u).is_err() {
            c.fail("digest.report_url", format!("`{u}` is not a URL"));
        }
    }
    Some(Digest {
        zone: zone?,
        at: at?,
        slack_channels: raw.slack_channels.clone(),
        discord_channels: raw.discord_channels.clone(),
        report_url: raw.report_url.clone(),
    })
}

fn shift_start(value: &str) -> Result<u32, String> {
    let bad = || format!("`{value}` is not a day and a time; write it like \"mon 09:00\"");
    let (day, time) = value.trim().split_once(' ').ok_or_else(bad)?;
    let day = parse::weekday(day.trim())?;
    let time = chrono::NaiveTime::parse_from_str(time.trim(), "%H:%M").map_err(|_| bad())?;
    let minutes = chrono::Timelike::hour(&time) * 60 + chrono::Timelike::minute(&time);
    Ok(u32::try_from(day).unwrap_or(0) * 24 * 60 + minutes)
}

pub(super) fn oncall(c: &mut Checker, raw: &RawOnCall, agents: &[AgentConfig]) -> Option<Rota> {
    let zone = c.check("oncall.time_zone", parse::zone(&raw.time_zone));
    let mut shifts = Vec::new();
    for (i, s) in raw.shifts.iter().enumerate() {
        let start = c.check(&format!("oncall.shifts[{i}].from"), shift_start(&s.from));
        if !agents.iter().any(|a| a.key.as_str() == s.agent) {
            c.fail(
                format!("oncall.shifts[{i}].agent"),
                format!("`{}` is not the key of an agent in [[agents]]", s.agent),
            );
            continue;
        }
        if let Some(start) = start {
            if shifts.iter().any(|(s, _)| *s == start) {
                c.fail(
                    format!("oncall.shifts[{i}].from"),
                    "starts when another shift starts; each shift needs its own start",
                );
            }
            shifts.push((start, s.agent.as_str().into()));
        }
    }
    if raw.shifts.is_empty() {
        c.fail(
            "oncall.shifts",
            "is empty; add e.g. { from = \"mon 09:00\", agent = \"jo\" }",
        );
    }
    shifts.sort_by_key(|(start, _)| *start);
    Some(Rota {
        zone: zone?,
        shifts,
    })
}
