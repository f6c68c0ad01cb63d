//! `perch sandbox` as a newcomer uses it: start it, watch the scene, then
//! act as a customer through the fake X's control API and see perch pick
//! it up.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use crate::common::relay::{sandbox_toml, Ports};
use crate::common::{http_get, perch, text};

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
struct Playing(Option<std::process::Child>);

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
    let mut child = perch()
        .args(["sandbox", "--config"])
        .arg(config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn perch sandbox");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
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
                panic!("the scene did not finish:\n{seen}");
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
    loop {
        let (_, body) = http_get(ports.health, "/healthz").expect("health");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if v["tickets"] == 4 {
            break;
        }
        assert!(Instant::now() < deadline, "not ticketed: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
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
        .args(["sandbox", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    let (_, err) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    err
}
