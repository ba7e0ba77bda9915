//! Behaviour of the command line and the built-ins, with a scripted server: fallbacks, prompts,
//! errors, JSON, interactive mode.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use ntp_wire::mode7::{LFp, RequestMacLayout};
use ntp_wire::{MacAlgorithm, SymmetricKey};
use ntpdc::{Family, Io};

/// Answers each request with a function of the request.
struct Scripted<F: FnMut(&[u8]) -> Vec<Vec<u8>>> {
    answer: F,
    pending: VecDeque<Vec<u8>>,
    sent: Vec<Vec<u8>>,
    commands: VecDeque<String>,
    secrets: VecDeque<String>,
    terminal: bool,
    out: String,
    err: String,
    files: Vec<(String, String)>,
}

fn scripted<F: FnMut(&[u8]) -> Vec<Vec<u8>>>(answer: F) -> Scripted<F> {
    Scripted {
        answer,
        pending: VecDeque::new(),
        sent: Vec::new(),
        commands: VecDeque::new(),
        secrets: VecDeque::new(),
        terminal: false,
        out: String::new(),
        err: String::new(),
        files: Vec::new(),
    }
}

impl<F: FnMut(&[u8]) -> Vec<Vec<u8>>> Io for Scripted<F> {
    fn resolve(&mut self, host: &str, family: Family) -> Option<IpAddr> {
        let a: IpAddr = match host {
            "localhost" => "127.0.0.1".parse().ok()?,
            h => h.parse().ok()?,
        };
        match family {
            Family::V6 if a.is_ipv4() => None,
            _ => Some(a),
        }
    }
    fn reverse(&mut self, addr: IpAddr) -> Option<String> {
        (addr == IpAddr::from([127, 0, 0, 1])).then(|| "localhost".into())
    }
    fn connect(&mut self, _addr: IpAddr, _port: u16) -> Result<(), String> {
        Ok(())
    }
    fn send(&mut self, datagram: &[u8]) -> Result<(), String> {
        self.sent.push(datagram.to_vec());
        self.pending = (self.answer)(datagram).into();
        Ok(())
    }
    fn recv(&mut self, _timeout: Duration) -> Option<Vec<u8>> {
        self.pending.pop_front()
    }
    fn now(&mut self) -> LFp {
        LFp(0xeeb2_2828_0000_0000)
    }
    fn utc_offset(&mut self, _unix: i64) -> i64 {
        0
    }
    fn read_command(&mut self) -> Option<String> {
        self.commands.pop_front()
    }
    fn read_secret(&mut self, prompt: &str, echo: bool) -> Option<String> {
        // Like getpass(3) without a terminal: the password prompt goes to stderr.
        if !echo {
            self.err.push_str(prompt);
        }
        self.secrets.pop_front()
    }
    fn is_terminal(&mut self) -> bool {
        self.terminal
    }
    fn stdout(&mut self, text: &str) {
        self.out.push_str(text);
    }
    fn stderr(&mut self, text: &str) {
        self.err.push_str(text);
    }
    fn create_output(&mut self, path: &str) -> Result<(), String> {
        if path.starts_with("/nonexistent") {
            return Err("No such file or directory".into());
        }
        self.files.push((path.to_string(), String::new()));
        Ok(())
    }
    fn append_output(&mut self, path: &str, text: &str) {
        if let Some(f) = self.files.iter_mut().find(|f| f.0 == path) {
            f.1.push_str(text);
        }
    }
}

fn args(s: &[&str]) -> Vec<String> {
    s.iter().map(|a| a.to_string()).collect()
}

