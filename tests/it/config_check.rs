//! `perch check` as an operator runs it, and every shipped config file.

use crate::common::{perch, repo_path, text, EXAMPLE_SECRETS};

#[test]
fn every_file_in_bot_config_validates() {
    let mut checked = 0;
    for entry in std::fs::read_dir(repo_path("bot-config")).expect("bot-config/") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        if let Err(e) = perch::config::load(&path) {
            panic!("{e}");
        }
        checked += 1;
    }
    assert!(checked >= 1, "no config files in bot-config/");
}

#[test]
fn check_passes_with_every_secret_set_and_prints_a_summary() {
    let mut cmd = perch();
    cmd.args(["check", "--config"])
        .arg(repo_path("bot-config/perch.example.toml"));
    for name in EXAMPLE_SECRETS {
        cmd.env(name, "dummy-value");
    }
    let output = cmd.output().expect("run perch");
    let (out, err) = text(&output);
    assert!(output.status.success(), "stdout: {out}\nstderr: {err}");
    assert!(out.contains("is usable"), "{out}");
    assert!(out.contains("acme (@AcmeSupport"), "{out}");
    assert!(
        out.contains("routes to: Slack C0SUPPORT1, Discord 1100000000000000001"),
        "{out}"
    );
    assert!(out.contains("mentions every 1m"), "{out}");
    assert!(out.contains("Message Content intent"), "{out}");
    // Discord's permission bits: view 1<<10, send 1<<11, embed 1<<14,
    // history 1<<16, react 1<<6, create threads 1<<35, post in them 1<<38.
    assert!(
        out.contains("https://discord.com/oauth2/authorize?client_id=1200000000000000001&scope=bot+applications.commands&permissions=309237730368"),
        "{out}"
    );
    assert!(
        !out.contains("dummy-value") && !err.contains("dummy-value"),
        "a secret was printed"
    );
}

#[test]
fn check_fails_naming_each_missing_secret() {
    let output = perch()
        .args(["check", "--config"])
        .arg(repo_path("bot-config/perch.example.toml"))
        .env("ACME_X_CONSUMER_KEY", "set")
        .env("PERCH_SLACK_BOT_TOKEN", "set")
        .output()
        .expect("run perch");
    let (_, err) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("5 secrets are missing"), "{err}");
    for name in EXAMPLE_SECRETS {
        let named = err.contains(&format!("environment variable {name} is not set"));
        let set = name == "ACME_X_CONSUMER_KEY" || name == "PERCH_SLACK_BOT_TOKEN";
        assert_eq!(named, !set, "{name} in:\n{err}");
    }
    // Each line names the file, the line and the key.
    assert!(
        err.contains("perch.example.toml:86: accounts[0].auth.consumer_secret_env:"),
        "{err}"
    );
}

#[test]
fn check_fails_on_an_unknown_key_naming_it_and_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let example =
        std::fs::read_to_string(repo_path("bot-config/perch.example.toml")).expect("example");
    let broken = example.replacen(
        "claim_idle_release = \"2h\"",
        "claim_idle_releas = \"2h\"",
        1,
    );
    assert_ne!(broken, example);
    let line = broken
        .lines()
        .position(|l| l.starts_with("claim_idle_releas "))
        .map(|i| i + 1)
        .unwrap_or_default();
    let path = dir.path().join("perch.toml");
    std::fs::write(&path, broken).expect("write");
    let output = perch()
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .expect("run perch");
    let (_, err) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "perch.toml:{line}: service.claim_idle_releas: unknown field `claim_idle_releas`"
        )),
        "{err}"
    );
}

#[test]
fn check_explains_a_missing_file() {
    let output = perch()
        .args(["check", "--config", "/nonexistent/perch.toml"])
        .output()
        .expect("run perch");
    let (_, err) = text(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        err.contains("cannot read the file") && err.contains("--config"),
        "{err}"
    );
}

#[test]
fn the_slack_app_manifest_asks_for_what_perch_uses() {
    let text =
        std::fs::read_to_string(repo_path("bot-config/slack-app-manifest.json")).expect("manifest");
    let m: serde_json::Value = serde_json::from_str(&text).expect("the manifest is JSON");
    let scopes: Vec<&str> = m["oauth_config"]["scopes"]["bot"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str()).collect())
        .unwrap_or_default();
    // chat.postMessage/update/postEphemeral, /perch, reactions.add, thread
    // messages in public and private channels, users.info, usergroups.users.list.
    for needed in [
        "chat:write",
        "commands",
        "reactions:write",
        "channels:history",
        "groups:history",
        "users:read",
        "usergroups:read",
    ] {
        assert!(scopes.contains(&needed), "missing scope {needed}");
    }
    assert_eq!(m["settings"]["socket_mode_enabled"], true);
    assert_eq!(m["settings"]["interactivity"]["is_enabled"], true);
    let events = m["settings"]["event_subscriptions"]["bot_events"].to_string();
    assert!(
        events.contains("message.channels") && events.contains("message.groups"),
        "{events}"
    );
    assert_eq!(m["features"]["slash_commands"][0]["command"], "/perch");
    // Mentions in command text arrive as <@U…|name>, which the grammar reads.
    assert_eq!(m["features"]["slash_commands"][0]["should_escape"], true);
}
