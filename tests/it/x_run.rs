//! `perch run` pointed at the fake X ingests what customers send it, by
//! polling and by webhook.

use std::sync::Arc;
use std::time::{Duration, Instant};

use perch::config::{self, secrets::Lookup};
use perch::store::Store;
use perch::ticket::Origin;
use perch::twitter::webhook;
use perch::twitter::InboundItem;

use crate::common::x::{config_text, fake, ACME_ID, SECRETS};
use crate::common::{free_addr, http_get, never, perch, text, until, Running};

fn lookup() -> Lookup {
    Arc::new(|name: &str| {
        SECRETS
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
            .or_else(|| ["SB", "SA"].contains(&name).then(|| "dummy".to_owned()))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn perch_run_ingests_mentions_search_hits_and_dms_from_the_fake() {
    let x = fake().await;
    let dir = tempfile::tempdir().expect("dir");
    let config = match config::from_str(&config_text(&x.base_url(), dir.path(), free_addr())) {
        Ok(v) => v.config,
        Err(p) => panic!("{p:?}"),
    };
    let store = Store::open(dir.path()).expect("store");
    let service = Running::start(config, store.clone(), lookup()).await;

    x.post("dana", "@AcmeSupport my order is late", None, None);
    x.post("erin", "acme support is slow today", None, None);
    x.dm("gina", ACME_ID, "please help by DM");
    // Ingest records them; the relay makes each a ticket.
    let tickets = || store.tickets().map(|t| t.len()).unwrap_or(0);
    until("three tickets", || (tickets() == 3).then_some(())).await;
    let origins: Vec<Origin> = store
        .tickets()
        .expect("tickets")
        .into_iter()
        .map(|t| t.origin)
        .collect();
    assert!(origins.contains(&Origin::Mention) && origins.contains(&Origin::Dm));
    assert!(origins.contains(&Origin::SearchHit {
        rule: "brand".into()
    }));

    // A later mention arrives on the next poll, nothing twice.
    x.post("dana", "@AcmeSupport any news?", None, None);
    until("the new mention", || (tickets() == 4).then_some(())).await;
    never(
        "a mention ticketed twice",
        Duration::from_millis(1500),
        || tickets() != 4,
    )
    .await;
    assert_eq!(store.inbox::<InboundItem>().map(|i| i.len()).ok(), Some(0));

    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_answers_crc_and_accepts_only_signed_deliveries() {
    let x = fake().await;
    let dir = tempfile::tempdir().expect("dir");
    let config = match config::from_str(&config_text(&x.base_url(), dir.path(), free_addr())) {
        Ok(v) => v.config,
        Err(p) => panic!("{p:?}"),
    };
    let store = Store::open(dir.path()).expect("store");
    let service = Running::start(config, store.clone(), lookup()).await;
    let addr = service.addr;

    let (status, body) = tokio::task::spawn_blocking(move || {
        http_get(addr, "/x/webhook/acme?crc_token=challenge-123")
    })
    .await
    .expect("join")
    .expect("GET");
    assert_eq!(status, 200, "{body}");
    let token: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        token["response_token"],
        webhook::crc_response("cs-acme", "challenge-123")
    );

    let delivery = serde_json::json!({
        "for_user_id": ACME_ID,
        "tweet_create_events": [{
            "id_str": "1950000000000000001",
            "text": "@AcmeSupport webhook hello",
            "created_at": "Mon Nov 23 09:00:00 +0000 2026",
            "in_reply_to_status_id_str": null,
            "user": {"id_str": "42", "screen_name": "kim", "name": "Kim"},
            "entities": {"user_mentions": [{"screen_name": "AcmeSupport", "id_str": ACME_ID}]}
        }],
        "direct_message_events": [{
            "type": "message_create", "id": "1950000000000000002", "created_timestamp": "1795424400000",
            "message_create": {"target": {"recipient_id": ACME_ID}, "sender_id": "43", "message_data": {"text": "dm via webhook"}}
        }],
        "users": {"43": {"id": "43", "screen_name": "lee", "name": "Lee"}}
    })
    .to_string();
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/x/webhook/acme");
    let send = |signature: Option<String>, body: String| {
        let mut r = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(s) = signature {
            r = r.header("x-twitter-webhooks-signature", s);
        }
        r.send()
    };
    let good = webhook::signature("cs-acme", delivery.as_bytes());
    let cases = [
        ("missing", None, delivery.clone()),
        (
            "wrong secret",
            Some(webhook::signature("other", delivery.as_bytes())),
            delivery.clone(),
        ),
        (
            "body altered",
            Some(good.clone()),
            delivery.replace("webhook hello", "webhook HELLO"),
        ),
        ("garbage", Some("sha256=AAAA".to_owned()), delivery.clone()),
    ];
    // Nothing refused is recorded: not in the inbox, not as a ticket (the
    // relay takes the inbox as soon as something arrives).
    let recorded = || {
        store.inbox::<InboundItem>().map_or(0, |i| i.len()) + store.tickets().map_or(0, |t| t.len())
    };
    for (what, signature, body) in cases {
        let r = send(signature, body).await.expect("POST");
        assert_eq!(r.status().as_u16(), 401, "{what} was accepted");
    }
    assert_eq!(recorded(), 0);

    // Signed, but another user's activity (an app subscribed for several):
    // refused, and nothing of it becomes a ticket here.
    let theirs = delivery.replace(
        &format!("\"for_user_id\":\"{ACME_ID}\""),
        "\"for_user_id\":\"783214\"",
    );
    assert_ne!(theirs, delivery);
    let r = send(
        Some(webhook::signature("cs-acme", theirs.as_bytes())),
        theirs,
    )
    .await
    .expect("POST");
    assert_eq!(r.status().as_u16(), 403);
    let why = r.text().await.unwrap_or_default();
    assert!(why.contains("783214") && why.contains(ACME_ID), "{why}");
    assert_eq!(recorded(), 0);

    let r = send(Some(good.clone()), delivery.clone())
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 200);
    // X redelivers: recorded once.
    let r = send(Some(good), delivery).await.expect("POST");
    assert_eq!(r.status().as_u16(), 200);
    let tickets = until("the post and the DM as tickets", || {
        let t = store.tickets().ok()?;
        (t.len() == 2 && store.inbox::<InboundItem>().ok()?.is_empty()).then_some(t)
    })
    .await;
    let kim = tickets.iter().find(|t| t.customer.handle == "kim");
    assert!(
        kim.is_some_and(|t| t.origin == Origin::Mention
            && t.messages.len() == 1
            && t.messages[0].text == "@AcmeSupport webhook hello"),
        "{tickets:?}"
    );
    let lee = tickets.iter().find(|t| t.customer.handle == "lee");
    assert!(
        lee.is_some_and(|t| t.origin == Origin::Dm && t.messages.len() == 1),
        "{tickets:?}"
    );
    let metrics = tokio::task::spawn_blocking(move || http_get(addr, "/metrics"))
        .await
        .expect("join")
        .expect("GET /metrics");
    assert!(
        metrics
            .1
            .lines()
            .any(|l| l.starts_with("perch_x_items_ingested_total")
                && l.contains("source=\"webhook\"")
                && l.ends_with(" 2")),
        "two items recorded from the webhook, the redelivery not:\n{}",
        metrics.1
    );

    service.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_perch_binary_ingests_what_is_injected_into_the_fake() {
    let x = fake().await;
    let dir = tempfile::tempdir().expect("dir");
    let health = free_addr();
    let path = dir.path().join("perch.toml");
    std::fs::write(
        &path,
        config_text(&x.base_url(), &dir.path().join("data"), health),
    )
    .expect("config");
    let mut cmd = perch();
    cmd.args(["run", "--config"]).arg(&path);
    for (k, v) in SECRETS {
        cmd.env(k, v);
    }
    cmd.env("SB", "x").env("SA", "x");
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");

    // Up first: what was written before perch watched is the past.
    until("perch run answering /healthz", || {
        http_get(health, "/healthz").ok().filter(|(s, _)| *s == 200)
    })
    .await;
    x.post(
        "dana",
        "@AcmeSupport hello from the binary test",
        None,
        None,
    );
    x.dm("gina", ACME_ID, "and a DM");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = tokio::task::spawn_blocking(move || http_get(health, "/healthz"))
            .await
            .expect("join");
        if let Ok((200, body)) = &reply {
            let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
            if v["tickets"] == 2 {
                assert!(v["x_reads_this_month"].as_u64().unwrap_or(0) >= 2, "{v}");
                assert!(
                    v["x_reads_by_source"]["acme/mentions"]
                        .as_u64()
                        .unwrap_or(0)
                        >= 1,
                    "{v}"
                );
                assert!(
                    v["x_reads_by_source"]["acme/dms"].as_u64().unwrap_or(0) >= 1,
                    "{v}"
                );
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "perch run did not ingest: {reply:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let output = child.wait_with_output().expect("wait");
    let (_, err) = text(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        !err.contains("ts-acme") && !err.contains("cs-acme"),
        "a secret was logged:\n{err}"
    );
}
