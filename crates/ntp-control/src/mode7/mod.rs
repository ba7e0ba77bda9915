//! Mode 7 (private, ntpdc) sessions and responder.

pub mod client;
pub mod responder;
