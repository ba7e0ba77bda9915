//! The daemon's mode 6 responder: sans-IO, one request datagram in, reply datagrams out.
//!
//! It follows classic 4.2.8p18 `process_control()`: the same drops and format errors
//! ([`validate_request`]), the same MAC handling (a trailer is recognised by length; the key
//! must be trusted for the source and the digest must verify; replies to a verified request
//! carry a MAC with the same key), the same opcode table and error codes, the same variable
//! tables and fragment boundaries (see [`super::vars`]).
//!
//! Policy, all in [`Responder::handle`]:
//! - `ignore` or `noquery` for the source: no reply at all. The daemon passes `noquery` for
//!   every non-loopback source unless the configuration allows queries (default loopback
//!   only); the responder applies the flags it is given.
//! - Opcodes classic marks AUTH (WRITEVAR, WRITECLOCK, SETTRAP, CONFIGURE, SAVECONFIG,
//!   READ_ORDLIST_A, UNSETTRAP) need a MAC that verifies with the `controlkey`, else
//!   `CERR_PERMISSION`.
//! - **Not offered**: traps (SETTRAP, UNSETTRAP) and remote configuration (CONFIGURE,
//!   SAVECONFIG). They get `CERR_PERMISSION` even with the control key, so nothing is revealed
//!   to an unauthenticated sender and nothing changes for an authenticated one. WRITECLOCK is
//!   `CERR_PERMISSION` as in classic. WRITEVAR can set only the system `leap` (as classic's
//!   table says; classic itself answers `CERR_UNSPEC`), through [`ControlData::write_leap`],
//!   and is refused with `CERR_PERMISSION` under `nomodify` (classic does not check it there).
//! - READ_MRU needs a nonce from REQ_NONCE: a keyed hash of the source address, port and a
//!   monotonic time, valid for 16 s. Without a valid nonce there is no reply at all (classic).
//!   `nomrulist` gives `CERR_PERMISSION`.
//! - **No amplification** (`within_budget`): to a source that is neither loopback nor
//!   authenticated, the bytes of all reply datagrams never exceed the request's bytes, except
//!   READ_MRU after a valid nonce (the nonce proves the source receives at its address). A
//!   larger reply is replaced by a 12-octet `CERR_PERMISSION` error. A remote unauthenticated
//!   `mrulist` therefore needs a REQ_NONCE request padded to at least 44 octets.
//!
//! Error replies are 12 octets (plus the MAC for a verified request) with offset 0, where
//! classic leaves the offset of the last fragment it sent to anyone (clients ignore it).

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use ntp_wire::mode6::{
    auth_parts, encode_assoc_list, response_messages, validate_request, AssocStatus, ControlHeader,
    ControlMessage, ErrorCode, Fragment, Opcode, RequestRejection, SystemStatus, VarListWriter,
    CTL_MAX_DATA_LEN,
};
use ntp_wire::{MacAlgorithm, SymmetricKey};

use super::vars::{
    extra_var_name, put_clock_var, put_interface_entry, put_mru_entry, put_noise, put_peer_var,
    put_restrict_entry, put_sys_var, ClassicNoise, ClockVar, ClockVars, InterfaceEntry, MruList,
    PeerVar, PeerVars, ResponseNoise, RestrictEntry, SysVar, SystemVars, DEFAULT_CLOCK_VARS,
    DEFAULT_PEER_VARS, DEFAULT_SYS_VARS,
};

/// Most rows one READ_MRU reply may carry (`MRU_ROW_LIMIT`).
pub const MRU_ROW_LIMIT: u32 = 256;
/// Most fragments one READ_MRU reply may use (`MRU_FRAGS_LIMIT`).
pub const MRU_FRAGS_LIMIT: u16 = 128;
/// Seconds a nonce stays valid.
pub const NONCE_LIFETIME_SECS: u64 = 16;
/// Longest value `ctl_getitem()` accepts (its buffer is 128 octets with the NUL).
const MAX_VALUE_LEN: usize = 127;
/// How many `addr.N`/`last.N` pairs READ_MRU reads.
const MRU_PRIORS: usize = 16;

/// The restrict flags of the source that matter to mode 6.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Restrictions {
    /// `ignore`: no reply at all.
    pub ignore: bool,
    /// `noquery`: no reply at all (the daemon sets it for non-loopback sources by default).
    pub noquery: bool,
    /// `nomodify`: WRITEVAR refused.
    pub nomodify: bool,
    /// `nomrulist`: READ_MRU refused with `CERR_PERMISSION`.
    pub nomrulist: bool,
}

/// What the daemon knows about one received request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestMeta {
    /// Source address and port.
    pub source: SocketAddr,
    /// True only when the source address is loopback AND the datagram arrived on a loopback
    /// address (CVE-2014-9298).
    pub loopback: bool,
    /// The source's restrict flags.
    pub restrict: Restrictions,
    /// A monotonic time (any fixed origin): nonces are issued and checked with it.
    pub monotonic: Duration,
}

/// The daemon refused a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("write refused by the daemon")]
pub struct WriteRefused;

