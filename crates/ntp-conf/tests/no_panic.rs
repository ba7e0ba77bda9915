//! Property tests: the parsers never panic, whatever the input, and their results are
//! consistent (every error carries a position inside the input).

use ntp_conf::{keys::parse_keys, parse, MapLoader};
use proptest::prelude::*;

/// Words that steer random input into the deep parts of the grammar.
const VOCAB: &[&str] = &[
    "server",
    "pool",
    "peer",
    "broadcast",
    "manycastclient",
    "restrict",
    "unrestrict",
    "delrestrict",
    "default",
    "source",
    "mask",
    "-4",
    "-6",
    "fudge",
    "refclock",
    "local",
    "driftfile",
    "tinker",
    "tos",
    "trustedkey",
    "(",
    ")",
    "...",
    "includefile",
    "a.conf",
    "setvar",
    "=",
    "interface",
    "listen",
    "filegen",
    "type",
    "day",
    "logconfig",
    "=syncall",
    "minpoll",
    "maxpoll",
    "key",
    "version",
    "mode",
    "ttl",
    "port",
    "iburst",
    "prefer",
    "127.127.1.0",
    "127.127.0.0",
    "10.0.0.0/8",
    "::/0",
    "fe80::1%x",
    "255.0.0.0",
    "0",
    "1",
    "17",
    "-1",
    "65535",
    "65536",
    "1e999",
    "nan",
    "0.5",
    "stratum",
    "refid",
    "flag1",
    "serverresponse",
    "fuzz",
    "ntpport",
    "kod",
    "\"",
    "#",
    "\\",
    "\t",
    "end",
    "pollskewlist",
    "4",
    "1|2",
    "mru",
    "discard",
    "average",
    "ippeerlimit",
    "enable",
    "mode7",
    "trap",
];

fn vocab_line() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCAB), 0..10).prop_map(|w| w.join(" "))
}

fn check(text: &str) {
    let loader = MapLoader::new().with_file("a.conf", "includefile a.conf\nserver 192.0.2.1\n");
    match parse(text, "t.conf", &loader) {
        Ok(cfg) => {
            // A valid config can always be checked and queried.
            let _ = cfg.check(&loader, None);
            let _ = cfg.restriction_for("10.1.2.3".parse().unwrap());
            let _ = cfg.restriction_for("2001:db8::1".parse().unwrap());
        }
        Err(d) => {
            assert!(d.has_errors());
            let lines = u32::try_from(text.split('\n').count()).unwrap();
            for diag in &d.0 {
                if &*diag.location.file == "t.conf" {
                    assert!(
                        diag.location.line >= 1 && diag.location.line <= lines,
                        "{diag}"
                    );
                }
                assert!(diag.location.column >= 1);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn conf_parser_never_panics_on_arbitrary_text(text in "\\PC{0,300}") {
        check(&text);
    }

    #[test]
    fn conf_parser_never_panics_on_keyword_soup(lines in prop::collection::vec(vocab_line(), 0..12)) {
        check(&lines.join("\n"));
    }

    #[test]
    fn keys_parser_never_panics(text in "[0-9A-Za-z #/.,:\\n\\t-]{0,300}") {
        match parse_keys(&text, "k") {
            Ok(kf) => prop_assert!(kf.keys.iter().all(|k| k.id >= 1 && !k.secret.is_empty())),
            Err(d) => prop_assert!(d.has_errors()),
        }
    }

    #[test]
    fn keys_parser_never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
        let _ = parse_keys(&text, "k");
    }
}
