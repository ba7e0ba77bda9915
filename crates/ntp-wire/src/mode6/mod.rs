//! Mode 6 (control) messages: header, status words, error codes, fragments, auth trailer.
//!
//! Wire layout (reference b.1): a 12-octet header, up to 468 data octets, zero padding to a
//! multiple of 4, and when authenticated, padding to a multiple of 8 followed by a 4-octet key
//! id and the digest. [`ControlMessage::decode`] keeps every octet it saw (garbage offsets in
//! error replies, non-zero padding, unpadded lengths), so anything that decodes re-encodes to
//! exactly the same bytes.
//!
//! Digests are not computed here: [`auth_parts`] and [`ControlMessage::sign`] expose the octets a
//! MAC covers and where the key id and digest sit, and the caller runs the keyed digest.
//!
//! Responder side: [`validate_request`], [`VarListWriter`]/[`Fragmenter`] (the exact classic
//! split rule) and [`response_messages`]. Client side: [`encode_query_vars`], [`Reassembler`]
//! and [`parse_varlist`].
//!
//! ```
//! use ntp_wire::mode6::*;
//!
//! // Client: `rv 0 stratum,offset`.
//! let (data, _) = encode_query_vars(&[("stratum", None), ("offset", None)]);
//! let request = ControlMessage::new(ControlHeader::request(Opcode::ReadVar, 1, 0), data)?;
//! let wire = request.to_vec()?;
//! assert_eq!(wire.len(), 28);
//!
//! // Responder: check, answer, fragment.
//! let req = validate_request(&wire).expect("well-formed");
//! let mut w = VarListWriter::new();
//! w.put_uint("stratum", 3);
//! w.put_f6("offset", 0.0);
//! let replies = response_messages(&req.header, 0, 0x0616, &w.finish())?;
//!
//! // Client: reassemble and parse.
//! let mut r = Reassembler::new(&request.header);
//! let mut done = None;
//! for m in &replies {
//!     if let Progress::Complete(resp) = r.accept_datagram(&m.to_vec()?).expect("valid") {
//!         done = Some(resp);
//!     }
//! }
//! let resp = done.expect("complete");
//! assert_eq!(SystemStatus::from_u16(resp.status).describe(), "leap_none, sync_ntp, 1 event, restart");
//! assert_eq!(
//!     parse_varlist_pairs(&resp.data).expect("parses"),
//!     [("stratum".to_owned(), "3".to_owned()), ("offset".to_owned(), "0.000000".to_owned())]
//! );
//! # Ok::<(), ntp_wire::WireError>(())
//! ```

mod fragment;
mod reassembly;
mod status;
mod varlist;

pub use fragment::{
    c_fixed, c_g, filestamp_text, refid_text, timestamp_text, Fragment, Fragmenter, VarListWriter,
    CTL_MAX_DATA_LEN, MAX_DATA_LINE_LEN,
};
pub use reassembly::{
    ControlResponse, Progress, Reassembler, ReassemblyError, MAX_FRAGMENTS, MAX_RESPONSE_DATA,
};
pub use status::{
    decode_assoc_list, encode_assoc_list, AssocStatus, ClockStatus, PeerStatus, SystemStatus,
    CLOCK_CODE_NAMES, LEAP_NAMES, PEER_EVENT_NAMES, SELECT_NAMES, SOURCE_NAMES, SYSTEM_EVENT_NAMES,
};
pub use varlist::{encode_query_vars, parse_varlist, parse_varlist_pairs, VarItem, VarListError};

use crate::{Reader, WireError, Writer};

/// Length of the mode 6 header.
pub const CTL_HEADER_LEN: usize = 12;
/// The NTP mode number of control messages.
pub const MODE_CONTROL: u8 = 6;
/// Shortest MAC trailer the responder recognises (a key id alone, `MIN_MAC_LEN`).
pub const MIN_MAC_LEN: usize = 4;
/// Longest MAC trailer: key id + 20-octet SHA-1 digest (`MAX_MAC_LEN`).
pub const MAX_MAC_LEN: usize = 24;
/// Longest digest in a trailer.
pub const MAX_DIGEST_LEN: usize = MAX_MAC_LEN - 4;
/// Oldest and newest version the classic responder answers.
pub const SUPPORTED_VERSIONS: std::ops::RangeInclusive<u8> = 1..=4;

