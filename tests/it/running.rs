//! Running perch for real: it stops within a bounded time whatever is
//! unreachable, leaving what was in flight in the store.

use std::time::{Duration, Instant};

use perch::sandbox::run::Sandbox;
use perch::store::Store;

use crate::common::relay::{config, sandbox_toml, Ports};
use crate::common::{free_addr, Running};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn perch_stops_within_ten_seconds_while_discord_is_unreachable() {
    let dir = tempfile::tempdir().expect("dir");
    let ports = Ports::free();
    let source = sandbox_toml(&dir.path().join("data"), &ports, &[]);
    // The fakes run where the config says; perch is pointed at a Discord
    // where nothing listens.
    let sandbox = Sandbox::start(&config(&source)).await.expect("fakes");
    let nowhere = format!("http://{}", free_addr());
    let unreachable = source.replace(&format!("http://{}", ports.discord), &nowhere);
    assert_ne!(unreachable, source);
    let cfg = config(&unreachable);
    let store = Store::open(&cfg.service.data_dir).expect("store");
    let service = Running::start(cfg, store, Sandbox::lookup()).await;
    // Up, with Discord unreachable: a customer still gets a card in Slack.
    let post = sandbox.x.post("zoe", "@AcmeSupport hello?", None, None);
    let slack = sandbox.slack.as_ref().expect("slack");
    crate::common::until("zoe's card in Slack", || {
        crate::common::relay::slack_cards(slack, "zoe")
            .into_iter()
            .next()
    })
    .await;
    let asked = Instant::now();
    // `stop` fails the test unless perch stops cleanly within 10 s.
    service.stop().await;
    println!(
        "stopped {:?} after being asked (post {})",
        asked.elapsed(),
        post.id
    );
    assert!(asked.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chatter_in_a_busy_guild_costs_no_rest_calls() {
    use crate::common::relay::{until, Scene, SAM_DISCORD};
    use perch::sandbox::discord::GENERAL;
    let scene = Scene::start().await;
    let (post, _, card) = scene.mention("yan", "lost my password").await;
    for n in 0..30 {
        scene.discord().user_message(
            GENERAL,
            1_400_000_000_000_000_050,
            "chatty",
            &[],
            &format!("lol {n}"),
        );
    }
    scene
        .discord()
        .user_message(card.id, SAM_DISCORD, "Sam", &[], "Reset link sent.");
    until("Sam's reply on X", || {
        scene.reply_texts_to(&post.id).into_iter().next()
    })
    .await;
    let looked_up: Vec<_> = scene
        .discord()
        .requests()
        .into_iter()
        .filter(|(method, path, _)| {
            method == "GET"
                && (path.ends_with(&format!("/channels/{GENERAL}"))
                    || path.ends_with(&format!("/channels/{}", card.id)))
        })
        .collect();
    assert!(looked_up.is_empty(), "{looked_up:?}");
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_log_even_at_trace() {
    use crate::common::relay::{replies_to, slack_cards, until, JO_SLACK, SAM_DISCORD, SLACK};
    use crate::common::{http_get, perch};
    use perch::sandbox::run::fake_secret;
    use std::process::Stdio;

    let dir = tempfile::tempdir().expect("dir");
    let ports = Ports::free();
    let source = sandbox_toml(&dir.path().join("data"), &ports, &[]);
    let cfg = config(&source);
    let sandbox = Sandbox::start(&cfg).await.expect("fakes");
    let path = dir.path().join("perch.toml");
    std::fs::write(&path, &source).expect("config");
    let log_path = dir.path().join("perch.log");
    let mut cmd = perch();
    cmd.env("PERCH_LOG", "trace")
        .args(["run", "--config"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log_path).expect("log")));
    // The fakes accept exactly these, so each is a canary: it is used.
    let secrets: Vec<String> = cfg.secrets().iter().map(|e| fake_secret(&e.name)).collect();
    for e in cfg.secrets() {
        cmd.env(&e.name, fake_secret(&e.name));
    }
    let mut child = cmd.spawn().expect("perch run");
    until("perch's health", || {
        http_get(ports.health, "/healthz")
            .ok()
            .filter(|(s, _)| *s == 200)
    })
    .await;
    crate::common::receiving(ports.health, "acme").await;
    // Every platform used: a mention, a card, replies from Slack and Discord.
    let post = sandbox.x.post("ada", "@AcmeSupport help", None, None);
    let slack = sandbox.slack.as_ref().expect("slack");
    let discord = sandbox.discord.as_ref().expect("discord");
    let card = until("ada's card", || {
        slack_cards(slack, "ada").into_iter().next()
    })
    .await;
    slack.thread_reply(SLACK, &card.ts, JO_SLACK, "On it.");
    until("Jo's reply on X", || {
        replies_to(&sandbox.x.posted(), &post.id).into_iter().next()
    })
    .await;
    let thread = until("ada's Discord card", || {
        crate::common::relay::discord_cards(discord, "ada")
            .into_iter()
            .next()
    })
    .await;
    discord.user_message(thread.id, SAM_DISCORD, "Sam", &[], "// internal");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let log = std::fs::read_to_string(&log_path).expect("log");
    assert!(
        log.lines().count() > 100,
        "trace logged: {} lines",
        log.lines().count()
    );
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "{secret} is in the log");
    }
    let leaks: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("?ticket="))
        .take(3)
        .collect();
    assert!(
        leaks.is_empty(),
        "a Socket Mode ticket is in the log: {leaks:#?}"
    );
}

