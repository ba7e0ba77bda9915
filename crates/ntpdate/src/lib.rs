//! ntpdate library (being written).
#![forbid(unsafe_code)]
