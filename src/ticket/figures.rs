//! The figures a lead asks for, worked out from the tickets' summaries.
//! Pure: `stats`, the report (Markdown, CSV, HTML), the dashboard and
//! `/metrics` all say the numbers this module gives, and its definitions
//! are the ones a person checking by hand would use:
//!
//! - the period's tickets are those opened in it; "answered" means the
//!   team gave a first answer (through perch or in X's own app), an
//!   automatic reply does not count;
//! - a time to first response runs from the opening to that answer, on
//!   the wall clock and, where support hours are set, in open time only;
//! - a median and a 90th percentile are nearest-rank: of n sorted waits,
//!   the one at rank ⌈n·p⌉ (of 4 waits the median is the 2nd);
//! - a first-response target is met when the answer came by the due time
//!   the response targets give, missed when it came later or the time
//!   passed with no answer, pending otherwise;
//! - a one-touch resolution is a resolved ticket with a single answer,
//!   never reopened;
//! - the backlog at a moment counts the tickets opened by then and not
//!   resolved at it (a ticket resolved, reopened and resolved again counts
//!   as resolved at its last resolution);
//! - days and the weekday × hour map are in `zone` (the support hours').

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use super::hours::SupportHours;
use super::ids::{AgentId, TicketId};
use super::model::Priority;
use super::summary::Summary;
use super::targets::{Basis, Targets};

/// What the figures are worked out against.
pub struct Setting<'a> {
    pub targets: &'a Targets,
    /// For the time to first response in open time; `None`: not shown.
    pub hours: Option<&'a SupportHours>,
    pub zone: Tz,
    /// The configured agents, listed even when they answered nothing.
    pub agents: &'a [AgentId],
}

/// The tickets the figures read: opened since the period began, opened
/// before it and resolved since, and open or claimed now (they may
/// overlap).
pub struct Tickets<'a> {
    pub opened: &'a [Summary],
    pub resolved: &'a [Summary],
    pub active: &'a [Summary],
}

/// A median and a 90th percentile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    pub median: Duration,
    pub p90: Duration,
}

/// How the period's tickets of one priority fared against the
/// first-response target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetFigures {
    pub priority: Priority,
    pub target: Option<Duration>,
    pub tickets: usize,
    pub met: usize,
    pub missed: usize,
    pub pending: usize,
}

/// One agent's part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentFigures {
    pub agent: AgentId,
    /// The period's tickets this agent answered first.
    pub answered: usize,
    pub median: Option<Duration>,
    /// Open tickets this agent holds now.
    pub holding: usize,
}

/// One account's or one origin's part of the period's tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupFigures {
    pub name: String,
    pub tickets: usize,
    pub answered: usize,
    pub median: Option<Duration>,
}

/// The first-response buckets of the distribution chart, in order; the
/// last bucket holds the unanswered tickets.
pub const BUCKETS: [(&str, Option<i64>); 7] = [
    ("15 min", Some(15)),
    ("30 min", Some(30)),
    ("1 h", Some(60)),
    ("4 h", Some(240)),
    ("24 h", Some(1440)),
    ("later", None),
    ("unanswered", None),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    pub since: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub zone: Tz,
    pub tickets: usize,
    pub answered: usize,
    /// Answered within 30 minutes, 60 minutes and 24 hours.
    pub within: [usize; 3],
    pub first_response: Option<Spread>,
    /// In open time; `None` without support hours.
    pub first_response_open: Option<Spread>,
    pub targets: Vec<TargetFigures>,
    /// Breach alarms that went off in the period.
    pub breaches: usize,
    /// The period's tickets resolved now, how many of them in one touch,
    /// and how many of the period's tickets were reopened.
    pub resolved: usize,
    pub one_touch: usize,
    pub reopened: usize,
    pub backlog_now: usize,
    /// At the end of each day of the period (the last one: now).
    pub backlog: Vec<(NaiveDate, usize)>,
    pub per_day: Vec<(NaiveDate, usize)>,
    /// Tickets opened, by weekday (Monday first) and hour.
    pub heatmap: [[usize; 24]; 7],
    /// Answered tickets by time to first response, as `BUCKETS`.
    pub distribution: [usize; 7],
    pub agents: Vec<AgentFigures>,
    pub accounts: Vec<GroupFigures>,
    pub origins: Vec<GroupFigures>,
    /// The period's tickets nobody answered, oldest first.
    pub unanswered: Vec<Summary>,
    /// Tickets with a breach in the period, and when.
    pub breached: Vec<(Summary, DateTime<Utc>)>,
}

