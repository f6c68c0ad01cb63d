//! What X bills, in money: perch prices every answer as X does and its
//! count equals the fake X's own bill (reads once per resource and UTC
//! day, writes, X Activity API events); `/healthz`, `/metrics` and
//! `stats` show it; at the monthly cap perch warns in the log and in the
//! support channels, stops reading when told to, and still replies.

use std::time::Duration;

use chrono::Utc;
use perch::config::Secret;
use perch::sandbox::run::fake_secret;
use perch::twitter::{usage, Auth, XClient};

use crate::common::relay::{until, Scene, DISCORD, JO_SLACK, POLL_SEARCH, SLACK};
use crate::common::{http_get, never};

/// The fake's bill and perch's `/healthz` in micro-dollars, once equal.
pub(crate) async fn settled(scene: &Scene) -> u64 {
    until("perch's count of X spending equal to X's bill", || {
        let health = scene.health_now()?;
        let spent = health["x_spend"]["spent_usd"].as_f64()?;
        let perch = (spent * 1_000_000.0).round() as u64;
        let bill = scene.sandbox.x.bill().micros;
        (perch == bill && bill > 0).then_some(bill)
    })
    .await
}

/// Jo answers in the card's Slack thread; waits for the reply on X.
async fn replied(scene: &Scene, card: &perch::sandbox::slack::Message) {
    scene
        .slack()
        .thread_reply(SLACK, &card.ts, JO_SLACK, "Sorry Dana, looking now");
    until("the reply on X", || {
        scene
            .sandbox
            .x
            .posted()
            .into_iter()
            .find(|p| p.text.contains("looking now"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn perch_counts_in_money_what_x_bills_and_shows_it() {
    // Brand search polled, to see a repeated read go unbilled.
    let scene = Scene::start_with(&[POLL_SEARCH]).await;
    let x = &scene.sandbox.x;
    // A mention: delivered by X (an event).
    let (_, card, _) = scene.mention("dana", "my order is stuck").await;
    // A post about the brand: found by the brand search (the post and its
    // author read).
    x.post("frank", "my akme blender broke", None, None);
    until("frank's card", || {
        scene.slack_cards("frank").into_iter().next()
    })
    .await;
    // A DM: delivered (an event), answered by the DM welcome (a DM sent).
    x.dm("erin", crate::common::relay::ACME_ID, "hello there");
    until("the DM welcome sent", || {
        (!x.sent_dms().is_empty()).then_some(())
    })
    .await;
    // An agent's public reply (a post created).
    replied(&scene, &card).await;
    let micros = settled(&scene).await;
    let items = x.bill().items;
    for billed in [
        "post_read",
        "user_read",
        "mention_event",
        "dm_received_event",
        "dm_create",
        "post_create",
    ] {
        assert!(
            items.get(billed).is_some_and(|n| *n > 0),
            "{billed}: {items:?}"
        );
    }
    // Polling on reads the same posts again: the same UTC day, billed once.
    let polls = x.requests_to("GET /2/tweets/search/recent").len();
    until("two more brand searches", || {
        (x.requests_to("GET /2/tweets/search/recent").len() >= polls + 2).then_some(())
    })
    .await;
    assert_eq!(
        settled(&scene).await,
        micros,
        "a repeated read is not billed again"
    );

    // X's own daily count of posts read: read at perch's start, and the
    // same as perch's count when read now.
    let usage_reads = x.requests_to("GET /2/usage/tweets");
    assert!(
        usage_reads.iter().any(|r| r.status == 200),
        "{usage_reads:?}"
    );
    let bearer = Secret::new(fake_secret("SANDBOX_X_BEARER_TOKEN"));
    let app = XClient::new(
        &x.base_url(),
        "app".into(),
        Auth::App { bearer },
        crate::common::x::patience(),
    )
    .expect("app client");
    let usage = app.usage(2).await.expect("X's usage");
    let today = Utc::now();
    let compared = usage::compare(&scene.store, &usage, today).expect("compared");
    let day = compared.last().expect("today");
    assert!(day.perch > 0, "{day:?}");
    assert_eq!(day.x, Some(day.perch), "{usage:?}");
    assert_eq!(day.problem(), None);

    let health = scene.health().await;
    let by_day = &health["x_posts_read_by_day"][today.date_naive().to_string()];
    assert_eq!(by_day["perch"], day.perch, "{health}");
    assert_eq!(by_day["x"], day.perch, "{health}");
    let spend = &health["x_spend"];
    assert!(spend["cap_usd"].is_null(), "{spend}");
    let by_source = spend["by_source_usd"].as_object().expect("per source");
    for source in ["acme/search", "acme/webhook", "acme/replies"] {
        assert!(by_source.contains_key(source), "{source} in {spend}");
    }
    assert!(
        spend["projected_usd"].as_f64() >= spend["spent_usd"].as_f64(),
        "{spend}"
    );

    let addr = scene.health_addr();
    let (_, metrics) = tokio::task::spawn_blocking(move || http_get(addr, "/metrics"))
        .await
        .expect("join")
        .expect("metrics");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with(r#"perch_x_spend_dollars{account="acme",source="webhook"}"#)),
        "{metrics}"
    );
    assert!(
        metrics.contains("perch_x_spend_projected_dollars "),
        "{metrics}"
    );

    scene.slack().slash_command(SLACK, JO_SLACK, "stats 24h");
    let said = scene.told(JO_SLACK, "X spend in").await;
    let dollars = format!("${:.2} so far", micros as f64 / 1_000_000.0);
    assert!(said.contains(&dollars), "{said}");
    assert!(said.contains("no cap set"), "{said}");
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_perch_warns_the_team_stops_reading_and_still_replies() {
    // Two cents a month: the first post about the brand (the post and its
    // author read by the brand search) and a mention (its event) spend it.
    let scene = Scene::start_with(&[(
        "filtered_stream = true\n",
        "filtered_stream = true\n\n[x.spend]\nmonthly_cap = 0.02\nat_cap = \"stop\"\n",
    )])
    .await;
    let x = &scene.sandbox.x;
    x.post("frank", "my akme blender broke", None, None);
    let (_, card, _) = scene.mention("dana", "my order is stuck").await;
    let warning = "100% of this month's X spending cap is spent";
    let slack = until("the warning in the Slack channel", || {
        scene
            .slack()
            .messages(SLACK)
            .into_iter()
            .find(|m| m.thread_ts.is_none() && m.text.contains(warning))
    })
    .await;
    assert!(slack.text.contains("of a $0.02 cap"), "{}", slack.text);
    assert!(slack.text.contains("reading stops"), "{}", slack.text);
    until("the warning in the Discord channel", || {
        scene
            .discord()
            .messages(DISCORD)
            .into_iter()
            .find(|m| m.content.contains(warning))
    })
    .await;
    // Reading stops: the filtered stream is left, and the search polls
    // (which wake when it goes) stop too; a poll under way may end. The
    // wait is longer than "slow" would leave (10 x 1 s) between polls.
    until("the filtered stream left", || {
        (!x.streaming()).then_some(())
    })
    .await;
    let searches = x.requests_to("GET /2/tweets/search/recent").len();
    never(
        "a brand search after the cap",
        Duration::from_secs(12),
        || x.requests_to("GET /2/tweets/search/recent").len() > searches + 1,
    )
    .await;
    // Replies still go.
    replied(&scene, &card).await;
    // Said once: another look at the spend says nothing new.
    let health = scene.health().await;
    assert_eq!(health["x_spend"]["at_cap"], "stop", "{health}");
    never("the warning said twice", Duration::from_secs(6), || {
        scene
            .slack()
            .messages(SLACK)
            .iter()
            .filter(|m| m.text.contains(warning))
            .count()
            > 1
    })
    .await;
    scene.stop().await;
}
