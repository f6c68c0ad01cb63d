//! What an agent writes reaches the customer as they meant it: chat
//! markup read as the conversion table says, words for perch never
//! posted, every kind of reply the platforms deliver handled, and words
//! copied from one chat platform to the other made inert.

use std::time::Duration;

use perch::sandbox::slack::ReplyKind;

use crate::common::relay::{
    discord_field, never, until, Scene, JO_SLACK, SAM_DISCORD, SAM_SLACK, SLACK,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slack_reply_with_markup_reaches_x_as_the_table_says() {
    let scene = Scene::start().await;
    let (post, card, _) = scene.mention("dana", "where is my parcel?").await;
    scene.slack().thread_reply(
        SLACK,
        &card.ts,
        JO_SLACK,
        "Sorry :pray: <@U0SAMLEE1> is on it :tada: *today*; see <https://acme.com/track|tracking> &amp; <https://acme.com/help>",
    );
    let reply = until("the reply on X", || {
        scene.reply_texts_to(&post.id).into_iter().next()
    })
    .await;
    assert_eq!(
        reply,
        "@dana Sorry 🙏 Sam Lee is on it 🎉 today; see tracking (https://acme.com/track) & https://acme.com/help ^JD"
    );
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discord_reply_with_markup_reaches_x_as_the_table_says() {
    let scene = Scene::start().await;
    scene
        .discord()
        .set_role(1_500_000_000_000_000_077, "Billing");
    let (post, _, card) = scene.mention("erin", "charged twice").await;
    scene.discord().user_message(
        card.id,
        SAM_DISCORD,
        "Sam",
        &[],
        "**Refunded** <:acme:1066> — <@1400000000000000001> and <@&1500000000000000077> checked it, @everyone relax: [details](https://acme.com/refunds) ||ref 42||",
    );
    let reply = until("the reply on X", || {
        scene.reply_texts_to(&post.id).into_iter().next()
    })
    .await;
    assert_eq!(
        reply,
        "@erin Refunded :acme: — Jo Doe and Billing checked it, everyone relax: details (https://acme.com/refunds) ref 42 ^SL"
    );
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn words_for_perch_typed_in_a_thread_are_done_and_never_posted() {
    let scene = Scene::start().await;
    let (_, slack, discord) = scene.mention("frank", "app crashes on login").await;
    // Typed, not picked from Slack's list: plain text, not a mention.
    scene
        .slack()
        .thread_reply(SLACK, &slack.ts, JO_SLACK, "@perch resolve shipped");
    until("the ticket resolved", || {
        scene
            .slack_card_now(&slack)
            .text
            .contains("resolved")
            .then_some(())
    })
    .await;
    scene
        .slack()
        .thread_reply(SLACK, &slack.ts, JO_SLACK, "perch: dance");
    scene.told(JO_SLACK, "unknown command `dance`").await;
    scene.discord().user_message(
        discord.id,
        SAM_DISCORD,
        "Sam",
        &[],
        "<@1200000000000000001> reopen",
    );
    until("the ticket open again on Discord", || {
        (discord_field(&scene.discord_card_now(&discord), "Status") != "resolved").then_some(())
    })
    .await;
    scene
        .discord()
        .user_message(discord.id, SAM_DISCORD, "Sam", &[], "claim");
    until("Sam holding it", || {
        (discord_field(&scene.discord_card_now(&discord), "Holder") == "Sam Lee").then_some(())
    })
    .await;
    never("anything on X", Duration::from_secs(2), || {
        !scene.sandbox.x.posted().is_empty()
    })
    .await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discord_reply_quoted_in_slack_cannot_ping_the_channel() {
    let scene = Scene::start().await;
    let (post, slack, discord) = scene.mention("gus", "down again").await;
    scene.discord().user_message(
        discord.id,
        SAM_DISCORD,
        "Sam",
        &[],
        "Back up now <!channel> <#C0SUPPORT1>",
    );
    until("the reply on X", || {
        scene.replies_to(&post.id).into_iter().next()
    })
    .await;
    let quoted = scene.slack_says(&slack, "Sam Lee replied").await;
    assert!(
        quoted
            .text
            .contains("Back up now &lt;!channel&gt; &lt;#C0SUPPORT1&gt;"),
        "{}",
        quoted.text
    );
    assert!(!quoted.text.contains("<!channel>") && !quoted.text.contains("<#"));
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_assigns_by_picking_the_person_in_slack() {
    let scene = Scene::start().await;
    let (_, slack, discord) = scene.mention("hana", "wrong size").await;
    // What Slack delivers when Jo picks perch and Sam from the list.
    scene.slack().thread_reply(
        SLACK,
        &slack.ts,
        JO_SLACK,
        "<@U0PERCHBOT> assign <@U0SAMLEE1>",
    );
    until("Sam holding it", || {
        (discord_field(&scene.discord_card_now(&discord), "Holder") == "Sam Lee").then_some(())
    })
    .await;
    scene.told(JO_SLACK, "Sam Lee").await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_also_sent_to_the_channel_goes_to_x_once() {
    let scene = Scene::start().await;
    let (post, slack, _) = scene.mention("ida", "late delivery").await;
    let said = scene.slack().thread_reply_as(
        SLACK,
        &slack.ts,
        SAM_SLACK,
        "It arrives tomorrow.",
        ReplyKind::Broadcast,
    );
    let reply = until("the reply on X", || {
        scene.replies_to(&post.id).into_iter().next()
    })
    .await;
    assert_eq!(reply.text, "@ida It arrives tomorrow. ^SL");
    scene.slack_marked(&slack, &said, "white_check_mark").await;
    never("a second reply", Duration::from_secs(2), || {
        scene.replies_to(&post.id).len() > 1
    })
    .await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_on_a_reply_is_explained_not_dropped() {
    let scene = Scene::start().await;
    let (_, slack, _) = scene.mention("jay", "how do I reset?").await;
    let said = scene.slack().thread_reply_as(
        SLACK,
        &slack.ts,
        SAM_SLACK,
        "Like this:",
        ReplyKind::File("steps.png".to_owned()),
    );
    scene
        .told(SAM_SLACK, "steps.png would not reach the customer")
        .await;
    scene.slack_marked(&slack, &said, "x").await;
    never("anything on X", Duration::from_secs(2), || {
        !scene.sandbox.x.posted().is_empty()
    })
    .await;
    scene.stop().await;
}
