//! What each `perch` subcommand does. `main.rs` only parses arguments and
//! calls these.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::config::{self, located, secrets, Config, Loaded};
use crate::store::Store;

/// `perch check`: validates the config and the secrets it names. Writes
/// the summary to `out`, problems to `err`.
pub fn check(
    path: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<ExitCode> {
    let loaded = match config::load(path) {
        Ok(loaded) => loaded,
        Err(e) => {
            write!(err, "{e}")?;
            return Ok(ExitCode::FAILURE);
        }
    };
    let missing = loaded.locate(secrets::missing(&loaded.config, lookup));
    print_warnings(&loaded, err)?;
    if !missing.is_empty() {
        let n = missing.len();
        writeln!(
            err,
            "{} is valid, but {n} secret{} missing from the environment:",
            path.display(),
            if n == 1 { " is" } else { "s are" }
        )?;
        for p in &missing {
            writeln!(err, "  {}", located(path, p))?;
        }
        return Ok(ExitCode::FAILURE);
    }
    writeln!(out, "{} is usable.", path.display())?;
    write!(out, "{}", config::summary(&loaded.config))?;
    if let Some(d) = &loaded.config.discord {
        writeln!(
            out,
            "  Discord: add the bot to your server with {} (permissions {}: view, send, embed, read history, react, create and post in threads)",
            crate::chat::discord::invite_url(d.application_id),
            crate::chat::discord::required_permissions().bits()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `perch check --online`: what each platform says about the
/// credentials, one line each; `true` when nothing needs fixing.
pub async fn check_online(
    config: &Config,
    lookup: &(dyn Fn(&str) -> Option<String> + Sync),
    out: &mut dyn Write,
) -> std::io::Result<bool> {
    let store = Store::open(&config.service.data_dir);
    if let Err(crate::store::StoreError::InUse { .. }) = &store {
        writeln!(
            out,
            "The store is in use (perch is running): OAuth 2.0 accounts are left to it."
        )?;
    }
    let findings = crate::online::check(config, store, lookup).await;
    writeln!(out, "Asked the platforms:")?;
    let mut problems = 0;
    for f in &findings {
        match &f.outcome {
            Ok(detail) => writeln!(out, "  ok       {}: {detail}", f.what)?,
            Err(fix) => {
                problems += 1;
                writeln!(out, "  PROBLEM  {}: {fix}", f.what)?;
            }
        }
    }
    if problems == 0 {
        writeln!(out, "Every platform accepts perch.")?;
    } else {
        writeln!(
            out,
            "{problems} problem{} to fix before `perch run` works.",
            if problems == 1 { "" } else { "s" }
        )?;
    }
    Ok(problems == 0)
}

fn print_warnings(loaded: &Loaded, err: &mut dyn Write) -> std::io::Result<()> {
    for w in &loaded.warnings {
        writeln!(err, "warning: {}", located(&loaded.path, w))?;
    }
    Ok(())
}

/// Loads the config, or explains what is wrong with it.
pub fn load(path: &Path) -> anyhow::Result<Config> {
    let loaded = config::load(path).map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))?;
    let mut stderr = std::io::stderr();
    print_warnings(&loaded, &mut stderr)?;
    Ok(loaded.config)
}

/// Opens the store the config names.
pub fn open_store(config: &Config) -> anyhow::Result<Store> {
    Ok(Store::open(&config.service.data_dir)?)
}

/// `perch run`.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let missing = secrets::missing(&config, &secrets::from_process_env);
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(ToString::to_string).collect();
        anyhow::bail!(
            "cannot start: {} secret(s) missing from the environment (run `perch check` for lines):\n  {}",
            list.len(),
            list.join("\n  ")
        );
    }
    let store = open_store(&config)?;
    let addr = config.service.health_addr;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} (service.health_addr); is another process using it?")
    })?;
    let lookup: secrets::Lookup = std::sync::Arc::new(secrets::from_process_env);
    crate::service::run(
        config,
        store,
        listener,
        lookup,
        crate::service::shutdown_signal(),
    )
    .await
}

