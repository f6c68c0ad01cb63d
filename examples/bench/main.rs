//! perch at a year of tickets and more: builds stores of each size (cached
//! under `target/bench`), runs the release binary on them against the
//! sandbox's fakes, and prints one table with the goals beside it.
//!
//!   cargo build --release && cargo run --release --example bench -- --sizes 10000,100000,1000000
//!
//! Linux only (memory and CPU are read from /proc). Nothing reaches
//! beyond 127.0.0.1.

mod day;
mod flow;
mod history;
mod probe;
mod service;
mod store;

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Store sizes, in tickets.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    sizes: Vec<u64>,
    /// Of each store, how many (the newest) are still open or claimed.
    #[arg(long, default_value_t = 100)]
    active: u64,
    /// Where stores are kept between runs.
    #[arg(long, default_value = "target/bench")]
    cache: PathBuf,
    /// How long perch is watched doing nothing, in seconds.
    #[arg(long, default_value_t = 10)]
    idle: u64,
    /// How many mentions go one at a time through perch (and are answered),
    /// at each size.
    #[arg(long, default_value_t = 20)]
    path: usize,
    /// How many mentions come at once, on the first size (0: none).
    #[arg(long, default_value_t = 100)]
    burst: usize,
    /// A day of X traffic on the first size: mentions, DMs, search hits
    /// (0,0,0: none).
    #[arg(long, value_delimiter = ',', default_value = "0,0,0")]
    day: Vec<usize>,
    /// How far apart the day's items come, in ms.
    #[arg(long, default_value_t = 1100)]
    day_gap_ms: u64,
}

/// What the service measures besides the store.
pub struct Flow {
    pub idle: u64,
    pub path: usize,
    pub burst: usize,
    pub day: Option<day::Day>,
}

/// The table: one row per measure, one column per size.
pub struct Table {
    sizes: Vec<u64>,
    rows: Vec<(String, String, Vec<String>)>,
}

impl Table {
    /// Records `value` for the size in column `col` of row `name`.
    pub fn put(&mut self, name: &str, goal: &str, col: usize, value: String) {
        let width = self.sizes.len();
        let row = match self.rows.iter().position(|(n, _, _)| n == name) {
            Some(i) => &mut self.rows[i],
            None => {
                self.rows
                    .push((name.to_owned(), goal.to_owned(), vec![String::new(); width]));
                let last = self.rows.len() - 1;
                &mut self.rows[last]
            }
        };
        row.2[col] = value;
    }

    fn print(&self) {
        let sizes: Vec<String> = self.sizes.iter().map(|n| format!("{n} tickets")).collect();
        println!("\n| measured | {} | goal at 1,000,000 |", sizes.join(" | "));
        println!("|---|{}---|", "---|".repeat(self.sizes.len()));
        for (name, goal, values) in &self.rows {
            println!("| {name} | {} | {goal} |", values.join(" | "));
        }
    }
}

/// The release binary, built if it is missing or older than the sources.
fn perch_binary() -> anyhow::Result<PathBuf> {
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--release", "--locked", "--bin", "perch"])
        .status()?;
    anyhow::ensure!(status.success(), "cargo build --release failed");
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/perch");
    anyhow::ensure!(bin.exists(), "no {}", bin.display());
    Ok(bin)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let perch = perch_binary()?;
    let mut table = Table {
        sizes: args.sizes.clone(),
        rows: Vec::new(),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    for (col, &n) in args.sizes.iter().enumerate() {
        eprintln!("== {n} tickets");
        let dir = args.cache.join(n.to_string());
        let started = Instant::now();
        store::build(&perch, &dir, n, args.active, col, &mut table)?;
        eprintln!(
            "   store ready after {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let flow = Flow {
            idle: args.idle,
            path: args.path,
            burst: if col == 0 { args.burst } else { 0 },
            day: match args.day.as_slice() {
                [m, d, h] if col == 0 && m + d + h > 0 => Some(day::Day {
                    mentions: *m,
                    dms: *d,
                    hits: *h,
                    gap: std::time::Duration::from_millis(args.day_gap_ms),
                }),
                _ => None,
            },
        };
        runtime.block_on(service::measure(&perch, &dir, &flow, col, &mut table))?;
        store::measure(&perch, &dir, n, col, &mut table)?;
        // So far (a long run keeps what it measured if a later size fails).
        table.print();
    }
    Ok(())
}
