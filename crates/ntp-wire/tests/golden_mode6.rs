//! Golden tests for mode 6: every captured control datagram (classic and NTPsec, including the
//! hand-made error cases) against the decoder, encoder, MAC layout, reassembler and the classic
//! fragmentation rule.

mod support;

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use ntp_wire::mode6::{
    auth_parts, decode_assoc_list, encode_assoc_list, encode_query_vars, parse_varlist,
    validate_request, ControlHeader, ControlMessage, ErrorCode, Fragment, Opcode, PeerStatus,
    Progress, Reassembler, RequestRejection, SystemStatus, VarListWriter, CTL_MAX_DATA_LEN,
};
use support::Datagram;

/// The test key of the `*-auth` vectors (`1 MD5 vectorkey1`).
const KEY: &[u8] = b"vectorkey1";

fn md5_mac(covered: &[u8]) -> Vec<u8> {
    let mut h = Md5::new();
    h.update(KEY);
    h.update(covered);
    h.finalize().to_vec()
}

/// Vectors whose server is NTPsec ntpd (its split rule differs from classic's).
fn from_ntpsec_daemon(d: &Datagram) -> bool {
    d.vector
        .starts_with("ntpsec-1.2.2/classic-ntpq-vs-ntpsec-ntpd")
}

fn mode6() -> Vec<Datagram> {
    let all = support::datagrams_of_mode(6);
    assert!(all.len() > 300, "only {} mode 6 datagrams found", all.len());
    all
}

/// The vectors that hold intentionally undecodable datagrams.
const UNDECODABLE: [&str; 3] = [
    "classic-4.2.8/mode6-errors/count-exceeds-data",
    "classic-4.2.8/mode6-errors/short-1-byte",
    "classic-4.2.8/mode6-errors/short-8-bytes",
];

#[test]
fn every_decodable_datagram_reencodes_byte_exact() {
    let mut failed = Vec::new();
    for d in mode6() {
        match ControlMessage::decode(&d.payload) {
            Ok(m) => {
                let again = m
                    .to_vec()
                    .unwrap_or_else(|e| panic!("{} #{}: re-encode failed: {e}", d.vector, d.index));
                assert_eq!(again, d.payload, "{} #{}", d.vector, d.index);
                assert_eq!(usize::from(m.header.count), m.data.len());
                if !d.vector.ends_with("response-bit-in-request") {
                    assert_eq!(m.header.response, d.is_response(), "{}", d.vector);
                }
            }
            Err(_) => failed.push(d.vector.clone()),
        }
    }
    failed.sort();
    assert_eq!(failed, UNDECODABLE);
}

#[test]
fn short_datagrams_fail_header_decode_too() {
    for v in &UNDECODABLE[1..] {
        for d in support::vector(v) {
            assert!(ControlHeader::decode(&d.payload).is_err(), "{v}");
        }
    }
}

#[test]
fn error_cases_get_the_classic_verdict() {
    // Per case: what the daemon did — no reply (None) or an error reply with that code — and
    // whether the format check alone explains it.
    let mut seen = 0;
    for d in mode6() {
        if !d.vector.starts_with("classic-4.2.8/mode6-errors/") || d.is_response() {
            continue;
        }
        seen += 1;
        let replies: Vec<ControlMessage> = support::vector(&d.vector)
            .iter()
            .filter(|r| r.is_response())
            .map(|r| ControlMessage::decode(&r.payload).unwrap())
            .collect();
        let case = d.vector.rsplit('/').next().unwrap();
        let verdict = validate_request(&d.payload);
        match replies.as_slice() {
            [] if case == "read-mru-without-nonce" => {
                // Well-formed; it is dropped later for want of a nonce.
                assert!(verdict.is_ok(), "{case}");
            }
            [] => assert!(
                matches!(verdict, Err(RequestRejection::Drop(_))),
                "{case}: {verdict:?}"
            ),
            [reply] => {
                let code = reply.header.error_code().expect("error reply");
                assert!(reply.data.is_empty() && reply.header.offset == 468);
                if code == ErrorCode::BadFormat {
                    let Err(RequestRejection::Reply { header, code }) = verdict else {
                        panic!("{case}: {verdict:?}");
                    };
                    assert_eq!(code, ErrorCode::BadFormat);
                    // The reply classic built from it, garbage offset included.
                    let built = ControlHeader::error_reply(&header, 0, code, 468);
                    assert_eq!(built, reply.header, "{case}");
                } else {
                    let req = verdict.unwrap_or_else(|e| panic!("{case}: {e:?}"));
                    let built = ControlHeader::error_reply(&req.header, 0, code, 468);
                    assert_eq!(built, reply.header, "{case}");
                }
                // ntpq's message for each code seen.
                let text = code.message(reply.header.assoc_id);
                assert!(text.starts_with("***"), "{text}");
            }
            more => panic!("{case}: {} replies", more.len()),
        }
    }
    assert_eq!(seen, 17);
}

