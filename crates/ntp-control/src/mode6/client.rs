//! The sans-IO ntpq session: request datagrams with classic sequence numbers, optional MAC,
//! fragment reassembly, timeouts and the one retry of classic ntpq's `doqueryex()`; plus the
//! MRU list retrieval (`REQ_NONCE`, then `READ_MRU` with `nonce=..., frags=32` and follow-ups
//! naming the newest entries already held).
//!
//! The caller owns the socket and the clock: it sends what [`Session::begin`] and
//! [`Session::handle_timeout`] return, feeds every received datagram to
//! [`Session::handle_datagram`], and calls [`Session::handle_timeout`] when
//! [`Session::wait_time`] has passed without a complete response.
//!
//! ```
//! use ntp_control::mode6::client::{Received, Request, Session};
//! use ntp_wire::mode6::{ControlHeader, ControlMessage, Opcode};
//!
//! let mut session = Session::new();
//! let wire = session.begin(Request::new(Opcode::ReadVar, 0, b"stratum".to_vec())).unwrap();
//! assert_eq!(&wire[..4], &[0x16, 0x02, 0x00, 0x01]); // version 2, READVAR, sequence 1
//!
//! // The server's single-fragment answer.
//! let mut h = ControlHeader::decode(&wire).unwrap();
//! h.response = true;
//! h.status = 0x0616;
//! let reply = ControlMessage::new(h, b"stratum=3\r\n".to_vec()).unwrap().to_vec().unwrap();
//! let Received::Complete(response) = session.handle_datagram(&reply).unwrap() else {
//!     panic!("one fragment completes the response")
//! };
//! assert_eq!(response.data, b"stratum=3\r\n");
//! ```

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ntp_wire::mode6::{
    parse_varlist, ControlHeader, ControlMessage, ControlResponse, ErrorCode, Opcode, Progress,
    Reassembler, ReassemblyError, CTL_MAX_DATA_LEN,
};
use ntp_wire::{NtpTimestamp, SymmetricKey, WireError};

/// Classic ntpq's wait for the first fragment of a response (`DEFTIMEOUT`, 5 s).
pub const DEFAULT_PRIMARY_TIMEOUT: Duration = Duration::from_secs(5);
/// Classic ntpq's wait for each further fragment (`DEFSTIMEOUT`, 3 s).
pub const DEFAULT_SECONDARY_TIMEOUT: Duration = Duration::from_secs(3);
/// Version classic ntpq puts in requests (`NTP_OLDVERSION + 1`).
pub const DEFAULT_VERSION: u8 = 2;

/// Why an exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// Nothing arrived, even after the retry (`ERR_TIMEOUT`).
    #[error("request timed out")]
    Timeout,
    /// Some fragments arrived but not all, even after the retry (`ERR_INCOMPLETE`).
    #[error("response from server was incomplete")]
    Incomplete,
    /// A fragment claimed more data than it carried, on the retry too (`ERR_INCOMPLETE`).
    #[error("response packet claims {count} octets payload, above {available} received")]
    Truncated {
        /// The fragment's `count`.
        count: u16,
        /// Octets after its header.
        available: usize,
    },
    /// More than 32 fragments or more data than ntpq's buffer holds (`ERR_TOOMUCH`).
    #[error("buffer size exceeded for returned data")]
    TooMuch,
    /// The server answered with an error code.
    #[error("server error {0:?}")]
    Server(ErrorCode),
    /// The request needs a MAC and the session has no key.
    #[error("authentication needed but no key is set")]
    NoKey,
    /// The request could not be encoded (e.g. data longer than 65535 octets).
    #[error("cannot encode request: {0}")]
    Encode(WireError),
    /// A datagram or timeout arrived while no exchange was in progress.
    #[error("no exchange in progress")]
    Idle,
}

impl ClientError {
    /// The line classic ntpq prints on stderr for this error (without the `server=HOST `
    /// prefix it adds when several hosts were given); `assoc_id` fills in `CERR_BADASSOC`.
    pub fn message(&self, assoc_id: u16) -> String {
        match self {
            ClientError::Timeout => "***Request timed out".to_owned(),
            ClientError::Incomplete | ClientError::Truncated { .. } => {
                "***Response from server was incomplete".to_owned()
            }
            ClientError::TooMuch => "***Buffer size exceeded for returned data".to_owned(),
            ClientError::Server(code) => code.message(assoc_id),
            ClientError::NoKey => "***Authentication key required".to_owned(),
            ClientError::Encode(e) => format!("***Cannot build request: {e}"),
            ClientError::Idle => "***No request outstanding".to_owned(),
        }
    }
}

/// One mode 6 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Operation.
    pub opcode: Opcode,
    /// Association (0 = system).
    pub assoc_id: u16,
    /// Request data (variable names, `name=value` pairs, MRU parameters...).
    pub data: Vec<u8>,
    /// Sign the request with the session key (classic does so for the opcodes the daemon
    /// serves only with the `controlkey`, and for every request after `authenticate yes`).
    pub authenticate: bool,
}

impl Request {
    /// A request that is authenticated exactly when the opcode needs it
    /// ([`Opcode::requires_auth`]).
    pub fn new(opcode: Opcode, assoc_id: u16, data: Vec<u8>) -> Self {
        Request {
            opcode,
            assoc_id,
            data,
            authenticate: opcode.requires_auth(),
        }
    }
}

