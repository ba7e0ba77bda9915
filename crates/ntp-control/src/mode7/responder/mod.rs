//! The daemon's mode 7 (ntpdc) responder, sans-IO: classic ntpd 4.2.8's request handling
//! (`ntpd/ntp_request.c`) behind the suite's access policy and its no-amplification rule.
//!
//! One call, [`Responder::handle`], takes a received datagram, what the daemon knows about
//! where it came from ([`RequestMeta`]) and the daemon's state ([`PrivateData`]), and returns
//! the datagrams to send back (possibly none). Policy, in the order it is applied:
//!
//! 1. `restrict ignore`/`noquery` for the source: no reply.
//! 2. Not loopback (source loopback *and* received on a loopback address) and no
//!    `enable mode7`: no reply.
//! 3. Classic's drop tests (short, wrong mode, R or M bit, version outside 1..=4, sequence,
//!    error or mbz nonzero): no reply. So a response or error packet is never answered.
//! 4. Classic's checks and errors: unknown implementation → `INFO_ERR_IMPL`, unknown code or
//!    `IMPL_UNIV` → `INFO_ERR_REQ`, wrong item size or too little data → `INFO_ERR_FMT`, MAC
//!    problems → `INFO_ERR_AUTH`/`INFO_ERR_FMT`, monlist and traps → `INFO_ERR_NODATA`.
//! 5. Requests that change state need the `requestkey` MAC (whatever `enable auth` says),
//!    loopback and no `nomodify`; otherwise `INFO_ERR_AUTH`, and [`PrivateData::apply`] is
//!    not called.
//! 6. The choke point: to a source that is neither loopback nor authenticated (valid
//!    `requestkey` MAC), the reply's total UDP payload never exceeds the request's. A reply
//!    that would is replaced by the 8-octet `INFO_ERR_AUTH` header ("***Permission denied"
//!    in ntpdc): never larger than a request (at least 8 octets), and it tells the operator to
//!    ask from loopback or with the key rather than leaving ntpdc to time out.
//!
//! Replies carry zeros wherever classic sends stale buffer contents (`unused*`, padding, the
//! other family's address fields); see [`PrivateData`].

mod clean;
mod data;
mod process;

use std::fmt;
use std::net::SocketAddr;

use ntp_wire::mode7::InfoError;
use ntp_wire::NtpTimestamp;

pub use data::{
    ChangeRefused, NoKeys, PeerConfig, PrivateChange, PrivateData, RestrictEntry, RestrictOp,
    TrustedKeys,
};

/// The `restrict` flags of the matching entry that matter to mode 7.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestrictFlags {
    /// `ignore`: drop everything.
    pub ignore: bool,
    /// `noquery`: drop mode 6 and 7.
    pub noquery: bool,
    /// `nomodify`: refuse state changes (and, as in classic, `ifstats`) with `INFO_ERR_AUTH`.
    pub nomodify: bool,
}

/// What the daemon knows about a received mode 7 datagram and its own configuration.
#[derive(Clone, Copy)]
pub struct RequestMeta<'a> {
    /// Source address and port.
    pub source: SocketAddr,
    /// True only when the source is a loopback address AND the datagram arrived on a
    /// loopback local address.
    pub loopback: bool,
    /// `enable mode7`: answer sources other than loopback.
    pub mode7_enabled: bool,
    /// Restrict flags matching the source.
    pub restrict: RestrictFlags,
    /// When the datagram was received (the authenticated request's timestamp must be within
    /// 10 s of it).
    pub receive_time: NtpTimestamp,
    /// The `requestkey` id; `None` (or 0) means no request is ever authenticated.
    pub request_key: Option<u32>,
    /// The trusted keys.
    pub keys: &'a dyn TrustedKeys,
}

impl fmt::Debug for RequestMeta<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestMeta")
            .field("source", &self.source)
            .field("loopback", &self.loopback)
            .field("mode7_enabled", &self.mode7_enabled)
            .field("restrict", &self.restrict)
            .field("receive_time", &self.receive_time)
            .field("request_key", &self.request_key)
            .finish_non_exhaustive()
    }
}

/// Counters the daemon can report (e.g. in `sysstats`-like output or logs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mode7Counters {
    /// Datagrams given to [`Responder::handle`].
    pub received: u64,
    /// Dropped by policy (ignore/noquery, or not loopback without `enable mode7`).
    pub refused: u64,
    /// Dropped by classic's drop tests (malformed, response, error packet...).
    pub dropped: u64,
    /// Replies with data (at least one item) sent.
    pub answered: u64,
    /// Header-only replies sent, by error code (index 0 = acknowledgements).
    pub errors: [u64; 16],
    /// Replies replaced by an error because they would have exceeded the request's size.
    pub capped: u64,
    /// State changes applied.
    pub changes: u64,
}

/// The mode 7 responder. Holds only counters; all other state is the daemon's.
#[derive(Debug, Clone, Default)]
pub struct Responder {
    counters: Mode7Counters,
}

impl Responder {
    /// A responder with zeroed counters.
    pub fn new() -> Self {
        Responder::default()
    }

    /// The counters so far.
    pub fn counters(&self) -> &Mode7Counters {
        &self.counters
    }

    /// Answer one received mode 7 datagram: the datagrams to send back to `meta.source`, in
    /// order (empty: send nothing). See the module documentation for the policy.
    pub fn handle(
        &mut self,
        request: &[u8],
        meta: &RequestMeta<'_>,
        data: &mut impl PrivateData,
    ) -> Vec<Vec<u8>> {
        self.counters.received += 1;
        if meta.restrict.ignore || meta.restrict.noquery || !(meta.loopback || meta.mode7_enabled) {
            self.counters.refused += 1;
            return Vec::new();
        }
        let processed = process::process(request, meta, data);
        let Some(header) = processed.header else {
            self.counters.dropped += 1;
            return Vec::new();
        };
        if processed.changed {
            self.counters.changes += 1;
        }
        let mut replies = processed.replies;
        // The one choke point for the amplification rule.
        let total: usize = replies.iter().map(Vec::len).sum();
        if !meta.loopback && !processed.authenticated && total > request.len() {
            self.counters.capped += 1;
            replies = process::error_reply(&header, InfoError::Auth);
        }
        self.count_replies(&replies);
        replies
    }

    fn count_replies(&mut self, replies: &[Vec<u8>]) {
        match replies {
            [only] if only.len() == ntp_wire::mode7::HEADER_LEN => {
                let code = only.get(4).map_or(0, |b| usize::from(b >> 4));
                if let Some(c) = self.counters.errors.get_mut(code) {
                    *c += 1;
                }
            }
            [] => {}
            _ => self.counters.answered += 1,
        }
    }
}
