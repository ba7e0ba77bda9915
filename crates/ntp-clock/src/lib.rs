//! Clock drivers (being written).
#![deny(unsafe_code)]
