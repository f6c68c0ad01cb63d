//! `perch check --online` against the sandbox's fakes: every platform
//! accepts the sandbox config, and each failure a deployment meets is
//! named with what to fix.

use perch::config::Config;
use perch::sandbox::run::{fake_secret, Sandbox};
use serenity::all::Permissions;

use crate::common::relay::{config, sandbox_toml, Ports, ACME_ID, DISCORD, SLACK};
use crate::common::{perch, text};

struct Fakes {
    sandbox: Sandbox,
    config: Config,
    _dir: tempfile::TempDir,
}

async fn fakes(edits: &[(&str, &str)]) -> Fakes {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&sandbox_toml(dir.path(), &Ports::free(), edits));
    let sandbox = Sandbox::start(&config).await.unwrap();
    Fakes {
        sandbox,
        config,
        _dir: dir,
    }
}

/// What `perch check --online` prints, and whether all was well.
async fn ask(f: &Fakes, lookup: &(dyn Fn(&str) -> Option<String> + Sync)) -> (bool, String) {
    let mut out = Vec::new();
    let ok = perch::cli::check_online(&f.config, lookup, &mut out)
        .await
        .unwrap();
    (ok, String::from_utf8(out).unwrap())
}

fn sandbox_secrets(name: &str) -> Option<String> {
    Some(fake_secret(name))
}

fn problem<'a>(out: &'a str, what: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains("PROBLEM") && l.contains(what))
        .unwrap_or_else(|| panic!("no problem with {what} in:\n{out}"))
}

#[tokio::test]
async fn the_sandbox_config_passes_on_every_platform() {
    let f = fakes(&[]).await;
    let (ok, out) = ask(&f, &sandbox_secrets).await;
    assert!(ok, "{out}");
    for line in [
        "ok       X account `acme` (@AcmeSupport): acts as @AcmeSupport (user id 1500000000000000001), read-write-directmessages",
        "ok       X Activity API for `acme` at http://127.0.0.1:",
        ": no webhook here yet: perch registers it",
        "ok       Slack bot token: accepted",
        "ok       Slack app token: opens a Socket Mode connection",
        "ok       Slack channel C0SUPPORT1: the bot is in it",
        "ok       Discord application: Message Content intent on",
        "ok       Discord server 1300000000000000001: the bot is in perch sandbox",
        "ok       Discord channel 1100000000000000001: #",
        "Every platform accepts perch.",
    ] {
        assert!(out.contains(line), "{line} not in:\n{out}");
    }
}

#[tokio::test]
async fn a_bot_outside_the_channel_a_missing_intent_and_a_denied_permission_are_named() {
    let f = fakes(&[]).await;
    f.sandbox.slack.as_ref().unwrap().set_bot_in(SLACK, false);
    let discord = f.sandbox.discord.as_ref().unwrap();
    discord.set_message_content_intent(false);
    discord.deny_bot(
        DISCORD,
        Permissions::SEND_MESSAGES | Permissions::ADD_REACTIONS,
    );
    let (ok, out) = ask(&f, &sandbox_secrets).await;
    assert!(!ok);
    assert!(problem(&out, "Slack channel C0SUPPORT1").contains("/invite @perch"));
    assert!(problem(&out, "Discord application").contains("Message Content Intent"));
    let denied = problem(&out, "Discord channel 1100000000000000001");
    assert!(
        denied.contains("lacks")
            && denied.contains("Send Messages")
            && denied.contains("Add Reactions"),
        "{denied}"
    );
    assert!(out.contains("3 problems to fix"), "{out}");
}

#[tokio::test]
async fn what_the_fakes_refuse_is_what_check_online_names() {
    // The fakes enforce what check names: a denied Send Messages is
    // Discord's 50013, a missing intent closes the gateway with 4014.
    let f = fakes(&[]).await;
    let discord = f.sandbox.discord.as_ref().unwrap();
    discord.deny_bot(DISCORD, Permissions::SEND_MESSAGES);
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/api/v10/channels/{DISCORD}/messages",
            f.config.discord.as_ref().unwrap().api_url.as_ref().unwrap()
        ))
        .header(
            "authorization",
            format!("Bot {}", fake_secret("SANDBOX_DISCORD_BOT_TOKEN")),
        )
        .json(&serde_json::json!({"content": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["code"], 50013, "{body}");
}

#[tokio::test]
async fn wrong_credentials_say_where_to_get_the_right_ones() {
    let f = fakes(&[]).await;
    let wrong = |name: &str| {
        Some(match name {
            "SANDBOX_SLACK_BOT_TOKEN" | "SANDBOX_DISCORD_BOT_TOKEN" => "wrong".to_owned(),
            _ => fake_secret(name),
        })
    };
    f.sandbox.x.set_access_level(ACME_ID, "read");
    let (ok, out) = ask(&f, &wrong).await;
    assert!(!ok);
    assert!(problem(&out, "Slack bot token").contains("Bot User OAuth Token"));
    assert!(problem(&out, "Discord bot token").contains("Reset Token"));
    assert!(problem(&out, "X account `acme`").contains("Read and write and Direct message"));

    // X credentials of another account than user_id names.
    let mut f = fakes(&[]).await;
    f.config.accounts[0].user_id = "1500000000000000009".into();
    let (_, out) = ask(&f, &sandbox_secrets).await;
    assert!(
        problem(&out, "X account `acme`").contains("not user_id 1500000000000000009"),
        "{out}"
    );
}

#[test]
fn the_binary_takes_online_and_fails_when_a_platform_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perch.toml");
    // Nothing listens on the sandbox's ports here.
    std::fs::write(&path, sandbox_toml(dir.path(), &Ports::free(), &[])).unwrap();
    let mut cmd = perch();
    cmd.arg("check").arg("--online").arg("--config").arg(&path);
    for name in [
        "SANDBOX_X_CONSUMER_KEY",
        "SANDBOX_X_CONSUMER_SECRET",
        "SANDBOX_X_ACCESS_TOKEN",
        "SANDBOX_X_ACCESS_TOKEN_SECRET",
        "SANDBOX_X_BEARER_TOKEN",
        "SANDBOX_SLACK_BOT_TOKEN",
        "SANDBOX_SLACK_APP_TOKEN",
        "SANDBOX_DISCORD_BOT_TOKEN",
        "SANDBOX_REPORT_TOKEN",
    ] {
        cmd.env(name, fake_secret(name));
    }
    let output = cmd.output().unwrap();
    let (out, err) = text(&output);
    assert!(!output.status.success(), "{out}{err}");
    assert!(out.contains("is usable."), "{out}");
    assert!(problem(&out, "X account `acme`").len() > 30, "{out}");
    assert!(problem(&out, "Slack bot token").len() > 20, "{out}");
}