/// What the responder reads from (and may write to) the daemon.
pub trait ControlData {
    /// The system status word (its leap bits also go into every reply header).
    fn system_status(&self) -> SystemStatus;
    /// All system variables.
    fn system(&self) -> SystemVars;
    /// Associations and their status words, in the order READSTAT lists them.
    fn associations(&self) -> Vec<AssocStatus>;
    /// One association's variables, `None` when it does not exist.
    fn peer(&self, assoc_id: u16) -> Option<PeerVars>;
    /// A reference clock's variables, `None` when `assoc_id` is not a reference clock.
    fn clock(&self, assoc_id: u16) -> Option<ClockVars>;
    /// The MRU list (oldest entry first) and the current time.
    fn mru(&self) -> MruList;
    /// Local addresses, in interface-number order.
    fn interfaces(&self) -> Vec<InterfaceEntry>;
    /// Restrictions: IPv4 then IPv6, each in classic list order.
    fn restrictions(&self) -> Vec<RestrictEntry>;
    /// A trusted key with this id usable by `source`, for checking and making MACs.
    fn trusted_key(&self, _key_id: u32, _source: IpAddr) -> Option<SymmetricKey> {
        None
    }
    /// The `controlkey` id, `None` when none is configured (writes are then impossible).
    fn control_key(&self) -> Option<u32> {
        None
    }
    /// Set the system leap indicator (WRITEVAR `leap=`); 0..=3, already checked.
    ///
    /// # Errors
    /// [`WriteRefused`] when the daemon does not allow it; the reply is `CERR_PERMISSION`.
    fn write_leap(&mut self, _leap: u8) -> Result<(), WriteRefused> {
        Err(WriteRefused)
    }
    /// An authenticated read of association `assoc_id`'s variables (0 = system): classic
    /// resets that event counter.
    fn events_read(&mut self, _assoc_id: u16) {}
}

/// How the request's MAC turned out.
#[derive(Debug, Clone)]
enum Auth {
    /// No trailer.
    None,
    /// A trailer that does not verify with a trusted key.
    Failed,
    /// Verified with this key.
    Ok(SymmetricKey),
}

impl Auth {
    fn key(&self) -> Option<&SymmetricKey> {
        match self {
            Auth::Ok(k) => Some(k),
            Auth::None | Auth::Failed => None,
        }
    }
}

/// What one handler decided.
#[derive(Debug)]
enum Answer {
    /// No reply.
    Silent,
    /// A 12-octet error reply.
    Error(ErrorCode),
    /// Data reply with this status word.
    Data {
        status: u16,
        fragments: Vec<Fragment>,
    },
}

