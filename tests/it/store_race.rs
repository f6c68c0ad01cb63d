//! Many agents claim the same tickets at the same moment: exactly one wins
//! each ticket, and every other is told who did.

use std::sync::{Arc, Barrier};

use perch::store::Store;
use perch::testing::{actor, mention, t0};
use perch::ticket::{self, Command, Policy, Refusal, Role, TicketId};

const AGENTS: usize = 12;
const TICKETS: u64 = 25;

#[test]
fn racing_claims_have_exactly_one_winner_per_ticket() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    for n in 1..=TICKETS {
        store.open_ticket(mention(n)).expect("open ticket");
    }
    let barrier = Arc::new(Barrier::new(AGENTS));
    let handles: Vec<_> = (0..AGENTS)
        .map(|i| {
            let store = store.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let me = actor(&format!("agent{i}"), Role::Agent);
                barrier.wait();
                // Each agent walks the tickets in a different order.
                let mut outcomes = Vec::new();
                for k in 0..TICKETS {
                    let id = TicketId::new((k + i as u64 * 7) % TICKETS + 1);
                    let outcome = store
                        .update_ticket(id, Some(&me.agent), t0(), |t| {
                            ticket::apply(
                                t,
                                Command::Claim { force: false },
                                &me,
                                t0(),
                                &Policy::default(),
                            )
                        })
                        .expect("the store never fails here");
                    outcomes.push((id, me.agent.id.clone(), outcome));
                }
                outcomes
            })
        })
        .collect();
    let outcomes: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("agent thread"))
        .collect();

    for n in 1..=TICKETS {
        let id = TicketId::new(n);
        let stored = store.ticket(id).expect("read").expect("exists");
        let holder = stored.holder().map(|h| h.id.clone()).expect("claimed");
        let winners: Vec<_> = outcomes
            .iter()
            .filter(|(t, _, o)| *t == id && o.is_ok())
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "ticket {id} had {} winners",
            winners.len()
        );
        assert_eq!(
            winners[0].1, holder,
            "the winner is the stored holder of {id}"
        );
        for (_, who, outcome) in outcomes.iter().filter(|(t, _, o)| *t == id && o.is_err()) {
            match outcome {
                Err(Refusal::HeldBy { holder: h, .. }) => {
                    assert_eq!(h.id, holder, "{who} was told the wrong holder")
                }
                other => panic!("{who} on {id}: expected HeldBy, got {other:?}"),
            }
        }
        // Exactly one claim in the audit log.
        let claims = store
            .audit_log(Some(id))
            .expect("audit")
            .into_iter()
            .filter(|e| e.action == "claim")
            .count();
        assert_eq!(claims, 1, "ticket {id} audit shows {claims} claims");
    }
    assert_eq!(outcomes.len(), AGENTS * TICKETS as usize);
}