/// What a received datagram did to the exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// More fragments are needed, or the datagram was dropped.
    Pending,
    /// The response is complete.
    Complete(ControlResponse),
    /// A fragment claimed more data than it carried; send `datagram` (the request under a new
    /// sequence number) and keep waiting. Classic ntpq prints
    /// `Response packet claims COUNT octets payload, above AVAILABLE received` on stdout.
    Retry {
        /// The request to send again.
        datagram: Vec<u8>,
        /// The truncated fragment's `count`.
        count: u16,
        /// Octets after its header.
        available: usize,
    },
}

/// State of the exchange in progress.
#[derive(Debug, Clone)]
struct Exchange {
    request: Request,
    header: ControlHeader,
    reassembler: Reassembler,
    retried: bool,
}

/// The client side of mode 6: sequence numbers, version, key, timeouts and the exchange in
/// progress.
#[derive(Debug, Clone)]
pub struct Session {
    sequence: u16,
    version: u8,
    key: Option<SymmetricKey>,
    primary_timeout: Duration,
    secondary_timeout: Duration,
    current: Option<Exchange>,
    /// Every datagram the last exchange ignored, with the reason (for `debug`).
    ignored: Vec<ReassemblyError>,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    /// A session as classic ntpq starts: version 2, no key, 5 s / 3 s timeouts; the first
    /// request gets sequence number 1.
    pub fn new() -> Self {
        Session {
            sequence: 0,
            version: DEFAULT_VERSION,
            key: None,
            primary_timeout: DEFAULT_PRIMARY_TIMEOUT,
            secondary_timeout: DEFAULT_SECONDARY_TIMEOUT,
            current: None,
            ignored: Vec::new(),
        }
    }

    /// The version placed in requests (ntpq's `ntpversion`).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Set the request version (1..=4 in classic; other values are the caller's business).
    pub fn set_version(&mut self, version: u8) {
        self.version = version & 7;
    }

    /// The key used for authenticated requests.
    pub fn key(&self) -> Option<&SymmetricKey> {
        self.key.as_ref()
    }

    /// Set or clear the key used for authenticated requests.
    pub fn set_key(&mut self, key: Option<SymmetricKey>) {
        self.key = key;
    }

    /// The wait for the first fragment.
    pub fn primary_timeout(&self) -> Duration {
        self.primary_timeout
    }

    /// Set the wait for the first fragment (ntpq's `timeout`).
    pub fn set_primary_timeout(&mut self, d: Duration) {
        self.primary_timeout = d;
    }

    /// The wait for each further fragment.
    pub fn secondary_timeout(&self) -> Duration {
        self.secondary_timeout
    }

    /// Set the wait for each further fragment.
    pub fn set_secondary_timeout(&mut self, d: Duration) {
        self.secondary_timeout = d;
    }

    /// Sequence number of the last request built.
    pub fn last_sequence(&self) -> u16 {
        self.sequence
    }

    /// Why datagrams of the current (or last) exchange were dropped.
    pub fn ignored(&self) -> &[ReassemblyError] {
        &self.ignored
    }

    fn encode(&self, header: ControlHeader, request: &Request) -> Result<Vec<u8>, ClientError> {
        let mut msg =
            ControlMessage::new(header, request.data.clone()).map_err(ClientError::Encode)?;
        if request.authenticate {
            let key = self.key.as_ref().ok_or(ClientError::NoKey)?;
            let digest_len = key.algorithm.digest_len();
            msg.sign(key.id, |covered| {
                let d = key.digest(covered);
                d.as_bytes().get(..digest_len).unwrap_or_default().to_vec()
            })
            .map_err(ClientError::Encode)?;
        }
        msg.to_vec().map_err(ClientError::Encode)
    }

    fn header_for(&self, request: &Request) -> ControlHeader {
        let mut header = ControlHeader::request(request.opcode, self.sequence, request.assoc_id);
        header.version = self.version;
        header
    }

    /// Start an exchange: take the next sequence number and return the datagram to send.
    /// Any exchange still in progress is abandoned.
    ///
    /// # Errors
    /// [`ClientError::NoKey`] when the request is to be authenticated and no key is set;
    /// [`ClientError::Encode`] when the data does not fit a datagram. The sequence number is
    /// consumed either way, as in classic ntpq.
    pub fn begin(&mut self, request: Request) -> Result<Vec<u8>, ClientError> {
        self.current = None;
        self.ignored.clear();
        self.sequence = self.sequence.wrapping_add(1);
        let header = self.header_for(&request);
        let wire = self.encode(header, &request)?;
        self.current = Some(Exchange {
            reassembler: Reassembler::new(&header).lenient_assoc(),
            header,
            request,
            retried: false,
        });
        Ok(wire)
    }

    /// How long to wait for the next datagram: the primary timeout until a fragment of the
    /// response has arrived, the secondary timeout after.
    pub fn wait_time(&self) -> Duration {
        match &self.current {
            Some(x) if x.reassembler.fragment_count() > 0 => self.secondary_timeout,
            _ => self.primary_timeout,
        }
    }