/// Mode 6 opcodes (reference b.2). Values without a name are kept as [`Opcode::Unknown`], so
/// every 5-bit value survives a decode/encode round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// 0, `CTL_OP_UNSPEC`.
    Unspec,
    /// 1, `CTL_OP_READSTAT`: association list (assoc 0) or a peer's default variables.
    ReadStat,
    /// 2, `CTL_OP_READVAR`.
    ReadVar,
    /// 3, `CTL_OP_WRITEVAR` (needs the control key).
    WriteVar,
    /// 4, `CTL_OP_READCLOCK`.
    ReadClock,
    /// 5, `CTL_OP_WRITECLOCK` (needs the control key).
    WriteClock,
    /// 6, `CTL_OP_SETTRAP` (needs the control key).
    SetTrap,
    /// 7, `CTL_OP_ASYNCMSG` (trap messages; a request with it gets `CERR_BADOP`).
    AsyncMsg,
    /// 8, `CTL_OP_CONFIGURE` (needs the control key).
    Configure,
    /// 9, `CTL_OP_SAVECONFIG` (needs the control key).
    SaveConfig,
    /// 10, `CTL_OP_READ_MRU` (needs a nonce).
    ReadMru,
    /// 11, `CTL_OP_READ_ORDLIST_A` (`ifstats`, `reslist`; needs the control key).
    ReadOrdlistA,
    /// 12, `CTL_OP_REQ_NONCE`.
    ReqNonce,
    /// 31, `CTL_OP_UNSETTRAP` (needs the control key).
    UnsetTrap,
    /// Any other 5-bit value, kept as received.
    Unknown(u8),
}

impl Opcode {
    /// The opcode for a 5-bit value (the top three bits are ignored).
    pub fn from_u8(v: u8) -> Self {
        match v & 0x1f {
            0 => Opcode::Unspec,
            1 => Opcode::ReadStat,
            2 => Opcode::ReadVar,
            3 => Opcode::WriteVar,
            4 => Opcode::ReadClock,
            5 => Opcode::WriteClock,
            6 => Opcode::SetTrap,
            7 => Opcode::AsyncMsg,
            8 => Opcode::Configure,
            9 => Opcode::SaveConfig,
            10 => Opcode::ReadMru,
            11 => Opcode::ReadOrdlistA,
            12 => Opcode::ReqNonce,
            31 => Opcode::UnsetTrap,
            other => Opcode::Unknown(other),
        }
    }

    /// The wire value (for `Unknown`, whatever it holds; [`ControlHeader::encode`] refuses
    /// values above 31).
    pub fn to_u8(self) -> u8 {
        match self {
            Opcode::Unspec => 0,
            Opcode::ReadStat => 1,
            Opcode::ReadVar => 2,
            Opcode::WriteVar => 3,
            Opcode::ReadClock => 4,
            Opcode::WriteClock => 5,
            Opcode::SetTrap => 6,
            Opcode::AsyncMsg => 7,
            Opcode::Configure => 8,
            Opcode::SaveConfig => 9,
            Opcode::ReadMru => 10,
            Opcode::ReadOrdlistA => 11,
            Opcode::ReqNonce => 12,
            Opcode::UnsetTrap => 31,
            Opcode::Unknown(v) => v,
        }
    }

    /// True for the opcodes classic ntpd serves only with a MAC made with the `controlkey`.
    pub fn requires_auth(self) -> bool {
        matches!(
            self,
            Opcode::WriteVar
                | Opcode::WriteClock
                | Opcode::SetTrap
                | Opcode::Configure
                | Opcode::SaveConfig
                | Opcode::ReadOrdlistA
                | Opcode::UnsetTrap
        )
    }
}

/// Mode 6 error codes (reference b.3), carried in the high byte of the status word of a reply
/// with the E bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 0, `CERR_UNSPEC`.
    Unspec,
    /// 1, `CERR_PERMISSION` (also "no resource").
    Permission,
    /// 2, `CERR_BADFMT`.
    BadFormat,
    /// 3, `CERR_BADOP`.
    BadOpcode,
    /// 4, `CERR_BADASSOC`.
    BadAssoc,
    /// 5, `CERR_UNKNOWNVAR`.
    UnknownVar,
    /// 6, `CERR_BADVALUE`.
    BadValue,
    /// 7, `CERR_RESTRICT` (not emitted by 4.2.8).
    Restrict,
    /// Any other code, kept as received.
    Unknown(u8),
}

