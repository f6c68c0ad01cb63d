use std::collections::BTreeSet;

use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::ticket::ids::{AccountKey, ConversationKey, TicketId};
use crate::ticket::model::{Author, Customer, Message, NewTicket, Priority, XRef};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

fn agent(id: &str, name: &str) -> Agent {
    Agent {
        id: id.into(),
        name: name.to_owned(),
    }
}

fn actor(role: Role) -> Actor {
    Actor {
        agent: agent("me", "Me"),
        role,
    }
}

fn message(at: DateTime<Utc>) -> Message {
    Message {
        author: Author::Customer,
        x_ref: XRef::Tweet { id: "100".into() },
        text: "@acme my order never arrived".to_owned(),
        at,
    }
}

fn ticket(origin: Origin, can_reply_publicly: bool) -> Ticket {
    Ticket::open(
        TicketId::new(42),
        NewTicket {
            account: AccountKey::from("acme"),
            origin,
            customer: Customer {
                id: "7".into(),
                handle: "dana".to_owned(),
                name: "Dana".to_owned(),
            },
            conversation: ConversationKey::Public {
                account: "acme".into(),
                conversation: "100".into(),
            },
            first_message: message(t0()),
            priority: Priority::Normal,
            category: None,
            tags: BTreeSet::new(),
            can_reply_publicly,
        },
    )
}

#[derive(Clone, Copy, Debug)]
enum Start {
    Open,
    Mine,
    Other,
    Resolved,
}

fn in_state(start: Start) -> Ticket {
    let mut t = ticket(Origin::Mention, true);
    t.state = match start {
        Start::Open => State::Open,
        Start::Mine => State::Claimed(Claim::new(agent("me", "Me"), t0())),
        Start::Other => State::Claimed(Claim::new(agent("sam", "Sam"), t0())),
        Start::Resolved => State::Resolved(Resolution {
            by: agent("sam", "Sam"),
            at: t0(),
            note: None,
        }),
    };
    t
}

fn command(name: &str) -> Command {
    match name {
        "claim" => Command::Claim { force: false },
        "claim force" => Command::Claim { force: true },
        "unclaim" => Command::Unclaim,
        "assign kim" => Command::Assign {
            to: agent("kim", "Kim"),
        },
        "resolve" => Command::Resolve {
            note: Some("refunded".to_owned()),
        },
        "reopen" => Command::Reopen,
        "note" => Command::Note {
            text: "checked the order".to_owned(),
        },
        "dm" => Command::SetReplyChannel(ReplyChannel::Dm),
        "public" => Command::SetReplyChannel(ReplyChannel::Public),
        "reply" => Command::Reply {
            text: "Sorry about that!".to_owned(),
        },
        other => panic!("no such command in the table: {other}"),
    }
}