    /// True while an exchange is in progress.
    pub fn in_progress(&self) -> bool {
        self.current.is_some()
    }

    /// Feed one received datagram.
    ///
    /// Returns [`Received::Complete`] once the response is whole, [`Received::Pending`] while
    /// more fragments are needed or when the datagram was dropped (wrong sequence,
    /// duplicate..., see [`Self::ignored`]), and [`Received::Retry`] when a fragment claimed
    /// more data than it carried on the first try: classic ntpq then gives up on that try and
    /// sends the request again under a new sequence number.
    ///
    /// # Errors
    /// [`ClientError::Server`] for an error reply, [`ClientError::Truncated`] for a truncated
    /// fragment on the second try, [`ClientError::TooMuch`] past ntpq's limits,
    /// [`ClientError::Idle`] with no exchange in progress. The exchange ends on any error.
    pub fn handle_datagram(&mut self, datagram: &[u8]) -> Result<Received, ClientError> {
        let x = self.current.as_mut().ok_or(ClientError::Idle)?;
        match x.reassembler.accept_datagram(datagram) {
            Ok(Progress::Incomplete) => Ok(Received::Pending),
            Ok(Progress::Complete(resp)) => {
                self.current = None;
                Ok(Received::Complete(resp))
            }
            Err(ReassemblyError::Incomplete { count, available }) => {
                let x = self.current.take().ok_or(ClientError::Idle)?;
                if x.retried {
                    return Err(ClientError::Truncated { count, available });
                }
                let datagram = self.retry(x, true)?;
                Ok(Received::Retry {
                    datagram,
                    count,
                    available,
                })
            }
            Err(e) if e.is_fatal() => {
                self.current = None;
                Err(match e {
                    ReassemblyError::ServerError { code } => ClientError::Server(code),
                    _ => ClientError::TooMuch,
                })
            }
            Err(e) => {
                self.ignored.push(e);
                Ok(Received::Pending)
            }
        }
    }

    /// Send the request of `x` once more, with a new sequence number if `bump`.
    fn retry(&mut self, x: Exchange, bump: bool) -> Result<Vec<u8>, ClientError> {
        if bump {
            self.sequence = self.sequence.wrapping_add(1);
        }
        let header = ControlHeader {
            sequence: self.sequence,
            ..x.header
        };
        let wire = self.encode(header, &x.request)?;
        self.current = Some(Exchange {
            reassembler: Reassembler::new(&header).lenient_assoc(),
            header,
            request: x.request,
            retried: true,
        });
        Ok(wire)
    }

    /// The wait of [`Self::wait_time`] passed without a complete response. The first time,
    /// classic ntpq sends the request again (with a new sequence number when some fragments
    /// had arrived, so late fragments of the first try are not mixed in): the datagram to
    /// send is returned. The second time the exchange fails.
    ///
    /// # Errors
    /// [`ClientError::Timeout`] when nothing arrived, [`ClientError::Incomplete`] when some
    /// fragments did, [`ClientError::Idle`] with no exchange in progress.
    pub fn handle_timeout(&mut self) -> Result<Vec<u8>, ClientError> {
        let x = self.current.take().ok_or(ClientError::Idle)?;
        let partial = x.reassembler.fragment_count() > 0;
        if x.retried {
            return Err(if partial {
                ClientError::Incomplete
            } else {
                ClientError::Timeout
            });
        }
        self.retry(x, partial)
    }

    /// Use up a sequence number without sending anything, as classic ntpq does when it
    /// gives up on a request before sending it (no key id or password for an
    /// authenticated request).
    pub fn skip_sequence(&mut self) {
        self.current = None;
        self.sequence = self.sequence.wrapping_add(1);
    }

    /// True when the exchange in progress has had at least one fragment (for the classic
    /// "timed out with incomplete data" debug message).
    pub fn has_partial(&self) -> bool {
        self.current
            .as_ref()
            .is_some_and(|x| x.reassembler.fragment_count() > 0)
    }
}

/// Parse a mode 6 timestamp value `0xXXXXXXXX.XXXXXXXX` (ntpq's `decodets` hex form).
pub fn parse_hex_timestamp(text: &str) -> Option<NtpTimestamp> {
    let rest = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    let (secs, frac) = rest.split_once('.')?;
    if secs.is_empty() || secs.len() > 8 || frac.is_empty() || frac.len() > 8 {
        return None;
    }
    let s = u32::from_str_radix(secs, 16).ok()?;
    let f = u32::from_str_radix(frac, 16).ok()?;
    Some(NtpTimestamp::from_bits((u64::from(s) << 32) | u64::from(f)))
}

/// ntpq's `decodenetnum`: `a.b.c.d`, `a.b.c.d:port`, `[v6]:port`, `[v6]` or a bare IPv6
/// address; the port defaults to 123.
pub fn parse_netnum(text: &str) -> Option<SocketAddr> {
    if let Ok(sa) = text.parse::<SocketAddr>() {
        return Some(sa);
    }
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    bare.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, 123))
}

