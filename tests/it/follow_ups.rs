//! After resolution: `followup 3d [note]` reminds whoever set it in the
//! ticket's threads when it is due (once, across restarts: the timer is
//! in the store), and `snooze 2h` keeps an open ticket out of `queue`
//! until then. The relay's clock is moved by hand.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use perch::clock::ManualClock;

use crate::common::relay::{discord_field, never, until, Scene, JO_SLACK, SLACK};

fn follow_up_lines(scene: &Scene, card: &perch::sandbox::slack::Message) -> usize {
    scene
        .slack_thread(card)
        .iter()
        .filter(|m| m.bot_id.is_some() && m.text.contains("Follow-up due"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_due_after_a_restart_reminds_its_author_once() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let mut scene = Scene::start_on_clock(&[], clock.clone()).await;
    let (_, slack, discord) = scene.mention("hana", "wrong size").await;

    scene
        .slack()
        .thread_reply(SLACK, &slack.ts, JO_SLACK, "@perch followup 3d too early");
    scene
        .told(JO_SLACK, "a follow-up is for a resolved ticket")
        .await;
    scene
        .slack()
        .thread_reply(SLACK, &slack.ts, JO_SLACK, "@perch resolve exchanged");
    until("the ticket resolved", || {
        (discord_field(&scene.discord_card_now(&discord), "Status") == "resolved").then_some(())
    })
    .await;
    scene.slack().thread_reply(
        SLACK,
        &slack.ts,
        JO_SLACK,
        "@perch followup 3d check the new size fits",
    );
    scene.told(JO_SLACK, "follow-up set for").await;
    until("the follow-up on the Discord card", || {
        discord_field(&scene.discord_card_now(&discord), "Follow-up")
            .starts_with("on <t:")
            .then_some(())
    })
    .await;
    assert!(
        scene.sandbox.x.posted().is_empty(),
        "nothing for the customer"
    );

    scene.restart(clock.clone()).await;
    clock.advance(chrono::Duration::days(3) + chrono::Duration::minutes(1));
    let line = until("the reminder in Slack", || {
        scene
            .slack_thread(&slack)
            .into_iter()
            .find(|m| m.bot_id.is_some() && m.text.contains("Follow-up due"))
    })
    .await;
    assert!(
        line.text.contains("<@U0JODOE01>") && line.text.contains("check the new size fits"),
        "{}",
        line.text
    );
    let pinged = until("the reminder on Discord", || {
        scene
            .discord_thread(&discord)
            .into_iter()
            .find(|m| m.content.contains("Follow-up due"))
    })
    .await;
    assert_eq!(
        pinged.pinged,
        ["users:1400000000000000001"],
        "{}",
        pinged.content
    );
    until("the card says it is due", || {
        discord_field(&scene.discord_card_now(&discord), "Follow-up")
            .starts_with("🔁 due since")
            .then_some(())
    })
    .await;

    scene.restart(clock.clone()).await;
    clock.advance(chrono::Duration::hours(1));
    never("a second reminder", Duration::from_secs(2), || {
        follow_up_lines(&scene, &slack) > 1
    })
    .await;
    assert_eq!(follow_up_lines(&scene, &slack), 1);
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snoozed_ticket_leaves_the_queue_until_its_time() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let scene = Scene::start_on_clock(&[], clock.clone()).await;
    let (_, slack, discord) = scene.mention("ivan", "where is my invoice").await;
    scene
        .slack()
        .thread_reply(SLACK, &slack.ts, JO_SLACK, "@perch snooze 2h");
    scene.told(JO_SLACK, "snoozed until").await;
    until("the snooze on the Discord card", || {
        discord_field(&scene.discord_card_now(&discord), "Snoozed")
            .starts_with("until <t:")
            .then_some(())
    })
    .await;
    scene.slack().slash_command(SLACK, JO_SLACK, "queue");
    scene
        .told(
            JO_SLACK,
            "The queue is empty: every open ticket is claimed (1 snoozed, not shown).",
        )
        .await;
    clock.advance(chrono::Duration::hours(2) + chrono::Duration::minutes(1));
    scene.slack().slash_command(SLACK, JO_SLACK, "queue");
    scene
        .told(JO_SLACK, "1 unclaimed, most urgent and oldest first:")
        .await;
    scene.stop().await;
}
