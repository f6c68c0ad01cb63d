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
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it do not.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
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