/// One MRU entry as ntpq collects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MruEntry {
    /// `addr.N`: the remote address and port.
    pub addr: SocketAddr,
    /// `last.N`: when the last packet arrived.
    pub last: NtpTimestamp,
    /// `first.N`: when the first packet arrived.
    pub first: NtpTimestamp,
    /// `ct.N`: packets seen (at least 1).
    pub count: u32,
    /// `mv.N`: mode and version byte of the last packet.
    pub mode_version: u8,
    /// `rs.N`: restriction bits that applied.
    pub restrict: u16,
}

impl MruEntry {
    /// Mode of the last packet (`PKT_MODE`).
    pub fn mode(&self) -> u8 {
        self.mode_version & 7
    }

    /// Version of the last packet (`PKT_VERSION`).
    pub fn version(&self) -> u8 {
        (self.mode_version >> 3) & 7
    }
}

/// The fields of the row being collected (ntpq's `MRU_GOT_*` bits).
#[derive(Debug, Clone, Default)]
struct PartialEntry {
    addr: Option<SocketAddr>,
    last: Option<NtpTimestamp>,
    first: Option<NtpTimestamp>,
    count: Option<u32>,
    mv: Option<u8>,
    rs: Option<u16>,
}

impl PartialEntry {
    fn is_empty(&self) -> bool {
        self.addr.is_none()
            && self.last.is_none()
            && self.first.is_none()
            && self.count.is_none()
            && self.mv.is_none()
            && self.rs.is_none()
    }

    fn complete(&self) -> Option<MruEntry> {
        Some(MruEntry {
            addr: self.addr?,
            last: self.last?,
            first: self.first?,
            count: self.count?,
            mode_version: self.mv?,
            restrict: self.rs?,
        })
    }
}

/// What to do after an MRU response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MruStep {
    /// Send a `READ_MRU` request with this data.
    ReadMru(Vec<u8>),
    /// The nonce is used up: send `REQ_NONCE` and pass the answer to
    /// [`MruQuery::handle_nonce`], which gives the next request.
    FetchNonce,
    /// The list is complete.
    Done,
}

/// Why MRU retrieval stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MruError {
    /// The `REQ_NONCE` answer does not start with `nonce=` (the text is kept).
    #[error("unexpected nonce response format: {0}")]
    BadNonce(String),
    /// A response did not follow the protocol (the message says how, in ntpq's words).
    #[error("{0}")]
    Protocol(String),
    /// The server did not know any of the entries named in a request that named none.
    #[error("CERR_UNKNOWNVAR from ntpd but no priors given.")]
    NoPriors,
    /// The list restarted from the beginning too often.
    #[error(
        "Giving up after 8 restarts from the beginning.\nWith high-traffic NTP servers, this can occur if the\nMRU list is limited to less than about 16 seconds' of\nentries.  See the 'mru' ntp.conf directive to adjust."
    )]
    TooManyRestarts,
    /// A request failed in a way retrieval cannot recover from.
    #[error("{0}")]
    Query(ClientError),
}

/// Most rows a classic daemon returns per request (`MRU_ROW_LIMIT`).
const MRU_ROW_LIMIT: u32 = 256;
/// Most fragments ntpq asks for (`MAXFRAGS`).
const MRU_MAX_FRAGS: u32 = 32;
/// Lost or incomplete responses in a row after which we stop (classic retries forever with
/// ever smaller requests; a dead server would keep it busy until Ctrl-C).
const MAX_MRU_FAILURES: u32 = 8;

/// Sans-IO MRU retrieval as classic ntpq's `collect_mru_list()` does it.
///
/// Flow: send `REQ_NONCE` (no data) and pass the reply data to [`Self::handle_nonce`], which
/// gives the first `READ_MRU` data (`nonce=<n>, frags=32[, parms]`); pass each `READ_MRU`
/// reply to [`Self::handle_response`] (or a failed request to [`Self::handle_failure`]) until
/// it says [`MruStep::Done`]. Follow-up requests name the newest entries already held
/// (`addr.N=..., last.N=0x...`) so the server continues after them.
#[derive(Debug, Clone)]
pub struct MruQuery {
    parms: String,
    nonce: Option<String>,
    nonce_uses: u32,
    cap_frags: bool,
    frags: u32,
    limit: u32,
    row_limit: u32,
    /// Entries, oldest first; a re-heard address moves to the end (classic's list head).
    entries: Vec<MruEntry>,
    updates: u32,
    now: Option<NtpTimestamp>,
    /// Entries named in the last request.
    priors: usize,
    restarts: u32,
    failures: u32,
}

impl MruQuery {
    /// A query with extra parameters already joined as `, name=value` pairs the way ntpq
    /// appends them (may be empty).
    pub fn new(parms: &str) -> Self {
        MruQuery {
            parms: parms.to_owned(),
            nonce: None,
            nonce_uses: 0,
            cap_frags: true,
            frags: MRU_MAX_FRAGS,
            limit: (3 * MRU_MAX_FRAGS).min(MRU_ROW_LIMIT),
            row_limit: MRU_ROW_LIMIT,
            entries: Vec::new(),
            updates: 0,
            now: None,
            priors: 0,
            restarts: 0,
            failures: 0,
        }
    }

