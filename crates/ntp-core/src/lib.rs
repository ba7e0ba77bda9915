//! The sans-IO NTP engine: RFC 5905 peer, poll, clock filter, selection and discipline.
//!
//! Nothing here opens a socket, reads a clock, sleeps or draws randomness: time, bytes and a
//! seed come in as arguments, decisions go out as [`Action`] values. The same engine runs in
//! the daemon (one tokio current-thread task with real UDP sockets and the kernel clock) and
//! in the `ntp-sim` simulator under virtual time.
//!
//! # Time
//! Two time types, never mixed:
//! - [`MonoTime`]: monotonic time for timers (the daemon passes the time since it started,
//!   e.g. from `CLOCK_MONOTONIC`); a clock step never moves a timer.
//! - [`ntp_wire::NtpTimestamp`]: the disciplined clock's reading, used for packet timestamps
//!   (T1 when a request is sent, T4 when a response arrives).
//!
//! # Call protocol
//! ```text
//! let mut engine = Engine::new(config, sources, mono_now());
//! loop {
//!     while let Some(action) = engine.poll_action() {
//!         match action {
//!             Action::Send { source, to, bytes } => { socket_of(source).send_to(&bytes, to); }
//!             Action::Clock(a) => { a.apply(&mut kernel_clock)?; }
//!             Action::Stats(line) => append(line.kind, &line.line),
//!             Action::SaveFrequency(ppm) => write_drift_file(ppm),
//!             Action::Panic { offset } => exit_with_message(offset),
//!         }
//!     }
//!     select! {
//!         _ = sleep_until(engine.poll_timeout()) => engine.handle_timeout(mono_now(), clock.now()?),
//!         (bytes, from, rx_ts) = recv() => { let _ = engine.handle_datagram(mono_now(), from, &bytes, rx_ts); }
//!     }
//! }
//! ```
//! - [`Engine::handle_timeout`]`(now, clock_now)`: run due timers (polls, end of a slew,
//!   drift save, orphan mode). Calling early or twice does nothing.
//! - [`Engine::handle_datagram`]`(now, from, bytes, rx_timestamp)`: a response arrived;
//!   returns [`PacketError`] saying why it was not used (log/count it and carry on).
//! - [`Engine::handle_transmitted`]`(source, tx)`: optional precise T1.
//! - [`Engine::poll_timeout`]: the next deadline; [`Engine::poll_action`]: drain actions
//!   in order after every `handle_*` call.
//! - [`Engine::snapshot`] / [`Engine::system_snapshot`]: plain data for ntpq, ntpdc,
//!   metrics and the server threads (stratum, refid, leap, root delay/dispersion).
//!
//! Every clock change is a [`ClockAction`]; [`ClockAction::apply`] executes it on any
//! [`Clock`] (the kernel driver and the simulated clock live in `ntp-clock`). The engine
//! corrects offsets by setting the frequency (never `adjtime`-style slews), so the daemon
//! must apply `SetFrequency` promptly; the engine accounts for every correction it makes.
//!
//! # Modules (RFC 5905 sections)
//! - [`engine`]: peer process (section 8-9, packet tests), poll process (section 13),
//!   system process (section 11), clock update; symmetric active (`peer`, modes 1/2,
//!   authenticated only) in its child module `symmetric`.
//! - [`filter`]: clock filter (section 10). [`select`]: selection, cluster, combine
//!   (section 11.2). [`regress`]: the offset/frequency estimator replacing the PLL/FLL of
//!   section 11.3 (see docs/algorithm.md).
//! - [`leap`]: leap seconds from the leap file (section 7.3 LI bits; classic's proximity
//!   levels). [`rawstats`]: classic's `rawstats` line for a server answer.
//! - [`server`]: the server fast path (mode 3 in, mode 4 out) with restrict, rate limiting
//!   and KoD, shared by the daemon's worker threads; also the stateless mode 2 answer to an
//!   authenticated mode 1 from a source that is not a configured peer.
#![forbid(unsafe_code)]

pub mod clock;
pub mod config;
pub mod engine;
pub mod filter;
pub mod leap;
pub mod mono;
pub mod rawstats;
pub mod regress;
pub mod rng;
pub mod select;
pub mod server;
pub mod snapshot;

pub use clock::{Clock, ClockAction, ClockError, ClockStatus, LeapStatus};
pub use config::{
    EngineConfig, SourceConfig, SourceKind, TinkerConfig, TosConfig, LOCAL_CLOCK_ADDR,
};
pub use engine::{Action, Engine, PacketError, StatsKind, StatsLine};
pub use mono::MonoTime;
pub use rng::SplitMix64;
pub use snapshot::{
    DisciplineState, SelectStatus, Snapshot, SourceId, SourceSnapshot, SystemSnapshot,
};

#[cfg(test)]
mod engine_tests;
