//! A writer is killed with SIGKILL at random moments; after each restart
//! every write it acknowledged is there and the store opens.
//!
//! The writer is this test binary run again with `--ignored --exact
//! store_crash::crash_writer`: it opens tickets, claims them and moves a cursor, and
//! prints `ack N` only after each has returned (the store flushes before
//! returning).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use perch::store::Store;
use perch::testing::{actor, mention, t0};
use perch::ticket::{self, Command as TicketCommand, Policy, Refusal, Role, State, TicketId};

const KILLS: usize = 50;

#[test]
#[ignore = "the child half of acknowledged_writes_survive_sigkill; run by it"]
fn crash_writer() {
    let (Ok(dir), Ok(start)) = (
        std::env::var("PERCH_CRASH_DIR"),
        std::env::var("PERCH_CRASH_START"),
    ) else {
        panic!("run by acknowledged_writes_survive_sigkill");
    };
    let start: u64 = start.parse().expect("start");
    let store = Store::open(dir.as_ref()).expect("open");
    let jo = actor("jo", Role::Agent);
    for n in start.. {
        let id = store
            .open_ticket(mention(n))
            .expect("open ticket")
            .ticket()
            .id;
        let claimed = store
            .update_ticket(id, Some(&jo.agent), t0(), |t| {
                ticket::apply(
                    t,
                    TicketCommand::Claim { force: false },
                    &jo,
                    t0(),
                    &Policy::default(),
                )
            })
            .expect("store");
        assert!(
            matches!(claimed, Ok(_) | Err(Refusal::AlreadyYours { .. })),
            "{claimed:?}"
        );
        store
            .set_cursor("acme", "mentions", &n.to_string())
            .expect("cursor");
        println!("ack {n} {}", id.get());
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = std::env::current_exe().expect("test binary");
    let mut acked: Vec<(u64, u64)> = Vec::new();
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    for round in 0..KILLS {
        let start = acked.last().map_or(1, |(n, _)| n + 1);
        let mut child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "store_crash::crash_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("PERCH_CRASH_DIR", dir.path())
            .env("PERCH_CRASH_START", start.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn writer");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut parts = line.split_whitespace();
                if parts.next() != Some("ack") {
                    continue;
                }
                let n = parts.next().and_then(|s| s.parse::<u64>().ok());
                let id = parts.next().and_then(|s| s.parse::<u64>().ok());
                if let (Some(n), Some(id)) = (n, id) {
                    let _ = tx.send((n, id));
                }
            }
        });
        // Wait for the writer to get going, then kill it at a random moment.
        let deadline = Instant::now() + Duration::from_secs(20);
        let first = rx
            .recv_timeout(deadline - Instant::now())
            .expect("the writer acknowledged nothing");
        std::thread::sleep(Duration::from_millis(rng.u64(0..120)));
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        let _ = reader.join();
        acked.push(first);
        acked.extend(rx.try_iter());

        let store = Store::open(dir.path())
            .unwrap_or_else(|e| panic!("round {round}: the store does not open: {e}"));
        store
            .verify()
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        for &(n, id) in &acked {
            let t = store
                .ticket(TicketId::new(id))
                .unwrap_or_else(|e| panic!("round {round}: {e}"))
                .unwrap_or_else(|| {
                    panic!("round {round}: acknowledged ticket #{id} (mention {n}) is gone")
                });
            assert!(
                matches!(&t.state, State::Claimed(c) if c.holder.id.as_str() == "jo"),
                "round {round}: acknowledged claim on #{id} is gone: {:?}",
                t.state
            );
        }
        let last = acked.last().map(|(n, _)| *n).unwrap_or_default();
        let cursor: u64 = store
            .cursor("acme", "mentions")
            .expect("cursor")
            .and_then(|c| c.parse().ok())
            .unwrap_or_default();
        assert!(
            cursor >= last,
            "round {round}: cursor {cursor} is behind the acknowledged {last}"
        );
    }
    assert!(
        acked.len() >= KILLS,
        "only {} writes were acknowledged",
        acked.len()
    );
}
