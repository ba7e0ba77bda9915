//! The NTP daemon: a drop-in replacement for classic ntpd 4.2.8 with the same configuration,
//! command line, files and control protocols.
//!
//! Module map: `cli` (classic command line), `control` (mode 6/7 data for ntpq and ntpdc), `files` (drift and pid files, atomic writes),
//! `log` (classic log lines, rate-limited), `net` (sockets), `server` (the worker hot path),
//! `startup` (configuration and keys from the filesystem), `setup` (configuration to engine),
//! `stats` (statistics files with filegen rotation), `rescan` (interface rescan: listeners
//! per address), `stepwatch` (clock steps by other programs), `daemon` (the runtime), `privs`
//! (root drop, jail, priority), `seccomp` (system-call allow-list).
#![forbid(unsafe_code)]

pub mod cli;
pub mod control;
pub mod daemon;
pub mod files;
pub mod leapfile;
pub mod log;
pub mod metrics;
pub mod net;
pub mod privs;
pub mod rescan;
pub mod seccomp;
pub mod server;
pub mod setup;
pub mod startup;
pub mod stats;
pub mod stepwatch;
