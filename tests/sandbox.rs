//! `perch sandbox` as a newcomer uses it: start it, act as a customer
//! through the fake X's control API, see perch pick it up.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{free_addr, http_get, perch, repo_path, text};

/// bot-config/sandbox.toml on free ports and a temporary store.
fn sandbox_config(dir: &std::path::Path, x: SocketAddr, health: SocketAddr) -> std::path::PathBuf {
    let src = std::fs::read_to_string(repo_path("bot-config/sandbox.toml")).expect("sandbox.toml");
    let src = src
        .replace(
            "data_dir = \"target/sandbox-data\"",
            &format!("data_dir = \"{}\"", dir.join("data").display()),
        )
        .replace(
            "health_addr = \"127.0.0.1:8080\"",
            &format!("health_addr = \"{health}\""),
        )
        .replace("http://127.0.0.1:18080", &format!("http://{x}"))
        .replace("interval = \"2s\"", "interval = \"1s\"");
    assert!(
        src.contains(&format!("http://{x}")),
        "sandbox.toml no longer names the fake X URL this test rewrites"
    );
    let path = dir.join("sandbox.toml");
    std::fs::write(&path, src).expect("write");
    path
}

fn post_json(addr: SocketAddr, path: &str, body: &str) -> std::io::Result<u16> {
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

#[cfg(unix)]
#[test]
fn the_sandbox_ingests_what_a_newcomer_injects() {
    let dir = tempfile::tempdir().expect("dir");
    let (x, health) = (free_addr(), free_addr());
    let config = sandbox_config(dir.path(), x, health);
    let child = perch()
        .args(["sandbox", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn perch sandbox");

    let deadline = Instant::now() + Duration::from_secs(20);
    while http_get(health, "/healthz").is_err() {
        assert!(Instant::now() < deadline, "the sandbox never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = post_json(
        x,
        "/_sandbox/posts",
        r#"{"from": "dana", "text": "@AcmeSupport my order never arrived"}"#,
    )
    .expect("inject");
    assert_eq!(status, 201);
    let status = post_json(
        x,
        "/_sandbox/dms",
        r#"{"from": "gina", "to": "AcmeSupport", "text": "hi"}"#,
    )
    .expect("inject");
    assert_eq!(status, 201);
    loop {
        let (_, body) = http_get(health, "/healthz").expect("health");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if v["inbox"] == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "not ingested: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let output = child.wait_with_output().expect("wait");
    let (out, err) = text(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        out.contains(&format!("curl -s -X POST http://{x}/_sandbox/posts")),
        "{out}"
    );
    assert!(out.contains(&format!("http://{health}/healthz")), "{out}");
}

#[test]
fn the_sandbox_refuses_to_point_at_anything_but_loopback() {
    let dir = tempfile::tempdir().expect("dir");
    let path = sandbox_config(dir.path(), free_addr(), free_addr());
    let src = std::fs::read_to_string(&path).expect("read");
    let real = regex::Regex::new(r#"api_url = "http://127\.0\.0\.1:\d+"\nmonthly"#).expect("regex");
    let src = real
        .replace(&src, "api_url = \"https://api.x.com\"\nmonthly")
        .into_owned();
    assert!(src.contains("https://api.x.com"));
    std::fs::write(&path, src).expect("write");
    let output = perch()
        .args(["sandbox", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    let (_, err) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("only runs on 127.0.0.1"), "{err}");
}