fn vector(name: &str) -> (Vec<Vec<u8>>, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/vectors/classic-4.2.8")
        .join(name);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("datagrams.json")).unwrap())
            .unwrap();
    let responses = json["datagrams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["dir"] == "response")
        .map(|d| {
            let h = d["payload_hex"].as_str().unwrap();
            (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                .collect()
        })
        .collect();
    (
        responses,
        std::fs::read_to_string(dir.join("stdout.txt")).unwrap(),
    )
}

fn error_reply(req: &[u8], err: u8) -> Vec<u8> {
    vec![0x97, 0, req[2], req[3], err << 4, 0, 0, 0]
}

#[test]
fn old_server_gets_implementation_2_and_the_same_report() {
    let (responses, stdout) = vector("ntpdc-c-sysinfo");
    // An old daemon: refuses implementation 3, answers 2 with the 56-octet item.
    let mut io = scripted(move |req| {
        if req[2] == 3 {
            return vec![error_reply(req, 1)];
        }
        let mut r = responses[0][..8 + 56].to_vec();
        r[2] = 2;
        r[7] = 56;
        vec![r]
    });
    assert_eq!(
        ntpdc::run(&args(&["-c", "sysinfo", "127.0.0.1"]), &mut io),
        0
    );
    assert_eq!(io.out, stdout);
    assert_eq!(io.err, "");
    assert_eq!(io.sent.len(), 2);
    assert_eq!((io.sent[0][2], io.sent[1][2]), (3, 2));
}

#[test]
fn format_errors_print_the_classic_warnings() {
    let mut io = scripted(|req| vec![error_reply(req, 3)]);
    ntpdc::run(&args(&["-c", "sysstats", "127.0.0.1"]), &mut io);
    assert_eq!(
        io.err,
        "***Warning changing to older implementation\n\
         ***Warning changing the request packet size from 160 to 48\n\
         ***Server reports a format error in the received packet (shouldn't happen)\n"
    );
    let lens: Vec<usize> = io.sent.iter().map(Vec::len).collect();
    assert_eq!(lens, vec![192, 160, 48]);
}

#[test]
fn server_errors_print_classic_messages() {
    for (err, msg) in [
        (2, "***Server doesn't implement this request\n"),
        (4, "***Server reports data not found\n"),
        (7, "***Permission denied\n"),
        (9, "***Server returns unknown error code 9\n"),
    ] {
        let mut io = scripted(move |req| vec![error_reply(req, err)]);
        ntpdc::run(&args(&["-c", "iostats", "127.0.0.1"]), &mut io);
        assert_eq!(io.err, msg);
        assert_eq!(io.out, "");
    }
}

#[test]
fn incomplete_response_is_reported() {
    let mut io = scripted(|req| {
        let mut frag = vec![0xd7, 0, req[2], req[3], 0, 1, 0, 56];
        frag.resize(8 + 56, 0);
        vec![frag]
    });
    ntpdc::run(&args(&["-c", "reslist", "127.0.0.1"]), &mut io);
    assert_eq!(
        io.err,
        "127.0.0.1: timed out with incomplete data\n***Response from server was incomplete\n"
    );
}

#[test]
fn authenticated_command_prompts_for_key_and_password() {
    let (responses, stdout) = vector("ntpdc-c-ifstats-auth");
    let mut io = scripted(move |_| responses.clone());
    io.secrets = VecDeque::from(vec!["1".to_string(), "vectorkey1".to_string()]);
    ntpdc::run(&args(&["-c", "ifstats", "127.0.0.1"]), &mut io);
    assert_eq!(io.err, "Keyid: MD5 Password: ");
    assert_eq!(io.out, stdout);
    let req = &io.sent[0];
    let layout = RequestMacLayout::client(0, 0, 16).unwrap();
    assert_eq!(req.len(), 212);
    let key = SymmetricKey::new(1, MacAlgorithm::Md5, b"vectorkey1");
    assert!(key.verify(layout.covered(req).unwrap(), layout.digest(req).unwrap()));
    // The timestamp is now + the 20 ms default delay.
    assert_eq!(
        layout.tstamp(req),
        Some(LFp(0xeeb2_2828_0000_0000 + 0x051e_b852))
    );
}

#[test]
fn empty_password_sends_nothing() {
    let mut io = scripted(|_| panic!("nothing may be sent"));
    io.secrets = VecDeque::from(vec!["3".to_string()]);
    ntpdc::run(&args(&["-c", "ifstats", "127.0.0.1"]), &mut io);
    assert_eq!(io.err, "Keyid: MD5 Password: Invalid password\n");
}

#[test]
fn keyid_zero_sends_authenticated_commands_without_mac() {
    let mut io = scripted(|req| vec![error_reply(req, 7)]);
    ntpdc::run(
        &args(&["-c", "keyid 0", "-c", "ifstats", "127.0.0.1"]),
        &mut io,
    );
    assert_eq!(io.sent[0].len(), 192);
    assert_eq!(io.sent[0][1], 0);
    assert_eq!(io.err, "***Permission denied\n");
}

#[test]
fn builtins_report_their_settings() {
    let mut io = scripted(|_| Vec::new());
    let cmds = [
        "keyid",
        "keyid 5",
        "keyid",
        "keytype",
        "keytype sha1",
        "keytype",
        "keytype nope",
        "delay",
        "delay 100",
        "delay",
        "timeout",
        "timeout 1500",
        "timeout",
        "hostnames",
        "hostnames no",
        "hostnames",
        "host",
        "debug",
        "debug more",
    ];
    let mut a = Vec::new();
    for c in cmds {
        a.push("-c".to_string());
        a.push(c.to_string());
    }
    a.push("127.0.0.1".into());
    ntpdc::run(&a, &mut io);
    assert_eq!(
        io.out,
        "no keyid defined\n\
         keyid is 5\n\
         keytype is MD5 with 16 octet digests\n\
         keytype is SHA1 with 20 octet digests\n\
         keytype must be 'md5' or a digest type provided by OpenSSL\n\
         delay 20 ms\n\
         delay 100 ms\n\
         primary timeout 5000 ms\n\
         primary timeout 1500 ms\n\
         hostnames being shown\n\
         hostnames not being shown\n\
         current host is 127.0.0.1\n\
         debug level is 0\n\
         debug level set to 1\n"
    );
    assert_eq!(io.err, "");
}

#[test]
fn unknown_ambiguous_and_malformed_commands() {
    let mut io = scripted(|_| Vec::new());
    ntpdc::run(
        &args(&[
            "-c",
            "bogus",
            "-c",
            "s",
            "-c",
            "showpeer",
            "-c",
            "timeout x",
            "-c",
            "reslist -5",
            "127.0.0.1",
        ]),
        &mut io,
    );
    assert_eq!(
        io.err,
        "***Command `bogus' unknown\n\
         ***Command `s' ambiguous\n\
         usage: showpeer [ -4|-6 ] peer_address [ peer2_addr ] [ peer3_addr ] [ peer4_addr ]\n\
         ***Illegal integer value x\n\
         ***Version must be either 4 or 6\n"
    );
    assert!(io.sent.is_empty());
}

#[test]
fn unique_prefix_runs_the_command() {
    let (responses, stdout) = vector("ntpdc-c-timerstats");
    let mut io = scripted(move |_| responses.clone());
    ntpdc::run(&args(&["-c", "timer", "127.0.0.1"]), &mut io);
    assert_eq!(io.out, stdout);
}

#[test]
fn help_lists_commands_and_explains_one() {
    let mut io = scripted(|_| Vec::new());
    ntpdc::run(
        &args(&["-c", "help", "-c", "help sysinfo", "127.0.0.1"]),
        &mut io,
    );
    assert!(io.out.starts_with("ntpdc commands:\n"));
    assert!(io.out.contains("sysinfo"));
    assert!(io
        .out
        .ends_with("function: display local server information\nusage: sysinfo\n"));
    // 14 characters is the longest name ("untrustedkey" and friends fit), 5 columns of 15.
    let first_row = io.out.lines().nth(1).unwrap();
    assert!(first_row.starts_with("addpeer"), "{first_row}");
}

#[test]
fn clkbug_is_refused() {
    let mut io = scripted(|_| panic!("nothing may be sent"));
    ntpdc::run(&args(&["-c", "clkbug 127.127.1.0", "127.0.0.1"]), &mut io);
    assert_eq!(io.err, "***clkbug is not supported by this ntpdc\n");
}

#[test]
fn several_hosts_get_a_banner_each() {
    let (responses, _) = vector("ntpdc-c-loopinfo");
    let mut io = scripted(move |_| responses.clone());
    ntpdc::run(
        &args(&["-c", "loopinfo oneline", "127.0.0.1", "127.0.0.2"]),
        &mut io,
    );
    let line = "offset +0.000000, frequency +0.000, time_const 0, watchdog 46\n";
    assert_eq!(
        io.out,
        format!("--- 127.0.0.1 ---\n{line}--- 127.0.0.2 ---\n{line}")
    );
}

#[test]
fn short_options_add_peer_commands_in_classic_order() {
    let mut io = scripted(|req| vec![error_reply(req, 4)]);
    ntpdc::run(&args(&["-snpl", "127.0.0.1"]), &mut io);
    let codes: Vec<u8> = io.sent.iter().map(|r| r[3]).collect();
    // listpeers (0), peers (1), dmpeers (1).
    assert_eq!(codes, vec![0, 1, 1]);
}

#[test]
fn interactive_mode_prompts_and_quits() {
    let (responses, stdout) = vector("ntpdc-c-iostats");
    let mut io = scripted(move |_| responses.clone());
    io.commands = VecDeque::from(vec![
        "iostats\n".to_string(),
        "quit\n".into(),
        "sysinfo\n".into(),
    ]);
    ntpdc::run(&args(&["-i", "127.0.0.1"]), &mut io);
    assert_eq!(io.out, stdout);
    assert_eq!(io.err, "ntpdc> ntpdc> ");
    assert_eq!(io.sent.len(), 1);
}

#[test]
fn commands_from_a_pipe_run_without_prompt() {
    let (responses, stdout) = vector("ntpdc-c-iostats");
    let mut io = scripted(move |_| responses.clone());
    io.commands = VecDeque::from(vec!["iostats\n".to_string()]);
    ntpdc::run(&args(&["127.0.0.1"]), &mut io);
    assert_eq!(io.out, stdout);
    // End of input: classic's line reader writes a newline to stderr.
    assert_eq!(io.err, "\n");
}

#[test]
fn json_peers_listpeers_and_sysstats() {
    let mut io = scripted(|req| {
        let name = match req[3] {
            0 => "ntpdc-c-listpeers",
            1 => "ntpdc-n-c-peers",
            _ => "ntpdc-c-sysstats",
        };
        vector(name).0
    });
    ntpdc::run(
        &args(&[
            "--json",
            "-n",
            "-c",
            "peers",
            "-c",
            "listpeers",
            "-c",
            "sysstats",
            "127.0.0.1",
        ]),
        &mut io,
    );
    let docs: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&io.out)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(docs.len(), 3);
    let peers = docs[0].as_array().unwrap();
    assert_eq!(peers.len(), 5);
    assert_eq!(peers[3]["tally"], "*");
    assert_eq!(peers[3]["remote"], "10.123.21.2");
    assert_eq!(peers[3]["local"], "10.123.21.1");
    assert_eq!(peers[3]["reach"], 255);
    assert_eq!(peers[3]["poll"], 64);
    assert_eq!(peers[3]["hmode"], "client");
    let list = docs[1].as_array().unwrap();
    assert_eq!(list[4]["mode"], "client");
    assert_eq!(list[4]["address"], "127.127.1.0");
    assert_eq!(docs[2]["packets_received"], 317);
    assert_eq!(docs[2]["rate_exceeded"], 0);
}

