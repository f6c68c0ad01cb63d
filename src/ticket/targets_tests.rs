use std::collections::BTreeSet;

use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::testing::{agent, mention, t0};
use crate::ticket::{Claim, Message, TicketId, XRef};

fn minutes(n: i64) -> Duration {
    Duration::minutes(n)
}

/// Normal tickets answered within 1 h, warned at 75%, then on call, the
/// agents after 15 min and the leads after 30.
fn targets() -> Targets {
    Targets {
        first: [Some(minutes(15)), None, Some(minutes(60)), None],
        next: [None, None, Some(minutes(120)), None],
        hours: None,
        warn_percent: 75,
        ladder: vec![
            Rung {
                after: minutes(0),
                ping: Ping::OnCall,
            },
            Rung {
                after: minutes(15),
                ping: Ping::Agents,
            },
            Rung {
                after: minutes(30),
                ping: Ping::Leads,
            },
        ],
    }
}

fn ticket() -> Ticket {
    Ticket::open(TicketId::new(1), mention(1))
}

fn customer_writes(t: &mut Ticket, at: chrono::DateTime<Utc>) {
    t.messages.push(Message {
        author: Author::Customer,
        x_ref: XRef::Tweet { id: "2".into() },
        text: "and?".to_owned(),
        at,
    });
}

#[test]
fn the_wait_starts_at_the_first_unanswered_words() {
    let mut t = ticket();
    assert_eq!(waiting(&t), Some((t0(), true)));
    customer_writes(&mut t, t0() + minutes(5));
    assert_eq!(waiting(&t), Some((t0(), true)), "still the first words");
    t.first_response_at = Some(t0() + minutes(10));
    t.last_response_at = Some(t0() + minutes(10));
    assert_eq!(waiting(&t), None, "answered");
    customer_writes(&mut t, t0() + minutes(30));
    assert_eq!(waiting(&t), Some((t0() + minutes(30), false)));
    t.state = State::Resolved(crate::ticket::Resolution {
        by: agent("jo"),
        at: t0() + minutes(31),
        note: None,
    });
    assert_eq!(waiting(&t), None, "resolved");
}

#[test]
fn a_wait_has_a_warning_a_breach_and_the_ladder_until_claimed() {
    let mut t = ticket();
    let basis = Basis::of(&t);
    let Some((due, steps)) = targets().schedule(&basis) else {
        panic!("a normal ticket has a target")
    };
    assert_eq!(due, t0() + minutes(60));
    assert_eq!(
        steps,
        [
            (Step::Warning, t0() + minutes(45)),
            (Step::Breach, t0() + minutes(60)),
            (Step::Rung(0), t0() + minutes(60)),
            (Step::Rung(1), t0() + minutes(75)),
            (Step::Rung(2), t0() + minutes(90)),
        ]
    );
    t.state = State::Claimed(Claim::new(agent("sam"), t0()));
    let claimed = targets().schedule(&Basis::of(&t)).map(|s| s.1);
    assert_eq!(
        claimed,
        Some(vec![
            (Step::Warning, t0() + minutes(45)),
            (Step::Breach, t0() + minutes(60))
        ])
    );
    assert_eq!(
        targets().calls(&t, Step::Warning),
        [Ping::Agent("sam".into())]
    );
    t.priority = Priority::Low;
    assert_eq!(
        targets().schedule(&Basis::of(&t)),
        None,
        "no target for low"
    );
}

#[test]
fn a_next_response_has_its_own_target() {
    let mut t = ticket();
    t.first_response_at = Some(t0() + minutes(1));
    t.last_response_at = Some(t0() + minutes(1));
    customer_writes(&mut t, t0() + minutes(10));
    let due = targets().schedule(&Basis::of(&t)).map(|s| s.0);
    assert_eq!(due, Some(t0() + minutes(130)));
    t.priority = Priority::Urgent;
    let due = targets().schedule(&Basis::of(&t)).map(|s| s.0);
    assert_eq!(due, Some(t0() + minutes(25)), "falls back to the first's");
}

