//! The ticket domain, with no I/O: typed ids, the ticket model, the claim
//! state machine and the chat command grammar.

pub mod grammar;
pub mod ids;
pub mod machine;
pub mod model;

pub use ids::*;
pub use machine::{
    apply, customer_wrote, release_if_idle, Command, Effect, Policy, Refusal, Transition,
};
pub use model::*;
