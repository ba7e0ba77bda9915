//! Strict, compatible parser for classic ntpd 4.2.8 `ntp.conf` and `ntp.keys` files.
//!
//! An operator's existing configuration must work unchanged, and every mistake in it is
//! reported with file:line:column, the text found and what was expected — all of them, not
//! just the first. The crate does no I/O: `includefile` (and the key file in
//! [`check_config_main`]) go through a [`Loader`] the caller passes.
//!
//! Module map:
//! - [`lexer`]: lines of tokens with positions (`#` comments, quoted strings).
//! - [`parser`]: directives into the typed [`Config`]; [`parse`] is the entry point.
//! - [`config`]: the typed configuration, one type per directive and option.
//! - [`restrict`]: restriction flag sets and classic restrict-list resolution
//!   ([`Config::restriction_for`]).
//! - [`check`]: [`Config::check`], warnings about configurations that parse but mislead.
//! - [`keys`]: the `ntp.keys` parser; key material is redacted everywhere.
//! - [`diag`]: [`Diagnostic`]s and the "did you mean" suggestions.
//! - [`loader`]: the [`Loader`] trait, an in-memory [`MapLoader`] and [`NoFiles`].
//! - [`cli`]: [`check_config_main`], the `ntpd --check-config` logic.
//!
//! ```
//! let cfg = ntp_conf::parse("server 192.0.2.1 iburst\nrestrict default kod nomodify\n",
//!                           "ntp.conf", &ntp_conf::NoFiles).unwrap();
//! assert!(cfg.associations[0].options.iburst);
//! let r = cfg.restriction_for("198.51.100.7".parse().unwrap());
//! assert!(r.flags.contains(ntp_conf::RestrictFlags::NOMODIFY));
//! ```
#![forbid(unsafe_code)]

pub mod check;
pub mod cli;
pub mod config;
pub mod diag;
pub mod keys;
pub mod lexer;
pub mod loader;
pub mod parser;
pub mod restrict;

pub use cli::check_config_main;
pub use config::*;
pub use diag::{Diagnostic, Diagnostics, Location, Severity};
pub use keys::{parse_keys, Key, KeyFile, KeyType};
pub use loader::{Loader, MapLoader, NoFiles};
pub use parser::{parse, MAX_INCLUDE_DEPTH};
pub use restrict::{MatchFlags, RestrictFlags, RestrictTable, Restriction};