#[test]
fn error_replies_carry_the_observed_codes() {
    let codes: BTreeMap<String, ErrorCode> = mode6()
        .iter()
        .filter(|d| d.vector.contains("mode6-errors") && d.is_response())
        .map(|d| {
            let m = ControlMessage::decode(&d.payload).unwrap();
            let case = d.vector.rsplit('/').next().unwrap().to_owned();
            (case, m.header.error_code().unwrap())
        })
        .collect();
    assert_eq!(codes["writevar-noauth"], ErrorCode::Permission);
    assert_eq!(codes["count-exceeds-data"], ErrorCode::BadFormat);
    assert_eq!(codes["odd-length-13"], ErrorCode::BadFormat);
    assert_eq!(codes["unknown-opcode-13"], ErrorCode::BadOpcode);
    assert_eq!(codes["unknown-opcode-7-asyncmsg"], ErrorCode::BadOpcode);
    assert_eq!(codes["readstat-unknown-assoc"], ErrorCode::BadAssoc);
    assert_eq!(codes["readvar-unknown-variable"], ErrorCode::UnknownVar);
    assert_eq!(
        codes["readvar-unknown-assoc"].message(0x1234),
        "***Association ID 4660 unknown to server"
    );
}

/// Every request of a vector with the responses that answer it, reassembled.
fn reassemble_vector(
    datagrams: &[Datagram],
) -> Vec<(ControlMessage, Vec<ControlMessage>, Progress)> {
    let mut out = Vec::new();
    for (i, d) in datagrams.iter().enumerate() {
        if d.is_response() || d.mode() != Some(6) {
            continue;
        }
        let Ok(req) = ControlMessage::decode(&d.payload) else {
            continue;
        };
        let mut r = Reassembler::new(&req.header);
        let mut frags = Vec::new();
        let mut progress = Progress::Incomplete;
        for resp in datagrams.iter().skip(i + 1).filter(|x| x.is_response()) {
            let m = ControlMessage::decode(&resp.payload).unwrap();
            if m.header.sequence != req.header.sequence || m.header.opcode != req.header.opcode {
                continue;
            }
            match r.accept_datagram(&resp.payload) {
                Ok(p) => progress = p,
                Err(e) if e.is_fatal() => break,
                Err(e) => panic!("{} #{}: {e}", resp.vector, resp.index),
            }
            frags.push(m);
        }
        out.push((req, frags, progress));
    }
    out
}

fn by_vector() -> BTreeMap<String, Vec<Datagram>> {
    let mut map: BTreeMap<String, Vec<Datagram>> = BTreeMap::new();
    for d in mode6() {
        map.entry(d.vector.clone()).or_default().push(d);
    }
    map
}

#[test]
fn every_response_reassembles() {
    let mut multi = 0;
    let mut complete = 0;
    for (vector, datagrams) in by_vector() {
        for (req, frags, progress) in reassemble_vector(&datagrams) {
            let Some(last) = frags.last() else { continue };
            if last.header.error {
                continue;
            }
            let Progress::Complete(resp) = progress else {
                panic!("{vector}: sequence {} incomplete", req.header.sequence);
            };
            complete += 1;
            if frags.len() > 1 {
                multi += 1;
            }
            let mut sorted = frags.clone();
            sorted.sort_by_key(|m| m.header.offset);
            let joined: Vec<u8> = sorted.iter().flat_map(|m| m.data.clone()).collect();
            assert_eq!(resp.data, joined, "{vector}");
            assert_eq!(resp.fragments, frags.len());
            assert_eq!(resp.status, last.header.status);
            // Fed in reverse order, the result is the same.
            let mut r = Reassembler::new(&req.header);
            let mut p = Progress::Incomplete;
            for m in frags.iter().rev() {
                p = r.accept(m).unwrap();
            }
            assert_eq!(p, Progress::Complete(resp), "{vector} reversed");
        }
    }
    assert!(complete >= 95, "{complete}");
    assert!(multi >= 20, "{multi}");
}

#[test]
fn readstat_assoc_zero_payloads_decode_and_reencode() {
    let mut seen = 0;
    for d in mode6().iter().filter(|d| d.is_response()) {
        let m = ControlMessage::decode(&d.payload).unwrap();
        if m.header.opcode != Opcode::ReadStat || m.header.assoc_id != 0 || m.header.error {
            continue;
        }
        seen += 1;
        let list = decode_assoc_list(&m.data).unwrap();
        assert_eq!(encode_assoc_list(&list), m.data);
        if d.vector == "classic-4.2.8/ntpq-p" {
            let ids: Vec<u16> = list.iter().map(|a| a.assoc_id).collect();
            assert_eq!(ids, [10102, 10100, 10099, 10098, 10097]);
            let sys_peer = list.iter().find(|a| a.assoc_id == 10098).unwrap();
            assert_eq!(sys_peer.status, PeerStatus::from_u16(0x961a));
            assert_eq!(
                SystemStatus::from_u16(m.header.status).describe(),
                "leap_none, sync_ntp, 1 event, restart"
            );
        }
    }
    assert!(seen >= 10, "{seen}");
}