/// A short name for the outcome: the resulting status (with holder), or the
/// kind of refusal.
fn outcome(result: &Result<Transition, Refusal>) -> String {
    match result {
        Ok(t) => match &t.ticket.state {
            State::Open => "open".to_owned(),
            State::Claimed(c) => format!("claimed:{}", c.holder.id),
            State::Resolved(_) => "resolved".to_owned(),
        },
        Err(refusal) => format!("{refusal:?}")
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// Every (status, command, role) cell: outsider, agent, lead.
#[rustfmt::skip]
const TABLE: &[(Start, &str, [&str; 3])] = &[
    (Start::Open, "claim",        ["NotAnAgent", "claimed:me",     "claimed:me"]),
    (Start::Open, "claim force",  ["NotAnAgent", "claimed:me",     "claimed:me"]),
    (Start::Open, "unclaim",      ["NotAnAgent", "NotClaimed",     "NotClaimed"]),
    (Start::Open, "assign kim",   ["NotAnAgent", "NeedsLead",      "claimed:kim"]),
    (Start::Open, "resolve",      ["NotAnAgent", "resolved",       "resolved"]),
    (Start::Open, "reopen",       ["NotAnAgent", "NotResolved",    "NotResolved"]),
    (Start::Open, "note",         ["NotAnAgent", "open",           "open"]),
    (Start::Open, "dm",           ["NotAnAgent", "open",           "open"]),
    (Start::Open, "public",       ["NotAnAgent", "AlreadyChannel", "AlreadyChannel"]),
    (Start::Open, "reply",        ["NotAnAgent", "claimed:me",     "claimed:me"]),

    (Start::Mine, "claim",        ["NotAnAgent", "AlreadyYours",   "AlreadyYours"]),
    (Start::Mine, "claim force",  ["NotAnAgent", "AlreadyYours",   "AlreadyYours"]),
    (Start::Mine, "unclaim",      ["NotAnAgent", "open",           "open"]),
    (Start::Mine, "assign kim",   ["NotAnAgent", "NeedsLead",      "claimed:kim"]),
    (Start::Mine, "resolve",      ["NotAnAgent", "resolved",       "resolved"]),
    (Start::Mine, "reopen",       ["NotAnAgent", "NotResolved",    "NotResolved"]),
    (Start::Mine, "note",         ["NotAnAgent", "claimed:me",     "claimed:me"]),
    (Start::Mine, "dm",           ["NotAnAgent", "claimed:me",     "claimed:me"]),
    (Start::Mine, "public",       ["NotAnAgent", "AlreadyChannel", "AlreadyChannel"]),
    (Start::Mine, "reply",        ["NotAnAgent", "claimed:me",     "claimed:me"]),

    (Start::Other, "claim",       ["NotAnAgent", "HeldBy",         "HeldBy"]),
    (Start::Other, "claim force", ["NotAnAgent", "NeedsLead",      "claimed:me"]),
    (Start::Other, "unclaim",     ["NotAnAgent", "NotHolder",      "open"]),
    (Start::Other, "assign kim",  ["NotAnAgent", "NeedsLead",      "claimed:kim"]),
    (Start::Other, "resolve",     ["NotAnAgent", "NotHolder",      "resolved"]),
    (Start::Other, "reopen",      ["NotAnAgent", "NotResolved",    "NotResolved"]),
    (Start::Other, "note",        ["NotAnAgent", "claimed:sam",    "claimed:sam"]),
    (Start::Other, "dm",          ["NotAnAgent", "NotHolder",      "claimed:sam"]),
    (Start::Other, "public",      ["NotAnAgent", "NotHolder",      "AlreadyChannel"]),
    (Start::Other, "reply",       ["NotAnAgent", "NotHolder",      "NotHolder"]),

    (Start::Resolved, "claim",       ["NotAnAgent", "Resolved",       "Resolved"]),
    (Start::Resolved, "claim force", ["NotAnAgent", "Resolved",       "Resolved"]),
    (Start::Resolved, "unclaim",     ["NotAnAgent", "NotClaimed",     "NotClaimed"]),
    (Start::Resolved, "assign kim",  ["NotAnAgent", "NeedsLead",      "Resolved"]),
    (Start::Resolved, "resolve",     ["NotAnAgent", "Resolved",       "Resolved"]),
    (Start::Resolved, "reopen",      ["NotAnAgent", "open",           "open"]),
    (Start::Resolved, "note",        ["NotAnAgent", "resolved",       "resolved"]),
    (Start::Resolved, "dm",          ["NotAnAgent", "resolved",       "resolved"]),
    (Start::Resolved, "public",      ["NotAnAgent", "AlreadyChannel", "AlreadyChannel"]),
    (Start::Resolved, "reply",       ["NotAnAgent", "Resolved",       "Resolved"]),
];

#[test]
fn every_status_command_and_role_has_the_expected_outcome() {
    let roles = [Role::Outsider, Role::Agent, Role::Lead];
    let mut failures = Vec::new();
    for (start, name, expected) in TABLE {
        for (role, want) in roles.iter().zip(expected) {
            let before = in_state(*start);
            let result = apply(
                &before,
                command(name),
                &actor(*role),
                t0() + Duration::minutes(5),
                &Policy::default(),
            );
            let got = outcome(&result);
            if got != *want {
                failures.push(format!(
                    "{start:?} + {name:?} by {role:?}: want {want}, got {got}"
                ));
            }
            if let Ok(t) = &result {
                assert!(
                    t.effects.iter().any(|e| matches!(e, Effect::Audit { .. })),
                    "{start:?} + {name:?} by {role:?} changed the ticket without an audit entry"
                );
            }
        }
    }
    // The table must cover every cell: 4 statuses x 10 commands.
    assert_eq!(TABLE.len(), 40);
    assert!(
        failures.is_empty(),
        "{} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_refused_claim_names_the_holder_and_since_when() {
    let t = in_state(Start::Other);
    let refusal = apply(
        &t,
        Command::Claim { force: false },
        &actor(Role::Agent),
        t0(),
        &Policy::default(),
    )
    .err()
    .map(|r| r.to_string())
    .unwrap_or_default();
    assert!(refusal.contains("Sam"), "{refusal}");
    assert!(refusal.contains("2026-11-23 09:00 UTC"), "{refusal}");
    assert!(refusal.contains("claim force"), "{refusal}");
}

#[test]
fn a_forced_claim_tells_the_previous_holder() {
    let t = in_state(Start::Other);
    let out = apply(
        &t,
        Command::Claim { force: true },
        &actor(Role::Lead),
        t0(),
        &Policy::default(),
    );
    let effects = out.map(|t| t.effects).unwrap_or_default();
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::NotifyAgent { agent, text }
        if agent.id.as_str() == "sam" && text.contains("#42") && text.contains("took it over"))));
}