#[test]
fn no_host_open_is_reported() {
    let mut io = scripted(|_| Vec::new());
    io.commands = VecDeque::from(vec!["sysinfo\n".to_string()]);
    ntpdc::run(&args(&["no.such.host"]), &mut io);
    assert_eq!(
        io.err,
        "Name or service not known\n***No host open, use `host' command\n\n"
    );
}

#[test]
fn unknown_option_fails() {
    let mut io = scripted(|_| Vec::new());
    assert_eq!(ntpdc::run(&args(&["-Z"]), &mut io), 1);
    assert!(io.err.starts_with("ntpdc: illegal option -- Z\n"));
}

/// `-c "keyid 1" -c "passwd vectorkey1"` plus the given commands.
fn keyed(cmds: &[&str]) -> Vec<String> {
    let mut a = args(&["-c", "keyid 1", "-c", "passwd vectorkey1"]);
    for c in cmds {
        a.push("-c".into());
        a.push(c.to_string());
    }
    a.push("127.0.0.1".into());
    a
}

fn ack_reply(req: &[u8]) -> Vec<u8> {
    error_reply(req, 0)
}

fn assert_signed(req: &[u8], nitems: u16, size: u16) {
    assert_eq!(req[1], 0x80, "A bit");
    assert_eq!(req.len(), 212);
    let layout = RequestMacLayout::client(nitems, size, 16).unwrap();
    let key = SymmetricKey::new(1, MacAlgorithm::Md5, b"vectorkey1");
    assert!(key.verify(layout.covered(req).unwrap(), layout.digest(req).unwrap()));
}

