//! The 48-octet NTP header for modes 1-5 (RFC 5905 figure 8), with extension fields
//! (RFC 7822) and the MAC trailer, plus the kiss-o'-death codes (RFC 5905 figure 13).
//!
//! [`NtpHeader`] is the fixed part alone, decoded without allocation for the server hot path;
//! [`NtpPacket`] is the whole datagram.

use crate::extension::ExtensionField;
use crate::mac::{Trailer, MAX_MAC_LEN};
use crate::{NtpShort, NtpTimestamp, Reader, RefId, WireError, Writer};

/// Length of the fixed header.
pub const HEADER_LEN: usize = 48;

/// The leap indicator (two bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LeapIndicator {
    /// No warning.
    #[default]
    NoWarning,
    /// The last minute of the day has 61 seconds.
    AddSecond,
    /// The last minute of the day has 59 seconds.
    DeleteSecond,
    /// Clock unsynchronised (alarm).
    Unsynchronized,
}

impl LeapIndicator {
    /// From the two-bit field.
    pub const fn from_bits(b: u8) -> Self {
        match b & 3 {
            0 => LeapIndicator::NoWarning,
            1 => LeapIndicator::AddSecond,
            2 => LeapIndicator::DeleteSecond,
            _ => LeapIndicator::Unsynchronized,
        }
    }

    /// The two-bit field.
    pub const fn bits(self) -> u8 {
        match self {
            LeapIndicator::NoWarning => 0,
            LeapIndicator::AddSecond => 1,
            LeapIndicator::DeleteSecond => 2,
            LeapIndicator::Unsynchronized => 3,
        }
    }
}

/// The association mode (three bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// 0: reserved.
    Reserved,
    /// 1: symmetric active.
    SymmetricActive,
    /// 2: symmetric passive.
    SymmetricPassive,
    /// 3: client.
    Client,
    /// 4: server.
    Server,
    /// 5: broadcast.
    Broadcast,
    /// 6: NTP control message (mode 6, ntpq).
    Control,
    /// 7: private (mode 7, ntpdc).
    Private,
}

impl Mode {
    /// From the three-bit field.
    pub const fn from_bits(b: u8) -> Self {
        match b & 7 {
            0 => Mode::Reserved,
            1 => Mode::SymmetricActive,
            2 => Mode::SymmetricPassive,
            3 => Mode::Client,
            4 => Mode::Server,
            5 => Mode::Broadcast,
            6 => Mode::Control,
            _ => Mode::Private,
        }
    }

    /// The three-bit field.
    pub const fn bits(self) -> u8 {
        match self {
            Mode::Reserved => 0,
            Mode::SymmetricActive => 1,
            Mode::SymmetricPassive => 2,
            Mode::Client => 3,
            Mode::Server => 4,
            Mode::Broadcast => 5,
            Mode::Control => 6,
            Mode::Private => 7,
        }
    }

    /// The mode of a datagram, from its first octet, without decoding anything else.
    pub fn of_datagram(bytes: &[u8]) -> Option<Mode> {
        bytes.first().map(|b| Mode::from_bits(*b))
    }
}

/// The NTP version number: three bits on the wire, so any value 0..=7 decodes; policy
/// (accepting 1..=4) belongs to the receiver.
pub type Version = u8;

/// The stratum octet: 0 = kiss-o'-death/unspecified, 1 primary, 2..=15 secondary,
/// 16 unsynchronised.
pub type Stratum = u8;

/// Stratum 16: unsynchronised (sent as 0 by classic ntpd; 0 received is read as 16).
pub const STRATUM_UNSPEC: Stratum = 16;

/// Kiss-o'-death codes (RFC 5905 figure 13), carried in the refid of a stratum-0 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KissCode {
    /// `ACST`: the association belongs to a unicast server.
    Acst,
    /// `AUTH`: server authentication failed.
    Auth,
    /// `AUTO`: Autokey sequence failed.
    Auto,
    /// `BCST`: the association belongs to a broadcast server.
    Bcst,
    /// `CRYP`: cryptographic authentication or identification failed.
    Cryp,
    /// `DENY`: access denied by the remote server.
    Deny,
    /// `DROP`: lost peer in symmetric mode.
    Drop,
    /// `RSTR`: access denied due to local policy.
    Rstr,
    /// `INIT`: the association has not yet synchronised.
    Init,
    /// `MCST`: the association belongs to a dynamically discovered server.
    Mcst,
    /// `NKEY`: no key found.
    Nkey,
    /// `NTSN`: NTS negative acknowledgement (RFC 8915).
    Ntsn,
    /// `RATE`: rate exceeded; the client must reduce its polling.
    Rate,
    /// `RMOT`: alteration of association from a remote host running ntpdc.
    Rmot,
    /// `STEP`: a step change in system time has occurred.
    Step,
    /// Any other code (the four octets as received).
    Other([u8; 4]),
}