#[test]
fn assigning_tells_the_new_holder_and_the_old_one() {
    let t = in_state(Start::Other);
    let to = agent("kim", "Kim");
    let effects = apply(
        &t,
        Command::Assign { to },
        &actor(Role::Lead),
        t0(),
        &Policy::default(),
    )
    .map(|t| t.effects)
    .unwrap_or_default();
    let told: Vec<&str> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::NotifyAgent { agent, .. } => Some(agent.id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(told, ["sam", "kim"]);
}

#[test]
fn replying_claims_an_open_ticket_and_records_the_first_response_once() {
    let t = in_state(Start::Open);
    let first = t0() + Duration::minutes(10);
    let out = apply(
        &t,
        command("reply"),
        &actor(Role::Agent),
        first,
        &Policy::default(),
    );
    let Ok(out) = out else {
        panic!("reply refused: {out:?}")
    };
    assert_eq!(out.ticket.first_response_at, Some(first));
    assert!(out.effects.contains(&Effect::SendReply {
        text: "Sorry about that!".to_owned(),
        channel: ReplyChannel::Public
    }));
    let later = first + Duration::minutes(10);
    let again = apply(
        &out.ticket,
        command("reply"),
        &actor(Role::Agent),
        later,
        &Policy::default(),
    );
    let Ok(again) = again else {
        panic!("second reply refused: {again:?}")
    };
    assert_eq!(again.ticket.first_response_at, Some(first));
    assert_eq!(
        again.ticket.state.claim().and_then(|c| c.last_reply_at),
        Some(later)
    );
}

#[test]
fn an_explicit_claim_can_be_required_before_replying() {
    let policy = Policy {
        require_explicit_claim: true,
        idle_release: None,
    };
    let out = apply(
        &in_state(Start::Open),
        command("reply"),
        &actor(Role::Agent),
        t0(),
        &policy,
    );
    assert_eq!(out.err(), Some(Refusal::MustClaimFirst));
}

#[test]
fn empty_notes_and_replies_are_refused() {
    for cmd in [
        Command::Note {
            text: "  ".to_owned(),
        },
        Command::Reply {
            text: String::new(),
        },
    ] {
        let out = apply(
            &in_state(Start::Mine),
            cmd,
            &actor(Role::Agent),
            t0(),
            &Policy::default(),
        );
        assert!(matches!(out, Err(Refusal::EmptyText(_))), "{out:?}");
    }
}

#[test]
fn dm_tickets_cannot_switch_to_public() {
    let mut t = ticket(Origin::Dm, false);
    assert_eq!(t.reply_channel, ReplyChannel::Dm);
    t.state = State::Open;
    let out = apply(
        &t,
        command("public"),
        &actor(Role::Agent),
        t0(),
        &Policy::default(),
    );
    assert!(matches!(out, Err(Refusal::ChannelUnavailable { reason }) if reason.contains("DM")));
}

#[test]
fn search_hits_that_did_not_mention_the_account_cannot_be_answered_in_public() {
    let t = ticket(
        Origin::SearchHit {
            rule: "brand".to_owned(),
        },
        false,
    );
    assert_eq!(t.reply_channel, ReplyChannel::Dm);
    let out = apply(
        &t,
        command("public"),
        &actor(Role::Agent),
        t0(),
        &Policy::default(),
    );
    assert!(
        matches!(out, Err(Refusal::ChannelUnavailable { reason }) if reason.contains("mentioned or quoted"))
    );
}

#[test]
fn resolve_and_reopen_keep_the_reporting_timestamps() {
    let resolved_at = t0() + Duration::hours(1);
    let out = apply(
        &in_state(Start::Mine),
        command("resolve"),
        &actor(Role::Agent),
        resolved_at,
        &Policy::default(),
    );
    let Ok(out) = out else { panic!("{out:?}") };
    assert_eq!(out.ticket.resolved_at, Some(resolved_at));
    assert!(
        matches!(&out.ticket.state, State::Resolved(r) if r.note.as_deref() == Some("refunded"))
    );
    let reopened = apply(
        &out.ticket,
        command("reopen"),
        &actor(Role::Agent),
        resolved_at,
        &Policy::default(),
    );
    assert_eq!(reopened.map(|t| t.ticket.resolved_at), Ok(None));
}

#[test]
fn a_claim_arms_the_idle_release_and_is_released_only_when_idle() {
    let policy = Policy {
        require_explicit_claim: false,
        idle_release: Some(Duration::hours(2)),
    };
    let out = apply(
        &in_state(Start::Open),
        command("claim"),
        &actor(Role::Agent),
        t0(),
        &policy,
    );
    let Ok(out) = out else { panic!("{out:?}") };
    assert!(out.effects.contains(&Effect::ArmIdleRelease {
        at: t0() + Duration::hours(2)
    }));
    assert!(release_if_idle(
        &out.ticket,
        Duration::hours(2),
        t0() + Duration::minutes(119)
    )
    .is_none());
    let released = release_if_idle(&out.ticket, Duration::hours(2), t0() + Duration::hours(2));
    let Some(released) = released else {
        panic!("not released")
    };
    assert_eq!(released.ticket.state, State::Open);
    assert!(released
        .effects
        .iter()
        .any(|e| matches!(e, Effect::NotifyAgent { text, .. } if text.contains("2h"))));
}

#[test]
fn a_reply_postpones_the_idle_release() {
    let idle = Duration::hours(2);
    let mut t = in_state(Start::Mine);
    if let State::Claimed(c) = &mut t.state {
        c.last_reply_at = Some(t0() + Duration::hours(1));
    }
    assert!(release_if_idle(&t, idle, t0() + Duration::minutes(150)).is_none());
    assert!(release_if_idle(&t, idle, t0() + Duration::hours(3)).is_some());
    assert!(release_if_idle(&in_state(Start::Open), idle, t0() + Duration::days(9)).is_none());
}

#[test]
fn a_customer_writing_again_reopens_a_resolved_ticket() {
    let t = in_state(Start::Resolved);
    let out = customer_wrote(&t, message(t0() + Duration::days(1)));
    assert_eq!(out.ticket.state, State::Open);
    assert_eq!(out.ticket.messages.len(), 2);
    assert!(out
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Audit { action, .. } if action.starts_with("reopen"))));
    let open = customer_wrote(&in_state(Start::Mine), message(t0()));
    assert!(matches!(open.ticket.state, State::Claimed(_)));
}