/// The mode 6 responder. Holds the nonce secret and the noise source; everything else comes in
/// with each request.
pub struct Responder {
    nonce_secret: [u8; 16],
    noise: Box<dyn ResponseNoise + Send>,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("nonce_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Responder {
    /// A responder with a random `nonce_secret` and `noise_seed` from the caller (OS
    /// randomness), using [`ClassicNoise`].
    pub fn new(nonce_secret: [u8; 16], noise_seed: u64) -> Self {
        Self::with_noise(nonce_secret, Box::new(ClassicNoise::new(noise_seed)))
    }

    /// A responder with another noise source (e.g. [`super::vars::NoNoise`]).
    pub fn with_noise(nonce_secret: [u8; 16], noise: Box<dyn ResponseNoise + Send>) -> Self {
        Responder {
            nonce_secret,
            noise,
        }
    }

    /// Replace the nonce secret (classic rotates its salt hourly); nonces issued under the
    /// old one stop working.
    pub fn set_nonce_secret(&mut self, secret: [u8; 16]) {
        self.nonce_secret = secret;
    }

    /// Answer one request datagram: the reply datagrams, in sending order (none to drop it).
    pub fn handle(
        &mut self,
        request: &[u8],
        meta: &RequestMeta,
        data: &mut impl ControlData,
    ) -> Vec<Vec<u8>> {
        if meta.restrict.ignore || meta.restrict.noquery {
            return Vec::new();
        }
        let leap = data.system_status().leap & 3;
        let req = match validate_request(request) {
            Ok(m) => m,
            Err(RequestRejection::Drop(_)) => return Vec::new(),
            // Classic rejects the format before looking at any MAC: the error is unsigned.
            Err(RequestRejection::Reply { header, code }) => {
                let reply = error_datagram(&header, leap, code, None);
                return within_budget(request.len(), meta, false, false, &header, leap, reply);
            }
        };
        let auth = authenticate(request, meta, data);
        let mut nonce_ok = false;
        let answer = self.dispatch(&req, &auth, meta, data, &mut nonce_ok);
        let key = auth.key();
        let reply = match answer {
            Answer::Silent => Vec::new(),
            Answer::Error(code) => error_datagram(&req.header, leap, code, key),
            Answer::Data { status, fragments } => {
                data_datagrams(&req.header, leap, status, &fragments, key).unwrap_or_else(|| {
                    // Only a response beyond 65535 octets fails to encode: "no resource".
                    error_datagram(&req.header, leap, ErrorCode::Permission, key)
                })
            }
        };
        within_budget(
            request.len(),
            meta,
            key.is_some(),
            nonce_ok,
            &req.header,
            leap,
            reply,
        )
    }

    fn dispatch(
        &mut self,
        req: &ControlMessage,
        auth: &Auth,
        meta: &RequestMeta,
        data: &mut impl ControlData,
        nonce_ok: &mut bool,
    ) -> Answer {
        let op = req.header.opcode;
        let assoc = req.header.assoc_id;
        let known = !matches!(op, Opcode::AsyncMsg | Opcode::Unknown(_));
        if !known {
            return Answer::Error(ErrorCode::BadOpcode);
        }
        if op.requires_auth() {
            let control_ok = match (auth.key(), data.control_key()) {
                (Some(k), Some(ctl)) => k.id == ctl,
                _ => false,
            };
            if !control_ok {
                return Answer::Error(ErrorCode::Permission);
            }
        }
        let authed = auth.key().is_some();
        match op {
            Opcode::Unspec => unspec(assoc, data),
            Opcode::ReadStat => read_status(assoc, authed, data),
            Opcode::ReadVar => read_variables(&req.data, assoc, authed, data),
            Opcode::WriteVar => write_variables(&req.data, assoc, meta, data),
            Opcode::ReadClock => read_clock(&req.data, assoc, data),
            Opcode::ReadMru => self.read_mru(&req.data, meta, data, nonce_ok),
            Opcode::ReqNonce => {
                let mut w = VarListWriter::new();
                w.put_unquoted("nonce", &self.make_nonce(meta));
                Answer::Data {
                    status: 0,
                    fragments: w.finish(),
                }
            }
            Opcode::ReadOrdlistA => self.read_ordlist(&req.data, data),
            // WRITECLOCK is a permission error in classic too; traps and remote
            // configuration are not offered (module docs).
            Opcode::WriteClock
            | Opcode::SetTrap
            | Opcode::UnsetTrap
            | Opcode::Configure
            | Opcode::SaveConfig => Answer::Error(ErrorCode::Permission),
            Opcode::AsyncMsg | Opcode::Unknown(_) => Answer::Error(ErrorCode::BadOpcode),
        }
    }

    /// `%08x%08x%08x`: issue time (seconds, fraction) and the keyed hash.
    fn make_nonce(&self, meta: &RequestMeta) -> String {
        let (secs, frac) = fixed_32_32(meta.monotonic);
        let hash = self.nonce_hash(secs, frac, meta.source);
        format!("{secs:08x}{frac:08x}{hash:08x}")
    }

    fn nonce_hash(&self, secs: u32, frac: u32, source: SocketAddr) -> u32 {
        // Classic: MD5(salt, time, address, port, salt), first 32 bits.
        let key = SymmetricKey::new(0, MacAlgorithm::Md5, &self.nonce_secret);
        let mut msg = Vec::with_capacity(48);
        msg.extend_from_slice(&secs.to_be_bytes());
        msg.extend_from_slice(&frac.to_be_bytes());
        match source.ip() {
            IpAddr::V4(a) => msg.extend_from_slice(&a.octets()),
            IpAddr::V6(a) => msg.extend_from_slice(&a.octets()),
        }
        msg.extend_from_slice(&source.port().to_be_bytes());
        msg.extend_from_slice(&self.nonce_secret);
        let digest = key.digest(&msg);
        let first: [u8; 4] = digest
            .as_bytes()
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .unwrap_or_default();
        u32::from_be_bytes(first)
    }

    fn nonce_valid(&self, text: &[u8], meta: &RequestMeta) -> bool {
        let mut rest = text;
        let mut parts = [0u32; 3];
        for p in &mut parts {
            match scan_hex(rest, 8) {
                Some((v, r)) => {
                    *p = v;
                    rest = r;
                }
                None => return false,
            }
        }
        let [secs, frac, supposed] = parts;
        let (now_s, now_f) = fixed_32_32(meta.monotonic);
        let now = (u64::from(now_s) << 32) | u64::from(now_f);
        let issued = (u64::from(secs) << 32) | u64::from(frac);
        // Classic: the l_fp difference, so a nonce from the future wraps to a huge age.
        let age_secs = now.wrapping_sub(issued) >> 32;
        supposed == self.nonce_hash(secs, frac, meta.source) && age_secs < NONCE_LIFETIME_SECS
    }

    /// Classic `read_mru_list()`.
    fn read_mru(
        &mut self,
        req: &[u8],
        meta: &RequestMeta,
        data: &mut impl ControlData,
        nonce_ok: &mut bool,
    ) -> Answer {
        if meta.restrict.nomrulist {
            return Answer::Error(ErrorCode::Permission);
        }
        let Some(p) = MruParams::parse(req) else {
            return Answer::Silent;
        };
        let Some(nonce) = &p.nonce else {
            return Answer::Silent;
        };
        if !self.nonce_valid(nonce, meta) {
            return Answer::Silent;
        }
        *nonce_ok = true;
        let mut frags = p.frags;
        let mut limit = p.limit;
        if (frags == 0 && !(0 < limit && limit <= MRU_ROW_LIMIT)) || frags > MRU_FRAGS_LIMIT {
            return Answer::Error(ErrorCode::BadValue);
        }
        if frags != 0 && limit == 0 {
            limit = u32::MAX;
        } else if limit != 0 && frags == 0 {
            frags = MRU_FRAGS_LIMIT;
        }
        let list = data.mru();
        let laddr = p.laddr.and_then(|a| {
            // Classic filters only when the address is one of ours (`getinterface()`).
            data.interfaces()
                .iter()
                .any(|i| i.addr.ip() == a.ip())
                .then_some(a.ip())
        });
        let mut w = VarListWriter::new();
        // Index into `list.entries` (oldest first) of the next entry to send.
        let mut next = 0usize;
        if p.priors > 0 {
            let start = p
                .addr
                .iter()
                .zip(&p.last)
                .take(p.priors)
                .find_map(|(a, l)| {
                    let a = (*a)?;
                    list.entries
                        .iter()
                        .position(|e| e.addr == a)
                        .filter(|&i| list.entries.get(i).is_some_and(|e| e.last == *l))
                });
            let Some(start) = start else {
                return Answer::Error(ErrorCode::UnknownVar);
            };
            let Some(e) = list.entries.get(start) else {
                return Answer::Error(ErrorCode::UnknownVar);
            };
            w.put_timestamp("last.older", e.last);
            w.put_sockaddr("addr.older", e.addr);
            next = if limit > 1 { start + 1 } else { start };
        }
        w.put_unquoted("nonce", &self.make_nonce(meta));
        let now_secs = (list.now >> 32) as u32;
        let mut count: u32 = 0;
        let mut prior_last = None;
        while let Some(e) = list.entries.get(next) {
            if fragments_exhausted(&w, frags) || count >= limit {
                break;
            }
            next += 1;
            if e.count < p.mincount
                || (p.resall != 0 && u32::from(p.resall) != (u32::from(p.resall) & e.restrict))
                || (p.resany != 0 && u32::from(p.resany) & e.restrict == 0)
                || (p.maxlstint > 0 && now_secs.wrapping_sub((e.last >> 32) as u32) > p.maxlstint)
                || laddr.is_some_and(|l| e.local != Some(l))
            {
                continue;
            }
            put_mru_entry(&mut w, e, u64::from(count), self.noise.as_mut());
            if count == 0 {
                put_noise(&mut w, self.noise.as_mut(), 0);
            }
            count += 1;
            prior_last = Some(e.last);
        }
        if next >= list.entries.len() {
            if count > 1 {
                put_noise(&mut w, self.noise.as_mut(), u64::from(count - 1));
            }
            w.put_timestamp("now", list.now);
            if let Some(last) = prior_last {
                w.put_timestamp("last.newest", last);
            }
        }
        Answer::Data {
            status: 0,
            fragments: w.finish(),
        }
    }

    /// Classic `read_ordlist()`: `ifstats` (empty data too) or `addr_restrictions`.
    fn read_ordlist(&mut self, req: &[u8], data: &mut impl ControlData) -> Answer {
        let mut w = VarListWriter::new();
        if req.is_empty() || req == b"ifstats" {
            for e in data.interfaces() {
                put_interface_entry(&mut w, &e, self.noise.as_mut());
            }
        } else if req == b"addr_restrictions" {
            for (i, e) in data.restrictions().iter().enumerate() {
                put_restrict_entry(&mut w, e, i as u64, self.noise.as_mut());
            }
        } else {
            return Answer::Error(ErrorCode::UnknownVar);
        }
        Answer::Data {
            status: 0,
            fragments: w.finish(),
        }
    }
}

/// The no-amplification choke point: the reply as built, or a 12-octet `CERR_PERMISSION`
/// when the source is neither loopback nor authenticated, has not proven its address with an
/// MRU nonce, and the reply would be longer (in total) than the request.
fn within_budget(
    request_len: usize,
    meta: &RequestMeta,
    authenticated: bool,
    nonce_proven: bool,
    header: &ControlHeader,
    leap: u8,
    reply: Vec<Vec<u8>>,
) -> Vec<Vec<u8>> {
    if meta.loopback || authenticated || nonce_proven {
        return reply;
    }
    let total: usize = reply.iter().map(Vec::len).sum();
    if total <= request_len {
        reply
    } else {
        error_datagram(header, leap, ErrorCode::Permission, None)
    }
}

/// Check the request's MAC as classic does: trailer by length, key trusted for the source,
/// digest verified.
fn authenticate(request: &[u8], meta: &RequestMeta, data: &impl ControlData) -> Auth {
    let Ok(Some(parts)) = auth_parts(request) else {
        return Auth::None;
    };
    match data.trusted_key(parts.key_id, meta.source.ip()) {
        Some(key) if key.id == parts.key_id && key.verify(parts.covered, parts.digest) => {
            Auth::Ok(key)
        }
        _ => Auth::Failed,
    }
}

fn sign(msg: &mut ControlMessage, key: Option<&SymmetricKey>) -> Option<()> {
    if let Some(k) = key {
        msg.sign(k.id, |c| k.digest(c).as_bytes().to_vec()).ok()?;
    }
    Some(())
}

/// A 12-octet error reply (plus MAC when `key` is given).
fn error_datagram(
    request: &ControlHeader,
    leap: u8,
    code: ErrorCode,
    key: Option<&SymmetricKey>,
) -> Vec<Vec<u8>> {
    let header = ControlHeader::error_reply(request, leap, code, 0);
    let Ok(mut msg) = ControlMessage::new(header, Vec::new()) else {
        return Vec::new();
    };
    if sign(&mut msg, key).is_none() {
        return Vec::new();
    }
    msg.to_vec().map(|v| vec![v]).unwrap_or_default()
}

fn data_datagrams(
    request: &ControlHeader,
    leap: u8,
    status: u16,
    fragments: &[Fragment],
    key: Option<&SymmetricKey>,
) -> Option<Vec<Vec<u8>>> {
    let msgs = response_messages(request, leap, status, fragments).ok()?;
    msgs.into_iter()
        .map(|mut m| {
            sign(&mut m, key)?;
            m.to_vec().ok()
        })
        .collect()
}

/// True when the writer has used up `frags` fragments: classic's `res_frags >= frags`, where
/// `res_frags` is one more than the fragments already sent with M set.
fn fragments_exhausted(w: &VarListWriter, frags: u16) -> bool {
    // Every text fragment sent with M set holds at least 466 octets (a piece is only split,
    // or followed by a flush, when fewer than 3 octets would stay free), so len / 466 bounds
    // the count from above; the exact count (a clone of the writer) is needed only near it.
    let upper = w.len() / (CTL_MAX_DATA_LEN - 2);
    if upper + 1 < usize::from(frags) {
        return false;
    }
    let flushed = w.clone().finish().len().saturating_sub(1);
    flushed + 1 >= usize::from(frags)
}

/// 32.32 fixed point of a duration (seconds wrap at 2^32).
fn fixed_32_32(d: Duration) -> (u32, u32) {
    let secs = d.as_secs() as u32;
    let frac = ((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000) as u32;
    (secs, frac)
}

/// C `isspace()`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// One item of a request, classic `ctl_getitem()`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// The name is entry `index` of the table; `value` is the text after `=`, if any.
    Found {
        index: usize,
        value: Option<Vec<u8>>,
    },
    /// The name is not in the table (the reader did not move).
    Unknown,
}

/// Classic `ctl_getitem()` (4.2.8p18, after the Bug 3008 rework) over the request data.
#[derive(Debug, Clone)]
struct ItemReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> ItemReader<'a> {
    fn new(data: &'a [u8]) -> Self {
        ItemReader { data, pos: 0 }
    }

