//! Response targets on an injected clock: the card shows when the answer
//! is due; at 75% of the target the thread warns and calls whoever is on
//! call; at the breach the card turns late and the escalation ladder
//! calls the on-call agent, then the agents' group and role, pinging
//! exactly those people on both platforms; a claim stops the ladder.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use perch::clock::ManualClock;
use perch::sandbox::discord::Message as DiscordMessage;
use perch::sandbox::slack::Message as SlackMessage;

use crate::common::relay::{discord_field, never, until, Scene, JO_SLACK, SAM_SLACK, SLACK};

const AGENTS_ROLE: u64 = 1_500_000_000_000_000_077;
const LEADS_ROLE: u64 = 1_500_000_000_000_000_078;

/// The agents' and leads' groups and roles named, and the sandbox's
/// ladder (on call at the breach, then Jo) made on call, agents, leads.
/// Sam is on call all week (the sandbox's rota).
const TEAM: (&str, &str) = (
    "[response_targets]",
    r#"[permissions]
slack_agent_group = "S0AGENTS1"
slack_lead_group = "S0LEADS01"
discord_agent_role = "1500000000000000077"
discord_lead_role = "1500000000000000078"

[response_targets]"#,
);
const LADDER: (&str, &str) = (
    "ping = \"jo\"",
    "ping = \"agents\"\n\n[[escalation.ladder]]\nafter = \"30m\"\nping = \"leads\"",
);

async fn scene() -> (Scene, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let scene = Scene::start_on_clock(&[TEAM, LADDER], clock.clone()).await;
    scene.slack().set_group("S0AGENTS1", &[JO_SLACK, SAM_SLACK]);
    scene.slack().set_group("S0LEADS01", &[JO_SLACK]);
    scene.discord().set_role(AGENTS_ROLE, "Agents");
    scene.discord().set_role(LEADS_ROLE, "Leads");
    (scene, clock)
}

/// When the customer's words came, as perch recorded them.
fn since(scene: &Scene, handle: &str) -> DateTime<Utc> {
    let tickets = scene.store.tickets().expect("tickets");
    let ticket = tickets
        .iter()
        .find(|t| t.customer.handle == handle)
        .expect("the ticket");
    ticket.created_at
}

/// perch's lines in the Slack thread that ping someone.
fn slack_alarms(scene: &Scene, card: &SlackMessage) -> Vec<SlackMessage> {
    scene
        .slack_thread(card)
        .into_iter()
        .filter(|m| m.bot_id.is_some() && (m.text.contains("<@") || m.text.contains("<!subteam")))
        .collect()
}

/// perch's lines in the Discord thread that ping someone.
fn discord_alarms(scene: &Scene, card: &DiscordMessage) -> Vec<DiscordMessage> {
    scene
        .discord_thread(card)
        .into_iter()
        .filter(|m| !m.pinged.is_empty())
        .collect()
}

/// Waits for the `n`th alarm on both platforms and returns them.
async fn alarm(
    scene: &Scene,
    slack: &SlackMessage,
    discord: &DiscordMessage,
    n: usize,
) -> (SlackMessage, DiscordMessage) {
    let s = until(&format!("alarm {n} in Slack"), || {
        slack_alarms(scene, slack).into_iter().nth(n - 1)
    })
    .await;
    let d = until(&format!("alarm {n} on Discord"), || {
        discord_alarms(scene, discord).into_iter().nth(n - 1)
    })
    .await;
    (s, d)
}

/// A Slack card's blocks as text.
fn blocks(card: &SlackMessage) -> String {
    card.blocks
        .as_ref()
        .map(|b| b.to_string())
        .unwrap_or_default()
}

