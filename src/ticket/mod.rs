//! The ticket domain, with no I/O: typed ids, the ticket model, the claim
//! state machine, the chat command grammar, and composing replies.

pub mod figures;
pub mod grammar;
pub mod hours;
pub mod ids;
pub mod machine;
pub mod model;
pub mod oncall;
pub mod reply;
pub mod rules;
pub mod summary;
pub mod targets;

pub use ids::*;
pub use machine::{
    apply, customer_wrote, release_if_idle, Command, Effect, Policy, Refusal, Transition,
};
pub use model::*;
pub use reply::{compose, last_customer_post, ComposeError};
pub use summary::Summary;
