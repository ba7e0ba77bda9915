//! ntpq library (being written).
#![forbid(unsafe_code)]