/// perch's health, once `ready` says it shows what the test waits for.
async fn health_when(
    scene: &crate::common::relay::Scene,
    what: &str,
    ready: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    crate::common::until(&format!("health to show {what}"), || {
        scene.health_now().filter(|h| ready(h))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_the_bot_was_removed_from_is_parked_until_it_is_fixed() {
    use crate::common::relay::{discord_cards, never, slack_cards, until, Scene, SLACK};
    let clock = std::sync::Arc::new(perch::clock::ManualClock::new(chrono::Utc::now()));
    let scene = Scene::start_on_clock(&[], clock.clone()).await;
    scene.slack().set_bot_in(SLACK, false);
    scene.sandbox.x.post("kai", "@AcmeSupport hi", None, None);
    until("kai's card in Discord", || {
        discord_cards(scene.discord(), "kai").into_iter().next()
    })
    .await;
    let route = format!("slack:{SLACK}");
    let health = health_when(&scene, "the parked route", |h| {
        h["parked_routes"][&route].is_string()
    })
    .await;
    assert_eq!(health["status"], "degraded", "{health}");
    assert!(
        health["parked_routes"][&route]
            .as_str()
            .is_some_and(|r| r.contains("not_in_channel") && r.contains("invite the bot")),
        "{health}"
    );
    // Parked: not tried again every tick, no history read per try.
    let tries = || {
        scene.slack().calls("chat.postMessage").len()
            + scene.slack().calls("conversations.history").len()
    };
    let before = tries();
    never(
        "another try before the recheck",
        Duration::from_secs(3),
        || tries() > before,
    )
    .await;
    // Fixed, and the recheck is due: the card arrives, health is ok.
    scene.slack().set_bot_in(SLACK, true);
    clock.advance(chrono::Duration::minutes(6));
    until("kai's card in Slack", || {
        slack_cards(scene.slack(), "kai").into_iter().next()
    })
    .await;
    let health = health_when(&scene, "no parked route", |h| {
        h["parked_routes"].as_object().is_some_and(|p| p.is_empty())
    })
    .await;
    assert_eq!(health["status"], "ok", "{health}");
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_degraded_when_a_platform_refuses_x_fails_or_a_reply_cannot_go() {
    use crate::common::relay::{Scene, POLL_MENTIONS, SLACK};
    let clock = std::sync::Arc::new(perch::clock::ManualClock::new(chrono::Utc::now()));
    let scene = Scene::start_after(&[POLL_MENTIONS], clock.clone(), |fakes, _| {
        // From perch's first request: Discord refuses the bot token, X
        // fails every mentions poll and every DM perch sends.
        fakes.discord.as_ref().unwrap().revoke_token();
        fakes.x.fail_next("GET /2/users/:id/mentions", 503, 100_000);
        fakes
            .x
            .fail_next("POST /2/dm_conversations/with/:id/messages", 503, 100_000);
    })
    .await;
    let failing = |h: &serde_json::Value, link: &str| h["links"][link]["failing_since"].is_string();
    let health = health_when(&scene, "Discord and X mentions failing", |h| {
        failing(h, "discord") && failing(h, "x acme/mentions")
    })
    .await;
    // Failing, but not for longer than a platform may: still ok.
    assert_eq!(health["status"], "ok", "{health}");
    assert!(health["links"]["slack"]["last_ok"].is_string(), "{health}");

    // A reply that X will not take.
    scene
        .sandbox
        .x
        .dm("nia", crate::common::relay::ACME_ID, "where is my order?");
    let card = crate::common::until("nia's card in Slack", || {
        scene.slack_cards("nia").into_iter().next()
    })
    .await;
    scene.slack().thread_reply(
        SLACK,
        &card.ts,
        crate::common::relay::SAM_SLACK,
        "Looking into it now",
    );
    health_when(&scene, "the reply waiting", |h| h["replies_waiting"] == 1).await;

    clock.advance(chrono::Duration::minutes(11));
    let health = health_when(&scene, "degraded", |h| h["status"] == "degraded").await;
    let problems: Vec<String> = health["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    let named = |what: &str| problems.iter().any(|p| p.starts_with(what));
    assert!(named("discord: failing for 11 min"), "{problems:?}");
    assert!(named("x acme/mentions: failing for 11 min"), "{problems:?}");
    assert!(named("replies: one has waited 11 min"), "{problems:?}");
    assert!(!named("slack"), "{problems:?}");
    assert!(!named(&format!("slack:{SLACK}")), "{problems:?}");
    // Ready all the same: an orchestrator must not restart perch for it.
    let addr = scene.health_addr();
    let (status, body) =
        tokio::task::spawn_blocking(move || crate::common::http_get(addr, "/readyz"))
            .await
            .unwrap()
            .unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ready"}"#));
    scene.stop().await;
}