#[test]
fn reset_sends_the_flag_word_authenticated() {
    let mut io = scripted(|req| vec![ack_reply(req)]);
    ntpdc::run(&keyed(&["reset io sys"]), &mut io);
    assert_eq!(io.out, "done!\n");
    let req = &io.sent[0];
    assert_eq!(&req[..8], &[0x17, 0x80, 3, 21, 0, 1, 0, 4]);
    assert_eq!(&req[8..12], &[0, 0, 0, 6]);
    assert_signed(req, 1, 4);
}

#[test]
fn reset_with_an_unknown_flag_sends_nothing() {
    let mut io = scripted(|_| panic!("nothing may be sent"));
    ntpdc::run(&keyed(&["reset io bogus"]), &mut io);
    assert_eq!(io.out, "Flag bogus unknown\nNot done due to errors\n");
}

#[test]
fn addserver_builds_the_conf_peer_item() {
    let mut io = scripted(|req| vec![ack_reply(req)]);
    ntpdc::run(
        &keyed(&["addserver 10.0.0.5 prefer iburst minpoll 4"]),
        &mut io,
    );
    assert_eq!(io.out, "done!\n");
    let req = &io.sent[0];
    assert_eq!(&req[2..8], &[3, 10, 0, 1, 0, 168]);
    // peeraddr, hmode 3, version 3, minpoll 4, maxpoll 10, flags prefer|iburst, ttl 0.
    assert_eq!(&req[8..18], &[10, 0, 0, 5, 3, 3, 4, 10, 0x0a, 0]);
    assert!(req[18..8 + 168].iter().all(|&b| b == 0));
    assert_signed(req, 1, 168);
}