impl ErrorCode {
    /// The code for a wire value.
    pub fn from_u8(v: u8) -> Self {
        match v {
            0 => ErrorCode::Unspec,
            1 => ErrorCode::Permission,
            2 => ErrorCode::BadFormat,
            3 => ErrorCode::BadOpcode,
            4 => ErrorCode::BadAssoc,
            5 => ErrorCode::UnknownVar,
            6 => ErrorCode::BadValue,
            7 => ErrorCode::Restrict,
            other => ErrorCode::Unknown(other),
        }
    }

    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            ErrorCode::Unspec => 0,
            ErrorCode::Permission => 1,
            ErrorCode::BadFormat => 2,
            ErrorCode::BadOpcode => 3,
            ErrorCode::BadAssoc => 4,
            ErrorCode::UnknownVar => 5,
            ErrorCode::BadValue => 6,
            ErrorCode::Restrict => 7,
            ErrorCode::Unknown(v) => v,
        }
    }

    /// The code of an error reply's status word (its high byte).
    pub fn from_status(status: u16) -> Self {
        Self::from_u8(status.to_be_bytes()[0])
    }

    /// The status word of an error reply carrying this code (`code << 8`).
    pub fn to_status(self) -> u16 {
        u16::from(self.to_u8()) << 8
    }

    /// What classic ntpq prints for this code; `assoc_id` fills in `CERR_BADASSOC`.
    pub fn message(self, assoc_id: u16) -> String {
        match self {
            ErrorCode::Unspec => "***Server returned an unspecified error".to_owned(),
            ErrorCode::Permission => "***Server disallowed request (authentication?)".to_owned(),
            ErrorCode::BadFormat => "***Server reports a bad format request packet".to_owned(),
            ErrorCode::BadOpcode => "***Server reports a bad opcode in request".to_owned(),
            ErrorCode::BadAssoc => format!("***Association ID {assoc_id} unknown to server"),
            ErrorCode::UnknownVar => "***A request variable unknown to the server".to_owned(),
            ErrorCode::BadValue => "***Server indicates a request variable was bad".to_owned(),
            // ntpq's `show_error_msg()` has no case for these.
            ErrorCode::Restrict | ErrorCode::Unknown(_) => {
                format!("***Server returns unknown error code {}", self.to_u8())
            }
        }
    }
}

/// The 12-octet mode 6 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControlHeader {
    /// Leap indicator (2 bits): 0 from classic ntpq, 3 from NTPsec ntpq, `sys_leap` in replies.
    pub leap: u8,
    /// Version (3 bits); ntpq sends 2, replies echo the request.
    pub version: u8,
    /// R bit: this is a response.
    pub response: bool,
    /// E bit: this is an error response.
    pub error: bool,
    /// M bit: more fragments follow.
    pub more: bool,
    /// Operation.
    pub opcode: Opcode,
    /// Sequence number, chosen by the client and echoed in every fragment.
    pub sequence: u16,
    /// Status word (system, peer or clock status; error code << 8 in error replies).
    pub status: u16,
    /// Association ID (0 = system).
    pub assoc_id: u16,
    /// Offset of this fragment's data in the whole response (garbage in error replies).
    pub offset: u16,
    /// Data octets in this packet.
    pub count: u16,
}

impl ControlHeader {
    /// A request header as classic ntpq sends it: LI 0, version 2, no flags, offset and count 0.
    pub fn request(opcode: Opcode, sequence: u16, assoc_id: u16) -> Self {
        ControlHeader {
            leap: 0,
            version: 2,
            response: false,
            error: false,
            more: false,
            opcode,
            sequence,
            status: 0,
            assoc_id,
            offset: 0,
            count: 0,
        }
    }

    /// The header of an error reply to `request`: R and E set, sequence, opcode and association
    /// echoed, status `code << 8`, count 0. `offset` is what classic leaves in the field (the
    /// offset of the last fragment it sent to anyone; clients ignore it) — pass 0 to be clean.
    pub fn error_reply(request: &ControlHeader, leap: u8, code: ErrorCode, offset: u16) -> Self {
        ControlHeader {
            leap,
            version: request.version,
            response: true,
            error: true,
            more: false,
            opcode: request.opcode,
            sequence: request.sequence,
            status: code.to_status(),
            assoc_id: request.assoc_id,
            offset,
            count: 0,
        }
    }

