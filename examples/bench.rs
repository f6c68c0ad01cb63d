//! Store benchmark: how fast perch records tickets and settles racing
//! claims with every write flushed to disk, and how much memory it takes.
//!
//!   cargo run --release --example bench -- --tickets 2000 --agents 8
//!
//! Prints one line per measurement; peak RSS comes from /proc (Linux).

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use clap::Parser;
use perch::store::Store;
use perch::testing::{actor, mention, t0};
use perch::ticket::{self, Command, Policy, Role, TicketId};

#[derive(Parser)]
struct Args {
    /// Tickets to open.
    #[arg(long, default_value_t = 2000)]
    tickets: u64,
    /// Agents racing to claim every ticket.
    #[arg(long, default_value_t = 8)]
    agents: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn report(what: &str, n: usize, total: Duration, mut latencies: Vec<Duration>) {
    latencies.sort_unstable();
    println!(
        "{what:<28} {n:>7} ops  {:>9.0} ops/s  p50 {:>8.3} ms  p99 {:>8.3} ms",
        n as f64 / total.as_secs_f64(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
    );
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;

    // 1. Open tickets one by one (each a flushed transaction over 5 trees).
    let mut latencies = Vec::with_capacity(args.tickets as usize);
    let start = Instant::now();
    for n in 1..=args.tickets {
        let t = Instant::now();
        store.open_ticket(mention(n))?;
        latencies.push(t.elapsed());
    }
    report(
        "open ticket",
        args.tickets as usize,
        start.elapsed(),
        latencies,
    );

    // 2. Every agent claims every ticket at once; one wins each.
    let barrier = Arc::new(Barrier::new(args.agents));
    let start = Instant::now();
    let handles: Vec<_> = (0..args.agents)
        .map(|i| {
            let (store, barrier, tickets) = (store.clone(), Arc::clone(&barrier), args.tickets);
            std::thread::spawn(move || -> anyhow::Result<(Vec<Duration>, usize)> {
                let me = actor(&format!("agent{i}"), Role::Agent);
                let mut latencies = Vec::with_capacity(tickets as usize);
                let mut won = 0;
                barrier.wait();
                for k in 0..tickets {
                    let id = TicketId::new((k + i as u64 * 13) % tickets + 1);
                    let t = Instant::now();
                    let outcome = store.update_ticket(id, Some(&me.agent), t0(), |t| {
                        ticket::apply(
                            t,
                            Command::Claim { force: false },
                            &me,
                            t0(),
                            &Policy::default(),
                        )
                    })?;
                    latencies.push(t.elapsed());
                    won += usize::from(outcome.is_ok());
                }
                Ok((latencies, won))
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut won = 0;
    for h in handles {
        let (l, w) = h
            .join()
            .map_err(|_| anyhow::anyhow!("a claiming thread panicked"))??;
        all.extend(l);
        won += w;
    }
    let n = all.len();
    report(
        &format!("racing claim ({} agents)", args.agents),
        n,
        start.elapsed(),
        all,
    );
    anyhow::ensure!(
        won as u64 == args.tickets,
        "{won} claims won for {} tickets",
        args.tickets
    );

    // 3. Read paths used by every command.
    let start = Instant::now();
    let unclaimed = store.queue()?.len();
    let q = start.elapsed();
    println!(
        "queue scan                   {:>7} tickets  {:>8.3} ms  ({unclaimed} unclaimed)",
        args.tickets,
        q.as_secs_f64() * 1e3
    );

    // 4. Export.
    let mut dump = Vec::new();
    let start = Instant::now();
    let values = store.export(&mut dump)?;
    let e = start.elapsed();
    println!(
        "export                       {values:>7} values  {:>8.1} MB/s  ({:.1} MB)",
        dump.len() as f64 / 1e6 / e.as_secs_f64(),
        dump.len() as f64 / 1e6
    );
    let disk: u64 = walk_size(dir.path());
    println!(
        "store on disk                {:>10.1} MB",
        disk as f64 / 1e6
    );
    match peak_rss_kib() {
        Some(kib) => println!(
            "peak RSS                     {:>10.1} MB",
            kib as f64 / 1024.0
        ),
        None => println!("peak RSS                     unavailable (no /proc)"),
    }
    Ok(())
}

fn walk_size(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => walk_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
