//! `perch sandbox` as a newcomer uses it: start it, watch the scene, then
//! act as a customer through the fake X's control API and see perch pick
//! it up.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use crate::common::relay::{sandbox_toml, Ports};
use crate::common::{http_get, perch, text, try_until, until_blocking};

fn post_json(addr: std::net::SocketAddr, path: &str, body: &str) -> std::io::Result<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0))
}

/// A `perch sandbox` that is killed if the test fails before it is
/// interrupted (a failed assertion must not leave it running).
pub struct Playing(Option<std::process::Child>);

impl Drop for Playing {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `perch sandbox` and reads what the newcomer sees until the
/// scene is over.
fn play_scene(config: &std::path::Path, deadline: Instant) -> (Playing, String) {
    start_sandbox(config, &[], deadline)
}

/// Starts `perch sandbox` (never opening a browser) with `args`, and
/// reads what it prints until its guide is out.
pub fn start_sandbox(
    config: &std::path::Path,
    args: &[&str],
    deadline: Instant,
) -> (Playing, String) {
    let mut child = perch()
        .args(["sandbox", "--no-open", "--config"])
        .arg(config)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn perch sandbox");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Read to the end even once nobody listens: a closed pipe would
        // lose what the sandbox prints later.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = String::new();
    while !seen.contains("Stop with Ctrl-C.") {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
            }
            Err(_) => {
                let _ = child.kill();
                panic!("the sandbox did not get going:\n{seen}");
            }
        }
    }
    (Playing(Some(child)), seen)
}

#[cfg(unix)]
fn interrupt(mut playing: Playing) {
    let Some(mut child) = playing.0.take() else {
        return;
    };
    let stopped = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(stopped.success());
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status:?}");
}

#[cfg(unix)]
#[test]
fn the_sandbox_plays_the_scene_then_keeps_running_for_a_newcomer() {
    let dir = tempfile::tempdir().expect("dir");
    let ports = Ports::free();
    let path = dir.path().join("sandbox.toml");
    std::fs::write(&path, sandbox_toml(&dir.path().join("data"), &ports, &[])).expect("write");
    let deadline = Instant::now() + Duration::from_secs(120);
    let (child, seen) = play_scene(&path, deadline);
    for expected in [
        "@dana mentions @AcmeSupport on X",
        "perch opened a ticket thread for each, in Slack and in Discord.",
        "perch posted it on X as @AcmeSupport: \"@dana So sorry! A replacement ships today; I'll DM you the tracking. ^JD\"",
        "--- Slack #C0SUPPORT1, as the team sees it ---",
        "[card] #",
        "Sent as a public reply: https://x.com/AcmeSupport/status/",
        "perch sent the DM welcome (DM): Hi! Thanks for your message",
        "DM from @AcmeSupport: Hi! Thanks for your message; someone from the team will be with you shortly.",
        "--- X, as the customers see it ---",
        "Jo Doe asks how the day went: /perch stats 24h",
        "3 tickets, 1 answered (33%)",
        "Breaches 1.",
        "Jo Doe answered 1 (median ",
        "/dashboard?token=sandbox-sandbox_report_token",
        "=== the scene is over; perch keeps running ===",
    ] {
        assert!(seen.contains(expected), "no `{expected}` in:\n{seen}");
    }
    assert!(!seen.contains("The scene stopped early"), "{seen}");
    assert!(
        seen.contains(&format!(
            "curl -s -X POST http://{}/_sandbox/posts",
            ports.x
        )),
        "{seen}"
    );
    assert!(
        seen.contains(&format!("http://{}/_sandbox/reply", ports.slack)),
        "{seen}"
    );
    assert!(
        seen.contains(&format!("http://{}/_sandbox/message", ports.discord)),
        "{seen}"
    );

    // Still running: a newcomer's own tweet becomes a fourth ticket.
    let status = post_json(
        ports.x,
        "/_sandbox/posts",
        r#"{"from": "newbie", "text": "@AcmeSupport hello from me"}"#,
    )
    .expect("inject");
    assert_eq!(status, 201);
    until_blocking("the newcomer's tweet ticketed", || {
        let (_, body) = http_get(ports.health, "/healthz").ok()?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        (v["tickets"] == 4).then_some(())
    });
    interrupt(child);

    // The newcomer runs it again: the fakes start empty, and so does the
    // store, so the scene plays out as the first time.
    let (child, again) = play_scene(&path, Instant::now() + Duration::from_secs(120));
    assert!(!again.contains("The scene stopped early"), "{again}");
    assert!(again.contains("the scene is over"), "{again}");
    interrupt(child);
}

#[test]
fn the_sandbox_empties_only_a_store_of_its_own() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::write(data.join("db"), "someone's real store").expect("write");
    let err = refused(&dir, &sandbox_toml(&data, &Ports::free(), &[]));
    assert!(
        err.contains("holds files perch sandbox did not make"),
        "{err}"
    );
    let kept = std::fs::read_to_string(data.join("db")).expect("still there");
    assert_eq!(kept, "someone's real store");
}