    /// Take a `REQ_NONCE` reply (`nonce=<hex>\r\n`) and return the next `READ_MRU` request
    /// data.
    ///
    /// # Errors
    /// [`MruError::BadNonce`] when the reply does not start with `nonce=` or has nothing
    /// after it.
    pub fn handle_nonce(&mut self, data: &[u8]) -> Result<Vec<u8>, MruError> {
        let text = String::from_utf8_lossy(data).into_owned();
        let nonce = text
            .strip_prefix("nonce=")
            .filter(|rest| !rest.is_empty())
            .ok_or_else(|| MruError::BadNonce(text.clone()))?;
        self.nonce = Some(nonce.trim_end_matches(['\r', '\n']).to_owned());
        self.nonce_uses = 0;
        Ok(self.next_request())
    }

    fn next_request(&mut self) -> Vec<u8> {
        self.nonce_uses += 1;
        let nonce = self.nonce.clone().unwrap_or_default();
        let (what, n) = if self.cap_frags {
            ("frags", self.frags)
        } else {
            ("limit", self.limit)
        };
        let mut req = format!("nonce={nonce}, {what}={n}{}", self.parms);
        let mut priors = 0;
        for (i, e) in self.entries.iter().rev().enumerate() {
            let bits = e.last.to_bits();
            let piece = format!(
                ", addr.{i}={}, last.{i}=0x{:08x}.{:08x}",
                e.addr,
                bits >> 32,
                bits & 0xffff_ffff
            );
            // ntpq's request buffer holds 468 octets including the terminating NUL.
            if req.len() + piece.len() >= CTL_MAX_DATA_LEN {
                break;
            }
            req.push_str(&piece);
            priors += 1;
        }
        self.priors = priors;
        req.into_bytes()
    }

    fn follow_up(&mut self) -> MruStep {
        if self.nonce_uses >= 4 {
            return MruStep::FetchNonce;
        }
        MruStep::ReadMru(self.next_request())
    }

    /// Take one `READ_MRU` reply.
    ///
    /// Rows are read as ntpq reads them: the fields of row `ci` (`addr.ci`, `last.ci`,
    /// `first.ci`, `ct.ci`, `mv.ci`, `rs.ci`, in any order) complete it, then row `ci + 1`
    /// follows; anything else, including the server's random noise tags, is ignored. A
    /// `now=` item ends the list.
    ///
    /// # Errors
    /// [`MruError::Protocol`] for a `last.newest` before `now=` or inside a row.
    pub fn handle_response(&mut self, data: &[u8]) -> Result<MruStep, MruError> {
        self.failures = 0;
        let items = parse_varlist(data).unwrap_or_default();
        let mut ci: u32 = 0;
        let mut cur = PartialEntry::default();
        let mut have_now = false;
        for item in items {
            let val = item.value.clone().unwrap_or_default();
            let name = item.name.as_str();
            match name {
                "nonce" => {
                    self.nonce = Some(val);
                    self.nonce_uses = 0;
                    continue;
                }
                "now" => {
                    if let Some(ts) = parse_hex_timestamp(&val) {
                        self.now = Some(ts);
                        have_now = true;
                    }
                    continue;
                }
                "last.newest" => {
                    if !cur.is_empty() {
                        return Err(MruError::Protocol(format!(
                            "last.newest {val} before complete row"
                        )));
                    }
                    if !have_now {
                        return Err(MruError::Protocol(format!("last.newest {val} before now=")));
                    }
                    continue;
                }
                "last.older" | "addr.older" => continue,
                _ => {}
            }
            let Some((tag, index)) = name.split_once('.') else {
                continue;
            };
            if index.parse::<u32>().ok() != Some(ci) {
                continue;
            }
            match tag {
                "addr" => {
                    if let Some(a) = parse_netnum(&val) {
                        cur.addr = Some(a);
                    }
                }
                "last" => {
                    if let Some(ts) = parse_hex_timestamp(&val) {
                        cur.last = Some(ts);
                        // An interrupted retrieval ends at the newest row seen.
                        self.now = Some(ts);
                    }
                }
                "first" => cur.first = parse_hex_timestamp(&val).or(cur.first),
                "ct" => {
                    if let Some(c) = scan_int(&val).and_then(|c| u32::try_from(c).ok()) {
                        if c >= 1 {
                            cur.count = Some(c);
                        }
                    }
                }
                "mv" => {
                    if let Some(mv) = scan_int(&val) {
                        cur.mv = Some((mv & 0xff) as u8);
                    }
                }
                "rs" => {
                    if let Some(rs) = val
                        .strip_prefix("0x")
                        .and_then(|h| u16::from_str_radix(h, 16).ok())
                    {
                        cur.rs = Some(rs);
                    }
                }
                _ => {}
            }
            if let Some(entry) = cur.complete() {
                self.add(entry);
                cur = PartialEntry::default();
                ci += 1;
            }
        }
        if have_now {
            return Ok(MruStep::Done);
        }
        if self.cap_frags {
            self.frags = (self.frags + 1).min(MRU_MAX_FRAGS);
        } else {
            self.limit = (3 * MRU_MAX_FRAGS)
                .min(self.row_limit)
                .min((self.limit + 1).max(self.limit * 33 / 32));
        }
        Ok(self.follow_up())
    }