#[test]
fn a_follow_up_is_for_a_resolved_ticket_and_a_reopen_takes_it_back() {
    let open = ticket(Origin::Mention, true);
    let at = Some(t0() + Duration::days(3));
    let ask = Command::FollowUp {
        at,
        note: Some(" check it fits ".to_owned()),
    };
    let refused = apply(
        &open,
        ask.clone(),
        &actor(Role::Agent),
        t0(),
        &Policy::default(),
    );
    assert_eq!(refused, Err(Refusal::FollowUpNeedsResolved));
    let resolve = Command::Resolve { note: None };
    let Ok(resolved) = apply(
        &open,
        resolve,
        &actor(Role::Agent),
        t0(),
        &Policy::default(),
    ) else {
        panic!("resolved")
    };
    let Ok(set) = apply(
        &resolved.ticket,
        ask,
        &actor(Role::Agent),
        t0(),
        &Policy::default(),
    ) else {
        panic!("a follow-up on a resolved ticket")
    };
    let follow_up = set.ticket.follow_up.clone();
    assert_eq!(follow_up.as_ref().map(|f| f.at), at);
    assert_eq!(
        follow_up.and_then(|f| f.note).as_deref(),
        Some("check it fits")
    );
    let back = customer_wrote(&set.ticket, message(t0() + Duration::hours(1)));
    assert_eq!(back.ticket.follow_up, None, "the customer came back first");
    let cancel = Command::FollowUp {
        at: None,
        note: None,
    };
    let none = apply(
        &back.ticket,
        cancel,
        &actor(Role::Agent),
        t0(),
        &Policy::default(),
    );
    assert_eq!(none, Err(Refusal::NoFollowUp));
}

