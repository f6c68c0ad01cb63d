//! `perch run`: the health endpoint, a clean stop, idle claims released.

use std::time::{Duration, Instant};

use perch::config;
use perch::store::Store;
use perch::testing::{actor, mention, t0};
use perch::ticket::{self, Command, Policy, Role, State, TicketId};

use crate::common::{
    damage_ticket, free_addr, http_get, perch, small_config, text, until, Running, SMALL_SECRETS,
};

/// Every secret the small config names, with dummy values.
fn no_secrets() -> config::secrets::Lookup {
    std::sync::Arc::new(|name: &str| SMALL_SECRETS.contains(&name).then(|| "dummy".to_owned()))
}

fn load(src: &str) -> config::Config {
    match config::from_str(src) {
        Ok(v) => v.config,
        Err(problems) => panic!("{problems:?}"),
    }
}

async fn get(addr: std::net::SocketAddr, path: &'static str) -> (u16, serde_json::Value) {
    let (status, body) = tokio::task::spawn_blocking(move || http_get(addr, path))
        .await
        .expect("join")
        .expect("GET");
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn health_reports_ok_and_the_service_stops_when_told() {
    let dir = tempfile::tempdir().expect("dir");
    let config = load(&small_config(dir.path(), free_addr(), ""));
    let store = Store::open(dir.path()).expect("open");
    store.open_ticket(mention(1)).expect("ticket");
    let service = Running::start(config, store, no_secrets()).await;
    let addr = service.addr;

    let (status, body) = get(addr, "/healthz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["tickets"], 1);
    assert_eq!(body["unclaimed"], 1);

    service.stop().await;
    // The store is closed and can be opened again.
    assert!(Store::open(dir.path()).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_a_damaged_store_instead_of_crashing() {
    let dir = tempfile::tempdir().expect("dir");
    {
        let store = Store::open(dir.path()).expect("open");
        store.open_ticket(mention(1)).expect("ticket");
    }
    damage_ticket(dir.path(), "00000000000000000001");
    let config = load(&small_config(dir.path(), free_addr(), ""));
    let store = Store::open(dir.path()).expect("open");
    let service = Running::start(config, store, no_secrets()).await;
    let addr = service.addr;
    // Every value is checked beside the service: health says so once the
    // check has come to the damaged one.
    let body = until("health to report the damage", || {
        let (status, body) = http_get(addr, "/healthz").ok()?;
        (status == 503).then(|| serde_json::from_str::<serde_json::Value>(&body).ok())?
    })
    .await;
    assert_ne!(body["status"], "ok");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(error.contains("tickets/00000000000000000001"), "{body}");
    service.stop().await;
}

#[test]
fn idle_claims_are_released_and_active_ones_kept() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path()).expect("open");
    let policy = Policy::default();
    for n in 1..=2 {
        store.open_ticket(mention(n)).expect("ticket");
        let who = actor(&format!("agent{n}"), Role::Agent);
        store
            .update_ticket(TicketId::new(n), Some(&who.agent), t0(), |t| {
                ticket::apply(t, Command::Claim { force: false }, &who, t0(), &policy)
            })
            .expect("store")
            .expect("claim");
    }
    // Agent 2 replies an hour in; agent 1 never does.
    let who = actor("agent2", Role::Agent);
    let hour = t0() + chrono::Duration::hours(1);
    store
        .update_ticket(TicketId::new(2), Some(&who.agent), hour, |t| {
            ticket::apply(
                t,
                Command::Reply {
                    text: "On it".into(),
                },
                &who,
                hour,
                &policy,
            )
        })
        .expect("store")
        .expect("reply");

    let idle = Duration::from_secs(2 * 3600);
    let early =
        perch::relay::release_idle_claims(&store, idle, t0() + chrono::Duration::minutes(119))
            .expect("sweep");
    assert!(early.is_empty());
    let released =
        perch::relay::release_idle_claims(&store, idle, t0() + chrono::Duration::hours(2))
            .expect("sweep");
    assert_eq!(
        released
            .iter()
            .map(|t| t.ticket.id.get())
            .collect::<Vec<_>>(),
        [1]
    );
    assert_eq!(
        store
            .ticket(TicketId::new(1))
            .expect("get")
            .map(|t| t.state),
        Some(State::Open)
    );
    assert!(matches!(
        store
            .ticket(TicketId::new(2))
            .expect("get")
            .map(|t| t.state),
        Some(State::Claimed(_))
    ));
    let log = store.audit_log(Some(TicketId::new(1))).expect("audit");
    assert!(log
        .iter()
        .any(|e| e.action == "release (idle)" && e.actor.is_none()));
}

#[cfg(unix)]
#[test]
fn the_binary_serves_health_and_stops_cleanly_on_sigterm_logging_json() {
    let dir = tempfile::tempdir().expect("dir");
    let addr = free_addr();
    let path = dir.path().join("perch.toml");
    std::fs::write(
        &path,
        small_config(
            &dir.path().join("data"),
            addr,
            "claim_idle_release = \"1h\"",
        ),
    )
    .expect("config");
    let mut cmd = perch();
    cmd.args(["--log-format", "json", "run", "--config"])
        .arg(&path)
        .env("PERCH_LOG", "info");
    for name in SMALL_SECRETS {
        cmd.env(name, "dummy");
    }
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn perch run");

    let deadline = Instant::now() + Duration::from_secs(20);
    let health = loop {
        match http_get(addr, "/healthz") {
            Ok(reply) => break reply,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => {
                let _ = child.kill();
                panic!("perch run never answered on {addr}: {e}");
            }
        }
    };
    assert_eq!(health.0, 200, "{}", health.1);
    assert!(health.1.contains("\"status\":\"ok\""), "{}", health.1);
    // The container health check: the port comes from the config.
    let checked = perch()
        .args(["health", "--config"])
        .arg(&path)
        .output()
        .expect("perch health");
    let (said, _) = text(&checked);
    assert!(checked.status.success(), "{said}");
    assert!(said.contains("\"status\":\"ok\""), "{said}");

    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let output = child.wait_with_output().expect("wait");
    let (_, err) = text(&output);
    assert!(output.status.success(), "{err}");
    assert!(!err.contains("dummy"), "a secret was logged:\n{err}");
    // Stopped: the health check says so, and fails.
    let checked = perch()
        .args(["health", "--config"])
        .arg(&path)
        .output()
        .expect("perch health");
    let (_, why) = text(&checked);
    assert!(!checked.status.success());
    assert!(why.contains("nothing answers on"), "{why}");
    let lines: Vec<serde_json::Value> = err
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}"))
        })
        .collect();
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(
        messages.iter().any(|m| m.contains("perch is running")),
        "{err}"
    );
    assert_eq!(messages.last(), Some(&"stopped cleanly"), "{err}");
}

#[test]
fn run_refuses_to_start_without_its_secrets() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("perch.toml");
    std::fs::write(
        &path,
        small_config(&dir.path().join("data"), free_addr(), ""),
    )
    .expect("config");
    let output = perch()
        .args(["run", "--config"])
        .arg(&path)
        .env("SLACK_BOT", "x")
        .output()
        .expect("run");
    let (_, err) = text(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(err.contains("3 secret(s) missing"), "{err}");
    for name in ["ACME_CLIENT_ID", "ACME_REFRESH", "SLACK_APP"] {
        assert!(err.contains(name), "{name} not named in {err}");
    }
}