/// Split reassembled classic text back into the raw items the daemon wrote: separators are
/// `, ` or `,\r\n` outside double quotes; the final `\r\n` is dropped.
fn raw_items(text: &[u8]) -> Vec<Vec<u8>> {
    let body = text.strip_suffix(b"\r\n").unwrap_or(text);
    let mut items = Vec::new();
    let mut cur = Vec::new();
    let mut quoted = false;
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b == b'"' {
            quoted = !quoted;
        }
        if !quoted && b == b',' {
            let sep = if body[i + 1..].starts_with(b"\r\n") {
                3
            } else {
                2
            };
            assert!(sep == 3 || body.get(i + 1) == Some(&b' '), "odd separator");
            items.push(std::mem::take(&mut cur));
            i += sep;
            continue;
        }
        cur.push(b);
        i += 1;
    }
    items.push(cur);
    items
}

/// Re-build a text response item by item with the typed writer.
fn rebuild(text: &[u8]) -> Vec<Fragment> {
    let mut w = VarListWriter::new();
    for item in raw_items(text) {
        let item = String::from_utf8(item).unwrap();
        match item.split_once('=') {
            Some((name, value)) if value.len() >= 2 && value.starts_with('"') => {
                assert!(value.ends_with('"'), "{item}");
                w.put_str(name, &value[1..value.len() - 1]);
            }
            Some((name, value)) => w.put_unquoted(name, value),
            None => w.put_raw(&item),
        }
    }
    w.finish()
}

#[test]
fn classic_fragment_boundaries_are_reproduced() {
    let mut checked = 0;
    let mut boundaries: BTreeMap<String, Vec<Vec<usize>>> = BTreeMap::new();
    for (vector, datagrams) in by_vector() {
        if from_ntpsec_daemon(&datagrams[0]) {
            continue;
        }
        for (req, mut frags, progress) in reassemble_vector(&datagrams) {
            let Progress::Complete(resp) = progress else {
                continue;
            };
            frags.sort_by_key(|m| m.header.offset);
            let rebuilt = if req.header.opcode == Opcode::ReadStat && req.header.assoc_id == 0 {
                let mut w = VarListWriter::new();
                w.put_binary(&resp.data);
                w.finish()
            } else {
                rebuild(&resp.data)
            };
            let got: Vec<(usize, &[u8], bool)> = rebuilt
                .iter()
                .map(|f| (f.offset, f.data.as_slice(), f.more))
                .collect();
            let want: Vec<(usize, &[u8], bool)> = frags
                .iter()
                .map(|m| {
                    (
                        usize::from(m.header.offset),
                        m.data.as_slice(),
                        m.header.more,
                    )
                })
                .collect();
            assert_eq!(got, want, "{vector} seq {}", req.header.sequence);
            assert!(rebuilt.iter().all(|f| f.data.len() <= CTL_MAX_DATA_LEN));
            boundaries
                .entry(vector.clone())
                .or_default()
                .push(frags.iter().map(|m| m.data.len()).collect());
            checked += 1;
        }
    }
    assert!(checked >= 90, "{checked}");
    assert!(boundaries["classic-4.2.8/ntpq-p"].contains(&vec![468, 85]));
    assert!(boundaries["classic-4.2.8/ntpq-c-mrulist"].contains(&vec![467, 209]));
    assert!(boundaries["classic-4.2.8/ntpq-c-reslist-auth"].contains(&vec![468, 468, 467, 107]));
}

#[test]
fn ntpq_p_first_fragment_is_split_mid_value() {
    let dg = support::vector("classic-4.2.8/ntpq-p");
    let (_, frags, Progress::Complete(resp)) = reassemble_vector(&dg)
        .into_iter()
        .find(|(req, _, _)| req.header.assoc_id == 10097)
        .unwrap()
    else {
        panic!("incomplete")
    };
    assert!(frags[0]
        .data
        .ends_with(b"filtoffset= 0.00 0.00 0.00 0.00 0.00 0.00 0.00 0"));
    let rebuilt = rebuild(&resp.data);
    assert_eq!(rebuilt[0].data, frags[0].data);
    assert_eq!(rebuilt[1].data, frags[1].data);
    // And the client parser reads the whole peer variable list back.
    let items = parse_varlist(&resp.data).unwrap();
    assert_eq!(items[0].name, "srcadr");
    assert_eq!(items[0].value.as_deref(), Some("127.127.1.0"));
    let filtoffset = items.iter().find(|i| i.name == "filtoffset").unwrap();
    assert_eq!(
        filtoffset.value.as_deref(),
        Some("0.00 0.00 0.00 0.00 0.00 0.00 0.00 0.00")
    );
    assert_eq!(items.last().unwrap().name, "filtdisp");
}