#[test]
fn a_snooze_ends_when_the_customer_writes() {
    let open = ticket(Origin::Mention, true);
    let until = Some(t0() + Duration::hours(2));
    let Ok(snoozed) = apply(
        &open,
        Command::Snooze { until },
        &actor(Role::Agent),
        t0(),
        &Policy::default(),
    ) else {
        panic!("snoozed")
    };
    assert_eq!(snoozed.ticket.snoozed_until, until);
    let woken = customer_wrote(&snoozed.ticket, message(t0() + Duration::minutes(5)));
    assert_eq!(woken.ticket.snoozed_until, None);
    let off = apply(
        &woken.ticket,
        Command::Snooze { until: None },
        &actor(Role::Agent),
        t0(),
        &Policy::default(),
    );
    assert_eq!(off, Err(Refusal::NotSnoozed));
}

#[test]
fn a_forwarded_ticket_is_the_other_accounts_unclaimed_and_answered_by_dm() {
    let mut t = ticket(Origin::Mention, true);
    t.state = State::Claimed(Claim::new(agent("kim", "Kim"), t0()));
    let to: AccountKey = "billing".into();
    let forward = Command::Forward {
        to: to.clone(),
        note: Some("refund over $500".to_owned()),
    };
    let refused = apply(
        &t,
        forward.clone(),
        &actor(Role::Agent),
        t0(),
        &Policy::default(),
    );
    assert!(
        matches!(refused, Err(Refusal::NotHolder { .. })),
        "{refused:?}"
    );
    let Ok(moved) = apply(&t, forward, &actor(Role::Lead), t0(), &Policy::default()) else {
        panic!("a lead forwards it")
    };
    let next = &moved.ticket;
    assert_eq!((&next.account, &next.state), (&to, &State::Open));
    assert_eq!(next.reply_channel, ReplyChannel::Dm);
    assert!(!next.can_reply_publicly);
    assert!(moved.effects.contains(&Effect::Audit {
        action: "forward".to_owned(),
        detail: Some("to billing: refund over $500".to_owned()),
    }));
    let again = Command::Forward { to, note: None };
    let same = apply(next, again, &actor(Role::Lead), t0(), &Policy::default());
    assert_eq!(same, Err(Refusal::SameAccount));
}
