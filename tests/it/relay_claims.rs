//! Claims, commands and buttons from both platforms, through the one
//! state machine: who holds a ticket is the same everywhere.

use crate::common::relay::{
    discord_field, until, Scene, DISCORD, JO_DISCORD, JO_SLACK, SAM_DISCORD, SAM_SLACK, SLACK,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_claiming_at_once_from_slack_and_discord_one_wins_and_both_cards_show_it() {
    let scene = Scene::start().await;
    let (_, slack, discord) = scene.mention("dana", "my order never arrived").await;
    // Jo in Slack and Sam in Discord press Claim at the same moment.
    scene
        .slack()
        .press_button(SLACK, &slack.ts, JO_SLACK, "perch_claim")
        .expect("Slack Claim button");
    scene
        .discord()
        .press_button(DISCORD, discord.id, SAM_DISCORD, "Sam", "perch_claim:1")
        .expect("Discord Claim button");

    let winner = until("a holder", || {
        let t = scene.store.tickets().ok()?.into_iter().next()?;
        t.holder().map(|h| h.name.clone())
    })
    .await;
    let (winner_slack, winner_discord) = (winner.clone(), winner.clone());
    until("both cards to show the winner", || {
        let s = scene.slack_card_now(&slack);
        let s_ok = s.text.contains("claimed")
            && s.blocks
                .as_ref()
                .is_some_and(|b| b.to_string().contains(&winner_slack));
        let d_ok = discord_field(&scene.discord_card_now(&discord), "Holder") == winner_discord;
        (s_ok && d_ok).then_some(())
    })
    .await;
    // The loser is told who holds it.
    let loser_told = until("the loser to be told", || {
        if winner == "Jo Doe" {
            scene
                .discord()
                .followups()
                .into_iter()
                .map(|(_, body)| body["content"].as_str().unwrap_or_default().to_owned())
                .find(|c| c.contains("held by Jo Doe"))
        } else {
            scene
                .slack()
                .ephemerals_for(JO_SLACK)
                .into_iter()
                .map(|e| e.text)
                .find(|t| t.contains("held by Sam Lee"))
        }
    })
    .await;
    assert!(loser_told.contains("#1"), "{loser_told}");
    let claims = scene
        .store
        .audit_log(None)
        .expect("audit")
        .into_iter()
        .filter(|e| e.action == "claim")
        .count();
    assert_eq!(claims, 1, "exactly one claim won");
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_takes_over_and_the_holder_hears_of_it() {
    let scene = Scene::start().await;
    let (_, slack, discord) = scene.mention("dana", "my order never arrived").await;
    scene
        .slack()
        .press_button(SLACK, &slack.ts, SAM_SLACK, "perch_claim")
        .expect("Claim");
    until("Sam's claim on the Discord card", || {
        (discord_field(&scene.discord_card_now(&discord), "Holder") == "Sam Lee").then_some(())
    })
    .await;
    // Jo (a lead) in the Discord thread: /perch claim force.
    scene
        .discord()
        .slash_command(discord.id, JO_DISCORD, "Jo", &[], "claim", Some("force"));
    until("Jo on both cards", || {
        let d = discord_field(&scene.discord_card_now(&discord), "Holder") == "Jo Doe";
        let s = scene
            .slack_card_now(&slack)
            .blocks
            .is_some_and(|b| b.to_string().contains("Jo Doe"));
        (d && s).then_some(())
    })
    .await;
    scene
        .slack_says(&slack, "Sam Lee: #1: Jo Doe took it over from you")
        .await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_mine_and_help_answer_only_the_caller() {
    let scene = Scene::start().await;
    scene.mention("dana", "where is my parcel").await;
    scene.mention("eve", "the app is down!").await;
    let (_, lee, _) = scene.mention("lee", "how do I change my email").await;

    scene.slack().slash_command(SLACK, JO_SLACK, "queue");
    let queue = scene.told(JO_SLACK, "unclaimed").await;
    let lines: Vec<&str> = queue.lines().skip(1).collect();
    assert_eq!(lines.len(), 3, "{}", queue);
    assert!(
        lines[0].contains("urgent · @eve"),
        "most urgent first: {}",
        queue
    );
    assert!(
        lines[1].contains("@dana") && lines[2].contains("@lee"),
        "then oldest: {}",
        queue
    );

    // A slash command outside a thread names the ticket.
    scene.slack().slash_command(SLACK, JO_SLACK, "claim #3");
    until("lee's card to show Jo", || {
        scene
            .slack_card_now(&lee)
            .text
            .contains("claimed")
            .then_some(())
    })
    .await;
    scene.slack().slash_command(SLACK, JO_SLACK, "mine");
    let mine = scene.told(JO_SLACK, "You hold").await;
    assert!(mine.contains("#3") && mine.contains("@lee"), "{}", mine);

    scene.slack().slash_command(SLACK, JO_SLACK, "frobnicate");
    scene.told(JO_SLACK, "perch commands").await;
    scene.slack().add_user("U0OUTSIDE1", "Olly");
    scene.slack().slash_command(SLACK, "U0OUTSIDE1", "claim #1");
    scene.told("U0OUTSIDE1", "only support agents").await;
    assert!(scene
        .store
        .ticket(perch::ticket::TicketId::new(1))
        .ok()
        .flatten()
        .and_then(|t| t.holder().cloned())
        .is_none());
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_can_require_an_explicit_claim_before_replying() {
    let scene = Scene::start_with(&[(
        "require_explicit_claim = false",
        "require_explicit_claim = true",
    )])
    .await;
    let (post, slack, _) = scene.mention("dana", "my order never arrived").await;
    scene
        .slack()
        .thread_reply(SLACK, &slack.ts, JO_SLACK, "Looking into it");
    let told = scene.told(JO_SLACK, "").await;
    assert!(told.contains("claim it first"), "{}", told);
    assert!(scene.replies_to(&post.id).is_empty());

    scene
        .slack()
        .thread_reply(SLACK, &slack.ts, JO_SLACK, "<@U0PERCHBOT> claim");
    until("the claim", || {
        scene
            .slack_card_now(&slack)
            .text
            .contains("claimed")
            .then_some(())
    })
    .await;
    scene
        .slack()
        .thread_reply(SLACK, &slack.ts, JO_SLACK, "Looking into it now");
    let reply = until("the reply", || {
        scene.replies_to(&post.id).into_iter().next()
    })
    .await;
    assert_eq!(reply.text, "@dana Looking into it now ^JD");
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_claim_goes_back_to_the_queue_on_both_cards() {
    let scene = Scene::start_with(&[(
        "claim_idle_release = \"30m\"",
        "claim_idle_release = \"2s\"",
    )])
    .await;
    let (_, slack, discord) = scene.mention("dana", "my order never arrived").await;
    scene
        .slack()
        .press_button(SLACK, &slack.ts, JO_SLACK, "perch_claim")
        .expect("Claim");
    until("the claim on the Discord card", || {
        (discord_field(&scene.discord_card_now(&discord), "Holder") == "Jo Doe").then_some(())
    })
    .await;
    scene
        .slack_says(&slack, "Jo Doe: #1: released after 2s with no reply")
        .await;
    until("both cards open again", || {
        let s = scene.slack_card_now(&slack).text.contains(", open)");
        let d = discord_field(&scene.discord_card_now(&discord), "Status") == "open";
        (s && d).then_some(())
    })
    .await;
    scene.stop().await;
}