#[test]
fn client_parser_reads_quoted_and_empty_values() {
    let dg = support::vector("classic-4.2.8/ntpq-c-ifstats-auth");
    let (_, _, Progress::Complete(resp)) = reassemble_vector(&dg).remove(0) else {
        panic!("incomplete")
    };
    let items = parse_varlist(&resp.data).unwrap();
    let name0 = items.iter().find(|i| i.name == "name.0").unwrap();
    assert!(name0.quoted);
    assert_eq!(name0.value.as_deref(), Some("v6wildcard"));
    let bcast0 = items.iter().find(|i| i.name == "bcast.0").unwrap();
    assert_eq!(bcast0.value.as_deref(), Some(""));
    assert!(!bcast0.quoted);
    assert_eq!(
        items
            .iter()
            .find(|i| i.name == "addr.0")
            .unwrap()
            .value
            .as_deref(),
        Some("[::]:123")
    );
}

#[test]
fn authenticated_vectors_verify_with_the_test_key() {
    let mut verified = 0;
    for d in mode6() {
        if !d.vector.ends_with("-auth") {
            continue;
        }
        let parts = auth_parts(&d.payload).unwrap().expect("authenticated");
        assert_eq!(parts.key_id, 1);
        assert_eq!(parts.digest.len(), 16);
        assert_eq!(
            md5_mac(parts.covered),
            parts.digest,
            "{} #{}",
            d.vector,
            d.index
        );
        assert_eq!(parts.covered.len() % 8, 0);
        let m = ControlMessage::decode(&d.payload).unwrap();
        assert_eq!(m.auth.as_ref().unwrap().digest, parts.digest);
        verified += 1;
    }
    assert!(verified >= 16, "{verified}");
}

#[test]
fn unauthenticated_vectors_have_no_trailer() {
    for d in mode6() {
        if d.vector.ends_with("-auth") {
            continue;
        }
        if let Ok(m) = ControlMessage::decode(&d.payload) {
            assert!(m.auth.is_none(), "{} #{}", d.vector, d.index);
            assert!(auth_parts(&d.payload).unwrap().is_none());
        }
    }
}

#[test]
fn signing_reproduces_classic_ntpq_requests() {
    for (vector, len) in [
        ("classic-4.2.8/ntpq-c-ifstats-auth", 36),
        ("classic-4.2.8/ntpq-c-reslist-auth", 52),
    ] {
        let dg = support::vector(vector);
        let captured = &dg.iter().find(|d| !d.is_response()).unwrap().payload;
        assert_eq!(captured.len(), len);
        let orig = ControlMessage::decode(captured).unwrap();
        let mut m = ControlMessage::new(orig.header, orig.data.clone()).unwrap();
        m.sign(1, md5_mac).unwrap();
        assert_eq!(&m.to_vec().unwrap(), captured, "{vector}");
    }
}

#[test]
fn signing_reproduces_classic_ntpd_response_fragments() {
    let dg = support::vector("classic-4.2.8/ntpq-c-reslist-auth");
    for d in dg.iter().filter(|d| d.is_response()) {
        let orig = ControlMessage::decode(&d.payload).unwrap();
        let mut m = ControlMessage::new(orig.header, orig.data.clone()).unwrap();
        m.sign(1, md5_mac).unwrap();
        assert_eq!(m.to_vec().unwrap(), d.payload);
    }
}

#[test]
fn requests_rebuild_from_typed_headers() {
    // `rv 0 stratum,offset` from classic ntpq: count 14, 28 octets, zero padded.
    let dg = support::vector("classic-4.2.8/ntpq-c-rv-0-stratum-offset");
    let req = &dg[0].payload;
    let mut h = ControlHeader::request(Opcode::ReadVar, 1, 0);
    h.sequence = ControlHeader::decode(req).unwrap().sequence;
    let (data, left) = encode_query_vars(&[("stratum", None), ("offset", None)]);
    assert_eq!(left, None);
    let m = ControlMessage::new(h, data).unwrap();
    assert_eq!(&m.to_vec().unwrap(), req);
    assert_eq!(req.len(), 28);
    // NTPsec ntpq sets LI 3.
    let sec = support::vector("ntpsec-1.2.2/ntpq-vs-classic-ntpd/ntpq-c-rv-0-stratum-offset");
    let first = ControlHeader::decode(&sec[0].payload).unwrap();
    assert_eq!((first.leap, first.version), (3, 2));
}
