//! What ntpdate needs from the outside world, as one trait: name resolution, UDP sockets,
//! a monotonic clock for timeouts, random numbers for transmit timestamps, the key file, the
//! local time zone and syslog. The binary passes [`crate::sys::SystemIo`]; tests pass a
//! scripted implementation so every run is deterministic.

use std::net::SocketAddr;
use std::time::Duration;

use crate::cli::Family;

/// Syslog severities ntpdate uses (values as in `<syslog.h>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `LOG_ERR` (3): goes to stderr on the terminal.
    Err = 3,
    /// `LOG_NOTICE` (5): goes to stdout on the terminal.
    Notice = 5,
    /// `LOG_INFO` (6).
    Info = 6,
    /// `LOG_DEBUG` (7).
    Debug = 7,
}

/// Why a name did not resolve (classic distinguishes a broken resolver from a bad name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The resolver itself failed (`EAI_AGAIN`/`EAI_FAIL`): ntpdate gives up at once.
    #[error("{message} ({code})")]
    ResolverFailed {
        /// `gai_strerror` text.
        message: String,
        /// The `EAI_*` code.
        code: i32,
    },
    /// This name has no usable address (`EAI_NONAME`, `EAI_NODATA`, wrong family...).
    #[error("{message} ({code})")]
    NotFound {
        /// `gai_strerror` text.
        message: String,
        /// The `EAI_*` code.
        code: i32,
    },
}

/// Why the sockets could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Port 123 is already bound (`EADDRINUSE`): an NTP daemon is running.
    #[error("the NTP socket is in use")]
    InUse,
    /// The port needs privileges we lack (`EACCES`).
    #[error("permission denied")]
    PermissionDenied,
    /// Any other socket, option or bind failure.
    #[error("{0}")]
    Other(#[from] std::io::Error),
}

/// The outside world of one ntpdate run.
pub trait Io {
    /// Resolve `host` to the addresses to query on `port`, restricted to `family`, keeping
    /// only addresses that are reachable (classic `is_reachable`).
    ///
    /// # Errors
    /// [`ResolveError`].
    fn resolve(
        &mut self,
        host: &str,
        port: u16,
        family: Option<Family>,
    ) -> Result<Vec<SocketAddr>, ResolveError>;

    /// Open one UDP socket per family in `families`, bound to `local_port` (123) or to an
    /// ephemeral port when `None`.
    ///
    /// # Errors
    /// [`OpenError`].
    fn open(&mut self, families: &[Family], local_port: Option<u16>) -> Result<(), OpenError>;

    /// Send one datagram from the socket of `to`'s family.
    ///
    /// # Errors
    /// The socket error.
    fn send(&mut self, to: SocketAddr, datagram: &[u8]) -> std::io::Result<()>;

    /// Wait at most `timeout` for one datagram on any socket: its length and source, or
    /// `None` when the time ran out.
    ///
    /// # Errors
    /// The socket error.
    fn recv(
        &mut self,
        buf: &mut [u8],
        timeout: Duration,
    ) -> std::io::Result<Option<(usize, SocketAddr)>>;

    /// Monotonic time since an arbitrary start (timeouts never follow clock steps).
    fn monotonic(&mut self) -> Duration;

    /// 64 unpredictable bits (the transmit timestamp of a request).
    fn random_u64(&mut self) -> u64;

    /// The contents of a text file (the key file).
    ///
    /// # Errors
    /// The read error.
    fn read_file(&mut self, path: &str) -> std::io::Result<String>;

    /// The local zone's offset from UTC, seconds east, at Unix time `unix`.
    fn utc_offset(&self, unix: i64) -> i32;

    /// Send `message` to syslog (ident `ntpdate`, with the pid) at `level`.
    fn syslog(&mut self, level: Level, message: &str);
}
