//! The grammar as a table: what agents type and what it parses to.

use super::*;

fn t(n: u64) -> Option<TicketId> {
    Some(TicketId::new(n))
}

fn on(ticket: Option<TicketId>, action: TicketAction) -> ChatCommand {
    ChatCommand::Ticket { ticket, action }
}

#[test]
fn the_grammar_parses_what_agents_type() {
    let cases: Vec<(&str, ChatCommand)> = vec![
        ("claim", on(None, TicketAction::Claim { force: false })),
        ("  CLAIM  ", on(None, TicketAction::Claim { force: false })),
        ("claim #42", on(t(42), TicketAction::Claim { force: false })),
        ("claim force", on(None, TicketAction::Claim { force: true })),
        (
            "claim #7 force",
            on(t(7), TicketAction::Claim { force: true }),
        ),
        ("claim!", on(None, TicketAction::Claim { force: true })),
        ("unclaim", on(None, TicketAction::Unclaim)),
        ("release #3", on(t(3), TicketAction::Unclaim)),
        (
            "assign @sam",
            on(
                None,
                TicketAction::Assign {
                    to: AgentMention::Name("sam".into()),
                },
            ),
        ),
        (
            "assign <@U024BE7LH>",
            on(
                None,
                TicketAction::Assign {
                    to: AgentMention::Slack("U024BE7LH".into()),
                },
            ),
        ),
        (
            "assign <@U024BE7LH|sam>",
            on(
                None,
                TicketAction::Assign {
                    to: AgentMention::Slack("U024BE7LH".into()),
                },
            ),
        ),
        (
            "assign <@!80351110224678912>",
            on(
                None,
                TicketAction::Assign {
                    to: AgentMention::Discord("80351110224678912".into()),
                },
            ),
        ),
        (
            "assign @sam #9",
            on(
                t(9),
                TicketAction::Assign {
                    to: AgentMention::Name("sam".into()),
                },
            ),
        ),
        (
            "assign #9 @sam",
            on(
                t(9),
                TicketAction::Assign {
                    to: AgentMention::Name("sam".into()),
                },
            ),
        ),
        ("resolve", on(None, TicketAction::Resolve { note: None })),
        (
            "resolve refunded, thanks",
            on(
                None,
                TicketAction::Resolve {
                    note: Some("refunded, thanks".into()),
                },
            ),
        ),
        (
            "resolve #5 refunded",
            on(
                t(5),
                TicketAction::Resolve {
                    note: Some("refunded".into()),
                },
            ),
        ),
        ("reopen", on(None, TicketAction::Reopen)),
        ("dm", on(None, TicketAction::Dm)),
        ("public", on(None, TicketAction::Public)),
        (
            "note called the courier",
            on(
                None,
                TicketAction::Note {
                    text: "called the courier".into(),
                },
            ),
        ),
        ("queue", ChatCommand::Queue),
        ("replies", ChatCommand::SavedReplies),
        (
            "reply refund #4",
            on(
                t(4),
                TicketAction::SavedReply {
                    name: "refund".into(),
                },
            ),
        ),
        ("mine", ChatCommand::Mine),
        (
            "stats",
            ChatCommand::Stats {
                period: Span::Last(Duration::from_secs(7 * 86_400)),
            },
        ),
        (
            "stats today",
            ChatCommand::Stats {
                period: Span::Last(Duration::from_secs(86_400)),
            },
        ),
        (
            "stats 30d",
            ChatCommand::Stats {
                period: Span::Last(Duration::from_secs(30 * 86_400)),
            },
        ),
        (
            "stats since 2026-11-01",
            ChatCommand::Stats {
                period: Span::Since(
                    chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default(),
                ),
            },
        ),
        ("help", ChatCommand::Help { problem: None }),
        ("", ChatCommand::Help { problem: None }),
        ("oncall", ChatCommand::OnCall { stand_in: None }),
        (
            "followup 3d check the refund arrived #7",
            on(
                t(7),
                TicketAction::FollowUp {
                    after: Some(Duration::from_secs(3 * 24 * 3600)),
                    note: Some("check the refund arrived".to_owned()),
                },
            ),
        ),
        (
            "followup cancel",
            on(
                None,
                TicketAction::FollowUp {
                    after: None,
                    note: None,
                },
            ),
        ),
        (
            "snooze 2h",
            on(
                None,
                TicketAction::Snooze {
                    span: Some(Duration::from_secs(7200)),
                },
            ),
        ),
        (
            "snooze off #3",
            on(t(3), TicketAction::Snooze { span: None }),
        ),
        (
            "oncall me for 4h",
            ChatCommand::OnCall {
                stand_in: Some(StandInAsk {
                    who: None,
                    for_: Some(Duration::from_secs(4 * 3600)),
                }),
            },
        ),
        (
            "oncall <@U0SAMLEE1>",
            ChatCommand::OnCall {
                stand_in: Some(StandInAsk {
                    who: Some(AgentMention::Slack("U0SAMLEE1".into())),
                    for_: None,
                }),
            },
        ),
    ];
    // Every verb in the list is one the grammar knows.
    for v in VERBS {
        let input = format!("{} {}", v.name, v.usage.trim_matches(['[', ']', '<', '>']));
        assert!(
            !matches!(parse(&input), ChatCommand::Help { problem: Some(p) } if p.contains("unknown")),
            "{input:?}"
        );
    }
    for (input, want) in cases {
        assert_eq!(parse(input), want, "input: {input:?}");
    }
}

