//! A customer wrote to the wrong brand account: `forward @AcmeBilling`
//! moves the ticket to the billing team's channels with its history, the
//! old thread says where it went, replies go by DM from @AcmeBilling (X
//! lets an account answer in public only posts that mention it), and the
//! public note from @AcmeSupport is offered, sent only on Send.

use std::time::Duration;

use crate::common::relay::{never, until, Scene, JO_SLACK, SAM_SLACK, SLACK};

const BILLING_SLACK: &str = "C0BILLING1";

/// A second brand account with its own Slack and Discord channels.
const BILLING: (&str, &str) = (
    "[slack]\nmode",
    r#"[[accounts]]
key = "billing"
handle = "AcmeBilling"
user_id = "1500000000000000009"
send_mode = "direct"

[accounts.auth]
kind = "oauth1"
consumer_key_env = "SANDBOX_X_CONSUMER_KEY"
consumer_secret_env = "SANDBOX_X_CONSUMER_SECRET"
access_token_env = "SANDBOX_X_BILLING_ACCESS_TOKEN"
access_token_secret_env = "SANDBOX_X_BILLING_ACCESS_TOKEN_SECRET"

[accounts.ingest.mentions]
interval = "1s"

[accounts.routes]
slack_channels = ["C0BILLING1"]
discord_channels = ["1100000000000000002"]

[slack]
mode"#,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_ticket_moves_to_the_other_account_and_answers_under_xs_rule() {
    let scene = Scene::start_with(&[BILLING]).await;
    let (post, slack, _) = scene.mention("kim", "I was charged twice").await;
    scene.slack().thread_reply(
        SLACK,
        &slack.ts,
        JO_SLACK,
        "@perch forward @AcmeBilling refund over $500",
    );
    scene
        .told(JO_SLACK, "forwarded to @AcmeBilling (unclaimed")
        .await;
    scene
        .slack_says(
            &slack,
            "forwarded to @AcmeBilling by Jo Doe: refund over $500",
        )
        .await;

    // The billing team's channels show it, history and all.
    let billing_card = until("the card in the billing channel", || {
        scene
            .slack()
            .messages(BILLING_SLACK)
            .into_iter()
            .find(|m| m.thread_ts.is_none() && m.text.contains("@kim"))
    })
    .await;
    until("the card in the billing Discord channel", || {
        scene
            .discord()
            .messages(1_100_000_000_000_000_002)
            .into_iter()
            .find(|m| m.embeds.to_string().contains("kim"))
    })
    .await;

    // The public note waits for Jo; nothing reaches X before Send.
    let preview = until("the public note offered to Jo", || {
        scene
            .slack()
            .ephemerals_for(JO_SLACK)
            .into_iter()
            .find(|e| e.text.contains("as @AcmeSupport, a public reply to @kim"))
    })
    .await;
    never("anything on X before Send", Duration::from_secs(2), || {
        !scene.sandbox.x.posted().is_empty()
    })
    .await;
    scene
        .slack()
        .press_button(SLACK, &preview.ts, JO_SLACK, "perch_send")
        .expect("a Send button");
    let note = until("the note on X", || {
        scene.replies_to(&post.id).into_iter().next()
    })
    .await;
    assert_eq!(
        note.author_id.as_deref(),
        Some("1500000000000000001"),
        "from @AcmeSupport"
    );
    assert!(
        note.text.contains("We've passed this to @AcmeBilling"),
        "{}",
        note.text
    );

    // In the billing thread, public is refused and a reply goes by DM
    // from @AcmeBilling.
    scene
        .slack()
        .thread_reply(BILLING_SLACK, &billing_card.ts, SAM_SLACK, "@perch public");
    scene
        .told(
            SAM_SLACK,
            "X accepts a public reply only to a post that mentioned",
        )
        .await;
    scene.slack().thread_reply(
        BILLING_SLACK,
        &billing_card.ts,
        SAM_SLACK,
        "Refunded the second charge.",
    );
    let dm = until("the DM on X", || {
        scene
            .sandbox
            .x
            .sent_dms()
            .into_iter()
            .find(|d| d.text.as_deref().is_some_and(|t| t.contains("Refunded")))
    })
    .await;
    assert_eq!(
        dm.sender_id.as_deref(),
        Some("1500000000000000009"),
        "from @AcmeBilling"
    );
    assert_eq!(
        scene.replies_to(&post.id).len(),
        1,
        "only the note in public"
    );
    scene.stop().await;
}
