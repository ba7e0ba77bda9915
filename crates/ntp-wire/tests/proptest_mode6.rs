//! Property tests for mode 6: encode/decode round trips, never-panic decoders on arbitrary
//! bytes, and the fragmenter/reassembler/parser chain on generated variable lists.

use ntp_wire::mode6::{
    auth_parts, decode_assoc_list, encode_assoc_list, parse_varlist, response_messages,
    validate_request, AssocStatus, ControlHeader, ControlMessage, Fragmenter, Opcode, PeerStatus,
    Progress, Reassembler, VarListWriter, CTL_MAX_DATA_LEN,
};
use proptest::prelude::*;

fn header() -> impl Strategy<Value = ControlHeader> {
    (
        (0u8..4, 0u8..8, any::<bool>(), any::<bool>(), any::<bool>()),
        0u8..32,
        (
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
        ),
    )
        .prop_map(
            |((leap, version, response, error, more), op, (seq, status, assoc, offset, count))| {
                ControlHeader {
                    leap,
                    version,
                    response,
                    error,
                    more,
                    opcode: Opcode::from_u8(op),
                    sequence: seq,
                    status,
                    assoc_id: assoc,
                    offset,
                    count,
                }
            },
        )
}

/// A message as a sender builds it: canonical padding, odd padding (0..=3 arbitrary octets),
/// or signed with a digest of 0..=20 octets.
fn message() -> impl Strategy<Value = ControlMessage> {
    (
        header(),
        proptest::collection::vec(any::<u8>(), 0..600),
        0u8..3,
        proptest::collection::vec(any::<u8>(), 0..4),
        any::<u32>(),
        0usize..6,
    )
        .prop_map(|(h, data, kind, pad, key_id, digest_words)| {
            let mut m = ControlMessage::new(h, data).unwrap();
            match kind {
                0 => {}
                1 => m.padding = pad,
                _ => m
                    .sign(key_id, |covered| {
                        covered
                            .iter()
                            .cycle()
                            .take(digest_words * 4)
                            .copied()
                            .collect()
                    })
                    .unwrap(),
            }
            m
        })
}

/// Bytes that mostly start like a mode 6 datagram, so decoders get past the first checks.
fn datagram_like() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..80),
        (
            any::<u8>(),
            proptest::collection::vec(any::<u8>(), 0..600),
            0usize..64
        )
            .prop_map(|(b0, mut rest, count)| {
                rest.insert(0, (b0 & !7) | 6);
                // A plausible count most of the time.
                if rest.len() >= 12 {
                    let c = u16::try_from(count.min(rest.len() - 11)).unwrap();
                    rest[10..12].copy_from_slice(&c.to_be_bytes());
                }
                rest
            }),
    ]
}

/// Deterministic Fisher-Yates driven by `seed` (tests draw their own order; the library never
/// draws randomness).
fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let j = usize::try_from((seed >> 33) % (i as u64 + 1)).unwrap();
        v.swap(i, j);
    }
}