#[test]
fn each_alarm_goes_off_once_and_after_downtime_only_the_latest() {
    let targets = targets();
    let mut t = ticket();
    t.alarms = targets.plan(&t);
    assert_eq!(t.alarms.next_at, Some(t0() + minutes(45)));
    assert_eq!(targets.due_step(&t, t0() + minutes(44)), None);
    let Some((step, at)) = targets.due_step(&t, t0() + minutes(46)) else {
        panic!("the warning is due")
    };
    assert_eq!(step, Step::Warning);
    t.alarms.done_until = Some(at);
    t.alarms = targets.plan(&t);
    assert_eq!(t.alarms.next_at, Some(t0() + minutes(60)));
    assert_eq!(targets.due_step(&t, t0() + minutes(50)), None);
    // Down from 0:46 to 1:20: the breach and the first rung are passed
    // over for the rung then due.
    assert_eq!(
        targets.due_step(&t, t0() + minutes(80)),
        Some((Step::Rung(1), t0() + minutes(75)))
    );
    // A plan out of date fires nothing until planned again.
    t.state = State::Claimed(Claim::new(agent("sam"), t0() + minutes(81)));
    assert_eq!(targets.due_step(&t, t0() + minutes(200)), None);
    t.alarms.done_until = Some(t0() + minutes(75));
    t.alarms = targets.plan(&t);
    assert_eq!(t.alarms.next_at, None, "a claim stops the ladder");
    assert!(t.alarms.late());
}

#[test]
fn counted_in_support_hours_a_wait_stops_over_the_weekend_and_follows_the_clocks() {
    let mut weekly: [Vec<(u16, u16)>; 7] = Default::default();
    for day in weekly.iter_mut().take(5) {
        day.push((9 * 60, 17 * 60));
    }
    let hours = SupportHours {
        zone: chrono_tz::America::New_York,
        weekly,
        holidays: BTreeSet::new(),
    };
    // Friday 30 October 2026, 16:00 EDT; the clocks go back on Sunday.
    let friday = Utc.with_ymd_and_hms(2026, 10, 30, 20, 0, 0).single();
    let monday_nine_est = Utc.with_ymd_and_hms(2026, 11, 2, 14, 0, 0).single();
    let (Some(friday), Some(monday)) = (friday, monday_nine_est) else {
        panic!("valid dates")
    };
    assert_eq!(
        hours.after_open_time(friday, minutes(120)),
        Some(monday + minutes(60)),
        "one hour on Friday, one on Monday at 09:00 EST"
    );
    assert_eq!(
        hours.open_time_between(friday, monday + minutes(60)),
        minutes(120),
        "the same wait counted back"
    );
    assert_eq!(hours.open_time_between(monday, friday), minutes(0));
    // Spring forward: 02:00-03:00 does not exist on 8 March 2026.
    let mut always: [Vec<(u16, u16)>; 7] = Default::default();
    always[6].push((0, 24 * 60));
    let sunday = SupportHours {
        zone: chrono_tz::America::New_York,
        weekly: always,
        holidays: BTreeSet::new(),
    };
    let midnight = Utc.with_ymd_and_hms(2026, 3, 8, 5, 0, 0).single();
    let Some(midnight) = midnight else {
        panic!("a valid date")
    };
    assert_eq!(
        sunday.after_open_time(midnight, minutes(240)),
        Some(midnight + minutes(240)),
        "four real hours, though the wall clock moved five"
    );
    let mut t = ticket();
    t.messages[0].at = friday + minutes(30);
    t.created_at = friday + minutes(30);
    let counted = Targets {
        hours: Some(hours),
        ..targets()
    };
    let due = counted.schedule(&Basis::of(&t)).map(|s| s.0);
    assert_eq!(due, Some(monday + minutes(30)), "half an hour on each side");
}

#[test]
fn an_urgent_ticket_nobody_holds_calls_on_call_at_once() {
    let mut t = ticket();
    t.priority = Priority::Urgent;
    let steps = targets().schedule(&Basis::of(&t)).map(|s| s.1);
    let first = steps.as_ref().and_then(|s| s.first().copied());
    assert_eq!(first, Some((Step::Urgent, t0())));
    assert_eq!(targets().calls(&t, Step::Urgent), [Ping::OnCall]);
    t.state = State::Claimed(Claim::new(agent("sam"), t0()));
    let steps = targets().schedule(&Basis::of(&t)).map(|s| s.1);
    assert!(steps.is_some_and(|s| s.iter().all(|(step, _)| *step != Step::Urgent)));
}

#[test]
fn a_ticket_from_before_alarms_is_planned_without_calling_out_its_past() {
    let t = ticket();
    let quiet = targets().plan_quietly(&t, t0() + minutes(80));
    assert_eq!(
        quiet.done_until,
        Some(t0() + minutes(75)),
        "up to the rung then due"
    );
    assert_eq!(
        quiet.next_at,
        Some(t0() + minutes(90)),
        "the leads still come"
    );
    assert!(quiet.late());
    let early = targets().plan_quietly(&t, t0() + minutes(10));
    assert_eq!(early, targets().plan(&t), "nothing past: the usual plan");
}