    /// The next item looked up with `lookup` (name octets → table index), or `None` at the
    /// end of the data or for a value longer than classic's buffer (which ends the request).
    fn next(&mut self, lookup: impl Fn(&[u8]) -> Option<usize>) -> Option<Item> {
        let data = self.data;
        while data
            .get(self.pos)
            .is_some_and(|&b| b == b',' || is_space(b))
        {
            self.pos += 1;
        }
        let start = self.pos;
        if start >= data.len() {
            return None;
        }
        let rest = data.get(start..).unwrap_or_default();
        // The key runs to '=' or ',' and is cut at its first white space.
        let key_len = rest
            .iter()
            .position(|&b| b == b'=' || b == b',')
            .unwrap_or(rest.len());
        let key_part = rest.get(..key_len).unwrap_or_default();
        let key = key_part
            .iter()
            .position(|&b| is_space(b))
            .map_or(key_part, |n| key_part.get(..n).unwrap_or_default());
        let mut after = start + key_len;
        let mut value = None;
        if data.get(after) == Some(&b'=') {
            after += 1;
            while data.get(after).is_some_and(|&b| is_space(b)) {
                after += 1;
            }
            let vrest = data.get(after..).unwrap_or_default();
            let vlen = vrest.iter().position(|&b| b == b',').unwrap_or(vrest.len());
            if vlen > MAX_VALUE_LEN {
                return None;
            }
            let mut v = vrest.get(..vlen).unwrap_or_default().to_vec();
            while v.last().is_some_and(|&b| is_space(b)) {
                v.pop();
            }
            value = Some(v);
            after += vlen;
        }
        if data.get(after) == Some(&b',') {
            after += 1;
        }
        match lookup(key) {
            Some(index) => {
                self.pos = after;
                Some(Item::Found { index, value })
            }
            None => Some(Item::Unknown),
        }
    }
}

