//! Agents reply inline in the ticket thread; perch posts the reply on X
//! once, as the holder, and only the holder.

use std::time::Duration;

use crate::common::relay::{
    discord_field, never, until, Scene, ACME_ID, JO_DISCORD, JO_SLACK, SAM_DISCORD, SAM_SLACK,
    SLACK,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inline_reply_becomes_exactly_one_public_reply_with_the_signature() {
    let scene = Scene::start().await;
    let (post, slack, discord) = scene.mention("dana", "my order never arrived").await;
    let said = scene.slack().thread_reply(
        SLACK,
        &slack.ts,
        JO_SLACK,
        "So sorry! A replacement ships today.",
    );

    let reply = until("the reply on X", || {
        scene.replies_to(&post.id).into_iter().next()
    })
    .await;
    assert_eq!(reply.text, "@dana So sorry! A replacement ships today. ^JD");
    assert_eq!(reply.author_id.as_deref(), Some(ACME_ID));
    let link = format!("https://x.com/AcmeSupport/status/{}", reply.id);
    until("the agent's message marked sent, with the link", || {
        let thread = scene.slack_thread(&slack);
        let mine = thread.iter().find(|m| m.ts == said)?;
        let sent = mine.reactions.iter().any(|r| r == "white_check_mark");
        let linked = thread.iter().any(|m| m.text.contains(&link));
        (sent && linked).then_some(())
    })
    .await;
    until("the Discord thread to show the reply", || {
        scene.discord_thread(&discord).into_iter().find(|m| {
            m.content.contains("Jo Doe replied (public reply)") && m.content.contains(&link)
        })
    })
    .await;
    // Replying claimed it: both cards say who holds it.
    until("both cards to show Jo Doe", || {
        let s = scene.slack_card_now(&slack).text.contains("claimed");
        let d = discord_field(&scene.discord_card_now(&discord), "Holder") == "Jo Doe";
        (s && d).then_some(())
    })
    .await;
    never("a second reply on X", Duration::from_secs(2), || {
        scene.replies_to(&post.id).len() > 1
    })
    .await;
    let health = scene.health().await;
    for key in [
        "replies_waiting",
        "replies_failed",
        "chat_events_waiting",
        "tickets_to_redraw",
    ] {
        assert_eq!(health[key], 0, "{key}: {health}");
    }
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_ticket_is_answered_by_dm_from_discord() {
    let scene = Scene::start().await;
    scene.sandbox.x.dm("gina", ACME_ID, "my account is locked");
    let card = until("gina's card in Discord", || {
        scene.discord_cards("gina").into_iter().next()
    })
    .await;
    scene.discord().user_message(
        card.id,
        SAM_DISCORD,
        "Sam",
        &[],
        "Unlocked it for you, try again now.",
    );
    let dm = until("Sam's DM on X", || {
        scene
            .sandbox
            .x
            .sent_dms()
            .into_iter()
            .find(|d| d.text.as_deref().is_some_and(|t| t.ends_with("^SL")))
    })
    .await;
    assert_eq!(
        dm.text.as_deref(),
        Some("Unlocked it for you, try again now.\n^SL")
    );
    // Before it, gina had the welcome (the sandbox configures one), once.
    let texts: Vec<_> = scene
        .sandbox
        .x
        .sent_dms()
        .into_iter()
        .filter_map(|d| d.text)
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].starts_with("Hi! Thanks for your message"),
        "{texts:?}"
    );
    assert!(
        dm.dm_conversation_id
            .as_deref()
            .is_some_and(|c| c.contains(ACME_ID)),
        "{dm:?}"
    );
    assert!(scene.sandbox.x.posted().is_empty(), "nothing public");
    scene.discord_says(&card, "Sent as a DM").await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dm_switches_a_public_ticket_to_answer_by_dm() {
    let scene = Scene::start().await;
    let (post, slack, _) = scene.mention("dana", "my card was charged twice").await;
    scene
        .slack()
        .thread_reply(SLACK, &slack.ts, JO_SLACK, "<@U0PERCHBOT> dm");
    until("the card to say replies go by DM", || {
        let blocks = scene.slack_card_now(&slack).blocks?.to_string();
        blocks.contains("Replies go out as*\\nDM").then_some(())
    })
    .await;
    scene
        .slack()
        .thread_reply(SLACK, &slack.ts, JO_SLACK, "Refunded, sorry about that.");
    let dm = until("the DM on X", || {
        scene.sandbox.x.sent_dms().into_iter().next()
    })
    .await;
    assert_eq!(dm.text.as_deref(), Some("Refunded, sorry about that.\n^JD"));
    assert!(scene.replies_to(&post.id).is_empty(), "no public reply");

    // Dana answers the DM: it continues this ticket (the conversation we
    // started), and nobody welcomes her as a stranger.
    scene
        .sandbox
        .x
        .dm("dana", ACME_ID, "thanks, I see the refund");
    scene
        .slack_says(&slack, "@dana: thanks, I see the refund")
        .await;
    assert_eq!(scene.store.tickets().expect("tickets").len(), 1);
    never("a welcome DM to dana", Duration::from_secs(2), || {
        scene.sandbox.x.sent_dms().len() > 1
    })
    .await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_holder_speaks_to_the_customer() {
    let scene = Scene::start().await;
    let (post, slack, discord) = scene.mention("dana", "my order never arrived").await;
    scene
        .slack()
        .press_button(SLACK, &slack.ts, JO_SLACK, "perch_claim")
        .expect("a Claim button");
    until("the card to show the claim", || {
        scene
            .slack_card_now(&slack)
            .text
            .contains("claimed")
            .then_some(())
    })
    .await;

    // Sam, an agent who does not hold it, in Slack and in Discord.
    scene.slack().thread_reply(
        SLACK,
        &slack.ts,
        SAM_SLACK,
        "I think it was lost in the depot",
    );
    let told = scene.told(SAM_SLACK, "").await;
    assert!(
        told.contains("Jo Doe holds #1") && told.contains("internal discussion"),
        "{}",
        told
    );
    scene.discord().user_message(
        discord.id,
        SAM_DISCORD,
        "Sam",
        &[],
        "let me check the depot",
    );
    scene
        .discord_says(&discord, "Not sent: Jo Doe holds #1")
        .await;
    never("Sam's words on X", Duration::from_secs(2), || {
        !scene.sandbox.x.posted().is_empty() || !scene.sandbox.x.sent_dms().is_empty()
    })
    .await;

    // The holder, from Discord this time, is sent.
    scene.discord().user_message(
        discord.id,
        JO_DISCORD,
        "Jo",
        &[],
        "Found it, arriving tomorrow.",
    );
    let reply = until("Jo's reply on X", || {
        scene.replies_to(&post.id).into_iter().next()
    })
    .await;
    assert_eq!(reply.text, "@dana Found it, arriving tomorrow. ^JD");
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_and_outsiders_never_reach_the_customer() {
    let scene = Scene::start().await;
    let (_, slack, _) = scene.mention("dana", "my order never arrived").await;
    scene.slack().thread_reply(
        SLACK,
        &slack.ts,
        JO_SLACK,
        "note: VIP customer, be generous",
    );
    scene.slack().thread_reply(
        SLACK,
        &slack.ts,
        JO_SLACK,
        "// checking the warehouse first",
    );
    scene.slack().add_user("U0OUTSIDE1", "Olly from Sales");
    scene
        .slack()
        .thread_reply(SLACK, &slack.ts, "U0OUTSIDE1", "Sorry, we will fix it!");
    scene.told("U0OUTSIDE1", "Only support agents").await;
    // Someone Slack does not count as a channel member cannot be whispered
    // to: they are answered in the thread instead.
    scene
        .slack()
        .thread_reply(SLACK, &slack.ts, "U0GUEST01", "any update for my friend?");
    scene
        .slack_says(&slack, "<@U0GUEST01>: Only support agents")
        .await;
    let notes = until("both notes on the ticket", || {
        let t = scene.store.tickets().ok()?.into_iter().next()?;
        (t.notes.len() == 2).then_some(t.notes)
    })
    .await;
    assert_eq!(notes[0].text, "VIP customer, be generous");
    assert_eq!(notes[1].text, "checking the warehouse first");
    never("anything on X", Duration::from_secs(2), || {
        !scene.sandbox.x.posted().is_empty() || !scene.sandbox.x.sent_dms().is_empty()
    })
    .await;
    let ticket = scene.store.tickets().expect("tickets").remove(0);
    assert!(ticket.holder().is_none(), "notes do not claim");
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_too_long_reply_is_refused_in_the_thread_with_the_count() {
    let scene = Scene::start().await;
    let (_, slack, _) = scene.mention("dana", "my order never arrived").await;
    let words = "a".repeat(272);
    let said = scene
        .slack()
        .thread_reply(SLACK, &slack.ts, JO_SLACK, &words);
    // "@dana " + 272 + " ^JD" = 282 as X counts.
    let refusal = until("the refusal in the thread", || {
        scene
            .slack_thread(&slack)
            .into_iter()
            .find(|m| m.text.starts_with("Not sent"))
    })
    .await;
    assert!(
        refusal.text.contains("282 characters") && refusal.text.contains("limit is 280, so cut 2"),
        "{}",
        refusal.text
    );
    scene.slack_marked(&slack, &said, "x").await;
    never("anything on X", Duration::from_secs(2), || {
        !scene.sandbox.x.posted().is_empty()
    })
    .await;
    let ticket = scene.store.tickets().expect("tickets").remove(0);
    assert!(ticket.holder().is_none(), "a refused reply does not claim");
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_refusing_a_reply_marks_it_failed_with_xs_reason() {
    let scene = Scene::start().await;
    let (post, slack, _) = scene.mention("dana", "my order never arrived").await;
    scene.sandbox.x.fail_next("POST /2/tweets", 400, 1);
    let said = scene
        .slack()
        .thread_reply(SLACK, &slack.ts, JO_SLACK, "Sorry about that!");
    let why = scene.slack_says(&slack, "Not sent to X").await;
    assert!(
        why.text.contains("X refused the request (400)"),
        "{}",
        why.text
    );
    scene.slack_marked(&slack, &said, "x").await;
    never("a retry of a refused reply", Duration::from_secs(2), || {
        !scene.replies_to(&post.id).is_empty()
    })
    .await;
    let health = scene.health().await;
    assert_eq!(
        (&health["replies_waiting"], &health["replies_failed"]),
        (&serde_json::json!(0), &serde_json::json!(1)),
        "{health}"
    );
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_x_did_not_take_for_a_moment_goes_out_once_after_a_check() {
    let scene = Scene::start().await;
    let (post, slack, _) = scene.mention("dana", "my order never arrived").await;
    scene.sandbox.x.fail_next("POST /2/tweets", 503, 1);
    scene
        .slack()
        .thread_reply(SLACK, &slack.ts, JO_SLACK, "Sorry about that!");
    let reply = until("the reply on X", || {
        scene.replies_to(&post.id).into_iter().next()
    })
    .await;
    assert_eq!(reply.text, "@dana Sorry about that! ^JD");
    // Before sending again, perch looked for it among the account's posts.
    let x = &scene.sandbox.x;
    let attempts = x.requests_to("POST /2/tweets");
    let checks = x.requests_to("GET /2/users/:id/tweets");
    assert!(
        attempts.iter().any(|r| r.status == 503) && !checks.is_empty(),
        "{attempts:?} {checks:?}"
    );
    scene.slack_says(&slack, "Sent as a public reply").await;
    never("a second reply", Duration::from_secs(2), || {
        scene.replies_to(&post.id).len() > 1
    })
    .await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_reply_goes_out_as_the_agents_own_signed_reply() {
    const REFUND: &str =
        "Sorry about the double charge! We have refunded it; it shows on your statement in 3-5 days.";
    let scene = Scene::start().await;
    let (post, slack, discord) = scene.mention("hana", "I was charged twice").await;
    let slash = |user: &str, text: &str| scene.slack().slash_command(SLACK, user, text);

    slash(SAM_SLACK, "replies");
    scene
        .told(SAM_SLACK, "refund: Sorry about the double charge!")
        .await;
    slash(SAM_SLACK, "reply nope #1");
    scene
        .told(SAM_SLACK, "There is no saved reply `nope`. Saved replies")
        .await;

    slash(SAM_SLACK, "reply refund #1");
    scene
        .told(
            SAM_SLACK,
            "#1: sending the saved reply `refund` as a public reply",
        )
        .await;
    let reply = until("the saved reply on X", || {
        scene.replies_to(&post.id).into_iter().next()
    })
    .await;
    assert_eq!(reply.text, format!("@hana {REFUND} ^SL"));
    // Like a typed reply: Sam's first reply claimed the ticket, and every
    // thread shows what went out.
    until("Sam holding the Discord card", || {
        (discord_field(&scene.discord_card_now(&discord), "Holder") == "Sam Lee").then_some(())
    })
    .await;
    scene
        .slack_says(&slack, "Sam Lee replied (public reply)")
        .await;

    // Jo cannot speak for Sam's ticket with a saved reply either.
    slash(JO_SLACK, "reply refund #1");
    scene.told(JO_SLACK, "#1: not sent").await;
    never("a second post", Duration::from_secs(1), || {
        scene.sandbox.x.requests_to("POST /2/tweets").len() > 1
    })
    .await;
    scene.stop().await;
}