#[test]
fn addpeer_rejects_bad_poll_and_version() {
    let mut io = scripted(|_| panic!("nothing may be sent"));
    ntpdc::run(&keyed(&["addpeer 10.0.0.5 version 7 maxpoll 2"]), &mut io);
    assert_eq!(
        io.out,
        "***invalid version number: 7\n***min/max-poll must be within 3..17\n"
    );
}

#[test]
fn restrict_checks_the_mask_and_sends_flags() {
    let mut io = scripted(|req| vec![ack_reply(req)]);
    ntpdc::run(
        &keyed(&[
            "restrict 10.0.0.0 255.0.255.0 nomodify",
            "restrict 10.1.0.0 255.255.0.0 nomodify ntpport",
            "delrestrict 10.1.0.0 255.255.0.0 kod",
        ]),
        &mut io,
    );
    assert_eq!(
        io.out,
        "Invalid mask 255.0.255.0\ndone!\nFlag kod inappropriate\n"
    );
    assert_eq!(io.sent.len(), 1);
    let req = &io.sent[0];
    assert_eq!(req[3], 17);
    assert_eq!(&req[8..16], &[10, 1, 0, 0, 255, 255, 0, 0]);
    // flags (nomodify 0x0100) and mflags (ntpport 0x2000) after ippeerlimit and srvfuzrft.
    assert_eq!(&req[24..28], &[0x01, 0x00, 0x20, 0x00]);
}

#[test]
fn refused_configuration_prints_the_server_error_only() {
    let mut io = scripted(|req| vec![error_reply(req, 7)]);
    ntpdc::run(&keyed(&["enable monitor"]), &mut io);
    assert_eq!(io.out, "");
    assert_eq!(io.err, "***Permission denied\n");
    assert_eq!(&io.sent[0][8..12], &[0, 0, 0, 0x10]);
}