impl KissCode {
    /// From a refid.
    pub fn from_refid(r: RefId) -> Self {
        match &r.to_bytes() {
            b"ACST" => KissCode::Acst,
            b"AUTH" => KissCode::Auth,
            b"AUTO" => KissCode::Auto,
            b"BCST" => KissCode::Bcst,
            b"CRYP" => KissCode::Cryp,
            b"DENY" => KissCode::Deny,
            b"DROP" => KissCode::Drop,
            b"RSTR" => KissCode::Rstr,
            b"INIT" => KissCode::Init,
            b"MCST" => KissCode::Mcst,
            b"NKEY" => KissCode::Nkey,
            b"NTSN" => KissCode::Ntsn,
            b"RATE" => KissCode::Rate,
            b"RMOT" => KissCode::Rmot,
            b"STEP" => KissCode::Step,
            other => KissCode::Other(*other),
        }
    }

    /// As a refid.
    pub fn to_refid(self) -> RefId {
        RefId::from_bytes(match self {
            KissCode::Acst => *b"ACST",
            KissCode::Auth => *b"AUTH",
            KissCode::Auto => *b"AUTO",
            KissCode::Bcst => *b"BCST",
            KissCode::Cryp => *b"CRYP",
            KissCode::Deny => *b"DENY",
            KissCode::Drop => *b"DROP",
            KissCode::Rstr => *b"RSTR",
            KissCode::Init => *b"INIT",
            KissCode::Mcst => *b"MCST",
            KissCode::Nkey => *b"NKEY",
            KissCode::Ntsn => *b"NTSN",
            KissCode::Rate => *b"RATE",
            KissCode::Rmot => *b"RMOT",
            KissCode::Step => *b"STEP",
            KissCode::Other(b) => b,
        })
    }

    /// True for the codes that tell a client to stop talking to this server (DENY, RSTR).
    pub fn is_access_denied(self) -> bool {
        matches!(self, KissCode::Deny | KissCode::Rstr)
    }
}

/// The fixed 48-octet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NtpHeader {
    /// Leap indicator.
    pub leap: LeapIndicator,
    /// Version (0..=7 as received).
    pub version: Version,
    /// Mode.
    pub mode: Mode,
    /// Stratum as received (0 = kiss/unspecified).
    pub stratum: Stratum,
    /// Poll, log2 seconds, as received.
    pub poll: i8,
    /// Precision, log2 seconds.
    pub precision: i8,
    /// Root delay.
    pub root_delay: NtpShort,
    /// Root dispersion.
    pub root_dispersion: NtpShort,
    /// Reference id.
    pub reference_id: RefId,
    /// Reference timestamp.
    pub reference_timestamp: NtpTimestamp,
    /// Origin timestamp (T1 as echoed by the server).
    pub origin_timestamp: NtpTimestamp,
    /// Receive timestamp (T2).
    pub receive_timestamp: NtpTimestamp,
    /// Transmit timestamp (T3).
    pub transmit_timestamp: NtpTimestamp,
}

impl Default for NtpHeader {
    fn default() -> Self {
        NtpHeader {
            leap: LeapIndicator::NoWarning,
            version: 4,
            mode: Mode::Client,
            stratum: 0,
            poll: 0,
            precision: 0,
            root_delay: NtpShort::ZERO,
            root_dispersion: NtpShort::ZERO,
            reference_id: RefId::NONE,
            reference_timestamp: NtpTimestamp::ZERO,
            origin_timestamp: NtpTimestamp::ZERO,
            receive_timestamp: NtpTimestamp::ZERO,
            transmit_timestamp: NtpTimestamp::ZERO,
        }
    }
}