/// `perch health`: asks the perch running with `config` how it is (for a
/// container's health check, on whatever port the config names). Writes
/// its answer to `out`; `true` when it is healthy (200).
pub async fn health(config: &Config, out: &mut dyn Write) -> anyhow::Result<bool> {
    let mut addr = config.service.health_addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let url = format!("http://{addr}/healthz");
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()?;
    let answer = client.get(&url).send().await.map_err(|e| {
        anyhow::anyhow!("nothing answers on {url} (service.health_addr): is perch running? ({e})")
    })?;
    let healthy = answer.status().is_success();
    writeln!(out, "{}", answer.text().await.unwrap_or_default())?;
    Ok(healthy)
}

/// `perch report`: the figures since `since` in `format`, read from the
/// store; when perch is running (the store is in use), asked of it on its
/// HTTP port with the token `service.report_token_env` names.
pub async fn report(config: &Config, since: &str, format: &str) -> anyhow::Result<String> {
    use crate::report::Format;
    use crate::ticket::figures::Span;
    let span = Span::parse(since).map_err(|e| anyhow::anyhow!("--since: {e}"))?;
    let Some(kind) = Format::parse(format) else {
        anyhow::bail!("--format: `{format}` is not one of md, csv, html");
    };
    match Store::open(&config.service.data_dir) {
        Ok(store) => {
            let now = chrono::Utc::now();
            let zone = config.zone();
            Ok(crate::relay::reports::render(
                &store,
                config,
                span.since(now, zone),
                now,
                Some(kind),
            )?)
        }
        Err(crate::store::StoreError::InUse { .. }) => {
            let Some(env) = &config.service.report_token else {
                anyhow::bail!("perch is running and holds the store; to ask it for the report, set service.report_token_env (and the variable it names) and restart it");
            };
            let token = secrets::read(env, &secrets::from_process_env)
                .map_err(|p| anyhow::anyhow!("{p}"))?;
            let mut addr = config.service.health_addr;
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            let url = format!("http://{addr}/report");
            let answer = reqwest::Client::new()
                .get(&url)
                .query(&[("since", since), ("format", format)])
                .bearer_auth(token.expose())
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("perch holds the store, but nothing answers on {url} (service.health_addr): {e}"))?;
            let status = answer.status();
            let text = answer.text().await?;
            anyhow::ensure!(
                status.is_success(),
                "the running perch answered {status}: {}",
                text.trim()
            );
            Ok(text)
        }
        Err(e) => Err(e.into()),
    }
}

/// `perch auth x --account KEY`: signs the account in with OAuth 2.0 and
/// PKCE, its callback on `redirect` (a loopback address).
pub async fn auth_x(
    config: &Config,
    account: &str,
    redirect: &str,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    use crate::twitter::authorize::{loopback_callback, Pending};
    let found = self::account(config, account)?;
    let (redirect, addr) = loopback_callback(redirect)?;
    let store = open_store(config)?;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} for X's callback; is something else using it? (--redirect picks another, registered in the X app)")
    })?;
    let pending = Pending::begin(
        config,
        found,
        store.clone(),
        &secrets::from_process_env,
        &redirect,
        listener,
    )?;
    writeln!(
        out,
        "Open this address in a browser signed in to X as @{}, and choose \"Authorize app\":\n\n  {}\n\nWaiting for X to send the browser back to {redirect} ...",
        found.handle,
        pending.url()
    )?;
    out.flush()?;
    let done = pending.finish().await?;
    store.flush()?;
    writeln!(
        out,
        "Signed in: perch acts as @{} (user id {}) with {}. The refresh token is in the store; `perch run` uses it (refresh_token_env is not needed).",
        done.user.username,
        done.user.id,
        done.scopes.join(" ")
    )?;
    Ok(())
}

