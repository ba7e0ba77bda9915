//! NTPsec's ntpq talking to the responder: every request NTPsec 1.2.2 ntpq sent to classic
//! ntpd in the captures gets the same kind of answer from us (no reply / the same error code /
//! data with the same variable names), the daemon state being the one of the classic
//! captures.

#[path = "mode6_responder_support.rs"]
mod support;

use std::time::Duration;

use ntp_control::mode6::responder::Responder;
use ntp_control::mode6::vars::NoNoise;
use ntp_wire::mode6::{auth_parts, ControlHeader, Opcode};
use support::*;

/// Variable names of a reply, noise items (`xyz.N`) removed, sorted when the server shuffles.
fn names(replies: &[Vec<u8>], op: Opcode) -> Vec<String> {
    if op == Opcode::ReadStat
        && replies
            .first()
            .is_some_and(|d| ControlHeader::decode(d).unwrap().assoc_id == 0)
    {
        // Binary association list: compare the ids.
        return replies
            .first()
            .map(|d| {
                assoc_list(d)
                    .iter()
                    .map(|a| a.assoc_id.to_string())
                    .collect()
            })
            .unwrap_or_default();
    }
    let mut n: Vec<String> = items(&joined_data(replies))
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| indexed(n).is_none_or(|(base, _)| base.len() != 3))
        .collect();
    if op == Opcode::ReadOrdlistA {
        n.sort();
    }
    n
}

#[test]
fn ntpsec_ntpq_requests_get_the_answers_classic_gave() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/vectors/ntpsec-1.2.2/ntpq-vs-classic-ntpd");
    let mut cases: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    let mut compared = 0;
    for case in &cases {
        let mut f = rich_fake();
        let mut r = Responder::with_noise(*b"0000111122223333", Box::new(NoNoise));
        let meta = loopback_meta(Duration::from_secs(100));
        for (i, (req, want)) in exchanges_at(&format!("ntpsec-1.2.2/ntpq-vs-classic-ntpd/{case}"))
            .iter()
            .enumerate()
        {
            let op = ControlHeader::decode(req).unwrap().opcode;
            if op == Opcode::ReadMru {
                // Carries classic's nonce, which is not ours (the handshake is covered by
                // the golden mrulist test).
                continue;
            }
            let got = r.handle(req, &meta, &mut f);
            let what = format!("{case} exchange {i} ({op:?})");
            assert_eq!(got.is_empty(), want.is_empty(), "{what}");
            if want.is_empty() {
                continue;
            }
            let want_h = ControlHeader::decode(&want[0]).unwrap();
            let got_h = ControlHeader::decode(&got[0]).unwrap();
            assert_eq!(got_h.error_code(), want_h.error_code(), "{what}");
            assert_eq!(
                (got_h.sequence, got_h.assoc_id, got_h.version),
                (want_h.sequence, want_h.assoc_id, want_h.version),
                "{what}"
            );
            if want_h.error_code().is_none() {
                assert_eq!(names(&got, op), names(want, op), "{what}");
                // Authenticated requests get authenticated replies.
                let signed = |d: &Vec<u8>| auth_parts(d).unwrap().is_some();
                assert!(got.iter().all(signed) == want.iter().all(signed), "{what}");
                assert!(got.iter().any(signed) == want.iter().any(signed), "{what}");
            }
            compared += 1;
        }
    }
    assert!(compared >= 70, "compared {compared} exchanges");
}
