//! The figures on seven tickets whose every number is worked out by hand
//! in the comments.

use std::collections::BTreeSet;

use chrono::{Duration, TimeZone};

use super::*;
use crate::ticket::{AccountKey, Origin};

fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, minute, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn summary(n: u64, priority: Priority, opened: DateTime<Utc>) -> Summary {
    Summary {
        id: TicketId::new(n),
        account: AccountKey::new("acme"),
        origin: Origin::Mention,
        priority,
        state: "open".to_owned(),
        holder: None,
        created_at: opened,
        first_response_at: None,
        resolved_at: None,
        handle: format!("customer{n}"),
        first_by: None,
        replies: 0,
        reopened: 0,
        breaches: Vec::new(),
    }
}

fn answered(mut t: Summary, by: &str, after: Duration, replies: u32) -> Summary {
    t.first_response_at = Some(t.created_at + after);
    t.first_by = Some(AgentId::new(by));
    t.replies = replies;
    t
}

fn resolved(mut t: Summary, when: DateTime<Utc>) -> Summary {
    t.state = "resolved".to_owned();
    t.resolved_at = Some(when);
    t
}

fn held(mut t: Summary, by: &str) -> Summary {
    t.state = "claimed".to_owned();
    t.holder = Some(AgentId::new(by));
    t
}

/// Monday 23 November 2026 to Wednesday 25 at noon, UTC.
/// - t0: opened Sunday 20:00, resolved Monday 08:00 (before the period);
/// - t1: normal, Mon 09:00, answered by jo after 20 min, resolved 09:30,
///   one answer;
/// - t2: urgent, Mon 10:00, answered by sam after 45 min (breach at
///   10:15), two answers, reopened once, resolved last at 11:00;
/// - t3: normal, Tue 14:00, answered by jo after 20 h, held by jo;
/// - t4: low (no target), a DM, Wed 11:30, unanswered;
/// - t5: normal, Wed 11:30, unanswered, due at 12:30;
/// - t6: opened the week before, held by sam.
fn week() -> (Vec<Summary>, Vec<Summary>, Vec<Summary>) {
    let t0 = resolved(summary(0, Priority::Normal, at(22, 20, 0)), at(23, 8, 0));
    let t1 = resolved(
        answered(
            summary(1, Priority::Normal, at(23, 9, 0)),
            "jo",
            Duration::minutes(20),
            1,
        ),
        at(23, 9, 30),
    );
    let mut t2 = answered(
        summary(2, Priority::Urgent, at(23, 10, 0)),
        "sam",
        Duration::minutes(45),
        2,
    );
    t2.reopened = 1;
    t2.breaches = vec![at(23, 10, 15)];
    let t2 = resolved(t2, at(23, 11, 0));
    let t3 = held(
        answered(
            summary(3, Priority::Normal, at(24, 14, 0)),
            "jo",
            Duration::hours(20),
            1,
        ),
        "jo",
    );
    let mut t4 = summary(4, Priority::Low, at(25, 11, 30));
    t4.origin = Origin::Dm;
    let t5 = summary(5, Priority::Normal, at(25, 11, 30));
    let t6 = held(summary(6, Priority::High, at(16, 9, 0)), "sam");
    let opened = vec![t1.clone(), t2.clone(), t3.clone(), t4.clone(), t5.clone()];
    let resolved = vec![t0, t1, t2];
    let active = vec![t3, t4, t5, t6];
    (opened, resolved, active)
}

fn targets() -> Targets {
    let mut t = Targets::default();
    t.first[0] = Some(Duration::minutes(15));
    t.first[2] = Some(Duration::hours(1));
    t
}

fn work_out(hours: Option<&SupportHours>) -> Figures {
    let (opened, resolved, active) = week();
    let targets = targets();
    let agents = [AgentId::new("jo"), AgentId::new("sam"), AgentId::new("lee")];
    let setting = Setting {
        targets: &targets,
        hours,
        zone: chrono_tz::UTC,
        agents: &agents,
    };
    let tickets = Tickets {
        opened: &opened,
        resolved: &resolved,
        active: &active,
    };
    Figures::work_out(&setting, &tickets, at(23, 0, 0), at(25, 12, 0))
}

