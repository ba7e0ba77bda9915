//! The sans-IO NTP engine (being written).
#![forbid(unsafe_code)]

pub mod server;