#[test]
fn the_sandbox_refuses_to_point_at_anything_but_loopback() {
    let dir = tempfile::tempdir().expect("dir");
    let ports = Ports::free();
    let src = sandbox_toml(
        &dir.path().join("data"),
        &ports,
        &[(&format!("http://{}", ports.x), "https://api.x.com")],
    );
    let err = refused(&dir, &src);
    assert!(err.contains("only runs on 127.0.0.1"), "{err}");
}

/// Runs `perch sandbox` on `config` (written in `dir`), which must refuse
/// to start; returns what it said.
fn refused(dir: &tempfile::TempDir, config: &str) -> String {
    let path = dir.path().join("sandbox.toml");
    std::fs::write(&path, config).expect("write");
    let output = perch()
        .args(["sandbox", "--no-open", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    let (_, err) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    err
}

/// What the page reads and a newcomer with curl meets: the page itself,
/// each fake's change events, the 404s that say what to use instead of a
/// silent `ok`, and the scene played again from the page.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_the_fakes_control_apis_answer_as_a_newcomer_needs() {
    let dir = tempfile::tempdir().expect("dir");
    let ports = Ports::free();
    let path = dir.path().join("sandbox.toml");
    std::fs::write(&path, sandbox_toml(&dir.path().join("data"), &ports, &[])).expect("write");
    let deadline = Instant::now() + Duration::from_secs(60);
    let (child, _) =
        tokio::task::spawn_blocking(move || start_sandbox(&path, &["--no-scene"], deadline))
            .await
            .expect("the sandbox");
    let web = reqwest::Client::new();

    let page = web
        .get(format!("http://{}/sandbox", ports.health))
        .send()
        .await
        .expect("the page");
    assert_eq!(page.status(), 200);
    let page = page.text().await.expect("its text");
    for fake in [ports.x, ports.slack, ports.discord] {
        assert!(page.contains(&format!("http://{fake}")), "{page}");
    }
    assert!(
        page.contains("Pat Kim") && page.contains("Sam Lee"),
        "{page}"
    );

    // Each fake says at once that there is something to read, and allows
    // the page's origin.
    for fake in [ports.x, ports.slack, ports.discord] {
        let mut events = web
            .get(format!("http://{fake}/_sandbox/events"))
            .header("origin", format!("http://{}", ports.health))
            .send()
            .await
            .expect("events");
        assert_eq!(events.headers()["content-type"], "text/event-stream");
        assert_eq!(events.headers()["access-control-allow-origin"], "*");
        let first = events.chunk().await.expect("a chunk").expect("an event");
        assert!(
            String::from_utf8_lossy(&first).starts_with("event: changed"),
            "{first:?}"
        );
    }

    // The README's reply line sent as written: a 404 that says what to use.
    let reply = web
        .post(format!("http://{}/_sandbox/reply", ports.slack))
        .json(&serde_json::json!({
            "channel": "C0SUPPORT1", "thread_ts": "<card ts>", "user": "U0JODOE01", "text": "hi",
        }))
        .send()
        .await
        .expect("reply");
    assert_eq!(reply.status(), 404);
    let said = reply.text().await.expect("body");
    assert!(said.contains("thread_ts is the ts of the card"), "{said}");
    let unknown = web
        .get(format!(
            "http://{}/_sandbox/channels/C0NOWHERE",
            ports.slack
        ))
        .send()
        .await
        .expect("channel");
    assert_eq!(unknown.status(), 404);
    let message = web
        .post(format!("http://{}/_sandbox/message", ports.discord))
        .json(&serde_json::json!({
            "channel": "1100000000000000077", "user": "1400000000000000001", "name": "Jo", "text": "hi",
        }))
        .send()
        .await
        .expect("message");
    assert_eq!(message.status(), 404);
    let said = message.text().await.expect("body");
    assert!(said.contains("Unknown Channel"), "{said}");

    // A customer's post shows on the X pane's timeline, unescaped.
    web.post(format!("http://{}/_sandbox/posts", ports.x))
        .json(&serde_json::json!({ "from": "dana", "text": "@AcmeSupport fish & chips <3" }))
        .send()
        .await
        .expect("post");
    let timeline: serde_json::Value = web
        .get(format!("http://{}/_sandbox/timeline", ports.x))
        .send()
        .await
        .expect("timeline")
        .json()
        .await
        .expect("JSON");
    assert_eq!(timeline["posts"][0]["author"], "dana");
    assert_eq!(timeline["posts"][0]["text"], "@AcmeSupport fish & chips <3");

    // The scene plays from the page, once at a time.
    let scene = format!("http://{}/sandbox/scene", ports.health);
    let first = web.post(&scene).send().await.expect("play");
    assert_eq!(first.status(), 202);
    let playing = try_until(Duration::from_secs(30), || async {
        let said: serde_json::Value = web.get(&scene).send().await.ok()?.json().await.ok()?;
        (said["playing"] == true).then_some(())
    })
    .await;
    assert!(playing.is_some(), "the scene did not start");
    let again = web.post(&scene).send().await.expect("play again");
    assert_eq!(again.status(), 409);
    drop(child);
}