    /// The error code of an error reply (`None` when the E bit is clear).
    pub fn error_code(&self) -> Option<ErrorCode> {
        self.error.then(|| ErrorCode::from_status(self.status))
    }

    /// Decode the first 12 octets of `buf` (trailing octets are not looked at).
    ///
    /// # Errors
    /// [`WireError::Truncated`] for fewer than 12 octets, [`WireError::InvalidValue`] when the
    /// mode is not 6.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(buf);
        Self::read(&mut r)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        if r.remaining() < CTL_HEADER_LEN {
            return Err(WireError::Truncated {
                field: "mode 6 header",
                needed: CTL_HEADER_LEN,
                available: r.remaining(),
            });
        }
        let li_vn_mode = r.u8("li_vn_mode")?;
        let mode = li_vn_mode & 7;
        if mode != MODE_CONTROL {
            return Err(WireError::InvalidValue {
                field: "mode",
                value: u64::from(mode),
                expected: "6 (control)",
            });
        }
        let rem_op = r.u8("r_e_m_op")?;
        Ok(ControlHeader {
            leap: li_vn_mode >> 6,
            version: (li_vn_mode >> 3) & 7,
            response: rem_op & 0x80 != 0,
            error: rem_op & 0x40 != 0,
            more: rem_op & 0x20 != 0,
            opcode: Opcode::from_u8(rem_op),
            sequence: r.u16("sequence")?,
            status: r.u16("status")?,
            assoc_id: r.u16("association id")?,
            offset: r.u16("offset")?,
            count: r.u16("count")?,
        })
    }

    /// Encode into the first 12 octets of `buf`; returns 12.
    ///
    /// # Errors
    /// [`WireError::InvalidValue`] for a leap > 3, version > 7 or opcode > 31;
    /// [`WireError::BufferTooSmall`].
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let mut w = Writer::new(buf);
        self.write(&mut w)?;
        Ok(w.position())
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        let check = |field: &'static str, v: u8, max: u8, expected: &'static str| {
            if v > max {
                Err(WireError::InvalidValue {
                    field,
                    value: u64::from(v),
                    expected,
                })
            } else {
                Ok(())
            }
        };
        check("leap", self.leap, 3, "0..=3")?;
        check("version", self.version, 7, "0..=7")?;
        let op = self.opcode.to_u8();
        check("opcode", op, 31, "0..=31")?;
        if w.remaining() < CTL_HEADER_LEN {
            return Err(WireError::BufferTooSmall {
                needed: w.position().saturating_add(CTL_HEADER_LEN),
                available: w.position().saturating_add(w.remaining()),
            });
        }
        let mut rem_op = op;
        for (set, bit) in [(self.response, 0x80), (self.error, 0x40), (self.more, 0x20)] {
            if set {
                rem_op |= bit;
            }
        }
        w.u8((self.leap << 6) | (self.version << 3) | MODE_CONTROL)?;
        w.u8(rem_op)?;
        w.u16(self.sequence)?;
        w.u16(self.status)?;
        w.u16(self.assoc_id)?;
        w.u16(self.offset)?;
        w.u16(self.count)
    }
}

/// The key id and digest that follow an authenticated message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuthTrailer {
    /// Key id (big-endian on the wire).
    pub key_id: u32,
    /// Digest, 0..=20 octets (16 for MD5 and AES-128-CMAC, 20 for SHA-1).
    pub digest: Vec<u8>,
}

/// Where the MAC of a received datagram is, without checking it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthParts<'a> {
    /// The octets the digest covers: header, data and padding (everything before the key id).
    pub covered: &'a [u8],
    /// The key id.
    pub key_id: u32,
    /// The digest octets (may be empty: a bare key id).
    pub digest: &'a [u8],
}

/// Offset of the key id in an authenticated message with `count` data octets: the header and
/// data rounded up to a multiple of 8 (`properlen` of classic `process_control`).
pub fn mac_offset(count: usize) -> usize {
    CTL_HEADER_LEN.saturating_add(count).saturating_add(7) & !7
}