impl NtpHeader {
    /// Decode the header from the front of `r`.
    ///
    /// # Errors
    /// [`WireError::Truncated`] when fewer than 48 octets remain.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        if r.remaining() < HEADER_LEN {
            return Err(WireError::Truncated {
                field: "NTP header",
                needed: HEADER_LEN,
                available: r.remaining(),
            });
        }
        let b0 = r.u8("LI/VN/mode")?;
        Ok(NtpHeader {
            leap: LeapIndicator::from_bits(b0 >> 6),
            version: (b0 >> 3) & 7,
            mode: Mode::from_bits(b0),
            stratum: r.u8("stratum")?,
            poll: r.i8("poll")?,
            precision: r.i8("precision")?,
            root_delay: NtpShort::read(r, "root delay")?,
            root_dispersion: NtpShort::read(r, "root dispersion")?,
            reference_id: RefId::read(r)?,
            reference_timestamp: NtpTimestamp::read(r, "reference timestamp")?,
            origin_timestamp: NtpTimestamp::read(r, "origin timestamp")?,
            receive_timestamp: NtpTimestamp::read(r, "receive timestamp")?,
            transmit_timestamp: NtpTimestamp::read(r, "transmit timestamp")?,
        })
    }

    /// Decode the header at the start of a datagram, ignoring what follows.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        Self::read(&mut Reader::new(bytes))
    }

    /// The first octet: LI, VN and mode.
    pub fn first_octet(&self) -> u8 {
        (self.leap.bits() << 6) | ((self.version & 7) << 3) | self.mode.bits()
    }

    /// Encode.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`].
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.u8(self.first_octet())?;
        w.u8(self.stratum)?;
        w.i8(self.poll)?;
        w.i8(self.precision)?;
        self.root_delay.write(w)?;
        self.root_dispersion.write(w)?;
        self.reference_id.write(w)?;
        self.reference_timestamp.write(w)?;
        self.origin_timestamp.write(w)?;
        self.receive_timestamp.write(w)?;
        self.transmit_timestamp.write(w)
    }

    /// Encode into a fixed 48-octet array.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        self.write(&mut Writer::new(&mut b))
            .expect("48 octets always fit a 48-octet buffer");
        b
    }

    /// The kiss code, when this is a kiss-o'-death (stratum 0 from a server or peer).
    pub fn kiss_code(&self) -> Option<KissCode> {
        (self.stratum == 0
            && matches!(
                self.mode,
                Mode::Server | Mode::SymmetricActive | Mode::SymmetricPassive | Mode::Broadcast
            ))
        .then(|| KissCode::from_refid(self.reference_id))
    }
}

/// A whole mode 1-5 datagram: header, extension fields and optional MAC trailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtpPacket {
    /// The fixed header.
    pub header: NtpHeader,
    /// Extension fields in order.
    pub extensions: Vec<ExtensionField>,
    /// MAC or crypto-NAK.
    pub trailer: Option<Trailer>,
}