#[test]
fn the_week_s_figures_are_the_hand_counted_ones() {
    let f = work_out(None);
    assert_eq!((f.tickets, f.answered), (5, 3));
    // 20 min, 45 min, 20 h.
    assert_eq!(f.within, [1, 2, 3]);
    assert_eq!(
        f.first_response,
        Some(Spread {
            median: Duration::minutes(45),
            p90: Duration::hours(20)
        }),
        "rank ⌈1.5⌉ = 2 and ⌈2.7⌉ = 3 of three"
    );
    assert_eq!(f.first_response_open, None);
    let by = |p: Priority| f.targets.iter().find(|t| t.priority == p).cloned();
    let urgent = by(Priority::Urgent).map(|t| (t.tickets, t.met, t.missed, t.pending));
    let normal = by(Priority::Normal).map(|t| (t.tickets, t.met, t.missed, t.pending));
    let low = by(Priority::Low).map(|t| (t.target, t.tickets, t.met + t.missed + t.pending));
    assert_eq!(urgent, Some((1, 0, 1, 0)));
    assert_eq!(
        normal,
        Some((3, 1, 1, 1)),
        "t1 met, t3 missed, t5 not due yet"
    );
    assert_eq!(low, Some((None, 1, 0)), "no target: neither met nor missed");
    assert_eq!(f.breaches, 1);
    assert_eq!((f.resolved, f.one_touch, f.reopened), (2, 1, 1));
    assert_eq!(f.backlog_now, 4);
    let backlog: Vec<usize> = f.backlog.iter().map(|(_, n)| *n).collect();
    assert_eq!(backlog, [1, 2, 4], "t6; t6 and t3; then t4 and t5 too");
    let per_day: Vec<usize> = f.per_day.iter().map(|(_, n)| *n).collect();
    assert_eq!(per_day, [2, 1, 2]);
    assert_eq!(f.distribution, [0, 1, 1, 0, 1, 0, 2]);
    assert_eq!(
        (
            f.heatmap[0][9],
            f.heatmap[0][10],
            f.heatmap[1][14],
            f.heatmap[2][11]
        ),
        (1, 1, 1, 2)
    );
    assert_eq!(f.heatmap.iter().flatten().sum::<usize>(), 5);
    let agents: Vec<(&str, usize, Option<Duration>, usize)> = f
        .agents
        .iter()
        .map(|a| (a.agent.as_str(), a.answered, a.median, a.holding))
        .collect();
    assert_eq!(
        agents,
        [
            ("jo", 2, Some(Duration::minutes(20)), 1),
            ("sam", 1, Some(Duration::minutes(45)), 1),
            ("lee", 0, None, 0)
        ]
    );
    let origins: Vec<(&str, usize, usize)> = f
        .origins
        .iter()
        .map(|g| (g.name.as_str(), g.tickets, g.answered))
        .collect();
    assert_eq!(origins, [("DM", 1, 0), ("mention", 4, 3)]);
    assert_eq!(f.accounts.len(), 1);
    let unanswered: Vec<u64> = f.unanswered.iter().map(|t| t.id.get()).collect();
    assert_eq!(unanswered, [4, 5]);
    assert_eq!(f.breached.len(), 1);
}

#[test]
fn in_open_time_a_wait_counts_only_the_hours_the_team_is_at_work() {
    let mut weekly: [Vec<(u16, u16)>; 7] = Default::default();
    for day in weekly.iter_mut().take(5) {
        day.push((9 * 60, 17 * 60));
    }
    let hours = SupportHours {
        zone: chrono_tz::UTC,
        weekly,
        holidays: BTreeSet::new(),
    };
    // t3 waited Tuesday 14:00-17:00 and Wednesday 09:00-10:00.
    assert_eq!(
        work_out(Some(&hours)).first_response_open,
        Some(Spread {
            median: Duration::minutes(45),
            p90: Duration::hours(4)
        })
    );
}

#[test]
fn percentiles_and_percents_are_the_ones_a_person_works_out() {
    let waits: Vec<Duration> = (1..=10).map(Duration::minutes).collect();
    assert_eq!(rank(&waits, 50), Some(Duration::minutes(5)));
    assert_eq!(rank(&waits, 90), Some(Duration::minutes(9)));
    assert_eq!(rank(&waits[..1], 90), Some(Duration::minutes(1)));
    assert_eq!(rank(&[], 50), None);
    assert_eq!((percent(1, 3), percent(2, 3), percent(0, 0)), (33, 67, 0));
    assert_eq!(
        [45, 720, 3900, 186_000].map(|s| short(Duration::seconds(s))),
        ["45s", "12m", "1h 05m", "2d 03h"]
    );
}