    /// A `READ_MRU` request failed; adapt as classic does and say what to send next.
    ///
    /// - `CERR_UNKNOWNVAR` after naming earlier entries: none of them is still in the
    ///   server's list, so they are dropped and the request repeated without them;
    /// - `CERR_BADVALUE`: ask for a row limit instead of a fragment count, then lower it;
    /// - lost or incomplete responses: ask for half as many fragments (rows).
    ///
    /// # Errors
    /// [`MruError::NoPriors`], [`MruError::TooManyRestarts`], or [`MruError::Query`] for
    /// any other error (and after repeated losses).
    pub fn handle_failure(&mut self, error: &ClientError) -> Result<MruStep, MruError> {
        match error {
            ClientError::Server(ErrorCode::UnknownVar) if self.priors > 0 => {
                let keep = self.entries.len().saturating_sub(self.priors);
                self.entries.truncate(keep);
                if self.entries.is_empty() {
                    self.restarts += 1;
                    if self.restarts > 8 {
                        return Err(MruError::TooManyRestarts);
                    }
                }
            }
            ClientError::Server(ErrorCode::UnknownVar) => return Err(MruError::NoPriors),
            ClientError::Server(ErrorCode::BadValue) => {
                if self.cap_frags {
                    self.cap_frags = false;
                } else {
                    self.row_limit = self.row_limit.saturating_sub(1).max(1);
                    self.limit = self.limit.min(self.row_limit);
                }
            }
            ClientError::Timeout | ClientError::Incomplete | ClientError::Truncated { .. } => {
                self.failures += 1;
                if self.failures > MAX_MRU_FAILURES {
                    return Err(MruError::Query(error.clone()));
                }
                if self.cap_frags {
                    self.frags = (self.frags / 2).max(2);
                } else {
                    self.limit = (self.limit / 2).max(2);
                }
            }
            other => return Err(MruError::Query(other.clone())),
        }
        Ok(self.follow_up())
    }

    fn add(&mut self, entry: MruEntry) {
        if let Some(pos) = self.entries.iter().position(|e| e.addr == entry.addr) {
            self.entries.remove(pos);
            self.updates += 1;
        }
        self.entries.push(entry);
    }

    /// Entries, oldest first (classic prints them newest first by default).
    pub fn entries(&self) -> &[MruEntry] {
        &self.entries
    }

    /// How many rows replaced an earlier one for the same address ("updates").
    pub fn updates(&self) -> u32 {
        self.updates
    }

    /// The server's `now=` (or the newest `last.N` seen, for a partial list).
    pub fn now(&self) -> Option<NtpTimestamp> {
        self.now
    }
}

/// `sscanf("%d")`: optional blanks and sign, then decimal digits.
fn scan_int(text: &str) -> Option<i64> {
    let t = text.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, t.get(1..)?),
        Some(b'+') => (false, t.get(1..)?),
        _ => (false, t),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    let v: i64 = digits.get(..end)?.parse().ok()?;
    Some(if neg { -v } else { v })
}

