//! What a process costs, read from /proc (Linux): resident memory, its
//! peak, and CPU time; and percentiles of timings.

use std::time::Duration;

/// A `Vm*` line of /proc/PID/status, in MiB.
pub fn vm_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// User plus system CPU time of a process so far (clock ticks of 1/100 s,
/// Linux's USER_HZ).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    stat_cpu(&format!("/proc/{pid}/stat")).map(|(_, t)| t)
}

/// The name and CPU time of the process or thread whose `stat` is at `path`.
fn stat_cpu(path: &str) -> Option<(String, Duration)> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name may hold spaces; the fields after it do not.
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_owned();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some((name, Duration::from_millis(ticks * 10)))
}

/// CPU time so far of each thread of a process, by thread name (threads
/// of one name, such as tokio's workers or sled's numbered I/O threads,
/// added together).
pub fn thread_cpu(pid: u32) -> std::collections::BTreeMap<String, Duration> {
    let mut by_name = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return by_name;
    };
    for task in tasks.flatten() {
        let path = task.path().join("stat");
        if let Some((name, t)) = stat_cpu(&path.to_string_lossy()) {
            let name = name.trim_end_matches(|c: char| c.is_ascii_digit());
            *by_name.entry(name.to_owned()).or_default() += t;
        }
    }
    by_name
}

/// The peak resident memory of a child while `wait` runs, sampled every
/// 20 ms from VmHWM (the kernel's own high-water mark).
pub fn peak_while(pid: u32, done: impl Fn() -> bool) -> f64 {
    let mut peak = 0.0f64;
    while !done() {
        if let Some(m) = vm_mib(pid, "VmHWM:") {
            peak = peak.max(m);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    peak
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

/// `(p50, p99)` of `samples`, in ms.
pub fn p50_p99(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort_unstable();
    (
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
    )
}

/// The size of everything under `path`, in bytes.
pub fn disk_size(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