/// The account `key` of the config, or what the config has.
fn account<'a>(config: &'a Config, key: &str) -> anyhow::Result<&'a crate::config::Account> {
    config
        .accounts
        .iter()
        .find(|a| a.key.as_str() == key)
        .ok_or_else(|| {
            let keys: Vec<&str> = config.accounts.iter().map(|a| a.key.as_str()).collect();
            anyhow::anyhow!(
                "no account `{key}` in the config (its accounts: {})",
                keys.join(", ")
            )
        })
}

/// `perch x subscribe --account KEY`: registers the account's webhook
/// with X (perch must be serving it: X sends a CRC request first) and
/// makes its X Activity API subscriptions what the config asks.
pub async fn x_subscribe(
    config: &Config,
    key: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    use crate::twitter::{runtime, subscriptions, XClient};
    let found = account(config, key)?;
    let app = runtime::app_client(config, lookup)?;
    let user = XClient::new(
        &config.x.api_url,
        found.key.clone(),
        runtime::auth(config, found, None, lookup)?,
        crate::twitter::Patience::default(),
    )?;
    let done = subscriptions::reconcile(&app, &user, found)
        .await
        .with_context(|| format!("subscribing @{} to the X Activity API", found.handle))?;
    if let Some(w) = &done.webhook {
        writeln!(
            out,
            "webhook {} at {} ({})",
            w.id,
            w.url,
            if w.valid {
                "valid"
            } else {
                "INVALID: X stopped delivering; perch answers its CRC when running"
            }
        )?;
    }
    for (what, events) in [
        ("subscribed", &done.created),
        ("already subscribed", &done.kept),
        ("removed (no longer in the config)", &done.removed),
    ] {
        for e in events {
            writeln!(out, "  {what:<34} {e}")?;
        }
    }
    for s in &done.foreign {
        writeln!(
            out,
            "  {:<34} {} ({}, tag {})",
            "left alone (not made by perch)",
            s.event_type,
            s.subscription_id,
            s.tag.as_deref().unwrap_or("none")
        )?;
    }
    Ok(())
}

/// `perch export`: the store as JSON lines on `out`.
pub fn export(config: &Config, out: &mut dyn Write) -> anyhow::Result<usize> {
    let dir = &config.service.data_dir;
    if !dir.exists() {
        anyhow::bail!(
            "there is no store at {} (service.data_dir); nothing to export",
            dir.display()
        );
    }
    let store = open_store(config)?;
    Ok(store.export(out)?)
}

/// A progress bar for `verb` on stderr, counting bytes of `total` (a
/// spinner when the size is unknown); drawn only on a terminal.
pub fn progress(total: Option<u64>, verb: &str) -> indicatif::ProgressBar {
    let (bar, template) = match total {
        Some(n) => (
            indicatif::ProgressBar::new(n),
            "{msg} {wide_bar} {bytes}/{total_bytes} ({eta} left)",
        ),
        None => (
            indicatif::ProgressBar::new_spinner(),
            "{msg} {spinner} {bytes} ({bytes_per_sec})",
        ),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_message(verb.to_owned());
    bar
}

/// The size of what stands behind `input` when it is a file (`perch
/// import < dump.jsonl`), for the progress bar; `None` for a pipe.
pub fn size_of(input: &impl std::os::fd::AsFd) -> Option<u64> {
    let file = std::fs::File::from(input.as_fd().try_clone_to_owned().ok()?);
    let meta = file.metadata().ok()?;
    meta.is_file().then_some(meta.len())
}

/// `perch verify`: every stored value read back, while perch is not
/// running.
pub fn verify(config: &Config) -> anyhow::Result<usize> {
    let store = open_store(config)?;
    Ok(store.verify()?)
}

/// `perch compact`: the store's upkeep, while perch is not running.
pub fn compact(config: &Config) -> anyhow::Result<crate::store::Compacted> {
    let store = open_store(config)?;
    Ok(store.compact(chrono::Utc::now(), config.service.keep_sent_replies)?)
}

/// `perch import`: a dump from `input` into the (empty) store.
pub fn import(
    config: &Config,
    input: &mut dyn BufRead,
) -> anyhow::Result<crate::store::ImportSummary> {
    let store = open_store(config)?;
    Ok(store.import(input)?)
}
