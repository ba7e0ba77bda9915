//! Closed-loop simulator (being written).
#![forbid(unsafe_code)]