#[test]
fn anything_else_gets_the_help_text_with_the_reason() {
    for (input, reason) in [
        ("dance", "unknown command `dance`"),
        ("assign", "needs an agent"),
        ("assign @sam @kim", "one agent"),
        ("assign <@>", "is not an agent"),
        ("claim now please", "`claim` takes no"),
        ("queue all", "takes no arguments"),
        ("stats forever", "not a period"),
        ("stats 5s", "not a period"),
        ("note", "needs text"),
        ("reply", "takes a saved reply's name"),
        ("reply sorry about that", "takes a saved reply's name"),
        ("reopen it", "takes nothing but a ticket number"),
        ("oncall <@>", "takes `me` or an agent"),
        ("followup someday", "`followup` takes when"),
        ("followup 200d", "`followup` takes when"),
        ("snooze", "`snooze` takes how long"),
        ("snooze forever", "`snooze` takes how long"),
        ("forward billing", "takes the account as @handle"),
        ("oncall me forever", "not how long to stand in"),
        ("oncall me for 30s", "not how long to stand in"),
    ] {
        match parse(input) {
            ChatCommand::Help { problem: Some(p) } => {
                assert!(p.contains(reason), "{input:?}: {p}")
            }
            other => panic!("{input:?} parsed as {other:?}"),
        }
    }
}

#[test]
fn long_unknown_input_is_cut_in_the_reason() {
    let long = "x".repeat(500);
    let ChatCommand::Help { problem: Some(p) } = parse(&long) else {
        panic!()
    };
    assert!(p.len() < 100, "{p}");
}

#[test]
fn the_help_and_discord_offer_every_verb_the_grammar_knows() {
    let help = help_text();
    let offered: Vec<&str> = subcommands().map(|v| v.name).collect();
    for verb in [
        "claim", "unclaim", "assign", "resolve", "reopen", "note", "dm", "public", "reply",
        "replies", "queue", "mine", "stats", "oncall", "followup", "snooze", "forward", "help",
    ] {
        assert!(help.contains(&format!("\n  {verb}")), "help lacks {verb}");
        assert!(offered.contains(&verb), "Discord lacks {verb}");
    }
    assert_eq!(offered.len(), 18, "each subcommand once: {offered:?}");
    assert!(subcommands().all(|v| v.summary.len() <= 100));
}

#[test]
fn words_for_perch_are_never_words_for_the_customer() {
    for (input, command) in [
        ("@perch resolve shipped", Some("resolve shipped")),
        ("perch: claim", Some("claim")),
        ("/perch queue", Some("queue")),
        ("Perch, dance", Some("dance")),
        ("claim", Some("claim")),
        ("resolve #42", Some("resolve #42")),
        ("dm", Some("dm")),
        ("assign @sam", Some("assign @sam")),
        ("help", Some("help")),
        ("Resolve the issue by restarting your router", None),
        ("Note that we are closed on Monday", None),
        ("Mine arrived broken too, sorry!", None),
        ("DM us your order number", None),
        ("Reply STOP to opt out", None),
        ("reply 1.3", None),
        ("@perch reply refund", Some("reply refund")),
        ("Thanks for waiting", None),
        ("perchance it shipped", None),
        ("followup 3d", Some("followup 3d")),
        ("followup 3d check it arrived", None),
        (
            "@perch followup 3d check it arrived",
            Some("followup 3d check it arrived"),
        ),
        ("Follow-up: we will call you", None),
        ("snooze 2h", Some("snooze 2h")),
        ("Snooze your alarm and retry", None),
        ("forward @AcmeBilling", Some("forward @AcmeBilling")),
        ("Forward it to your bank", None),
        ("forward @AcmeBilling they handle refunds", None),
    ] {
        assert_eq!(addressed_to_perch(input), command, "{input:?}");
    }
}

#[test]
fn internal_notes_are_recognised() {
    assert_eq!(internal_note("// just checking"), Some("just checking"));
    assert_eq!(internal_note("Note: call back"), Some("call back"));
    assert_eq!(internal_note("noted, thanks!"), None);
    assert_eq!(internal_note("Hi there"), None);
    assert_eq!(internal_note("é"), None);
}
