//! Property tests for the mode 1-5 codec: decode(encode(x)) == x for arbitrary packets, and no
//! decoder panics on arbitrary bytes.

use ntp_wire::extension::ExtensionField;
use ntp_wire::mac::{Digest20, Mac, Trailer};
use ntp_wire::packet::HEADER_LEN;
use ntp_wire::{LeapIndicator, Mode, NtpHeader, NtpPacket, NtpShort, NtpTimestamp, Reader, RefId};
use proptest::prelude::*;

fn header() -> impl Strategy<Value = NtpHeader> {
    (
        (
            0u8..4,
            0u8..8,
            0u8..8,
            any::<u8>(),
            any::<i8>(),
            any::<i8>(),
        ),
        (any::<u32>(), any::<u32>(), any::<[u8; 4]>()),
        (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()),
    )
        .prop_map(
            |((li, vn, mode, stratum, poll, precision), (rd, rdisp, refid), (a, b, c, d))| {
                NtpHeader {
                    leap: LeapIndicator::from_bits(li),
                    version: vn,
                    mode: Mode::from_bits(mode),
                    stratum,
                    poll,
                    precision,
                    root_delay: NtpShort::from_bits(rd),
                    root_dispersion: NtpShort::from_bits(rdisp),
                    reference_id: RefId::from_bytes(refid),
                    reference_timestamp: NtpTimestamp::from_bits(a),
                    origin_timestamp: NtpTimestamp::from_bits(b),
                    receive_timestamp: NtpTimestamp::from_bits(c),
                    transmit_timestamp: NtpTimestamp::from_bits(d),
                }
            },
        )
}

fn extension() -> impl Strategy<Value = ExtensionField> {
    (any::<u16>(), prop::collection::vec(any::<u8>(), 0..64))
        .prop_map(|(t, v)| ExtensionField::new(t, &v))
}

fn trailer() -> impl Strategy<Value = Option<Trailer>> {
    prop_oneof![
        Just(None),
        any::<u32>().prop_map(|key_id| Some(Trailer::CryptoNak { key_id })),
        (any::<u32>(), prop::collection::vec(any::<u8>(), 16..=16)).prop_map(|(key_id, d)| Some(
            Trailer::Mac(Mac {
                key_id,
                digest: Digest20::from_slice(&d)
            })
        )),
        (any::<u32>(), prop::collection::vec(any::<u8>(), 20..=20)).prop_map(|(key_id, d)| Some(
            Trailer::Mac(Mac {
                key_id,
                digest: Digest20::from_slice(&d)
            })
        )),
    ]
}

proptest! {
    #[test]
    fn header_round_trips(h in header()) {
        let b = h.to_bytes();
        prop_assert_eq!(NtpHeader::decode(&b).unwrap(), h);
    }

    #[test]
    fn packet_round_trips(h in header(), exts in prop::collection::vec(extension(), 0..3), t in trailer()) {
        let mut exts = exts;
        // RFC 7822: without a MAC the last field must be at least 28 octets to be told apart.
        if t.is_none() {
            if let Some(last) = exts.last_mut() {
                if last.wire_len() < 28 {
                    last.body.resize(24, 0);
                }
            }
        }
        // A crypto-NAK after extension fields is ambiguous on the wire (a 16-octet field plus
        // a NAK reads as a MAC); classic never sends one, and neither do we.
        if matches!(t, Some(Trailer::CryptoNak { .. })) {
            exts.clear();
        }
        let p = NtpPacket { header: h, extensions: exts, trailer: t };
        let bytes = p.to_vec();
        prop_assert_eq!(bytes.len(), p.wire_len());
        prop_assert_eq!(NtpPacket::decode(&bytes).unwrap(), p);
    }

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = NtpHeader::decode(&bytes);
        let _ = NtpPacket::split_mac(&bytes);
        if let Ok(p) = NtpPacket::decode(&bytes) {
            prop_assert_eq!(p.to_vec(), bytes.clone());
        }
        let _ = ExtensionField::read(&mut Reader::new(&bytes));
        let _ = Trailer::read(&mut Reader::new(&bytes));
    }

    #[test]
    fn header_decode_ignores_what_follows(h in header(), tail in prop::collection::vec(any::<u8>(), 0..40)) {
        let mut b = h.to_bytes().to_vec();
        b.extend_from_slice(&tail);
        prop_assert_eq!(NtpHeader::decode(&b).unwrap(), h);
        prop_assert!(b.len() >= HEADER_LEN);
    }

    #[test]
    fn unix_round_trip_within_default_era(secs in 1_704_067_200i64..5_999_000_000, nanos in 0u32..1_000_000_000) {
        let t = NtpTimestamp::from_unix(secs, nanos);
        prop_assert_eq!(t.to_unix(), (secs, nanos));
    }

    #[test]
    fn differences_are_era_free(a in any::<u64>(), d in -(1i64 << 62)..(1i64 << 62)) {
        let t = NtpTimestamp::from_bits(a);
        let u = t + ntp_wire::NtpDuration::from_bits(d);
        prop_assert_eq!((u - t).to_bits(), d);
    }
}
