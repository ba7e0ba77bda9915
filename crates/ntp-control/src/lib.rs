//! NTP control protocols above the header, both sides: mode 6 (ntpq) and mode 7 (ntpdc).
//!
//! - `mode6::client`: the sans-IO ntpq session (sequence numbers, fragment reassembly, retries).
//! - `mode6::vars` + `mode6::responder`: the daemon's mode 6 responder (typed system, peer and
//!   clock variables rendered with the classic names and formats; access policy; nonce; MRU;
//!   no amplification).
//! - `mode7::client` / `mode7::responder`: the same for mode 7.
#![forbid(unsafe_code)]

pub mod mode6;
pub mod mode7;
