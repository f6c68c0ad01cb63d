//! X in real time: perch subscribes the account to the X Activity API,
//! X delivers mentions and DMs to perch's webhook (signed, no poll), a DM
//! the team types in X's own app joins its ticket, what came while perch
//! was down is replayed once, and the fake X refuses what X refuses.

use perch::config::Secret;
use perch::sandbox::run::{fake_secret, Sandbox};
use perch::store::Store;
use perch::ticket::Author;
use perch::twitter::activity::{self, Delivery};
use perch::twitter::subscriptions::reconcile;
use perch::twitter::{Auth, InboundKind, XClient, XError};

use crate::common::relay::{config, sandbox_toml, until, Ports, Scene, JO_SLACK, SLACK};
use crate::common::{perch, repo_path, text, Running};

const ACME_ID: &str = "1500000000000000001";

/// perch's client as the app itself, with the sandbox's bearer token.
fn app(x_url: &str) -> XClient {
    let bearer = Secret::new(fake_secret("SANDBOX_X_BEARER_TOKEN"));
    XClient::new(
        x_url,
        "app".into(),
        Auth::App { bearer },
        crate::common::x::patience(),
    )
    .expect("app client")
}

/// perch's client as the brand account, with the sandbox's keys.
fn acme(x_url: &str) -> XClient {
    let key = |name: &str| Secret::new(fake_secret(name));
    let auth = Auth::OAuth1 {
        consumer_key: key("SANDBOX_X_CONSUMER_KEY"),
        consumer_secret: key("SANDBOX_X_CONSUMER_SECRET"),
        token: key("SANDBOX_X_ACCESS_TOKEN"),
        token_secret: key("SANDBOX_X_ACCESS_TOKEN_SECRET"),
    };
    XClient::new(x_url, "acme".into(), auth, crate::common::x::patience()).expect("acme client")
}

/// What `perch check --online` prints for the scene's config, and
/// whether all was well.
async fn check_online(scene: &Scene) -> (bool, String) {
    let mut out = Vec::new();
    let ok = perch::cli::check_online(&scene.config, &|name| Some(fake_secret(name)), &mut out)
        .await
        .unwrap();
    (ok, String::from_utf8(out).unwrap())
}