#[test]
fn trustedkey_sends_host_order_longs() {
    let mut io = scripted(|req| vec![ack_reply(req)]);
    ntpdc::run(&keyed(&["trustedkey 5 258"]), &mut io);
    let req = &io.sent[0];
    assert_eq!(&req[4..8], &[0, 2, 0, 8]);
    assert_eq!(
        &req[8..24],
        &[5, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(io.out, "done!\n");
}

#[test]
fn old_conf_peer_is_tried_after_format_errors() {
    let mut io = scripted(|req| {
        if req[7] == 16 {
            vec![ack_reply(req)]
        } else {
            vec![error_reply(req, 3)]
        }
    });
    ntpdc::run(&keyed(&["addpeer 10.0.0.9"]), &mut io);
    assert_eq!(
        io.err,
        "***Warning changing to older implementation\n\
         ***Warning changing the request packet size from 160 to 48\n\
         ***Server reports a format error in the received packet (shouldn't happen)\n"
    );
    assert_eq!(
        io.out,
        "***Retrying command with old conf_peer size\ndone!\n"
    );
}

const READ_COMMANDS: [&str; 18] = [
    "sysinfo",
    "peers",
    "dmpeers",
    "listpeers",
    "showpeer 10.0.0.1",
    "pstats 10.0.0.1",
    "loopinfo",
    "sysstats",
    "memstats",
    "iostats",
    "timerstats",
    "reslist",
    "monlist",
    "authinfo",
    "traps",
    "ctlstats",
    "clockstat 127.127.1.0",
    "kerninfo",
];

proptest::proptest! {
    #[test]
    fn any_server_answer_is_printed_without_panicking(
        cmd in 0usize..READ_COMMANDS.len(),
        frags in proptest::collection::vec(
            (
                proptest::prelude::any::<bool>(),
                0u8..3,
                0u16..4,
                proptest::prop_oneof![
                    proptest::sample::select(vec![
                        8u16, 32, 72, 280, 240, 120, 80, 56, 52, 40, 24, 16, 148, 60, 136, 48,
                        36, 64, 28,
                    ]),
                    0u16..300,
                ],
                proptest::collection::vec(proptest::prelude::any::<u8>(), 600),
            ),
            1..4,
        ),
    ) {
        let mut io = scripted(move |req| {
            frags
                .iter()
                .map(|(more, seq, n, size, seed)| {
                    let mut d = vec![if *more { 0xd7 } else { 0x97 }, *seq, req[2], req[3]];
                    d.extend_from_slice(&n.to_be_bytes());
                    d.extend_from_slice(&size.to_be_bytes());
                    let len = (usize::from(*n) * usize::from(*size)).min(seed.len());
                    d.extend_from_slice(&seed[..len]);
                    d
                })
                .collect()
        });
        let status = ntpdc::run(&args(&["-c", READ_COMMANDS[cmd], "127.0.0.1"]), &mut io);
        proptest::prop_assert_eq!(status, 0);
    }
}

/// One response datagram carrying `items` (already encoded) of `size` octets each.
fn items_reply(req: &[u8], size: usize, items: &[Vec<u8>]) -> Vec<u8> {
    let mut d = vec![0x97, 0, req[2], req[3]];
    d.extend_from_slice(&(items.len() as u16).to_be_bytes());
    d.extend_from_slice(&(size as u16).to_be_bytes());
    for i in items {
        d.extend_from_slice(i);
    }
    d
}

fn run_with_items(cmd: &str, size: usize, items: Vec<Vec<u8>>) -> (String, String) {
    let mut io = scripted(move |req| vec![items_reply(req, size, &items)]);
    ntpdc::run(&args(&["-c", cmd, "127.0.0.1"]), &mut io);
    (io.out, io.err)
}

use ntp_wire::mode7::{
    InfoAuth, InfoClock, InfoControl, InfoKernel, InfoSys, InfoTrap, ItemLayout, PrivateItem,
};

#[test]
fn authinfo_prints_classic_labels() {
    let a = InfoAuth {
        timereset: 10,
        numkeys: 2,
        numfreekeys: 3,
        keylookups: 4,
        keynotfound: 5,
        encryptions: 6,
        decryptions: 7,
        expired: 8,
        keyuncached: 9,
    };
    let (out, err) = run_with_items("authinfo", InfoAuth::SIZE, vec![a.to_vec(ItemLayout::Full)]);
    assert_eq!(err, "");
    assert_eq!(
        out,
        "time since reset:     10\nstored keys:          2\nfree keys:            3\n\
         key lookups:          4\nkeys not found:       5\nuncached keys:        9\n\
         encryptions:          6\ndecryptions:          7\nexpired keys:         8\n"
    );
}

#[test]
fn ctlstats_prints_classic_labels() {
    let c = InfoControl {
        ctltimereset: 1,
        numctlreq: 2,
        numctlresponses: 3,
        numasyncmsgs: 15,
        ..Default::default()
    };
    let (out, _) = run_with_items(
        "ctlstats",
        InfoControl::SIZE,
        vec![c.to_vec(ItemLayout::Full)],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 15);
    assert_eq!(lines[0], "time since reset:       1");
    assert_eq!(lines[2], "responses sent:         3");
    assert_eq!(lines[4], "async messages sent:    15");
    assert_eq!(lines[13], "data in pkt too short:  0");
}

#[test]
fn traps_print_address_interface_and_priority() {
    let t = InfoTrap {
        trap_address: "192.0.2.7".parse().unwrap(),
        trap_port: 18447,
        sequence: 3,
        settime: 20,
        origtime: 100,
        resets: 1,
        flags: 0x4,
        ..Default::default()
    };
    let mut t2 = t.clone();
    t2.flags = 0x2;
    t2.local_address = "192.0.2.1".parse().unwrap();
    let (out, _) = run_with_items(
        "traps",
        InfoTrap::SIZE,
        vec![t.to_vec(ItemLayout::Full), t2.to_vec(ItemLayout::Full)],
    );
    assert_eq!(
        out,
        "address 192.0.2.7, port 18447\ninterface: wildcard, configured\n\
         set for 100 secs, last set 20 secs ago\nsequence 3, number of resets 1\n\
         \naddress 192.0.2.7, port 18447\ninterface: 192.0.2.1, low priority\n\
         set for 100 secs, last set 20 secs ago\nsequence 3, number of resets 1\n"
    );
}

#[test]
fn clockstat_names_the_driver() {
    let c = InfoClock {
        clockadr: "127.127.1.0".parse().unwrap(),
        clock_type: 1,
        polls: 5,
        fudgeval1: 10,
        fudgeval2: *b"LOCL",
        flags: 3,
        ..Default::default()
    };
    let (out, _) = run_with_items(
        "clockstat 127.127.1.0",
        InfoClock::SIZE,
        vec![c.to_vec(ItemLayout::Full)],
    );
    assert_eq!(
        out,
        "clock address:        127.127.1.0\n\
         clock type:           Undisciplined local clock (1)\n\
         last event:           0\ncurrent status:       0\nnumber of polls:      5\n\
         no response to poll:  0\nbad format responses: 0\nbad data responses:   0\n\
         running time:         0\nfudge time 1:         +0.000000\n\
         fudge time 2:         +0.000000\nstratum:              10\n\
         reference ID:         LOCL\nfudge flags:          0x3\n"
    );
}

#[test]
fn kerninfo_adds_pps_lines_when_shift_is_set() {
    let k = InfoKernel {
        offset: -1500,
        freq: 0x0001_8000,
        maxerror: 16_000_000,
        esterror: 1,
        status: 0x2001,
        shift: 2,
        constant: 6,
        precision: 1,
        tolerance: 0x01f4_0000,
        ppsfreq: 0x0000_8000,
        jitter: 200,
        stabil: 0,
        jitcnt: 1,
        calcnt: 2,
        errcnt: 3,
        stbcnt: 4,
    };
    let (out, _) = run_with_items(
        "kerninfo",
        InfoKernel::SIZE,
        vec![k.to_vec(ItemLayout::Full)],
    );
    assert_eq!(
        out,
        "pll offset:           -1.5e-06 s\npll frequency:        1.500 ppm\n\
         maximum error:        16 s\nestimated error:      1e-06 s\n\
         status:               2001  pll nano\npll time constant:    6\n\
         precision:            1e-06 s\nfrequency tolerance:  500 ppm\n\
         pps frequency:        0.500 ppm\npps stability:        0.000 ppm\n\
         pps jitter:           2e-07 s\ncalibration interval: 4 s\n\
         calibration cycles:   2\njitter exceeded:      1\nstability exceeded:   4\n\
         calibration errors:   3\n"
    );
}

#[test]
fn sysinfo_flags_none_quirk_and_stratum_1_refid() {
    let s = InfoSys {
        peer_mode: 3,
        stratum: 1,
        refid: *b"GPS\0",
        flags: 0x02,
        ..Default::default()
    };
    let (out, _) = run_with_items("sysinfo", InfoSys::SIZE, vec![s.to_vec(ItemLayout::Full)]);
    assert!(out.contains("system peer:          0.0.0.0\n"), "{out}");
    assert!(out.contains("reference ID:         [GPS]\n"));
    assert!(out.contains("reference time:       (no time)\n"));
    // Classic masks with 0xfd, so AUTHENTICATE alone prints "none".
    assert!(out.contains("system flags:         none\n"));
}

#[test]
fn wrong_item_size_prints_both_classic_complaints() {
    let (out, err) = run_with_items("sysinfo", 96, vec![vec![0; 96]]);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "***Incorrect item size returned by remote host (96 should be 80)\n\
         ***Incorrect item size returned by remote host (96 should be 56)\n"
    );
}

#[test]
fn empty_and_multiple_items_are_reported() {
    let (out, _) = run_with_items("listpeers", 32, vec![]);
    assert_eq!(out, "No data returned in response to query\n");
    let (out, _) = run_with_items("iostats", 40, vec![vec![0; 40], vec![0; 40]]);
    assert_eq!(out, "Expected one item in response, got 2\n");
}

#[test]
fn output_redirection_writes_the_report_to_a_file() {
    let (responses, stdout) = vector("ntpdc-c-timerstats");
    let mut io = scripted(move |_| responses.clone());
    ntpdc::run(
        &args(&[
            "-c",
            "timerstats > t.txt",
            "-c",
            "timerstats >u.txt",
            "-c",
            "keyid >",
            "-c",
            "timerstats > /nonexistent/x",
            "127.0.0.1",
        ]),
        &mut io,
    );
    assert_eq!(io.out, "");
    assert_eq!(
        io.files,
        vec![
            ("t.txt".to_string(), stdout.clone()),
            ("u.txt".to_string(), stdout)
        ]
    );
    assert_eq!(
        io.err,
        "***No file for redirect\n***Error opening /nonexistent/x: No such file or directory\n"
    );
}

#[test]
fn debug_level_shows_skipped_datagrams() {
    let (responses, stdout) = vector("ntpdc-c-iostats");
    let mut io = scripted(move |_req| {
        let mut stray = responses[0].clone();
        stray[3] = 5;
        vec![stray, responses[0].clone()]
    });
    ntpdc::run(&args(&["-d", "-c", "iostats", "127.0.0.1"]), &mut io);
    assert_eq!(
        io.out,
        format!("Received implementation/request of 3/5, wanted 3/6{stdout}")
    );
    let mut io = scripted(|req| {
        let mut stray = error_reply(req, 0);
        stray[3] = 5;
        vec![stray]
    });
    io.out.clear();
    ntpdc::run(&args(&["-c", "iostats", "127.0.0.1"]), &mut io);
    assert_eq!(io.out, "");
}

#[test]
fn json_showpeer_pstats_reslist_ifstats() {
    let mut io = scripted(|req| {
        let name = match req[3] {
            2 => "ntpdc-c-showpeer-10.123.21.2",
            3 => "ntpdc-c-pstats-10.123.21.2",
            16 => "ntpdc-c-reslist",
            _ => "ntpdc-c-ifstats-auth",
        };
        vector(name).0
    });
    ntpdc::run(
        &args(&[
            "--json",
            "-c",
            "showpeer 10.123.21.2",
            "-c",
            "pstats 10.123.21.2",
            "-c",
            "reslist",
            "-c",
            "keyid 1",
            "-c",
            "passwd vectorkey1",
            "-c",
            "ifstats",
            "127.0.0.1",
        ]),
        &mut io,
    );
    let docs: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&io.out)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(docs.len(), 4, "{}", io.out);
    let peer = &docs[0][0];
    assert_eq!(peer["association"], 10098);
    assert_eq!(peer["refid"], "127.127.1.1");
    assert_eq!(peer["originate_timestamp"], "00000000.00000000");
    assert_eq!(
        peer["flags"],
        serde_json::json!(["system_peer", "config", "prefer", "shortlist"])
    );
    assert_eq!(docs[1][0]["packets_sent"], 15);
    assert_eq!(
        docs[1][0]["flags"],
        serde_json::json!(["system_peer", "config", "prefer", "iburst", "shortlist"])
    );
    let res = docs[2].as_array().unwrap();
    assert_eq!(res.len(), 11);
    assert_eq!(res[0]["count"], 45);
    assert_eq!(
        res[0]["flags"],
        serde_json::json!(["noquery", "nomodify", "nopeer", "notrap", "kod"])
    );
    assert_eq!(res[6]["address"], "localhost");
    let ifs = docs[3].as_array().unwrap();
    assert_eq!(ifs.len(), 8);
    assert_eq!(ifs[2]["name"], "lo");
    assert_eq!(ifs[2]["address"], "127.0.0.1");
    assert_eq!(ifs[2]["received"], 279);
}