/// Nearest-rank percentile of sorted `waits`.
fn rank(sorted: &[Duration], percent: usize) -> Option<Duration> {
    let n = sorted.len();
    let rank = (n * percent).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn spread(mut waits: Vec<Duration>) -> Option<Spread> {
    waits.sort_unstable();
    Some(Spread {
        median: rank(&waits, 50)?,
        p90: rank(&waits, 90)?,
    })
}

fn wait(t: &Summary) -> Option<Duration> {
    t.first_response_at.map(|f| f - t.created_at)
}

fn median(tickets: &[&Summary]) -> Option<Duration> {
    spread(tickets.iter().filter_map(|t| wait(t)).collect()).map(|s| s.median)
}

/// Percent of `part` in `whole`, rounded to the nearest whole number.
pub fn percent(part: usize, whole: usize) -> usize {
    if whole == 0 {
        return 0;
    }
    (part * 200 + whole) / (whole * 2)
}

impl Figures {
    pub fn work_out(
        setting: &Setting<'_>,
        tickets: &Tickets<'_>,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        let period: Vec<&Summary> = tickets
            .opened
            .iter()
            .filter(|t| t.created_at >= since && t.created_at <= now)
            .collect();
        let answered: Vec<&Summary> = period
            .iter()
            .copied()
            .filter(|t| t.first_response_at.is_some())
            .collect();
        let within = [30, 60, 24 * 60].map(|minutes| {
            answered
                .iter()
                .filter(|t| wait(t).is_some_and(|w| w <= Duration::minutes(minutes)))
                .count()
        });
        let open_waits = setting.hours.map(|hours| {
            answered
                .iter()
                .filter_map(|t| Some(hours.open_time_between(t.created_at, t.first_response_at?)))
                .collect::<Vec<_>>()
        });
        let mut seen: BTreeMap<TicketId, &Summary> = BTreeMap::new();
        for t in tickets
            .opened
            .iter()
            .chain(tickets.resolved)
            .chain(tickets.active)
        {
            seen.entry(t.id).or_insert(t);
        }
        let active: Vec<&Summary> = tickets.active.iter().collect();
        let resolved: Vec<&Summary> = period.iter().copied().filter(|t| !t.is_active()).collect();
        let mut breached: Vec<(Summary, DateTime<Utc>)> = seen
            .values()
            .flat_map(|t| {
                t.breaches
                    .iter()
                    .filter(|at| **at >= since && **at <= now)
                    .map(|at| ((*t).clone(), *at))
            })
            .collect();
        breached.sort_by_key(|(t, at)| (*at, t.id));
        let days = days(since, now, setting.zone);
        Self {
            since,
            now,
            zone: setting.zone,
            tickets: period.len(),
            answered: answered.len(),
            within,
            first_response: spread(answered.iter().filter_map(|t| wait(t)).collect()),
            first_response_open: open_waits.and_then(spread),
            targets: Priority::ALL
                .iter()
                .map(|p| targets(setting.targets, *p, &period, now))
                .collect(),
            breaches: breached.len(),
            resolved: resolved.len(),
            one_touch: resolved
                .iter()
                .filter(|t| t.replies == 1 && t.reopened == 0)
                .count(),
            reopened: period.iter().filter(|t| t.reopened > 0).count(),
            backlog_now: active.len(),
            backlog: days
                .iter()
                .map(|day| {
                    let end = end_of(*day, setting.zone).min(now);
                    let open = seen
                        .values()
                        .filter(|t| {
                            t.created_at <= end
                                && (t.is_active() || t.resolved_at.is_some_and(|r| r > end))
                        })
                        .count();
                    (*day, open)
                })
                .collect(),
            per_day: days
                .iter()
                .map(|day| {
                    let n = period
                        .iter()
                        .filter(|t| t.created_at.with_timezone(&setting.zone).date_naive() == *day)
                        .count();
                    (*day, n)
                })
                .collect(),
            heatmap: heatmap(&period, setting.zone),
            distribution: distribution(&period),
            agents: agents(setting.agents, &period, &active),
            accounts: groups(&period, |t| t.account.as_str().to_owned()),
            origins: groups(&period, |t| t.origin.label().to_owned()),
            unanswered: period
                .iter()
                .filter(|t| t.first_response_at.is_none())
                .map(|t| (*t).clone())
                .collect(),
            breached,
        }
    }
}

/// The period figures cover: the last so long, or since a date (its
/// midnight in the figures' zone), up to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Last(std::time::Duration),
    Since(NaiveDate),
}