fn fixture(name: &str) -> serde_json::Value {
    let path = repo_path(&format!("tests/fixtures/x/{name}"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn perch_subscribes_the_account_to_what_the_config_asks_and_leaves_the_rest() {
    let scene = Scene::start().await;
    let x = &scene.sandbox.x;
    let account = scene.config.accounts[0].clone();
    let url = account
        .ingest
        .webhook
        .as_ref()
        .unwrap()
        .url
        .clone()
        .unwrap();
    // Registered at perch's URL, CRC answered, one subscription per event,
    // each tagged as perch's and made with the account's own credentials.
    let hooks = x.webhooks();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(
        (hooks[0].url.as_str(), hooks[0].valid),
        (url.as_str(), true)
    );
    let mut made: Vec<(String, String, String)> = x
        .subscriptions()
        .into_iter()
        .map(|s| (s.event_type, s.user_id, s.tag.unwrap_or_default()))
        .collect();
    made.sort();
    let wanted: Vec<(String, String, String)> = ["dm.received", "dm.sent", "post.mention.create"]
        .iter()
        .map(|e| (e.to_string(), ACME_ID.to_owned(), format!("perch:acme:{e}")))
        .collect();
    assert_eq!(made, wanted);
    let (ok, out) = check_online(&scene).await;
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "ok       X Activity API for `acme` at {url}: webhook {} valid, subscribed to ",
            hooks[0].id
        )),
        "{out}"
    );

    // The command says what is there, and changes nothing.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perch.toml");
    std::fs::write(&path, &scene.source).unwrap();
    let mut cmd = perch();
    cmd.args(["x", "subscribe", "--account", "acme", "--config"])
        .arg(&path);
    for e in scene.config.secrets() {
        cmd.env(&e.name, fake_secret(&e.name));
    }
    let output = cmd.output().unwrap();
    let (out, err) = text(&output);
    assert!(output.status.success(), "{out}{err}");
    assert!(out.contains(&format!("at {url} (valid)")), "{out}");
    assert_eq!(out.matches("already subscribed").count(), 3, "{out}");
    assert_eq!(x.subscriptions().len(), 3);

    // Someone else's subscription on the same webhook is left alone; what
    // perch made and the config no longer asks for is removed.
    let user = acme(&x.base_url());
    user.subscribe("post.create", ACME_ID, "analytics", Some(&hooks[0].id))
        .await
        .expect("a subscription of someone else's");
    let mut fewer = account.clone();
    fewer.ingest.webhook.as_mut().unwrap().events = vec!["post.mention.create".to_owned()];
    let app = app(&x.base_url());
    let done = reconcile(&app, &user, &fewer).await.expect("reconcile");
    assert!(done.created.is_empty(), "{done:?}");
    assert_eq!(done.kept, ["post.mention.create"]);
    let mut removed = done.removed.clone();
    removed.sort();
    assert_eq!(removed, ["dm.received", "dm.sent"]);
    assert_eq!(done.foreign.len(), 1);
    assert_eq!(done.foreign[0].tag.as_deref(), Some("analytics"));
    let left: Vec<String> = x
        .subscriptions()
        .into_iter()
        .map(|s| s.event_type)
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.contains(&"post.create".to_owned()), "{left:?}");
    // `perch check --online` names what X no longer delivers.
    let (ok, out) = check_online(&scene).await;
    assert!(!ok, "{out}");
    assert!(
        out.lines().any(|l| l.contains("PROBLEM")
            && l.contains("X Activity API for `acme`")
            && l.contains("not subscribed to dm.received, dm.sent")),
        "{out}"
    );

    // Asked again, the config's events come back and nothing else changes.
    let done = reconcile(&app, &user, &account).await.expect("reconcile");
    let mut created = done.created.clone();
    created.sort();
    assert_eq!(created, ["dm.received", "dm.sent"]);
    assert_eq!(x.subscriptions().len(), 4);
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_and_dms_arrive_by_webhook_with_no_poll() {
    let scene = Scene::start().await;
    let x = &scene.sandbox.x;
    let (post, _, _) = scene
        .mention("dana", "my order & the lid <3 days late>")
        .await;
    x.dm("eli", ACME_ID, "my code doesn't work");
    until("eli's card in Slack", || {
        scene.slack_cards("eli").into_iter().next()
    })
    .await;
    let tickets = scene.store.tickets().unwrap();
    let dana = tickets
        .iter()
        .find(|t| t.customer.handle == "dana")
        .unwrap();
    assert_eq!(
        dana.messages[0].text,
        "@AcmeSupport my order & the lid <3 days late>"
    );
    assert!(
        post.text.contains("&amp;"),
        "X keeps it escaped: {}",
        post.text
    );
    // X pushed both; perch never asked for mentions or DMs.
    assert!(x.requests_to("GET /2/users/:id/mentions").is_empty());
    assert!(x.requests_to("GET /2/dm_events").is_empty());
    let delivered: Vec<_> = x
        .deliveries()
        .into_iter()
        .filter(|d| d.event_type != "dm.sent")
        .collect();
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    assert!(delivered.iter().all(|d| d.delivered == Some(true)));
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_typed_in_x_own_app_joins_the_ticket_and_perchs_own_is_not_shown_twice() {
    let scene = Scene::start().await;
    let x = &scene.sandbox.x;
    let asked = x.dm("fay", ACME_ID, "my parcel is stuck");
    let customer = asked.sender_id.clone().unwrap();
    let card = until("fay's card in Slack", || {
        scene.slack_cards("fay").into_iter().next()
    })
    .await;
    until("fay's threads recorded", || {
        scene
            .store
            .tickets()
            .ok()?
            .into_iter()
            .find(|t| t.customer.handle == "fay" && t.threads.len() == 2)
    })
    .await;

    // Someone of the team answers in X's own app.
    x.dm("AcmeSupport", &customer, "Sent you a new tracking link");
    scene
        .slack_says(
            &card,
            "Sent from X's own app by the team (DM): Sent you a new tracking link",
        )
        .await;
    let ticket = until("the team's DM in the ticket", || {
        scene.store.tickets().ok()?.into_iter().find(|t| {
            t.customer.handle == "fay" && t.messages.iter().any(|m| m.author == Author::Team)
        })
    })
    .await;
    let team: Vec<_> = ticket
        .messages
        .iter()
        .filter(|m| m.author == Author::Team)
        .collect();
    assert_eq!(team.len(), 1, "{:?}", ticket.messages);
    assert_eq!(team[0].text, "Sent you a new tracking link");

    // An agent answers through perch: X tells perch of that DM too
    // (dm.sent), and it is in the ticket once.
    scene
        .slack()
        .thread_reply(SLACK, &card.ts, JO_SLACK, "It moves again today.");
    until("Jo's DM on X", || {
        x.sent_dms().into_iter().find(|d| {
            d.text
                .as_deref()
                .is_some_and(|t| t.contains("It moves again today"))
        })
    })
    .await;
    until("X's dm.sent of Jo's DM delivered", || {
        x.deliveries()
            .into_iter()
            .filter(|d| d.event_type == "dm.sent" && d.body.contains("It moves again today"))
            .find(|d| d.delivered == Some(true))
    })
    .await;
    let ticket = until("Jo's reply recorded", || {
        scene.store.tickets().ok()?.into_iter().find(|t| {
            t.customer.handle == "fay"
                && t.messages
                    .iter()
                    .any(|m| matches!(m.author, Author::Agent { .. }))
        })
    })
    .await;
    let jo: Vec<_> = ticket
        .messages
        .iter()
        .filter(|m| m.text.contains("It moves again today"))
        .collect();
    assert_eq!(jo.len(), 1, "{:?}", ticket.messages);
    assert!(matches!(jo[0].author, Author::Agent { .. }), "{jo:?}");
    let shown = scene.slack_thread(&card);
    assert!(
        !shown
            .iter()
            .any(|m| m.text.contains("X's own app") && m.text.contains("It moves again")),
        "{shown:?}"
    );
    scene.stop().await;
}

/// The fakes and a store that perch ran on once with `edits` (gus's
/// mention became a card) and then stopped.
async fn run_once_and_stop(
    dir: &std::path::Path,
    edits: &[(&str, &str)],
) -> (perch::config::Config, Sandbox, Store) {
    let source = sandbox_toml(&dir.join("data"), &Ports::free(), edits);
    let cfg = config(&source);
    let sandbox = Sandbox::start(&cfg).await.expect("fakes");
    let store = Store::open(&cfg.service.data_dir).expect("store");
    let service = Running::start(cfg.clone(), store.clone(), Sandbox::lookup()).await;
    sandbox.x.post("gus", "@AcmeSupport first", None, None);
    until("gus's card", || {
        let slack = sandbox.slack.as_ref()?;
        crate::common::relay::slack_cards(slack, "gus")
            .into_iter()
            .next()
    })
    .await;
    service.stop().await;
    (cfg, sandbox, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_came_while_perch_was_down_is_replayed_and_recorded_once() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, sandbox, store) = run_once_and_stop(dir.path(), &[]).await;
    let slack = sandbox.slack.as_ref().unwrap();
    let cards = |handle: &str| crate::common::relay::slack_cards(slack, handle);

    // While perch is away X cannot deliver; the post waits for the replay.
    sandbox
        .x
        .post("hal", "@AcmeSupport while you were away", None, None);
    until("X's failed delivery", || {
        sandbox
            .x
            .deliveries()
            .into_iter()
            .find(|d| d.body.contains("while you were away") && d.delivered == Some(false))
    })
    .await;

    let service = Running::start(cfg.clone(), store.clone(), Sandbox::lookup()).await;
    until("hal's card", || cards("hal").into_iter().next()).await;
    until("the replay delivered", || {
        sandbox.x.deliveries().into_iter().find(|d| d.replayed)
    })
    .await;
    let replay = sandbox.x.requests_to("POST /2/webhooks/replay");
    assert_eq!(replay.len(), 1, "{replay:?}");
    // gus's delivery came again with hal's: dropped, one ticket each.
    let tickets = store.tickets().unwrap();
    assert_eq!(tickets.len(), 2, "{tickets:?}");
    assert_eq!(cards("gus").len(), 1);
    assert_eq!(cards("hal").len(), 1);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_replay_one_poll_reads_what_came_while_perch_was_down() {
    let dir = tempfile::tempdir().unwrap();
    let no_replay = (
        "path = \"/x/webhook/acme\"",
        "path = \"/x/webhook/acme\"\nreplay = false",
    );
    let (cfg, sandbox, store) = run_once_and_stop(dir.path(), &[no_replay]).await;
    let slack = sandbox.slack.as_ref().unwrap();
    let cards = |handle: &str| crate::common::relay::slack_cards(slack, handle);

    // While perch is away a mention and a DM come; X cannot deliver them.
    sandbox
        .x
        .post("hal", "@AcmeSupport while you were away", None, None);
    sandbox.x.dm("ivy", ACME_ID, "are you there?");
    until("X's failed deliveries", || {
        let failed = sandbox
            .x
            .deliveries()
            .into_iter()
            .filter(|d| d.delivered == Some(false))
            .count();
        (failed >= 2).then_some(())
    })
    .await;

    let service = Running::start(cfg.clone(), store.clone(), Sandbox::lookup()).await;
    until("hal's card", || cards("hal").into_iter().next()).await;
    until("ivy's card", || cards("ivy").into_iter().next()).await;
    assert!(sandbox.x.requests_to("POST /2/webhooks/replay").is_empty());
    assert_eq!(sandbox.x.requests_to("GET /2/users/:id/mentions").len(), 1);
    // gus's mention, read again by the poll, stays one ticket.
    let tickets = store.tickets().unwrap();
    assert_eq!(tickets.len(), 3, "{tickets:?}");
    assert_eq!(cards("gus").len(), 1);
    service.stop().await;
}

#[tokio::test]
async fn the_fake_x_takes_webhooks_and_subscriptions_only_as_x_does() {
    let x = crate::common::x::fake().await;
    x.set_app_bearer(&fake_secret("SANDBOX_X_BEARER_TOKEN"));
    let app = app(&x.base_url());
    let user = crate::common::x::client(&x, crate::common::x::oauth1("ts-acme"));
    // A URL that does not answer X's CRC is not registered.
    let nowhere = format!("http://{}/x/webhook/acme", crate::common::free_addr());
    let refused = app.create_webhook(&nowhere).await.unwrap_err();
    assert!(
        matches!(&refused, XError::Refused { status: 400, detail } if detail.contains("CrcValidationFailed")),
        "{refused:?}"
    );
    // Webhooks are the app's: a user's credentials are refused.
    let refused = user.webhooks().await.unwrap_err();
    assert!(
        matches!(&refused, XError::Refused { status: 403, detail } if detail.contains("Unsupported Authentication") || detail.contains("Application-Only")),
        "{refused:?}"
    );
    assert!(app.webhooks().await.unwrap().is_empty());
    // Private events only with the watched user's own credentials.
    let refused = app
        .subscribe("dm.received", ACME_ID, "perch", Some("1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, XError::Refused { status: 403, .. }),
        "{refused:?}"
    );
    // A replay needs a webhook the app has.
    let now = chrono::Utc::now();
    let refused = app
        .replay("1146654567674912770", now - chrono::Duration::hours(1), now)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, XError::Refused { status: 400, detail } if detail.contains("WebhookIdInvalid")),
        "{refused:?}"
    );
}

#[test]
fn activity_api_deliveries_as_x_documents_them_become_items() {
    let (_dir, account) = {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(&sandbox_toml(&dir.path().join("data"), &Ports::free(), &[]));
        (dir, cfg.accounts[0].clone())
    };
    let now = chrono::Utc::now();

    let Delivery::Event {
        for_user,
        event_type,
        items,
    } = activity::read(&account, &fixture("xaa_post_mention.json"), now)
    else {
        panic!("an event");
    };
    assert_eq!(
        (for_user.as_deref(), event_type.as_str()),
        (Some(ACME_ID), "post.mention.create")
    );
    assert_eq!(items.len(), 1);
    // Unescaped once, the author named from `includes.users`.
    assert_eq!(
        items[0].text,
        "@AcmeSupport my order & the spare lid never came <3 days late>"
    );
    assert_ne!(items[0].author.handle, items[0].author.id.as_str());
    assert!(matches!(items[0].kind, InboundKind::Post { .. }));

    let Delivery::Event { items, .. } =
        activity::read(&account, &fixture("xaa_dm_received.json"), now)
    else {
        panic!("an event");
    };
    assert_eq!(items.len(), 1);
    assert!(matches!(items[0].kind, InboundKind::Dm { .. }), "{items:?}");
    assert_ne!(items[0].author.handle, items[0].author.id.as_str());

    // What the account sent names the customer it went to.
    let Delivery::Event { items, .. } = activity::read(&account, &fixture("xaa_dm_sent.json"), now)
    else {
        panic!("an event");
    };
    assert_eq!(items.len(), 1);
    let InboundKind::SentDm {
        dm_conversation_id, ..
    } = &items[0].kind
    else {
        panic!("a sent DM: {items:?}");
    };
    assert_ne!(items[0].author.id.as_str(), ACME_ID);
    assert!(dm_conversation_id.as_str().contains(ACME_ID));

    let done = serde_json::json!({ "replay_job_status": {
        "webhook_id": "1146654567674912769", "job_state": "Complete",
        "job_state_description": "Job completed successfully", "job_id": "1146654567674912770" } });
    assert_eq!(
        activity::read(&account, &done, now),
        Delivery::ReplayDone {
            job_id: "1146654567674912770".to_owned(),
            complete: true,
            description: "Job completed successfully".to_owned(),
        }
    );
}