impl NtpPacket {
    /// Decode a datagram. After the header, extension fields are read while more than
    /// [`MAX_MAC_LEN`] octets remain (RFC 7822 section 7.5: a last field without MAC is at
    /// least 28 octets, so it cannot be mistaken for a MAC); what is left must be empty, a
    /// crypto-NAK (4) or a MAC (20 or 24).
    ///
    /// # Errors
    /// [`WireError`] naming what was wrong; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let header = NtpHeader::read(&mut r)?;
        let mut extensions = Vec::new();
        while r.remaining() > MAX_MAC_LEN {
            extensions.push(ExtensionField::read(&mut r)?);
        }
        let trailer = if r.is_empty() {
            None
        } else {
            Some(Trailer::read(&mut r)?)
        };
        r.finish("NTP packet")?;
        Ok(NtpPacket {
            header,
            extensions,
            trailer,
        })
    }

    /// Length on the wire.
    pub fn wire_len(&self) -> usize {
        HEADER_LEN
            + self
                .extensions
                .iter()
                .map(ExtensionField::wire_len)
                .sum::<usize>()
            + self.trailer.map_or(0, |t| t.wire_len())
    }

    /// Encode into `buf`, returning the length written.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`] or an extension field error.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let mut w = Writer::new(buf);
        self.header.write(&mut w)?;
        for e in &self.extensions {
            e.write(&mut w)?;
        }
        if let Some(t) = &self.trailer {
            t.write(&mut w)?;
        }
        Ok(w.position())
    }

    /// Encode into a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.wire_len()];
        let n = self
            .encode(&mut v)
            .expect("wire_len is exactly what encode writes");
        v.truncate(n);
        v
    }

    /// Split a datagram into the octets a MAC covers and the trailer, without decoding the
    /// extension fields' contents (for verifying before parsing further).
    ///
    /// # Errors
    /// As [`NtpPacket::decode`].
    pub fn split_mac(bytes: &[u8]) -> Result<(&[u8], Option<Trailer>), WireError> {
        let p = Self::decode(bytes)?;
        let covered = bytes.len() - p.trailer.map_or(0, |t| t.wire_len());
        Ok((&bytes[..covered], p.trailer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mac::{MacAlgorithm, SymmetricKey};

    fn client_request() -> NtpHeader {
        NtpHeader {
            leap: LeapIndicator::Unsynchronized,
            version: 4,
            mode: Mode::Client,
            transmit_timestamp: NtpTimestamp::from_bits(0x0123_4567_89ab_cdef),
            ..NtpHeader::default()
        }
    }

    #[test]
    fn first_octet_of_ntpdig_request_is_e3() {
        assert_eq!(client_request().first_octet(), 0xe3);
    }

    #[test]
    fn short_datagram_is_truncated() {
        let e = NtpPacket::decode(&[0xe3; 47]).unwrap_err();
        assert!(matches!(e, WireError::Truncated { needed: 48, .. }));
    }

    #[test]
    fn header_round_trips() {
        let h = client_request();
        assert_eq!(NtpHeader::decode(&h.to_bytes()).unwrap(), h);
    }

    #[test]
    fn mac_trailer_is_recognised_and_verifies() {
        let key = SymmetricKey::new(7, MacAlgorithm::Sha1, b"secret");
        let hdr = client_request().to_bytes();
        let p = NtpPacket {
            header: client_request(),
            extensions: vec![],
            trailer: Some(Trailer::Mac(key.sign(&hdr))),
        };
        let bytes = p.to_vec();
        assert_eq!(bytes.len(), 72);
        let (covered, trailer) = NtpPacket::split_mac(&bytes).unwrap();
        let Some(Trailer::Mac(m)) = trailer else {
            panic!("no MAC")
        };
        assert_eq!(m.key_id, 7);
        assert!(key.verify(covered, m.digest.as_bytes()));
    }

    #[test]
    fn crypto_nak_is_four_octets() {
        let mut b = client_request().to_bytes().to_vec();
        b.extend_from_slice(&[0, 0, 0, 0]);
        let p = NtpPacket::decode(&b).unwrap();
        assert_eq!(p.trailer, Some(Trailer::CryptoNak { key_id: 0 }));
        assert_eq!(p.to_vec(), b);
    }

    #[test]
    fn extension_then_mac() {
        let key = SymmetricKey::new(1, MacAlgorithm::Md5, b"k");
        let mut p = NtpPacket {
            header: client_request(),
            extensions: vec![ExtensionField::new(0x0104, &[9; 28])],
            trailer: None,
        };
        let covered = p.to_vec();
        p.trailer = Some(Trailer::Mac(key.sign(&covered)));
        let bytes = p.to_vec();
        assert_eq!(NtpPacket::decode(&bytes).unwrap(), p);
    }

    #[test]
    fn odd_trailing_octets_are_rejected() {
        for extra in [1usize, 8, 12, 16, 21] {
            let mut b = client_request().to_bytes().to_vec();
            b.resize(48 + extra, 0);
            assert!(NtpPacket::decode(&b).is_err(), "extra {extra}");
        }
    }

    #[test]
    fn kiss_code_only_at_stratum_zero_from_servers() {
        let mut h = NtpHeader {
            mode: Mode::Server,
            reference_id: RefId::RATE,
            ..NtpHeader::default()
        };
        assert_eq!(h.kiss_code(), Some(KissCode::Rate));
        h.stratum = 2;
        assert_eq!(h.kiss_code(), None);
        h.stratum = 0;
        h.mode = Mode::Client;
        assert_eq!(h.kiss_code(), None);
        assert!(KissCode::Deny.is_access_denied());
        assert_eq!(
            KissCode::from_refid(RefId::from_bytes(*b"XABC")).to_refid(),
            RefId::from_bytes(*b"XABC")
        );
    }
}
