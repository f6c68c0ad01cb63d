//! Helpers shared by the scenarios in tests/.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

/// The env vars `bot-config/perch.example.toml` names, with dummy values.
pub const EXAMPLE_SECRETS: [&str; 7] = [
    "ACME_X_CONSUMER_KEY",
    "ACME_X_CONSUMER_SECRET",
    "ACME_X_ACCESS_TOKEN",
    "ACME_X_ACCESS_TOKEN_SECRET",
    "PERCH_SLACK_BOT_TOKEN",
    "PERCH_SLACK_APP_TOKEN",
    "PERCH_DISCORD_BOT_TOKEN",
];

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The real `perch` binary with a clean environment (no PERCH_*/secret
/// leaks from the developer's shell).
pub fn perch() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_perch"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PERCH_LOG", "warn");
    cmd
}

pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A minimal valid config whose store lives in `data_dir`.
pub fn small_config(data_dir: &Path, health_addr: SocketAddr, extra: &str) -> String {
    format!(
        r#"
[service]
data_dir = "{}"
health_addr = "{health_addr}"
{extra}

[x]
# A closed loopback port: nothing in these tests may reach beyond 127.0.0.1.
api_url = "http://127.0.0.1:9"
monthly_read_budget = 1000

[[accounts]]
key = "acme"
handle = "AcmeSupport"
user_id = "1500000000000000001"

[accounts.auth]
kind = "oauth2"
client_id_env = "ACME_CLIENT_ID"
refresh_token_env = "ACME_REFRESH"

[accounts.ingest.mentions]
interval = "1m"

[accounts.routes]
slack_channels = ["C0SUPPORT1"]

[slack]
bot_token_env = "SLACK_BOT"
app_token_env = "SLACK_APP"
# A closed loopback port: Slack is unreachable, and perch keeps trying.
api_url = "http://127.0.0.1:9/api"

[[agents]]
key = "jo"
name = "Jo Doe"
initials = "JD"
slack_user = "U0JODOE01"
"#,
        data_dir.display()
    )
}

pub const SMALL_SECRETS: [&str; 4] = ["ACME_CLIENT_ID", "ACME_REFRESH", "SLACK_BOT", "SLACK_APP"];

/// A port that was free a moment ago on 127.0.0.1, handed out once per
/// test process. It is taken below the kernel's ephemeral range, which
/// outgoing connections draw from: a port `bind(0)` returned could be
/// taken by some test's client connection before the fake meant for it
/// binds it ("Address already in use", seen once in a full run).
pub fn free_addr() -> SocketAddr {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ephemeral_from = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32768);
    let (low, high) = (10_000u32, ephemeral_from.max(10_001));
    // Each test process starts somewhere else in the range.
    let offset = std::process::id().wrapping_mul(7919);
    for _ in 0..(high - low) {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let port = low + offset.wrapping_add(n) % (high - low);
        let Ok(port) = u16::try_from(port) else {
            continue;
        };
        if let Ok(l) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            if let Ok(addr) = l.local_addr() {
                return addr;
            }
        }
    }
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
}

/// A plain HTTP/1.1 GET on loopback: (status, body).
pub fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}
pub mod browser;
pub mod chat;
pub mod relay;
pub mod specs;
pub mod x;

/// perch's service running in this process, on a free loopback port.
pub struct Running {
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    pub async fn start(
        config: perch::config::Config,
        store: perch::store::Store,
        secrets: perch::config::secrets::Lookup,
    ) -> Self {
        Self::start_on_clock(config, store, secrets, Arc::new(perch::clock::SystemClock)).await
    }

    /// `start` with the relay's time on `clock`.
    pub async fn start_on_clock(
        config: perch::config::Config,
        store: perch::store::Store,
        secrets: perch::config::secrets::Lookup,
        clock: Arc<dyn perch::clock::Clock>,
    ) -> Self {
        // Where the config says (a webhook URL names it), else any port.
        let listener = match tokio::net::TcpListener::bind(config.service.health_addr).await {
            Ok(l) => l,
            Err(_) => tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind"),
        };
        let addr = listener.local_addr().expect("addr");
        let hooked: Vec<String> = webhook_accounts(&config);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(perch::service::run_on_clock(
            config,
            store,
            listener,
            secrets,
            clock,
            axum::Router::new(),
            async {
                let _ = stopped.await;
            },
        ));
        // Up when health answers: by then perch watches its X sources, and
        // what a scenario posts next is never taken for the account's past.
        // The listener is bound already, so each try waits on the socket
        // until perch serves it (off this thread: a current-thread test
        // runtime must keep running perch meanwhile).
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while tokio::task::spawn_blocking(move || http_get(addr, "/healthz"))
            .await
            .map_or(true, |r| r.is_err())
        {
            assert!(
                std::time::Instant::now() < deadline && !task.is_finished(),
                "perch never answered /healthz on {addr}"
            );
        }
        for account in &hooked {
            receiving(addr, account).await;
        }
        Self { addr, stop, task }
    }