impl Span {
    /// `24h`, `7d`, `30d`, `today`, `week`, `month`, `since 2026-11-01`
    /// (or the date alone); the error says what would do.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        let s = s.strip_prefix("since").map_or(s.as_str(), str::trim);
        let day = std::time::Duration::from_secs(24 * 3600);
        match s {
            "" | "week" => return Ok(Self::Last(day * 7)),
            "today" | "day" => return Ok(Self::Last(day)),
            "month" => return Ok(Self::Last(day * 30)),
            _ => {}
        }
        if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(Self::Since(date));
        }
        match humantime::parse_duration(s) {
            Ok(d) if d.as_secs() >= 60 => Ok(Self::Last(d)),
            _ => Err(format!(
                "`{}` is not a period: try today, 24h, 7d, 30d or since 2026-11-01",
                s.chars().take(40).collect::<String>()
            )),
        }
    }

    /// When the period began, for a period that ends `now`.
    pub fn since(self, now: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        match self {
            Self::Last(d) => now - Duration::from_std(d).unwrap_or(Duration::days(7)),
            Self::Since(date) => zone
                .from_local_datetime(&date.and_time(NaiveTime::MIN))
                .earliest()
                .map_or(now, |at| at.with_timezone(&Utc)),
        }
    }
}

/// Every local date from `since`'s to `now`'s.
fn days(since: DateTime<Utc>, now: DateTime<Utc>, zone: Tz) -> Vec<NaiveDate> {
    let last = now.with_timezone(&zone).date_naive();
    let mut day = since.with_timezone(&zone).date_naive();
    let mut out = Vec::new();
    while day <= last {
        out.push(day);
        match day.checked_add_days(Days::new(1)) {
            Some(next) => day = next,
            None => break,
        }
    }
    out
}

/// The first moment after `day` in `zone`.
fn end_of(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
    zone.from_local_datetime(&next.and_time(NaiveTime::MIN))
        .earliest()
        .map(|at| at.with_timezone(&Utc) - Duration::microseconds(1))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn targets(
    targets: &Targets,
    priority: Priority,
    period: &[&Summary],
    now: DateTime<Utc>,
) -> TargetFigures {
    let mine: Vec<&&Summary> = period.iter().filter(|t| t.priority == priority).collect();
    let basis = |since| Basis {
        since,
        first: true,
        priority,
        claimed: false,
    };
    let target = targets.target(&basis(None));
    let mut f = TargetFigures {
        priority,
        target,
        tickets: mine.len(),
        met: 0,
        missed: 0,
        pending: 0,
    };
    for t in mine {
        let Some((due, _)) = targets.schedule(&basis(Some(t.created_at))) else {
            continue;
        };
        match t.first_response_at {
            Some(at) if at <= due => f.met += 1,
            Some(_) => f.missed += 1,
            None if now > due => f.missed += 1,
            None => f.pending += 1,
        }
    }
    f
}

fn heatmap(period: &[&Summary], zone: Tz) -> [[usize; 24]; 7] {
    let mut map = [[0; 24]; 7];
    for t in period {
        let local = t.created_at.with_timezone(&zone);
        let day = local.weekday().num_days_from_monday() as usize;
        if let Some(cell) = map
            .get_mut(day)
            .and_then(|row| row.get_mut(local.hour() as usize))
        {
            *cell += 1;
        }
    }
    map
}

fn distribution(period: &[&Summary]) -> [usize; 7] {
    let mut out = [0; 7];
    for t in period {
        let bucket = match wait(t) {
            None => 6,
            Some(w) => BUCKETS
                .iter()
                .position(|(_, limit)| limit.is_some_and(|m| w <= Duration::minutes(m)))
                .unwrap_or(5),
        };
        if let Some(n) = out.get_mut(bucket) {
            *n += 1;
        }
    }
    out
}

fn agents(configured: &[AgentId], period: &[&Summary], active: &[&Summary]) -> Vec<AgentFigures> {
    let mut ids: Vec<AgentId> = configured.to_vec();
    for id in period
        .iter()
        .filter_map(|t| t.first_by.clone())
        .chain(active.iter().filter_map(|t| t.holder.clone()))
    {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids.into_iter()
        .map(|agent| {
            let theirs: Vec<&Summary> = period
                .iter()
                .copied()
                .filter(|t| t.first_by.as_ref() == Some(&agent))
                .collect();
            AgentFigures {
                answered: theirs.len(),
                median: median(&theirs),
                holding: active
                    .iter()
                    .filter(|t| t.holder.as_ref() == Some(&agent))
                    .count(),
                agent,
            }
        })
        .collect()
}

fn groups(period: &[&Summary], key: impl Fn(&Summary) -> String) -> Vec<GroupFigures> {
    let mut by: BTreeMap<String, Vec<&Summary>> = BTreeMap::new();
    for t in period {
        by.entry(key(t)).or_default().push(t);
    }
    by.into_iter()
        .map(|(name, tickets)| GroupFigures {
            name,
            tickets: tickets.len(),
            answered: tickets
                .iter()
                .filter(|t| t.first_response_at.is_some())
                .count(),
            median: median(&tickets),
        })
        .collect()
}

/// A duration as a person reads it in a table: `45s`, `12m`, `1h 05m`,
/// `2d 03h`.
pub fn short(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
#[path = "figures_tests.rs"]
mod tests;