fn lookup_in<T: Copy>(
    table: &'static [T],
    name: fn(T) -> &'static str,
) -> impl Fn(&[u8]) -> Option<usize> {
    move |key| table.iter().position(|&v| name(v).as_bytes() == key)
}

/// Which table entries a request names; `None` when it names none (default list).
fn wanted(flags: &[bool]) -> bool {
    flags.iter().any(|&b| b)
}

fn unspec(assoc: u16, data: &impl ControlData) -> Answer {
    let status = if assoc == 0 {
        data.system_status().to_u16()
    } else {
        match data.peer(assoc) {
            Some(p) => p.status.to_u16(),
            None => return Answer::Error(ErrorCode::BadAssoc),
        }
    };
    Answer::Data {
        status,
        fragments: VarListWriter::new().finish(),
    }
}

/// Classic `read_status()`.
fn read_status(assoc: u16, authed: bool, data: &mut impl ControlData) -> Answer {
    if assoc == 0 {
        let status = data.system_status().to_u16();
        let list = data.associations();
        let mut w = VarListWriter::new();
        // Classic sends the list in chunks of at most 468 octets (117 entries).
        for chunk in list.chunks(CTL_MAX_DATA_LEN / 4) {
            w.put_binary(&encode_assoc_list(chunk));
        }
        return Answer::Data {
            status,
            fragments: w.finish(),
        };
    }
    let Some(p) = data.peer(assoc) else {
        return Answer::Error(ErrorCode::BadAssoc);
    };
    if authed {
        data.events_read(assoc);
    }
    let mut w = VarListWriter::new();
    for &v in DEFAULT_PEER_VARS {
        put_peer_var(&mut w, v, &p);
    }
    Answer::Data {
        status: p.status.to_u16(),
        fragments: w.finish(),
    }
}