fn minutes(n: i64) -> chrono::Duration {
    chrono::Duration::minutes(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warning_then_the_breach_then_each_rung_calls_exactly_its_people_until_a_claim() {
    let (scene, clock) = scene().await;
    let (_, slack, discord) = scene.mention("dana", "where is my parcel?").await;
    let since = since(&scene, "dana");
    let due = (since + minutes(60)).timestamp();
    until("the due time on both cards", || {
        let d = discord_field(&scene.discord_card_now(&discord), "Answer due");
        let s = blocks(&scene.slack_card_now(&slack));
        (d == format!("by <t:{due}:t> (<t:{due}:R>)") && s.contains(&format!("by <!date^{due}^")))
            .then_some(())
    })
    .await;

    // 45 minutes in (75% of the normal target's hour): the warning.
    clock.set(since + minutes(46));
    let (s, d) = alarm(&scene, &slack, &discord, 1).await;
    assert!(
        s.text.contains("The answer is due at") && s.text.contains("<@U0SAMLEE1>"),
        "{}",
        s.text
    );
    assert!(
        !s.text.contains("<@U0JODOE01>") && !s.text.contains("subteam"),
        "{}",
        s.text
    );
    assert_eq!(
        d.pinged,
        ["users:1400000000000000002"],
        "only Sam: {}",
        d.content
    );
    until("the cards say it is due soon", || {
        discord_field(&scene.discord_card_now(&discord), "Answer due")
            .starts_with("⏳ soon")
            .then_some(())
    })
    .await;

    // The hour is up: the card turns late and the on-call agent is called.
    clock.set(since + minutes(61));
    let (s, d) = alarm(&scene, &slack, &discord, 2).await;
    assert!(
        s.text.contains("Late: the answer was due at") && s.text.contains("<@U0SAMLEE1>"),
        "{}",
        s.text
    );
    assert_eq!(d.pinged, ["users:1400000000000000002"], "{}", d.content);
    until("both cards late", || {
        let late = discord_field(&scene.discord_card_now(&discord), "Answer due")
            .starts_with("🚨 late")
            && blocks(&scene.slack_card_now(&slack)).contains("late: was due");
        late.then_some(())
    })
    .await;

    // 15 minutes later: the agents' group and role, nobody else.
    clock.set(since + minutes(76));
    let (s, d) = alarm(&scene, &slack, &discord, 3).await;
    assert!(
        s.text.contains("<!subteam^S0AGENTS1>") && !s.text.contains("<@"),
        "{}",
        s.text
    );
    assert_eq!(d.pinged, [format!("roles:{AGENTS_ROLE}")], "{}", d.content);

    // Sam claims: the leads are never called.
    scene
        .slack()
        .thread_reply(SLACK, &slack.ts, SAM_SLACK, "claim");
    until("Sam holding it", || {
        (discord_field(&scene.discord_card_now(&discord), "Holder") == "Sam Lee").then_some(())
    })
    .await;
    clock.set(since + minutes(120));
    never("a fourth alarm", Duration::from_secs(2), || {
        slack_alarms(&scene, &slack).len() > 3 || discord_alarms(&scene, &discord).len() > 3
    })
    .await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claimed_ticket_calls_its_holder_and_a_reply_stops_the_clock() {
    let (scene, clock) = scene().await;
    let (post, slack, discord) = scene.mention("erin", "charged twice").await;
    // "charged" makes it a billing ticket: high, half an hour.
    let since = since(&scene, "erin");
    scene
        .slack()
        .thread_reply(SLACK, &slack.ts, JO_SLACK, "claim");
    until("Jo holding it", || {
        (discord_field(&scene.discord_card_now(&discord), "Holder") == "Jo Doe").then_some(())
    })
    .await;
    clock.set(since + minutes(23));
    let (s, d) = alarm(&scene, &slack, &discord, 1).await;
    assert!(
        s.text.contains("<@U0JODOE01>") && !s.text.contains("<@U0SAMLEE1>"),
        "{}",
        s.text
    );
    assert_eq!(d.pinged, ["users:1400000000000000001"], "{}", d.content);

    scene
        .slack()
        .thread_reply(SLACK, &slack.ts, JO_SLACK, "Refunded, sorry!");
    until("the reply on X", || {
        scene.replies_to(&post.id).into_iter().next()
    })
    .await;
    until("no due time on the card", || {
        (discord_field(&scene.discord_card_now(&discord), "Answer due").is_empty()).then_some(())
    })
    .await;
    clock.set(since + minutes(200));
    never("another alarm", Duration::from_secs(2), || {
        slack_alarms(&scene, &slack).len() > 1 || discord_alarms(&scene, &discord).len() > 1
    })
    .await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_standing_in_on_call_is_called_first_for_an_urgent_ticket() {
    let (scene, clock) = scene().await;
    scene.slack().slash_command(SLACK, JO_SLACK, "oncall");
    scene
        .told(JO_SLACK, "On call: Sam Lee (the only one on the rota).")
        .await;
    scene.slack().slash_command(SLACK, SAM_SLACK, "oncall @jo");
    scene
        .told(SAM_SLACK, "Only a lead can put someone else on call")
        .await;
    scene
        .slack()
        .slash_command(SLACK, JO_SLACK, "oncall me for 4h");
    scene.told(JO_SLACK, "You are on call until").await;
    scene.slack().slash_command(SLACK, SAM_SLACK, "help");
    scene
        .told(SAM_SLACK, "On call: Jo Doe (standing in until")
        .await;

    // An outage is urgent: Jo, on call, is called as soon as it opens.
    let (_, slack, discord) = scene.mention("gus", "the app is down").await;
    // (The relay's clock stands at the scene's start, before the post.)
    clock.set(since(&scene, "gus") + chrono::Duration::seconds(1));
    let (s, d) = alarm(&scene, &slack, &discord, 1).await;
    assert!(
        s.text.contains("Urgent, and nobody holds it") && s.text.contains("<@U0JODOE01>"),
        "{}",
        s.text
    );
    assert!(!s.text.contains("<@U0SAMLEE1>"), "{}", s.text);
    assert_eq!(d.pinged, ["users:1400000000000000001"], "{}", d.content);
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counted_in_support_hours_the_clock_waits_for_the_team_to_open() {
    // Closed from yesterday to tomorrow (holidays): the hour starts when
    // the team is back.
    let ((from, to), _) = crate::common::relay::closed_until_day_after_tomorrow();
    let closed = (from, to.as_str());
    let counted = ("low = \"4h\"", "low = \"4h\"\nsupport_hours_only = true");
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let scene = Scene::start_on_clock(&[closed, counted], clock.clone()).await;
    let (_, _, discord) = scene.mention("olga", "where is my parcel?").await;
    let opens = (Utc::now().date_naive() + chrono::Duration::days(2))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    let due = (opens + minutes(60)).timestamp();
    until("the due time an hour after the team is back", || {
        (discord_field(&scene.discord_card_now(&discord), "Answer due")
            == format!("by <t:{due}:t> (<t:{due}:R>)"))
        .then_some(())
    })
    .await;
    // A day later the team is still away: nothing is due yet.
    clock.advance(chrono::Duration::hours(24));
    never(
        "an alarm while the team is away",
        Duration::from_secs(2),
        || !discord_alarms(&scene, &discord).is_empty(),
    )
    .await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_a_weekend_and_the_clocks_going_back_only_open_hours_count() {
    use chrono::TimeZone;
    // Friday 30 October 2026, 16:30 in New York (EDT); the clocks go back
    // on Sunday, so Monday 09:00 is 14:00 UTC, not 13:00.
    let friday = Utc
        .with_ymd_and_hms(2026, 10, 30, 20, 30, 0)
        .single()
        .expect("a date");
    let monday_nine = Utc
        .with_ymd_and_hms(2026, 11, 2, 14, 0, 0)
        .single()
        .expect("a date");
    let mut edits: Vec<(String, String)> = vec![
        (
            "time_zone = \"UTC\"\nholidays = []".into(),
            "time_zone = \"America/New_York\"\nholidays = []".into(),
        ),
        (
            "low = \"4h\"".into(),
            "low = \"4h\"\nsupport_hours_only = true".into(),
        ),
    ];
    for (day, hours) in [
        ("mon", "09:00-17:00"),
        ("tue", "09:00-17:00"),
        ("wed", "09:00-17:00"),
        ("thu", "09:00-17:00"),
        ("fri", "09:00-17:00"),
        ("sat", "closed"),
        ("sun", "closed"),
    ] {
        edits.push((
            format!("{day} = \"00:00-24:00\""),
            format!("{day} = \"{hours}\""),
        ));
    }
    let edits: Vec<(&str, &str)> = edits
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let clock = Arc::new(ManualClock::new(friday + minutes(1)));
    let scene = Scene::start_after(&edits, clock.clone(), |_, store| {
        // A mention that came on Friday afternoon (normal: an hour).
        let mut new = perch::testing::mention(7);
        new.first_message.at = friday;
        new.customer.handle = "pia".to_owned();
        store.open_ticket(new).expect("Friday's ticket");
    })
    .await;
    let discord = until("pia's card on Discord", || {
        scene.discord_cards("pia").into_iter().next()
    })
    .await;
    let slack = until("pia's card in Slack", || {
        scene.slack_cards("pia").into_iter().next()
    })
    .await;
    // Half an hour on Friday, half an hour on Monday morning.
    let due = (monday_nine + minutes(30)).timestamp();
    until("Monday 09:30 EST on the card", || {
        (discord_field(&scene.discord_card_now(&discord), "Answer due")
            == format!("by <t:{due}:t> (<t:{due}:R>)"))
        .then_some(())
    })
    .await;
    // The weekend passes with nobody at work: nothing goes off.
    clock.set(monday_nine - minutes(1));
    never("an alarm over the weekend", Duration::from_secs(2), || {
        !discord_alarms(&scene, &discord).is_empty()
    })
    .await;
    // 45 minutes of open time (75%) end at Monday 09:15 EST.
    clock.set(monday_nine + minutes(16));
    let (s, _) = alarm(&scene, &slack, &discord, 1).await;
    assert!(s.text.contains("The answer is due at"), "{}", s.text);
    clock.set(monday_nine + minutes(31));
    let (s, _) = alarm(&scene, &slack, &discord, 2).await;
    assert!(s.text.contains("Late: the answer was due at"), "{}", s.text);
    scene.stop().await;
}
