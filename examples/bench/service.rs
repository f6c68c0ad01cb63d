//! `perch run` (the release binary) on a store of each size, against the
//! sandbox's fakes in this process: time to a health answer, the check of
//! every value, memory and CPU while nothing arrives, `/healthz`, the stop.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use perch::sandbox::run::{fake_secret, Sandbox};

use crate::probe::{cpu_time, p50_p99, thread_cpu, vm_mib};
use crate::{Flow, Table};

fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// `bot-config/sandbox.toml` with its store in `dir/store` and the fakes
/// and perch on free ports; written to `dir/perch.toml`.
pub fn write_config(dir: &Path) -> anyhow::Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut src = std::fs::read_to_string(root.join("bot-config/sandbox.toml"))?;
    let edits = [
        (
            "target/sandbox-store".to_owned(),
            dir.join("store").display().to_string(),
        ),
        ("127.0.0.1:8080".to_owned(), free_addr()?.to_string()),
        ("127.0.0.1:18080".to_owned(), free_addr()?.to_string()),
        ("127.0.0.1:18081".to_owned(), free_addr()?.to_string()),
        ("127.0.0.1:18082".to_owned(), free_addr()?.to_string()),
        // A cached store's claims age between runs; none is released as
        // idle (that would post into threads the fakes never saw).
        (
            "claim_idle_release = \"30m\"".to_owned(),
            "claim_idle_release = \"3650d\"".to_owned(),
        ),
    ];
    for (from, to) in &edits {
        anyhow::ensure!(
            src.contains(from.as_str()),
            "sandbox.toml no longer has {from}"
        );
        src = src.replace(from.as_str(), to);
    }
    let path = dir.join("perch.toml");
    std::fs::write(&path, src)?;
    Ok(path)
}

/// The secrets the config names (`*_env = "NAME"`), as the fakes take them.
fn fake_env(source: &str) -> Vec<(String, String)> {
    source
        .lines()
        .filter_map(|l| {
            let (key, value) = l.split_once('=')?;
            key.trim()
                .ends_with("_env")
                .then(|| value.trim().trim_matches('"').to_owned())
        })
        .map(|name| {
            let secret = fake_secret(&name);
            (name, secret)
        })
        .collect()
}

async fn get(addr: SocketAddr, path: &str) -> Option<reqwest::StatusCode> {
    let url = format!("http://{addr}{path}");
    Some(reqwest::get(url).await.ok()?.status())
}