/// Classic `read_variables()`: `read_sysvars()` or `read_peervars()`.
fn read_variables(req: &[u8], assoc: u16, authed: bool, data: &mut impl ControlData) -> Answer {
    let mut w = VarListWriter::new();
    if assoc == 0 {
        let status = data.system_status().to_u16();
        if authed {
            data.events_read(0);
        }
        let mut wants = vec![false; SysVar::ALL.len()];
        let mut r = ItemReader::new(req);
        let lookup = lookup_in(SysVar::ALL, SysVar::name);
        while let Some(item) = r.next(&lookup) {
            match item {
                Item::Found { index, .. } => {
                    if let Some(f) = wants.get_mut(index) {
                        *f = true;
                    }
                }
                Item::Unknown => return Answer::Error(ErrorCode::UnknownVar),
            }
        }
        let s = data.system();
        if wanted(&wants) {
            for (&v, _) in SysVar::ALL.iter().zip(&wants).filter(|(_, &f)| f) {
                put_sys_var(&mut w, v, &s);
            }
        } else {
            for &v in DEFAULT_SYS_VARS {
                put_sys_var(&mut w, v, &s);
            }
        }
        return Answer::Data {
            status,
            fragments: w.finish(),
        };
    }
    let Some(p) = data.peer(assoc) else {
        return Answer::Error(ErrorCode::BadAssoc);
    };
    if authed {
        data.events_read(assoc);
    }
    let mut wants = vec![false; PeerVar::ALL.len()];
    let mut r = ItemReader::new(req);
    let lookup = lookup_in(PeerVar::ALL, PeerVar::name);
    while let Some(item) = r.next(&lookup) {
        match item {
            Item::Found { index, .. } => {
                if let Some(f) = wants.get_mut(index) {
                    *f = true;
                }
            }
            Item::Unknown => return Answer::Error(ErrorCode::UnknownVar),
        }
    }
    if wanted(&wants) {
        for (&v, _) in PeerVar::ALL.iter().zip(&wants).filter(|(_, &f)| f) {
            put_peer_var(&mut w, v, &p);
        }
    } else {
        for &v in DEFAULT_PEER_VARS {
            put_peer_var(&mut w, v, &p);
        }
    }
    Answer::Data {
        status: p.status.to_u16(),
        fragments: w.finish(),
    }
}

/// Classic `atoint()`: optional `-`, decimal digits, no overflow of a 32-bit long.
fn atoint(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut u: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        u = u.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
        if u > i64::from(i32::MAX) + i64::from(neg) {
            return None;
        }
    }
    Some(if neg { -u } else { u })
}

/// Classic `write_variables()`, with `leap` actually written through the daemon, all or
/// nothing, and `nomodify` honoured.
fn write_variables(
    req: &[u8],
    assoc: u16,
    meta: &RequestMeta,
    data: &mut impl ControlData,
) -> Answer {
    if assoc != 0 || meta.restrict.nomodify {
        return Answer::Error(ErrorCode::Permission);
    }
    let status = data.system_status().to_u16();
    let mut r = ItemReader::new(req);
    let lookup = lookup_in(SysVar::ALL, SysVar::name);
    let mut new_leap = None;
    while let Some(item) = r.next(&lookup) {
        let (index, value) = match item {
            Item::Found { index, value } => (index, value),
            Item::Unknown => return Answer::Error(ErrorCode::UnknownVar),
        };
        if SysVar::ALL.get(index) != Some(&SysVar::Leap) {
            return Answer::Error(ErrorCode::Permission);
        }
        let Some(v) = value.as_deref().filter(|v| !v.is_empty()).and_then(atoint) else {
            return Answer::Error(ErrorCode::BadFormat);
        };
        if v & !3 != 0 {
            return Answer::Error(ErrorCode::BadValue);
        }
        new_leap = Some(v as u8);
    }
    if let Some(leap) = new_leap {
        if data.write_leap(leap).is_err() {
            return Answer::Error(ErrorCode::Permission);
        }
    }
    Answer::Data {
        status,
        fragments: VarListWriter::new().finish(),
    }
}

/// Classic `read_clockstatus()`.
fn read_clock(req: &[u8], assoc: u16, data: &mut impl ControlData) -> Answer {
    let clock = if assoc != 0 {
        data.clock(assoc)
    } else {
        // The system peer if it is a clock, else the first clock in the association list.
        let sys_peer = data.system().peer;
        let mut found = (sys_peer != 0).then(|| data.clock(sys_peer)).flatten();
        if found.is_none() {
            found = data
                .associations()
                .iter()
                .find_map(|a| data.clock(a.assoc_id));
        }
        found
    };
    let Some(c) = clock else {
        return Answer::Error(ErrorCode::BadAssoc);
    };
    let mut wants = vec![false; ClockVar::ALL.len()];
    let mut extra_wants = vec![false; c.extra.len()];
    let mut r = ItemReader::new(req);
    let lookup = lookup_in(ClockVar::ALL, ClockVar::name);
    let extra_lookup = |key: &[u8]| {
        c.extra
            .iter()
            .position(|e| extra_var_name(&e.text).as_bytes() == key)
    };
    while let Some(item) = r.next(&lookup) {
        match item {
            Item::Found { index, .. } => {
                if let Some(f) = wants.get_mut(index) {
                    *f = true;
                }
            }
            Item::Unknown => match r.next(extra_lookup) {
                Some(Item::Found { index, .. }) => {
                    if let Some(f) = extra_wants.get_mut(index) {
                        *f = true;
                    }
                }
                Some(Item::Unknown) => return Answer::Error(ErrorCode::UnknownVar),
                None => return Answer::Error(ErrorCode::BadValue),
            },
        }
    }
    let mut w = VarListWriter::new();
    if wanted(&wants) || wanted(&extra_wants) {
        for (&v, _) in ClockVar::ALL.iter().zip(&wants).filter(|(_, &f)| f) {
            put_clock_var(&mut w, v, &c, true);
        }
        for (e, _) in c.extra.iter().zip(&extra_wants).filter(|(_, &f)| f) {
            w.put_raw(&e.text);
        }
    } else {
        for &v in DEFAULT_CLOCK_VARS {
            put_clock_var(&mut w, v, &c, false);
        }
        for e in c.extra.iter().filter(|e| e.default) {
            w.put_raw(&e.text);
        }
    }
    Answer::Data {
        status: c.status.to_u16(),
        fragments: w.finish(),
    }
}

