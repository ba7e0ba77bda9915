//! Mode 6 (control, ntpq) sessions and responder.

pub mod client;
pub mod responder;
pub mod vars;