/// Locate the MAC of a mode 6 datagram with the rule of classic ntpd: with
/// `properlen = (12 + count + 7) & !7`, a trailer is present when the datagram is a multiple of
/// 4 long and `4 <= len - properlen <= 24`; the key id is at `properlen`.
///
/// Returns `Ok(None)` for an unauthenticated datagram.
///
/// # Errors
/// As [`ControlHeader::decode`].
pub fn auth_parts(datagram: &[u8]) -> Result<Option<AuthParts<'_>>, WireError> {
    let header = ControlHeader::decode(datagram)?;
    let start = mac_offset(usize::from(header.count));
    let Some(maclen) = datagram.len().checked_sub(start) else {
        return Ok(None);
    };
    if datagram.len() % 4 != 0 || !(MIN_MAC_LEN..=MAX_MAC_LEN).contains(&maclen) {
        return Ok(None);
    }
    let (covered, trailer) = datagram.split_at(start);
    let mut r = Reader::new(trailer);
    let key_id = r.u32("key id")?;
    Ok(Some(AuthParts {
        covered,
        key_id,
        digest: r.rest(),
    }))
}

/// A whole mode 6 datagram: header, data, padding and optional MAC trailer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ControlMessage {
    /// The header; `header.count` must equal `data.len()`.
    pub header: ControlHeader,
    /// The data octets.
    pub data: Vec<u8>,
    /// Octets between the data and the trailer (or the end), kept as received. Normally zeros
    /// up to a multiple of 4 (8 before a trailer).
    pub padding: Vec<u8>,
    /// Key id and digest, when the message is authenticated.
    pub auth: Option<AuthTrailer>,
}

impl ControlMessage {
    /// A message with `data`, `header.count` set to its length and zero padding to a multiple
    /// of 4.
    ///
    /// # Errors
    /// [`WireError::InvalidValue`] when `data` is longer than 65535 octets.
    pub fn new(mut header: ControlHeader, data: Vec<u8>) -> Result<Self, WireError> {
        header.count = u16::try_from(data.len()).map_err(|_| WireError::InvalidValue {
            field: "count",
            value: data.len() as u64,
            expected: "at most 65535 data octets",
        })?;
        let unpadded = CTL_HEADER_LEN + data.len();
        let padding = vec![0; unpadded.next_multiple_of(4) - unpadded];
        Ok(ControlMessage {
            header,
            data,
            padding,
            auth: None,
        })
    }

    /// Decode a datagram, keeping everything needed to re-encode it octet for octet. The
    /// trailer is recognised with the rule of [`auth_parts`]; any other octets after the data
    /// are kept as padding. Header fields are not validated beyond the mode (see
    /// [`validate_request`] for the responder's rules).
    ///
    /// # Errors
    /// [`WireError::Truncated`] when the datagram is shorter than the header or than `count`
    /// says; [`WireError::InvalidValue`] when the mode is not 6.
    pub fn decode(datagram: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(datagram);
        let header = ControlHeader::read(&mut r)?;
        let count = usize::from(header.count);
        let data = r.bytes(count, "mode 6 data")?.to_vec();
        let tail = r.rest();
        let (padding, auth) = match auth_parts(datagram)? {
            Some(parts) => {
                let pad_len = mac_offset(count) - CTL_HEADER_LEN - count;
                let padding = tail.get(..pad_len).unwrap_or_default().to_vec();
                let trailer = AuthTrailer {
                    key_id: parts.key_id,
                    digest: parts.digest.to_vec(),
                };
                (padding, Some(trailer))
            }
            None => (tail.to_vec(), None),
        };
        Ok(ControlMessage {
            header,
            data,
            padding,
            auth,
        })
    }

