//! Customers write on X; the team sees each conversation as one thread in
//! Slack and in Discord, kept in step.

use std::time::Duration;

use crate::common::relay::{discord_field, never, until, Scene, ACME_ID, JO_SLACK, SLACK};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_becomes_a_thread_in_slack_and_in_discord() {
    let scene = Scene::start().await;
    let (post, slack, discord) = scene.mention("dana", "my order never arrived").await;

    assert!(
        slack.text.contains("#1 mention from @dana"),
        "{}",
        slack.text
    );
    let blocks = slack.blocks.clone().unwrap_or_default().to_string();
    assert!(blocks.contains("my order never arrived"), "{blocks}");
    assert!(
        blocks.contains(&format!("status/{}", post.id)),
        "link to the post: {blocks}"
    );
    assert!(blocks.contains("perch_claim"), "a Claim button: {blocks}");
    assert_eq!(discord_field(&discord, "Status"), "open");
    assert!(discord.components.to_string().contains("perch_claim:1"));
    // The Discord card carries a thread (a thread started from a message
    // takes its id).
    assert!(
        scene.discord().channel(discord.id).is_some(),
        "no Discord thread"
    );

    // One card per route, however long we watch.
    never("a second card", Duration::from_secs(2), || {
        scene.slack_cards("dana").len() > 1 || scene.discord_cards("dana").len() > 1
    })
    .await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_tweet_lands_in_the_same_thread() {
    let scene = Scene::start().await;
    let (post, slack, discord) = scene.mention("dana", "my order never arrived").await;
    scene.sandbox.x.post(
        "dana",
        "@AcmeSupport still nothing, order 1234",
        Some(&post.id),
        None,
    );
    scene.slack_says(&slack, "still nothing, order 1234").await;
    scene
        .discord_says(&discord, "still nothing, order 1234")
        .await;
    assert_eq!(scene.slack_cards("dana").len(), 1, "no second ticket");
    assert_eq!(scene.discord_cards("dana").len(), 1, "no second ticket");
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolved_ticket_reopens_when_the_customer_writes_again() {
    let scene = Scene::start().await;
    let (post, slack, discord) = scene.mention("dana", "my order never arrived").await;
    scene.slack().press_button(
        SLACK,
        &slack.ts,
        crate::common::relay::JO_SLACK,
        "perch_resolve",
    );
    until("both cards to show it resolved", || {
        let s = scene.slack_card_now(&slack).text.contains("resolved");
        let d = discord_field(&scene.discord_card_now(&discord), "Status") == "resolved";
        (s && d).then_some(())
    })
    .await;

    scene.sandbox.x.post(
        "dana",
        "@AcmeSupport it came back broken",
        Some(&post.id),
        None,
    );
    until("both cards to show it open again", || {
        let s = scene.slack_card_now(&slack).text.contains(", open)");
        let d = discord_field(&scene.discord_card_now(&discord), "Status") == "open";
        (s && d).then_some(())
    })
    .await;
    scene.slack_says(&slack, "it came back broken").await;
    assert_eq!(scene.slack_cards("dana").len(), 1);
    let audit = scene.store.audit_log(None).expect("audit");
    assert!(
        audit.iter().any(|e| e.action == "reopen (customer wrote)"),
        "{audit:?}"
    );
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dms_and_search_hits_become_tickets_classified_by_the_rules() {
    let scene = Scene::start().await;
    scene
        .sandbox
        .x
        .dm("gina", ACME_ID, "I was charged twice, please refund");
    scene
        .sandbox
        .x
        .post("lee", "is akme down for anyone else? outage?", None, None);
    let dm = until("gina's card", || {
        scene.slack_cards("gina").into_iter().next()
    })
    .await;
    let hit = until("lee's card", || scene.slack_cards("lee").into_iter().next()).await;
    assert!(
        dm.text.contains("DM from @gina (high, open)"),
        "billing rule: {}",
        dm.text
    );
    assert!(
        hit.text.contains("search (brand) from @lee (urgent, open)"),
        "outage rule: {}",
        hit.text
    );
    let blocks = hit.blocks.clone().unwrap_or_default().to_string();
    assert!(
        blocks.contains("outage") && blocks.contains("incident"),
        "{blocks}"
    );
    // Someone who did not mention the account can only be answered by DM.
    assert!(
        blocks.contains("Replies go out as") && blocks.contains("DM"),
        "{blocks}"
    );
    until("both cards in Discord", || {
        (scene.discord_cards("gina").len() == 1 && scene.discord_cards("lee").len() == 1)
            .then_some(())
    })
    .await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_someone_deleted_is_not_redrawn_over_and_over() {
    let scene = Scene::start().await;
    let (_, card, _) = scene.mention("kim", "the zip broke").await;
    let id = scene.store.tickets().unwrap()[0].id;
    // A workspace admin deletes the card; then the ticket changes.
    assert!(scene.slack().admin_deletes(SLACK, &card.ts));
    scene
        .slack()
        .slash_command(SLACK, JO_SLACK, &format!("claim {id}"));
    until("the Discord card to say it is claimed", || {
        scene
            .discord_cards("kim")
            .into_iter()
            .next()
            .filter(|c| discord_field(c, "Status").contains("claimed"))
    })
    .await;
    // Slack said the card is gone: the ticket leaves the queue, and Slack
    // is not asked again and again.
    until("nothing left to draw", || {
        let health = scene.health_now()?;
        (health["tickets_to_redraw"] == 0).then_some(())
    })
    .await;
    let updates = scene.slack().calls("chat.update").len();
    never(
        "the gone card updated again",
        std::time::Duration::from_secs(3),
        || scene.slack().calls("chat.update").len() > updates,
    )
    .await;
    scene.stop().await;
}