pub async fn measure(
    perch: &Path,
    dir: &Path,
    flow: &Flow,
    col: usize,
    table: &mut Table,
) -> anyhow::Result<()> {
    let idle = flow.idle;
    let config_path = write_config(dir)?;
    let source = std::fs::read_to_string(&config_path)?;
    let config = match perch::config::from_str(&source) {
        Ok(v) => v.config,
        Err(problems) => anyhow::bail!("the bench config: {problems:?}"),
    };
    let fakes = Sandbox::start(&config).await?;
    let health = config.service.health_addr;
    let started = Instant::now();
    let mut child = Command::new(perch)
        .args(["run", "--config"])
        .arg(&config_path)
        .envs(fake_env(&source))
        .env("PERCH_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stderr"))?;
    let (checked_tx, checked_rx) = std::sync::mpsc::channel();
    let mut log = std::fs::File::create(dir.join("perch.log"))?;
    std::thread::spawn(move || {
        let mut said = 0;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = writeln!(log, "{line}");
            // The history's Discord threads are not in the fresh fake: each
            // open one is missed once at start.
            let expected = line.contains("cannot catch up on a Discord thread");
            if (line.contains("WARN") || line.contains("ERROR")) && !expected {
                said += 1;
                if said <= 10 {
                    eprintln!("   perch: {line}");
                }
            }
            if line.contains("store checked") || line.contains("damaged value") {
                let _ = checked_tx.send(Instant::now());
            }
        }
    });
    let answered = loop {
        if get(health, "/healthz").await.is_some() {
            break started.elapsed();
        }
        anyhow::ensure!(
            child.try_wait()?.is_none(),
            "perch run stopped; see its log above"
        );
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "no health answer in 10 min"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    table.put(
        "start until `/healthz` answers",
        "< 2 s",
        col,
        format!("{:.2} s", answered.as_secs_f64()),
    );
    let checked =
        tokio::task::spawn_blocking(move || checked_rx.recv_timeout(Duration::from_secs(1800)))
            .await??;
    table.put(
        "what perch works on checked (beside the service), after start",
        "",
        col,
        format!("{:.1} s", (checked - started).as_secs_f64()),
    );

    let cpu0 = cpu_time(pid).unwrap_or_default();
    let threads0 = thread_cpu(pid);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(idle)).await;
    let cpu = cpu_time(pid).unwrap_or_default().saturating_sub(cpu0);
    let elapsed = t0.elapsed().as_secs_f64();
    let share = cpu.as_secs_f64() / elapsed * 100.0;
    table.put(
        "CPU while idle (of one core)",
        "< 2%",
        col,
        format!("{share:.1}%"),
    );
    // Which threads it was: perch's own (tokio's workers, its blocking
    // pool) or sled's (its flusher, its I/O and segment-cleaning pool).
    let mut busiest: Vec<(String, f64)> = thread_cpu(pid)
        .into_iter()
        .map(|(name, t)| {
            let before = threads0.get(&name).copied().unwrap_or_default();
            (
                name,
                t.saturating_sub(before).as_secs_f64() / elapsed * 100.0,
            )
        })
        .filter(|(_, share)| *share > 0.0)
        .collect();
    busiest.sort_by(|a, b| b.1.total_cmp(&a.1));
    let busiest: Vec<String> = busiest
        .iter()
        .take(3)
        .map(|(name, share)| format!("{name} {share:.1}%"))
        .collect();
    table.put(
        "CPU while idle, busiest threads",
        "",
        col,
        busiest.join(", "),
    );
    let rss = vm_mib(pid, "VmRSS:").unwrap_or_default();
    table.put("RSS idle", "< 200 MiB", col, format!("{rss:.0} MiB"));

    let mut samples = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        get(health, "/healthz")
            .await
            .ok_or_else(|| anyhow::anyhow!("/healthz went away"))?;
        samples.push(t.elapsed());
    }
    let (h50, h99) = p50_p99(samples);
    table.put(
        "`/healthz` p50 / p99",
        "< 50 ms",
        col,
        format!("{h50:.1} / {h99:.1} ms"),
    );
    let mut samples = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        get(health, "/metrics")
            .await
            .ok_or_else(|| anyhow::anyhow!("/metrics went away"))?;
        samples.push(t.elapsed());
    }
    let (m50, _) = p50_p99(samples);
    table.put("`/metrics` p50", "", col, format!("{m50:.1} ms"));
    // X delivers mentions and DMs once perch has subscribed, and search
    // hits once perch holds the filtered stream.
    crate::flow::wait_for("perch subscribed at X", Duration::from_secs(60), || {
        let streaming = !config.x.filtered_stream || fakes.x.streaming();
        (!fakes.x.subscriptions().is_empty() && streaming).then_some(())
    })
    .await?;
    if flow.path > 0 {
        crate::flow::one_at_a_time(&fakes, health, flow.path, col, table).await?;
    }
    if let Some(day) = &flow.day {
        crate::day::run(&fakes, health, day, table).await?;
    }
    if flow.burst > 0 {
        crate::flow::burst(&fakes, flow.burst, table).await?;
    }

    let t = Instant::now();
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    let status = tokio::task::spawn_blocking(move || child.wait()).await??;
    table.put(
        "stop on SIGTERM",
        "",
        col,
        format!("{:.2} s", t.elapsed().as_secs_f64()),
    );
    anyhow::ensure!(status.success(), "perch run ended with {status}");
    Ok(())
}
