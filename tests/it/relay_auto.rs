//! perch answers on its own when nobody can yet: outside support hours a
//! customer hears when the team is back, and a new DM is welcomed. Each
//! goes out once, the team sees it in the thread, and it is not taken
//! for the team's first response.

use std::time::Duration;

use crate::common::relay::{closed_until_day_after_tomorrow, never, until, Scene, ACME_ID};

const OFF_HOURS: &str = "Thanks! Our team is offline right now and will answer from";
const WELCOME: &str =
    "Hi! Thanks for your message; someone from the team will be with you shortly.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_hours_a_customer_hears_once_when_the_team_is_back() {
    let ((from, to), back) = closed_until_day_after_tomorrow();
    let scene = Scene::start_with(&[(from, to.as_str())]).await;
    let (post, slack, discord) = scene.mention("erin", "my blender is broken").await;

    let reply = until("the off-hours reply on X", || {
        scene.replies_to(&post.id).into_iter().next()
    })
    .await;
    assert_eq!(
        reply.text,
        format!("@erin {OFF_HOURS} {back}."),
        "threaded to her post, naming the day the team is back"
    );
    let line = scene
        .slack_says(&slack, "perch sent the off-hours reply")
        .await;
    assert!(
        line.text.contains(&format!("status/{}", reply.id)),
        "with its link: {}",
        line.text
    );
    scene
        .discord_says(&discord, "perch sent the off-hours reply (public reply)")
        .await;

    // Erin writes again in a new conversation, and someone mentions the
    // brand in passing: both are tickets, and neither hears from perch.
    scene
        .sandbox
        .x
        .post("erin", "@AcmeSupport also the lid cracked", None, None);
    until("erin's second card", || {
        (scene.slack_cards("erin").len() == 2).then_some(())
    })
    .await;
    scene
        .sandbox
        .x
        .post("fay", "thinking of buying an akme blender", None, None);
    until("fay's card", || scene.slack_cards("fay").into_iter().next()).await;
    // Not even tried: X would refuse the same text twice anyway.
    never("a second automatic reply", Duration::from_secs(2), || {
        scene.sandbox.x.requests_to("POST /2/tweets").len() > 1
    })
    .await;

    // Nobody from the team has answered yet.
    let tickets = scene.store.tickets().expect("tickets");
    assert!(
        tickets.iter().all(|t| t.first_response_at.is_none()),
        "an automatic reply is not a first response"
    );
    let audit = scene.store.audit_log(Some(tickets[0].id)).expect("audit");
    assert!(
        audit.iter().any(|e| e.action == "sent"
            && e.actor.is_none()
            && e.detail.as_deref() == Some("off-hours reply (public reply)")),
        "perch, not an agent, sent it: {audit:?}"
    );
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_dm_is_welcomed_once_and_the_team_sees_it() {
    let scene = Scene::start().await;
    let x = &scene.sandbox.x;
    x.dm("gina", ACME_ID, "my account is locked");
    let card = until("gina's card in Slack", || {
        scene.slack_cards("gina").into_iter().next()
    })
    .await;
    let welcome = until("the welcome DM", || x.sent_dms().into_iter().next()).await;
    assert_eq!(welcome.text.as_deref(), Some(WELCOME));
    scene
        .slack_says(&card, &format!("perch sent the DM welcome (DM): {WELCOME}"))
        .await;

    // Her next DM joins the ticket; she is not welcomed again.
    x.dm("gina", ACME_ID, "it says too many attempts");
    scene
        .slack_says(&card, "@gina: it says too many attempts")
        .await;
    never("a second welcome", Duration::from_secs(2), || {
        x.sent_dms().len() > 1
    })
    .await;
    // In the thread, in the order it happened.
    let thread: Vec<String> = scene
        .slack_thread(&card)
        .into_iter()
        .map(|m| m.text)
        .collect();
    let welcome_at = thread.iter().position(|t| t.contains("DM welcome"));
    let again_at = thread.iter().position(|t| t.contains("too many attempts"));
    assert!(welcome_at < again_at, "{thread:#?}");
    scene.stop().await;
}