/// One generated `name=value` item: (name, value, quoted). Values have no quotes, no `\r`,
/// no leading/trailing blanks, and unquoted ones no commas and no leading quote — what the
/// parser can give back. Items stay under 71 characters so the line rule can be checked.
fn item() -> impl Strategy<Value = (String, String, bool)> {
    (
        "[a-z][a-z_.0-9]{0,11}",
        "([!#-+\\--~]([ !-+\\--~]{0,53}[!-+\\--~])?)?",
        "([!#-~]([ !#-~]{0,53}[!#-~])?)?",
        any::<bool>(),
    )
        .prop_map(|(name, unq, q, quoted)| {
            if quoted {
                (name, q, true)
            } else {
                (name, unq, false)
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn header_round_trips(h in header()) {
        let mut buf = [0u8; 12];
        prop_assert_eq!(h.encode(&mut buf).unwrap(), 12);
        prop_assert_eq!(ControlHeader::decode(&buf).unwrap(), h);
    }

    #[test]
    fn message_round_trips(m in message()) {
        let bytes = m.to_vec().unwrap();
        prop_assert_eq!(bytes.len(), m.encoded_len());
        prop_assert_eq!(ControlMessage::decode(&bytes).unwrap(), m.clone());
        if let Some(a) = &m.auth {
            let parts = auth_parts(&bytes).unwrap().unwrap();
            prop_assert_eq!(parts.key_id, a.key_id);
            let covered = m.covered_octets().unwrap();
            prop_assert_eq!(parts.covered, covered.as_slice());
            prop_assert_eq!(parts.covered.len() % 8, 0);
        }
    }

    #[test]
    fn decode_then_encode_is_identity(bytes in datagram_like()) {
        if let Ok(m) = ControlMessage::decode(&bytes) {
            prop_assert_eq!(m.to_vec().unwrap(), bytes);
        }
    }

    #[test]
    fn decoders_never_panic(bytes in datagram_like(), req in header()) {
        let _ = ControlHeader::decode(&bytes);
        let _ = auth_parts(&bytes);
        let _ = validate_request(&bytes);
        let _ = decode_assoc_list(&bytes);
        let _ = parse_varlist(&bytes);
        let mut r = Reassembler::new(&req);
        let _ = r.accept_datagram(&bytes);
        let _ = r.accept_datagram(&bytes);
    }

    #[test]
    fn varlists_fragment_reassemble_and_parse_back(
        items in proptest::collection::vec(item(), 0..40),
        seed in any::<u64>(),
    ) {
        let mut w = VarListWriter::new();
        for (name, value, quoted) in &items {
            if *quoted {
                w.put_str(name, value);
            } else {
                w.put_unquoted(name, value);
            }
        }
        let frags = w.finish();
        let mut offset = 0;
        for (i, f) in frags.iter().enumerate() {
            prop_assert!(f.data.len() <= CTL_MAX_DATA_LEN);
            prop_assert_eq!(f.offset, offset);
            prop_assert_eq!(f.more, i + 1 < frags.len());
            prop_assert!(!f.more || !f.data.is_empty());
            offset += f.data.len();
        }
        let stream: Vec<u8> = frags.iter().flat_map(|f| f.data.clone()).collect();
        if !items.is_empty() {
            prop_assert!(stream.ends_with(b"\r\n"));
        }
        // Lines are at most 71 characters plus the trailing comma (MAXDATALINELEN rule).
        for line in stream.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = line.strip_suffix(b",").unwrap_or(line);
            prop_assert!(line.len() <= 71, "{:?}", String::from_utf8_lossy(line));
        }

        let req = ControlHeader::request(Opcode::ReadVar, 7, 0);
        let mut msgs = response_messages(&req, 0, 0x0615, &frags).unwrap();
        shuffle(&mut msgs, seed);
        let mut r = Reassembler::new(&req);
        let mut last = Progress::Incomplete;
        for m in &msgs {
            let bytes = m.to_vec().unwrap();
            last = r.accept_datagram(&bytes).unwrap();
        }
        let Progress::Complete(resp) = last else {
            return Err(TestCaseError::fail("incomplete"));
        };
        prop_assert_eq!(&resp.data, &stream);
        prop_assert_eq!(resp.status, 0x0615);
        // A repeated fragment is refused, but only as noise ntpq would ignore.
        let again = r.accept_datagram(&msgs[0].to_vec().unwrap()).unwrap_err();
        prop_assert!(!again.is_fatal(), "{:?}", again);

        let parsed = parse_varlist(&resp.data).unwrap();
        prop_assert_eq!(parsed.len(), items.len());
        for (p, (name, value, quoted)) in parsed.iter().zip(&items) {
            prop_assert_eq!(&p.name, name);
            prop_assert_eq!(p.value.as_deref(), Some(value.as_str()));
            prop_assert_eq!(p.quoted, *quoted);
        }
    }

    #[test]
    fn varlist_parser_never_panics_on_list_like_text(text in "[a-c=\",\r\n \t\x00]{0,64}") {
        if let Ok(items) = parse_varlist(text.as_bytes()) {
            for item in items {
                prop_assert!(!item.name.contains(['=', ',', '\r', '\n']));
            }
        }
    }

    #[test]
    fn binary_data_fills_whole_fragments(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let mut f = Fragmenter::new();
        f.put_binary(&data);
        let frags = f.finish();
        let (last, full) = frags.split_last().unwrap();
        prop_assert!(full.iter().all(|f| f.data.len() == CTL_MAX_DATA_LEN && f.more));
        prop_assert!(!last.more);
        let joined: Vec<u8> = frags.iter().flat_map(|f| f.data.clone()).collect();
        prop_assert_eq!(joined, data);
    }

    #[test]
    fn assoc_lists_round_trip(pairs in proptest::collection::vec((any::<u16>(), any::<u16>()), 0..64)) {
        let list: Vec<AssocStatus> = pairs
            .iter()
            .map(|&(id, st)| AssocStatus { assoc_id: id, status: PeerStatus::from_u16(st) })
            .collect();
        let bytes = encode_assoc_list(&list);
        prop_assert_eq!(bytes.len(), list.len() * 4);
        prop_assert_eq!(decode_assoc_list(&bytes).unwrap(), list);
    }
}