    /// Signals shutdown and waits (at most 10 s) for a clean stop.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let result = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        assert!(
            matches!(result, Ok(Ok(Ok(())))),
            "the service did not stop cleanly: {result:?}"
        );
    }
}

/// The accounts X delivers to by webhook (a webhook URL in the config).
pub fn webhook_accounts(config: &perch::config::Config) -> Vec<String> {
    config
        .accounts
        .iter()
        .filter(|a| a.ingest.webhook.as_ref().is_some_and(|w| w.url.is_some()))
        .map(|a| a.key.as_str().to_owned())
        .collect()
}

/// Waits until perch at `addr` has `account`'s X Activity API
/// subscriptions in place (its webhook link has worked): what a scenario
/// posts from then on is delivered.
pub async fn receiving(addr: SocketAddr, account: &str) {
    let link = format!("/links/x {account}~1webhook/last_ok");
    until(
        &format!("X delivering {account}'s activity to perch"),
        || {
            let (_, body) = http_get(addr, "/healthz").ok()?;
            let health: serde_json::Value = serde_json::from_str(&body).ok()?;
            health.pointer(&link).map(drop)
        },
    )
    .await;
}

/// The next chat event, or a failure after 10 s.
pub async fn next_event(
    events: &mut tokio::sync::mpsc::Receiver<perch::chat::ChatEvent>,
) -> perch::chat::ChatEvent {
    match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
        Ok(Some(e)) => e,
        other => panic!("no event: {other:?}"),
    }
}

/// Fails if another chat event arrives within `quiet`.
pub async fn no_more_events(
    events: &mut tokio::sync::mpsc::Receiver<perch::chat::ChatEvent>,
    quiet: Duration,
) {
    if let Ok(Some(e)) = tokio::time::timeout(quiet, events.recv()).await {
        panic!("unexpected event: {e:?}");
    }
}

/// Waits (at most 30 s) until `probe` gives something: the one way a test
/// waits for something to happen.
pub async fn until<T>(what: &str, probe: impl FnMut() -> Option<T>) -> T {
    until_within(Duration::from_secs(30), what, probe).await
}

/// `until`, for something that takes longer (a rate limit window).
pub async fn until_within<T>(
    limit: Duration,
    what: &str,
    mut probe: impl FnMut() -> Option<T>,
) -> T {
    match try_until(limit, || std::future::ready(probe())).await {
        Some(v) => v,
        None => panic!("timed out waiting for {what}"),
    }
}

/// Asks `probe` (which may itself wait: a browser, an HTTP call) until it
/// gives something, for at most `limit`; `None` when it never did, so the
/// caller can say what it saw instead.
pub async fn try_until<T, F>(limit: Duration, mut probe: impl FnMut() -> F) -> Option<T>
where
    F: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(v) = probe().await {
            return Some(v);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `until`, for a test without a runtime (at most 30 s).
pub fn until_blocking<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes a value that is not a ticket at `key` of the store in `dir`,
/// straight into sled, as a damaged disk would. sled's flusher lets go of
/// the file lock just after a store is dropped: the open waits for it.
pub fn damage_ticket(dir: &Path, key: &str) {
    let db = until_blocking("sled to let go of the store", || {
        sled::Config::new()
            .path(dir)
            .use_compression(true)
            .open()
            .ok()
    });
    let tickets = db.open_tree("tickets").expect("tree");
    tickets.insert(key, &b"\x01garbage"[..]).expect("damage");
    db.flush().expect("flush");
}

/// Holds `happened` false for `quiet`: a thing that must not happen.
pub async fn never(what: &str, quiet: Duration, mut happened: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + quiet;
    while std::time::Instant::now() < deadline {
        assert!(!happened(), "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