/// C `sscanf("%u")`-like: optional white space and sign, at least one digit; stops at the
/// first non-digit; a minus sign negates with wrap-around, as the C conversion does.
fn scan_uint(s: &[u8]) -> Option<u64> {
    let mut i = 0;
    while s.get(i).is_some_and(|&b| is_space(b)) {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = s.get(i..).unwrap_or_default();
    let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits.get(..n).unwrap_or_default() {
        v = v.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// `%Nx`: optional white space, 1..=`width` hex digits; the value and the rest.
fn scan_hex(s: &[u8], width: usize) -> Option<(u32, &[u8])> {
    let mut i = 0;
    while s.get(i).is_some_and(|&b| is_space(b)) {
        i += 1;
    }
    let rest = s.get(i..).unwrap_or_default();
    let n = rest
        .iter()
        .take(width)
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    if n == 0 {
        return None;
    }
    let text = std::str::from_utf8(rest.get(..n)?).ok()?;
    let v = u32::from_str_radix(text, 16).ok()?;
    Some((v, rest.get(n..).unwrap_or_default()))
}

/// `0x%08x.%08x`.
fn scan_timestamp(s: &[u8]) -> Option<u64> {
    let s = s.strip_prefix(b"0x")?;
    let (hi, rest) = scan_hex(s, 8)?;
    let rest = rest.strip_prefix(b".")?;
    let (lo, _) = scan_hex(rest, 8)?;
    Some((u64::from(hi) << 32) | u64::from(lo))
}

/// `0x%hx`.
fn scan_hex16(s: &[u8]) -> Option<u16> {
    let s = s.strip_prefix(b"0x")?;
    let (v, _) = scan_hex(s, 8)?;
    Some(v as u16)
}

/// Classic `decodenetnum()`: an address with an optional port (default 123).
fn decode_netnum(s: &[u8]) -> Option<SocketAddr> {
    let text = std::str::from_utf8(s).ok()?;
    if let Ok(a) = SocketAddr::from_str(text) {
        return Some(a);
    }
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    IpAddr::from_str(bare)
        .ok()
        .map(|ip| SocketAddr::new(ip, 123))
}

/// The parameters of a READ_MRU request.
#[derive(Debug, Clone, Default)]
struct MruParams {
    nonce: Option<Vec<u8>>,
    frags: u16,
    limit: u32,
    mincount: i32,
    resall: u16,
    resany: u16,
    maxlstint: u32,
    laddr: Option<SocketAddr>,
    last: [u64; MRU_PRIORS],
    addr: [Option<SocketAddr>; MRU_PRIORS],
    priors: usize,
}

/// Names READ_MRU knows, in classic `in_parms` order; `last.N`/`addr.N` follow.
const MRU_NAMES: [&str; 8] = [
    "nonce",
    "frags",
    "limit",
    "mincount",
    "resall",
    "resany",
    "maxlstint",
    "laddr",
];

impl MruParams {
    /// Parse like classic: stop at the first unknown name; a bad value discards the nonce
    /// (so there is no reply). `None` only for the bad-value case.
    fn parse(req: &[u8]) -> Option<MruParams> {
        let mut p = MruParams::default();
        let mut r = ItemReader::new(req);
        let lookup = |key: &[u8]| -> Option<usize> {
            if let Some(i) = MRU_NAMES.iter().position(|n| n.as_bytes() == key) {
                return Some(i);
            }
            let text = std::str::from_utf8(key).ok()?;
            let (kind, idx) = text.split_once('.')?;
            // Exactly the names classic registers: "last.0".."last.15", "addr.0".."addr.15".
            let n: usize = idx.parse().ok().filter(|&n| n < MRU_PRIORS)?;
            if n.to_string() != idx {
                return None;
            }
            match kind {
                "last" => Some(MRU_NAMES.len() + 2 * n),
                "addr" => Some(MRU_NAMES.len() + 2 * n + 1),
                _ => None,
            }
        };
        while let Some(Item::Found { index, value }) = r.next(lookup) {
            let val = value.unwrap_or_default();
            let ok = match index {
                0 => {
                    p.nonce = (!val.is_empty()).then_some(val);
                    true
                }
                1 => scan_uint(&val).map(|v| p.frags = v as u16).is_some(),
                2 => scan_uint(&val).map(|v| p.limit = v as u32).is_some(),
                3 => scan_uint(&val)
                    .map(|v| p.mincount = (v as i64).clamp(0, i64::from(i32::MAX)) as i32)
                    .is_some(),
                4 => scan_hex16(&val).map(|v| p.resall = v).is_some(),
                5 => scan_hex16(&val).map(|v| p.resany = v).is_some(),
                6 => scan_uint(&val).map(|v| p.maxlstint = v as u32).is_some(),
                7 => decode_netnum(&val).map(|a| p.laddr = Some(a)).is_some(),
                i => {
                    let n = (i - MRU_NAMES.len()) / 2;
                    if (i - MRU_NAMES.len()) % 2 == 0 {
                        match scan_timestamp(&val) {
                            Some(t) => {
                                if let Some(l) = p.last.get_mut(n) {
                                    *l = t;
                                }
                                if p.addr.get(n).is_some_and(Option::is_some) && n == p.priors {
                                    p.priors += 1;
                                }
                                true
                            }
                            None => false,
                        }
                    } else {
                        match decode_netnum(&val) {
                            Some(a) => {
                                if let Some(slot) = p.addr.get_mut(n) {
                                    *slot = Some(a);
                                }
                                let l = p.last.get(n).copied().unwrap_or(0);
                                if (l >> 32) != 0 && (l & 0xffff_ffff) != 0 && n == p.priors {
                                    p.priors += 1;
                                }
                                true
                            }
                            None => false,
                        }
                    }
                }
            };
            if !ok {
                return None;
            }
        }
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(t: &'static [&'static str]) -> impl Fn(&[u8]) -> Option<usize> {
        move |k| t.iter().position(|n| n.as_bytes() == k)
    }

    #[test]
    fn getitem_splits_names_values_and_spaces() {
        let t: &'static [&'static str] = &["a", "bb", "leap"];
        let mut r = ItemReader::new(b" ,a, bb = 12 ,leap=0");
        assert_eq!(
            r.next(names(t)),
            Some(Item::Found {
                index: 0,
                value: None
            })
        );
        assert_eq!(
            r.next(names(t)),
            Some(Item::Found {
                index: 1,
                value: Some(b"12".to_vec())
            })
        );
        assert_eq!(
            r.next(names(t)),
            Some(Item::Found {
                index: 2,
                value: Some(b"0".to_vec())
            })
        );
        assert_eq!(r.next(names(t)), None);
    }

    #[test]
    fn getitem_unknown_name_does_not_advance() {
        let t: &'static [&'static str] = &["stratum"];
        let mut r = ItemReader::new(b"stratumx,stratum");
        assert_eq!(r.next(names(t)), Some(Item::Unknown));
        assert_eq!(r.next(names(t)), Some(Item::Unknown));
        let mut nul = ItemReader::new(b"stratum\0");
        assert_eq!(nul.next(names(t)), Some(Item::Unknown));
    }

    #[test]
    fn getitem_overlong_value_ends_the_request() {
        let t: &'static [&'static str] = &["a"];
        let mut data = b"a=".to_vec();
        data.extend(std::iter::repeat_n(b'x', 128));
        assert_eq!(ItemReader::new(&data).next(names(t)), None);
        data.truncate(2 + 127);
        assert!(matches!(
            ItemReader::new(&data).next(names(t)),
            Some(Item::Found { .. })
        ));
    }

    #[test]
    fn atoint_follows_classic() {
        assert_eq!(atoint(b"00"), Some(0));
        assert_eq!(atoint(b"-3"), Some(-3));
        assert_eq!(atoint(b"2147483647"), Some(2_147_483_647));
        assert_eq!(atoint(b"2147483648"), None);
        assert_eq!(atoint(b"-2147483648"), Some(-2_147_483_648));
        assert_eq!(atoint(b"1x"), None);
        assert_eq!(atoint(b"-"), None);
    }

    #[test]
    fn mru_params_count_priors_only_for_complete_pairs_in_order() {
        let p = MruParams::parse(
            b"nonce=ab, frags=32, addr.0=10.0.0.1:123, last.0=0x00000001.00000002, \
              last.1=0x00000003.00000004, addr.1=[::1]:44",
        )
        .unwrap();
        assert_eq!(p.priors, 2);
        assert_eq!(p.frags, 32);
        assert_eq!(p.addr[1], Some("[::1]:44".parse().unwrap()));
        let bad = MruParams::parse(b"nonce=ab, frags=x");
        assert!(bad.is_none());
        let stops = MruParams::parse(b"frags=3, bogus=1, nonce=ab").unwrap();
        assert_eq!(stops.nonce, None);
    }

    #[test]
    fn scans_follow_sscanf() {
        assert_eq!(scan_uint(b" 32abc"), Some(32));
        assert_eq!(scan_uint(b"x"), None);
        assert_eq!(
            scan_timestamp(b"0xeeb22828.7d849775"),
            Some(0xeeb2_2828_7d84_9775)
        );
        assert_eq!(scan_hex16(b"0x390"), Some(0x390));
        assert_eq!(
            decode_netnum(b"10.1.2.3"),
            Some("10.1.2.3:123".parse().unwrap())
        );
        assert_eq!(decode_netnum(b"[::1]"), Some("[::1]:123".parse().unwrap()));
    }
}