/// ntpq's `decodeuint`: `0x` hex, a leading `0` octal, else decimal.
pub fn parse_c_uint(text: &str) -> Option<u64> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if text.len() > 1 && text.starts_with('0') {
        u64::from_str_radix(text, 8).ok()
    } else {
        text.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ntp_wire::MacAlgorithm;

    fn reply(req: &[u8], status: u16, offset: u16, data: &[u8], more: bool) -> Vec<u8> {
        let mut h = ControlHeader::decode(req).unwrap();
        h.response = true;
        h.more = more;
        h.status = status;
        h.offset = offset;
        ControlMessage::new(h, data.to_vec())
            .unwrap()
            .to_vec()
            .unwrap()
    }

    #[test]
    fn sequence_numbers_start_at_one_and_increment() {
        let mut s = Session::new();
        for want in 1..=3u16 {
            let wire = s.begin(Request::new(Opcode::ReadStat, 0, vec![])).unwrap();
            assert_eq!(wire, [0x16, 0x01, 0, want as u8, 0, 0, 0, 0, 0, 0, 0, 0]);
        }
    }

    #[test]
    fn request_data_is_zero_padded_to_four() {
        let mut s = Session::new();
        let wire = s
            .begin(Request::new(Opcode::ReadVar, 0, b"stratum,offset".to_vec()))
            .unwrap();
        assert_eq!(wire.len(), 28);
        assert_eq!(&wire[26..], &[0, 0]);
    }

    #[test]
    fn authenticated_request_without_key_is_refused() {
        let mut s = Session::new();
        let err = s
            .begin(Request::new(Opcode::ReadOrdlistA, 0, vec![]))
            .unwrap_err();
        assert_eq!(err, ClientError::NoKey);
    }

    #[test]
    fn authenticated_request_carries_md5_mac_after_padding_to_eight() {
        let mut s = Session::new();
        s.set_key(Some(SymmetricKey::new(1, MacAlgorithm::Md5, b"vectorkey1")));
        let wire = s
            .begin(Request::new(Opcode::ReadOrdlistA, 0, vec![]))
            .unwrap();
        assert_eq!(wire.len(), 36);
        assert_eq!(&wire[16..20], &[0, 0, 0, 1]);
        let key = SymmetricKey::new(1, MacAlgorithm::Md5, b"vectorkey1");
        assert!(key.verify(&wire[..16], &wire[20..]));
    }

    #[test]
    fn fragments_in_any_order_complete_the_response() {
        let mut s = Session::new();
        let req = s.begin(Request::new(Opcode::ReadVar, 5, vec![])).unwrap();
        assert_eq!(s.wait_time(), DEFAULT_PRIMARY_TIMEOUT);
        assert_eq!(
            s.handle_datagram(&reply(&req, 0x961a, 4, b"5678", false))
                .unwrap(),
            Received::Pending
        );
        assert_eq!(s.wait_time(), DEFAULT_SECONDARY_TIMEOUT);
        let Received::Complete(done) = s
            .handle_datagram(&reply(&req, 0x961a, 0, b"1234", true))
            .unwrap()
        else {
            panic!("complete")
        };
        assert_eq!(done.data, b"12345678");
        assert_eq!(done.status, 0x961a);
        assert!(!s.in_progress());
    }

    #[test]
    fn wrong_sequence_is_ignored_not_fatal() {
        let mut s = Session::new();
        let req = s.begin(Request::new(Opcode::ReadVar, 0, vec![])).unwrap();
        let mut stale = reply(&req, 0, 0, b"x=1", false);
        stale[3] = 99;
        assert_eq!(s.handle_datagram(&stale).unwrap(), Received::Pending);
        assert_eq!(s.ignored().len(), 1);
        assert!(s.in_progress());
    }

    #[test]
    fn server_error_ends_the_exchange() {
        let mut s = Session::new();
        let req = s.begin(Request::new(Opcode::ReadVar, 0, vec![])).unwrap();
        let mut err = reply(&req, 0x0500, 0, b"", false);
        err[1] |= 0x40;
        assert_eq!(
            s.handle_datagram(&err).unwrap_err(),
            ClientError::Server(ErrorCode::UnknownVar)
        );
        assert!(!s.in_progress());
    }

    #[test]
    fn timeout_retries_once_with_same_sequence_then_fails() {
        let mut s = Session::new();
        let first = s.begin(Request::new(Opcode::ReadVar, 0, vec![])).unwrap();
        let again = s.handle_timeout().unwrap();
        assert_eq!(first, again);
        assert_eq!(s.handle_timeout().unwrap_err(), ClientError::Timeout);
        assert_eq!(s.handle_timeout().unwrap_err(), ClientError::Idle);
    }

    #[test]
    fn timeout_after_partial_data_bumps_the_sequence() {
        let mut s = Session::new();
        let req = s.begin(Request::new(Opcode::ReadVar, 0, vec![])).unwrap();
        s.handle_datagram(&reply(&req, 0, 0, b"1234", true))
            .unwrap();
        let again = s.handle_timeout().unwrap();
        assert_eq!(u16::from_be_bytes([again[2], again[3]]), 2);
        s.handle_datagram(&reply(&again, 0, 0, b"1234", true))
            .unwrap();
        assert_eq!(s.handle_timeout().unwrap_err(), ClientError::Incomplete);
    }

    #[test]
    fn version_setting_goes_into_requests() {
        let mut s = Session::new();
        s.set_version(4);
        let wire = s.begin(Request::new(Opcode::ReadStat, 0, vec![])).unwrap();
        assert_eq!(wire[0], 0x26);
    }

    #[test]
    fn hex_timestamps_parse_and_junk_does_not() {
        assert_eq!(
            parse_hex_timestamp("0xeeb22828.7d849775")
                .unwrap()
                .to_bits(),
            0xeeb2_2828_7d84_9775
        );
        assert!(parse_hex_timestamp("eeb22828.7d849775").is_none());
        assert!(parse_hex_timestamp("0x.1").is_none());
        assert!(parse_hex_timestamp("0x123456789.0").is_none());
    }

    #[test]
    fn c_uint_follows_decodeuint_bases() {
        assert_eq!(parse_c_uint("0x390"), Some(0x390));
        assert_eq!(parse_c_uint("017"), Some(15));
        assert_eq!(parse_c_uint("0"), Some(0));
        assert_eq!(parse_c_uint("36"), Some(36));
        assert_eq!(parse_c_uint("-1"), None);
    }

    #[test]
    fn mru_first_request_names_nonce_and_frags() {
        let mut q = MruQuery::new("");
        let data = q
            .handle_nonce(b"nonce=eeb22846aa35b1cb603fdca6\r\n")
            .unwrap();
        assert_eq!(data, b"nonce=eeb22846aa35b1cb603fdca6, frags=32");
    }

    const ROW0: &[u8] = b"nonce=bb, addr.0=10.0.0.1:123, last.0=0x00000002.00000000, \
        first.0=0x00000001.00000000, ct.0=2, mv.0=36, rs.0=0x0, xyz.0=1";

    #[test]
    fn mru_continuation_names_newest_entries_and_completes_on_now() {
        let mut q = MruQuery::new(", mincount=2");
        q.handle_nonce(b"nonce=aa").unwrap();
        let step = q.handle_response(ROW0).unwrap();
        assert_eq!(
            step,
            MruStep::ReadMru(
                b"nonce=bb, frags=32, mincount=2, addr.0=10.0.0.1:123, last.0=0x00000002.00000000"
                    .to_vec()
            )
        );
        let step = q
            .handle_response(
                b"nonce=cc, addr.0=10.0.0.1:123, last.0=0x00000003.00000000, \
                  first.0=0x00000001.00000000, ct.0=3, mv.0=36, rs.0=0x390, \
                  now=0x00000004.00000000, last.newest=0x00000003.00000000",
            )
            .unwrap();
        assert_eq!(step, MruStep::Done);
        assert_eq!(q.entries().len(), 1);
        assert_eq!(q.updates(), 1);
        let e = &q.entries()[0];
        assert_eq!(
            (e.count, e.mode(), e.version(), e.restrict),
            (3, 4, 4, 0x390)
        );
        assert_eq!(q.now().unwrap().to_bits(), 4 << 32);
    }

    #[test]
    fn mru_rows_out_of_sequence_are_ignored() {
        let mut q = MruQuery::new("");
        q.handle_nonce(b"nonce=aa").unwrap();
        let step = q
            .handle_response(
                b"addr.1=10.0.0.1:123, last.1=0x00000002.00000000, \
                  first.1=0x00000001.00000000, ct.1=2, mv.1=36, rs.1=0x0, now=0x00000004.00000000",
            )
            .unwrap();
        assert_eq!(step, MruStep::Done);
        assert!(q.entries().is_empty());
    }

    #[test]
    fn mru_unknown_priors_are_dropped_and_the_request_repeated() {
        let mut q = MruQuery::new("");
        q.handle_nonce(b"nonce=aa").unwrap();
        q.handle_response(ROW0).unwrap();
        let step = q
            .handle_failure(&ClientError::Server(ErrorCode::UnknownVar))
            .unwrap();
        assert_eq!(step, MruStep::ReadMru(b"nonce=bb, frags=32".to_vec()));
        assert_eq!(
            q.handle_failure(&ClientError::Server(ErrorCode::UnknownVar)),
            Err(MruError::NoPriors)
        );
    }

    #[test]
    fn mru_lost_responses_halve_the_fragment_count() {
        let mut q = MruQuery::new("");
        q.handle_nonce(b"nonce=aa").unwrap();
        let step = q.handle_failure(&ClientError::Timeout).unwrap();
        assert_eq!(step, MruStep::ReadMru(b"nonce=aa, frags=16".to_vec()));
        let step = q
            .handle_failure(&ClientError::Server(ErrorCode::BadValue))
            .unwrap();
        assert_eq!(step, MruStep::ReadMru(b"nonce=aa, limit=96".to_vec()));
        for _ in 0..10 {
            if q.handle_failure(&ClientError::Timeout).is_err() {
                return;
            }
        }
        panic!("retrieval never gave up on a silent server");
    }

    #[test]
    fn mru_nonce_reply_must_start_with_nonce() {
        let mut q = MruQuery::new("");
        assert_eq!(
            q.handle_nonce(b"foo=1").unwrap_err(),
            MruError::BadNonce("foo=1".into())
        );
    }

    #[test]
    fn truncated_fragment_retries_under_a_new_sequence_then_fails() {
        let mut s = Session::new();
        let req = s.begin(Request::new(Opcode::ReadVar, 0, vec![])).unwrap();
        let mut bad = reply(&req, 0, 0, b"12345678", false);
        bad.truncate(16);
        let Received::Retry {
            datagram,
            count,
            available,
        } = s.handle_datagram(&bad).unwrap()
        else {
            panic!("expected a retry")
        };
        assert_eq!((count, available), (8, 4));
        assert_eq!(u16::from_be_bytes([datagram[2], datagram[3]]), 2);
        let mut bad2 = reply(&datagram, 0, 0, b"12345678", false);
        bad2.truncate(16);
        assert_eq!(
            s.handle_datagram(&bad2).unwrap_err(),
            ClientError::Truncated {
                count: 8,
                available: 4
            }
        );
    }

    #[test]
    fn skipped_sequence_is_not_reused() {
        let mut s = Session::new();
        s.skip_sequence();
        let wire = s.begin(Request::new(Opcode::ReadStat, 0, vec![])).unwrap();
        assert_eq!(wire[3], 2);
    }

    proptest::proptest! {
        #[test]
        fn any_datagram_is_handled_without_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
        ) {
            let mut s = Session::new();
            let req = s.begin(Request::new(Opcode::ReadVar, 0, vec![])).unwrap();
            let mut d = bytes.clone();
            // Half the time, make it look like an answer to our request.
            if d.len() >= 4 && d[0] & 1 == 0 {
                d[0] = 0x16;
                d[1] = 0x82;
                d[2] = req[2];
                d[3] = req[3];
            }
            let _ = s.handle_datagram(&d);
            let _ = s.handle_datagram(&bytes);
        }

        #[test]
        fn any_mru_text_is_handled_without_panic(
            text in "[a-z.0-9=, x\"\r\n]{0,300}",
        ) {
            let mut q = MruQuery::new("");
            let _ = q.handle_nonce(text.as_bytes());
            let _ = q.handle_response(text.as_bytes());
            let _ = q.handle_failure(&ClientError::Server(ErrorCode::UnknownVar));
        }
    }
}
