//! The store at each size: built once from a generated dump through
//! `perch import` (streaming, its peak memory measured), then what it
//! costs on disk, `perch export`, and the reads and writes behind the
//! commands, beside the raw sled floor measured in the same run.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use perch::store::Store;
use perch::testing::mention;

use crate::probe::{disk_size, p50_p99, peak_while};
use crate::{history, service, Table};

fn running(child: &mut std::process::Child) -> impl Fn() -> bool + '_ {
    let child = std::cell::RefCell::new(child);
    move || child.borrow_mut().try_wait().map_or(true, |s| s.is_some())
}

/// One `perch VERB --config FILE` run, watched from outside.
struct Watched {
    took: Duration,
    /// Peak resident memory, in MiB.
    peak: f64,
    /// What it wrote on stderr, when that was piped.
    said: String,
}

impl Watched {
    fn run(
        perch: &Path,
        verb: &str,
        config: &Path,
        stdin: Stdio,
        stderr: Stdio,
    ) -> anyhow::Result<Self> {
        let started = Instant::now();
        let mut child = Command::new(perch)
            .args([verb, "--config"])
            .arg(config)
            .stdin(stdin)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()?;
        let peak = peak_while(child.id(), running(&mut child));
        let out = child.wait_with_output()?;
        anyhow::ensure!(out.status.success(), "perch {verb} failed");
        Ok(Self {
            took: started.elapsed(),
            peak,
            said: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Its time and peak memory, as the table shows them.
    fn cost(&self) -> String {
        format!("{:.1} s, {:.0} MiB", self.took.as_secs_f64(), self.peak)
    }
}

/// Builds the store of `n` tickets in `dir/store` unless it is there.
pub fn build(
    perch: &Path,
    dir: &Path,
    n: u64,
    active: u64,
    col: usize,
    table: &mut Table,
) -> anyhow::Result<()> {
    let ready = dir.join("ready");
    if ready.exists() {
        table.put(
            "`perch import`: time, peak RSS",
            "< 200 MiB",
            col,
            "(cached)".to_owned(),
        );
        return Ok(());
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    let dump = dir.join("dump.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&dump)?);
    let lines = history::write(&mut out, n, active, Utc::now())?;
    std::io::Write::flush(&mut out)?;
    drop(out);
    eprintln!("   dump of {lines} values written");
    let config = service::write_config(dir)?;
    let import = Watched::run(
        perch,
        "import",
        &config,
        std::fs::File::open(&dump)?.into(),
        Stdio::inherit(),
    )?;
    table.put(
        "`perch import`: time, peak RSS",
        "< 200 MiB",
        col,
        import.cost(),
    );
    std::fs::remove_file(&dump)?;
    // The first hourly upkeep of a year's history forgets most of its sent
    // replies; done here, the service below is measured in its steady state.
    let compact = Watched::run(perch, "compact", &config, Stdio::null(), Stdio::piped())?;
    table.put(
        "`perch compact` after the import: time, peak RSS",
        "",
        col,
        compact.cost(),
    );
    if let Some(forgot) = compact.said.lines().find(|l| l.starts_with("forgot")) {
        eprintln!("   {forgot}");
    }
    std::fs::write(ready, format!("{n} tickets\n"))?;
    Ok(())
}

fn timed<T>(runs: usize, mut f: impl FnMut() -> anyhow::Result<T>) -> anyhow::Result<(f64, f64)> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        samples.push(t.elapsed());
    }
    Ok(p50_p99(samples))
}

/// Disk, export, and the store's reads and writes in this process.
pub fn measure(
    perch: &Path,
    dir: &Path,
    n: u64,
    col: usize,
    table: &mut Table,
) -> anyhow::Result<()> {
    let store_dir = dir.join("store");
    let bytes = disk_size(&store_dir);
    table.put(
        "store on disk (per ticket)",
        "< 2 KB",
        col,
        format!(
            "{:.0} MB ({:.1} KB)",
            bytes as f64 / 1e6,
            bytes as f64 / n as f64 / 1e3
        ),
    );

    let config = service::write_config(dir)?;
    let export = Watched::run(perch, "export", &config, Stdio::null(), Stdio::null())?;
    table.put(
        "`perch export`: time, peak RSS",
        "< 200 MiB",
        col,
        export.cost(),
    );

    let t = Instant::now();
    let store = Store::open(&store_dir)?;
    table.put(
        "open the store (in process)",
        "",
        col,
        format!("{:.0} ms", t.elapsed().as_secs_f64() * 1e3),
    );
    let (q, _) = timed(20, || Ok(store.queue()?))?;
    let (m, _) = timed(20, || Ok(store.held_by(&"sam".into())?))?;
    let week = Utc::now() - chrono::Duration::days(7);
    let (s, _) = timed(20, || Ok(store.opened_since(week)?))?;
    let (h, _) = timed(20, || {
        Ok((store.ticket_counts()?, store.outbox_counts(Utc::now())?))
    })?;
    table.put(
        "store reads behind `queue` / `mine` / `stats 7d` / health counts (p50)",
        "< 50 ms",
        col,
        format!("{q:.2} / {m:.2} / {s:.2} / {h:.2} ms"),
    );

    // Opening a ticket (a flushed transaction over the ticket, its
    // indexes and its audit), against the raw sled floor: one ~1 KB
    // insert and a flush, in a fresh tree on the same disk.
    // Conversations no run has opened yet (each run adds its 500).
    let base = 10_000_000_000 + store.ticket_total()? as u64;
    let mut k = 0;
    let (open50, open99) = timed(500, || {
        k += 1;
        Ok(store.open_ticket(mention(base + k))?)
    })?;
    let raw = tempfile::tempdir_in(dir)?;
    let db = sled::open(raw.path())?;
    let value = vec![b'x'; 1024];
    let mut i = 0u64;
    let (raw50, raw99) = timed(500, || {
        i += 1;
        db.insert(i.to_be_bytes(), value.as_slice())?;
        Ok(db.flush()?)
    })?;
    table.put(
        "open a ticket p50 / p99 (raw sled insert+flush; ratio of p99)",
        "p99 < 5 ms",
        col,
        format!(
            "{open50:.2} / {open99:.2} ms ({raw50:.2} / {raw99:.2} ms; {:.1}x)",
            open99 / raw99.max(1e-6)
        ),
    );
    drop(db);
    // The tickets opened here are resolved again, so that the next run
    // finds the same queue.
    let lead = perch::testing::actor("bench", perch::ticket::Role::Lead);
    for j in 1..=k {
        let Some(t) = store.ticket_for_tweet(&(base + j).to_string().as_str().into())? else {
            continue;
        };
        if t.resolved_at.is_some() {
            continue;
        }
        let resolved = store.update_ticket(t.id, Some(&lead.agent), Utc::now(), |t| {
            perch::ticket::apply(
                t,
                perch::ticket::Command::Resolve { note: None },
                &lead,
                Utc::now(),
                &perch::ticket::Policy::default(),
            )
        })?;
        if let Err(refusal) = resolved {
            anyhow::bail!("cannot resolve {} again: {refusal}", t.id);
        }
    }
    // Nor are their cards left to draw (the fakes never saw them).
    for (id, revision) in store.needs_sync()? {
        if id.get() > n {
            store.synced(id, revision)?;
        }
    }
    Ok(())
}