    /// Octets [`Self::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        let trailer = self
            .auth
            .as_ref()
            .map_or(0, |a| 4usize.saturating_add(a.digest.len()));
        CTL_HEADER_LEN
            .saturating_add(self.data.len())
            .saturating_add(self.padding.len())
            .saturating_add(trailer)
    }

    /// Refuse messages that would not decode back to themselves.
    fn check_layout(&self) -> Result<(), WireError> {
        if usize::from(self.header.count) != self.data.len() {
            return Err(WireError::Malformed {
                what: "mode 6 message",
                reason: "header count differs from the data length",
            });
        }
        let unpadded = CTL_HEADER_LEN + self.data.len();
        let properlen = mac_offset(self.data.len());
        match &self.auth {
            Some(a) => {
                if unpadded + self.padding.len() != properlen {
                    return Err(WireError::Malformed {
                        what: "mode 6 message",
                        reason: "padding before a MAC must reach a multiple of 8",
                    });
                }
                if a.digest.len() > MAX_DIGEST_LEN || a.digest.len() % 4 != 0 {
                    return Err(WireError::Malformed {
                        what: "mode 6 MAC",
                        reason: "digest must be 0..=20 octets, a multiple of 4",
                    });
                }
            }
            None => {
                let len = self.encoded_len();
                let looks_like_mac = len % 4 == 0
                    && len
                        .checked_sub(properlen)
                        .is_some_and(|m| (MIN_MAC_LEN..=MAX_MAC_LEN).contains(&m));
                if looks_like_mac {
                    return Err(WireError::Malformed {
                        what: "mode 6 message",
                        reason: "padding would read as a MAC trailer",
                    });
                }
            }
        }
        Ok(())
    }

    /// Encode into `buf`; returns the octets written.
    ///
    /// # Errors
    /// [`WireError::Malformed`] when `header.count` differs from the data length, the padding
    /// before a MAC does not end at a multiple of 8, the digest is not 0..=20 octets in steps of
    /// 4, or unauthenticated padding would be taken for a MAC; the errors of
    /// [`ControlHeader::encode`]; [`WireError::BufferTooSmall`].
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        self.check_layout()?;
        let needed = self.encoded_len();
        if buf.len() < needed {
            return Err(WireError::BufferTooSmall {
                needed,
                available: buf.len(),
            });
        }
        let mut w = Writer::new(buf);
        self.header.write(&mut w)?;
        w.bytes(&self.data)?;
        w.bytes(&self.padding)?;
        if let Some(a) = &self.auth {
            w.u32(a.key_id)?;
            w.bytes(&a.digest)?;
        }
        Ok(w.position())
    }

    /// [`Self::encode`] into a new vector.
    ///
    /// # Errors
    /// As [`Self::encode`].
    pub fn to_vec(&self) -> Result<Vec<u8>, WireError> {
        let mut buf = vec![0; self.encoded_len()];
        let n = self.encode(&mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Authenticate the message: replace the padding by zeros up to a multiple of 8 (so a
    /// 12-octet request grows to 16, then 36 with MD5), hand the covered octets (header, data,
    /// padding) to `digest_of`, and append `key_id` and the digest it returns.
    ///
    /// # Errors
    /// As [`Self::encode`] (e.g. a digest longer than 20 octets); the message is unchanged then.
    pub fn sign<F>(&mut self, key_id: u32, digest_of: F) -> Result<(), WireError>
    where
        F: FnOnce(&[u8]) -> Vec<u8>,
    {
        let mut signed = self.clone();
        let unpadded = CTL_HEADER_LEN + signed.data.len();
        signed.padding = vec![0; mac_offset(signed.data.len()).saturating_sub(unpadded)];
        signed.auth = None;
        let covered = signed.covered_octets()?;
        signed.auth = Some(AuthTrailer {
            key_id,
            digest: digest_of(&covered),
        });
        signed.check_layout()?;
        *self = signed;
        Ok(())
    }

    /// The octets a MAC over this message covers: header, data and padding.
    ///
    /// # Errors
    /// As [`ControlHeader::encode`], or when `header.count` differs from the data length.
    pub fn covered_octets(&self) -> Result<Vec<u8>, WireError> {
        if usize::from(self.header.count) != self.data.len() {
            return Err(WireError::Malformed {
                what: "mode 6 message",
                reason: "header count differs from the data length",
            });
        }
        let mut out = vec![0; CTL_HEADER_LEN];
        self.header.encode(&mut out)?;
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.padding);
        Ok(out)
    }
}

/// Why the responder does not process a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestRejection {
    /// Classic ntpd sends nothing back (too short, R/E/M set, offset not 0, bad version, not
    /// mode 6).
    #[error("dropped without reply: {0}")]
    Drop(&'static str),
    /// Classic ntpd answers with this error code (`CERR_BADFMT` for count > data or a length
    /// that is not a multiple of 4); the header is there to build the reply.
    #[error("error reply {code:?}")]
    Reply {
        /// The request header, for [`ControlHeader::error_reply`].
        header: ControlHeader,
        /// The code to send.
        code: ErrorCode,
    },
}

/// The format checks of classic `process_control()`, in its order. On success the request is
/// decoded (with its MAC trailer if it has one; digest checking is the caller's).
///
/// # Errors
/// [`RequestRejection::Drop`] or [`RequestRejection::Reply`].
pub fn validate_request(datagram: &[u8]) -> Result<ControlMessage, RequestRejection> {
    let header = ControlHeader::decode(datagram).map_err(|e| match e {
        WireError::Truncated { .. } => RequestRejection::Drop("shorter than the 12-octet header"),
        _ => RequestRejection::Drop("not a mode 6 datagram"),
    })?;
    if header.response || header.error || header.more {
        return Err(RequestRejection::Drop("R, E or M bit set in a request"));
    }
    if header.offset != 0 {
        return Err(RequestRejection::Drop("non-zero offset in a request"));
    }
    if !SUPPORTED_VERSIONS.contains(&header.version) {
        return Err(RequestRejection::Drop("unsupported version"));
    }
    let bad_format = RequestRejection::Reply {
        header,
        code: ErrorCode::BadFormat,
    };
    if datagram.len() % 4 != 0 || datagram.len() - CTL_HEADER_LEN < usize::from(header.count) {
        return Err(bad_format);
    }
    ControlMessage::decode(datagram).map_err(|_| bad_format)
}

/// The response datagrams for `fragments` (from [`VarListWriter::finish`] or
/// [`Fragmenter::finish`]): R set, M on all but the last, sequence, opcode, version and
/// association echoed from `request`, `status` in every fragment, padding to 4. Sign each with
/// [`ControlMessage::sign`] when the request was authenticated.
///
/// # Errors
/// [`WireError::InvalidValue`] when a fragment's offset or length does not fit in 16 bits.
pub fn response_messages(
    request: &ControlHeader,
    leap: u8,
    status: u16,
    fragments: &[Fragment],
) -> Result<Vec<ControlMessage>, WireError> {
    fragments
        .iter()
        .map(|f| {
            let offset = u16::try_from(f.offset).map_err(|_| WireError::InvalidValue {
                field: "offset",
                value: f.offset as u64,
                expected: "a response of at most 65535 octets",
            })?;
            let header = ControlHeader {
                leap,
                version: request.version,
                response: true,
                error: false,
                more: f.more,
                opcode: request.opcode,
                sequence: request.sequence,
                status,
                assoc_id: request.assoc_id,
                offset,
                count: 0,
            };
            ControlMessage::new(header, f.data.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn error_reply_keeps_garbage_offset() {
        let bytes = hex("16 c2 00 06 05 00 00 00 01 d4 00 00");
        let m = ControlMessage::decode(&bytes).unwrap();
        assert!(m.header.response && m.header.error && !m.header.more);
        assert_eq!(m.header.opcode, Opcode::ReadVar);
        assert_eq!(m.header.error_code(), Some(ErrorCode::UnknownVar));
        assert_eq!(m.header.offset, 468);
        assert_eq!(m.to_vec().unwrap(), bytes);
        let req = ControlHeader::request(Opcode::ReadVar, 6, 0);
        let built = ControlHeader::error_reply(&req, 0, ErrorCode::UnknownVar, 468);
        assert_eq!(built, m.header);
    }

    #[test]
    fn unknown_opcodes_round_trip() {
        for v in 0..32u8 {
            assert_eq!(Opcode::from_u8(v).to_u8(), v);
        }
        assert_eq!(Opcode::from_u8(13), Opcode::Unknown(13));
        let h = ControlHeader {
            opcode: Opcode::Unknown(40),
            ..ControlHeader::request(Opcode::Unspec, 1, 0)
        };
        assert!(h.encode(&mut [0; 12]).is_err());
    }

    #[test]
    fn error_messages_match_ntpq() {
        assert_eq!(
            ErrorCode::BadAssoc.message(4660),
            "***Association ID 4660 unknown to server"
        );
        assert_eq!(
            ErrorCode::from_status(0x0100).message(0),
            "***Server disallowed request (authentication?)"
        );
        assert_eq!(ErrorCode::from_u8(9), ErrorCode::Unknown(9));
        assert_eq!(
            ErrorCode::Restrict.message(0),
            "***Server returns unknown error code 7"
        );
    }

    #[test]
    fn signing_an_empty_request_gives_36_octets() {
        let mut m = ControlMessage::new(ControlHeader::request(Opcode::ReadOrdlistA, 1, 0), vec![])
            .unwrap();
        let mut seen = Vec::new();
        m.sign(1, |c| {
            seen = c.to_vec();
            vec![0xab; 16]
        })
        .unwrap();
        assert_eq!(seen.len(), 16);
        let bytes = m.to_vec().unwrap();
        assert_eq!(bytes.len(), 36);
        let parts = auth_parts(&bytes).unwrap().unwrap();
        assert_eq!(parts.covered, &seen[..]);
        assert_eq!(parts.key_id, 1);
        assert_eq!(parts.digest, &[0xab; 16]);
        assert_eq!(ControlMessage::decode(&bytes).unwrap(), m);
    }

    #[test]
    fn signing_17_data_octets_gives_52() {
        let mut m = ControlMessage::new(
            ControlHeader::request(Opcode::ReadOrdlistA, 1, 0),
            b"addr_restrictions".to_vec(),
        )
        .unwrap();
        m.sign(1, |_| vec![0; 16]).unwrap();
        assert_eq!(m.padding.len(), 3);
        assert_eq!(m.to_vec().unwrap().len(), 52);
    }

    #[test]
    fn oversized_digest_is_refused_and_message_unchanged() {
        let mut m =
            ControlMessage::new(ControlHeader::request(Opcode::ReadVar, 1, 0), vec![]).unwrap();
        let before = m.clone();
        assert!(m.sign(1, |_| vec![0; 24]).is_err());
        assert_eq!(m, before);
    }

    #[test]
    fn count_beyond_data_is_truncated_error() {
        let bytes = hex("16 02 00 08 00 00 00 00 00 00 00 10");
        assert!(matches!(
            ControlMessage::decode(&bytes),
            Err(WireError::Truncated { .. })
        ));
    }

    #[test]
    fn padding_that_looks_like_a_mac_is_refused() {
        let mut m =
            ControlMessage::new(ControlHeader::request(Opcode::ReadVar, 1, 0), vec![]).unwrap();
        m.padding = vec![0; 8];
        assert!(m.to_vec().is_err());
        m.padding = vec![0; 3];
        assert_eq!(m.to_vec().unwrap().len(), 15);
    }

    #[test]
    fn request_validation_follows_process_control() {
        let ok = hex("16 02 00 01 00 00 00 00 00 00 00 00");
        assert!(validate_request(&ok).is_ok());
        let drop = |h: &str| matches!(validate_request(&hex(h)), Err(RequestRejection::Drop(_)));
        assert!(drop("16 02 00 07 00 00 00 00"));
        assert!(drop("16 82 00 0b 00 00 00 00 00 00 00 00"));
        assert!(drop("16 02 00 0a 00 00 00 00 00 04 00 00"));
        assert!(drop("06 02 00 0c 00 00 00 00 00 00 00 00"));
        assert!(drop("2e 02 00 0d 00 00 00 00 00 00 00 00"));
        let fmt = |h: &str| {
            matches!(
                validate_request(&hex(h)),
                Err(RequestRejection::Reply {
                    code: ErrorCode::BadFormat,
                    ..
                })
            )
        };
        assert!(fmt("16 02 00 08 00 00 00 00 00 00 00 10"));
        assert!(fmt("16 02 00 09 00 00 00 00 00 00 00 01 61"));
    }

    #[test]
    fn response_messages_set_more_and_offsets() {
        let mut w = VarListWriter::new();
        w.put_unquoted("v", &"z".repeat(600));
        let req = ControlHeader::request(Opcode::ReadVar, 3, 10098);
        let msgs = response_messages(&req, 0, 0x961a, &w.finish()).unwrap();
        assert_eq!(msgs.len(), 2);
        assert!(msgs[0].header.more && !msgs[1].header.more);
        assert_eq!(msgs[1].header.offset, 468);
        assert_eq!(msgs[0].to_vec().unwrap().len(), 480);
        assert_eq!(msgs[1].header.assoc_id, 10098);
    }
}
