//! Golden tests: every classic ntpq 4.2.8 vector (testdata/vectors/classic-4.2.8/ntpq-* and
//! extra/ntpq-*) replayed through [`ntpq::run`] with a recorded-datagram [`Io`]; our requests
//! must equal the recorded ones octet for octet (sequence numbers and MACs included) and
//! stdout/stderr must equal the recorded output.
//!
//! The replay clock is the capture's first frame time (tests/data/capture_start.txt, read
//! from the pcapng) plus the recorded offset of the datagram being handled; local time is UTC,
//! as on the capture machine; 127.0.0.1 resolves to `localhost` and nothing else resolves.

use std::collections::VecDeque;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ntp_wire::NtpTimestamp;
use ntpq::{Family, Io};
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/vectors/classic-4.2.8")
}

/// Directory of a vector: `ntpsec-1.2.2/...` slugs sit beside `classic-4.2.8`.
fn slug_dir(slug: &str) -> PathBuf {
    if slug.starts_with("ntpsec-1.2.2/") {
        vectors_dir().join("..").join(slug)
    } else {
        vectors_dir().join(slug)
    }
}

/// A vector's metadata and datagrams.
fn load(slug: &str) -> (Value, Vec<Dgram>) {
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(slug_dir(slug).join("datagrams.json")).expect("datagrams.json"),
    )
    .expect("json");
    let datagrams = meta["datagrams"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| Dgram {
            request: d["dir"] == "request",
            t: d["t"].as_f64().unwrap_or(0.0),
            bytes: hex(d["payload_hex"].as_str().unwrap_or_default()),
        })
        .collect();
    (meta, datagrams)
}

/// Run `args` against a vector's recorded responses.
fn run_against(slug: &str, args: &[&str]) -> ReplayIo {
    let (_, datagrams) = load(slug);
    let mut io = ReplayIo::new(datagrams, capture_start(slug).expect("capture start"));
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    ntpq::run(&args, &mut io);
    assert!(io.mismatches.is_empty(), "{:?}", io.mismatches);
    io
}

fn capture_start(slug: &str) -> Option<f64> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/capture_start.txt"),
    )
    .expect("capture_start.txt");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .find(|(s, _)| *s == slug)
        .and_then(|(_, t)| t.parse().ok())
}

/// One recorded datagram.
#[derive(Debug, Clone)]
struct Dgram {
    request: bool,
    t: f64,
    bytes: Vec<u8>,
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// Split a recorded shell command line (single quotes only, as the vectors use).
fn shell_split(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut have = false;
    for c in cmd.chars() {
        match c {
            '\'' => {
                in_quote = !in_quote;
                have = true;
            }
            ' ' if !in_quote => {
                if have {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            c => {
                cur.push(c);
                have = true;
            }
        }
    }
    if have {
        out.push(cur);
    }
    out
}

/// [`Io`] that answers from a recording.
struct ReplayIo {
    /// Compare requests without their sequence number and give the responses the
    /// request's sequence number (for recordings made by other clients).
    patch_sequence: bool,
    /// Answers for the password and key id prompts, in order (`None`: stdin at EOF).
    answers: VecDeque<String>,
    script: VecDeque<Dgram>,
    pending: VecDeque<Dgram>,
    start: f64,
    t: f64,
    mismatches: Vec<String>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// Files created by `> file` redirections.
    files: Vec<(String, SharedBuf)>,
}

/// A writer whose bytes the test can read afterwards.
#[derive(Clone, Default)]
struct SharedBuf(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl ReplayIo {
    fn new(datagrams: Vec<Dgram>, start: f64) -> Self {
        ReplayIo {
            patch_sequence: false,
            answers: VecDeque::new(),
            script: datagrams.into(),
            pending: VecDeque::new(),
            start,
            t: 0.0,
            mismatches: Vec::new(),
            stdout: Vec::new(),
            stderr: Vec::new(),
            files: Vec::new(),
        }
    }
}

impl Io for ReplayIo {
    fn open(&mut self, _host: &str, port: u16, _family: Family) -> Result<SocketAddr, String> {
        Ok(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    fn send(&mut self, datagram: &[u8]) -> std::io::Result<()> {
        match self.script.pop_front() {
            Some(d) if d.request => {
                let same = if self.patch_sequence {
                    d.bytes.len() == datagram.len()
                        && d.bytes[..2] == datagram[..2]
                        && d.bytes[4..] == datagram[4..]
                } else {
                    d.bytes == datagram
                };
                if !same {
                    self.mismatches.push(format!(
                        "request differs:\n  ours     {datagram:02x?}\n  recorded {:02x?}",
                        d.bytes
                    ));
                }
                self.t = d.t;
                self.pending.clear();
                while self.script.front().is_some_and(|d| !d.request) {
                    if let Some(mut r) = self.script.pop_front() {
                        if self.patch_sequence && r.bytes.len() >= 4 {
                            r.bytes[2] = datagram[2];
                            r.bytes[3] = datagram[3];
                        }
                        self.pending.push_back(r);
                    }
                }
            }
            other => self.mismatches.push(format!(
                "unexpected request {datagram:02x?} (next recorded: {other:?})"
            )),
        }
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8], _timeout: Duration) -> std::io::Result<Option<usize>> {
        let Some(d) = self.pending.pop_front() else {
            return Ok(None);
        };
        self.t = d.t;
        buf[..d.bytes.len()].copy_from_slice(&d.bytes);
        Ok(Some(d.bytes.len()))
    }

    fn now(&mut self) -> NtpTimestamp {
        NtpTimestamp::from_unix_f64(self.start + self.t)
    }

    fn utc_offset(&mut self, _unix: i64) -> i64 {
        0
    }

    fn reverse_lookup(&mut self, ip: IpAddr) -> Option<String> {
        (ip == IpAddr::from([127, 0, 0, 1])).then(|| "localhost".to_owned())
    }

    fn prompt(&mut self, prompt: &str, _echo: bool) -> Option<String> {
        // No terminal: the prompt goes to stderr; stdin is at EOF (as when the vectors were
        // taken) unless the test scripted answers.
        let _ = self.stderr.write_all(prompt.as_bytes());
        self.answers.pop_front()
    }

    fn read_line(&mut self) -> Option<String> {
        None
    }

    fn is_interactive_terminal(&mut self) -> bool {
        false
    }

    fn read_file(&mut self, path: &str) -> std::io::Result<String> {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            path.to_owned(),
        ))
    }

    fn create_file(&mut self, path: &str) -> std::io::Result<Box<dyn Write>> {
        let buf = SharedBuf::default();
        self.files.push((path.to_owned(), buf.clone()));
        Ok(Box::new(buf))
    }

    fn out(&mut self) -> &mut dyn Write {
        &mut self.stdout
    }

    fn err(&mut self) -> &mut dyn Write {
        &mut self.stderr
    }
}

/// Replay one vector; `Err` describes every difference.
fn replay(slug: &str) -> Result<(), String> {
    let dir = slug_dir(slug);
    let (meta, datagrams) = load(slug);
    let start = capture_start(slug).unwrap_or(1_795_664_300.0);
    let args = shell_split(meta["command"].as_str().unwrap_or_default());
    let mut io = ReplayIo::new(datagrams, start);
    let status = ntpq::run(&args, &mut io);
    let mut problems = io.mismatches.clone();
    if let Some(left) = io.script.front() {
        problems.push(format!("recorded datagrams left unused, next: {left:?}"));
    }
    let want_status = meta["exit_status"].as_i64().unwrap_or(0);
    if i64::from(status) != want_status {
        problems.push(format!("exit status {status}, recorded {want_status}"));
    }
    let want_out = std::fs::read(dir.join("stdout.txt")).unwrap_or_default();
    if io.stdout != want_out {
        problems.push(format!(
            "stdout differs:\n--- ours\n{}--- recorded\n{}",
            String::from_utf8_lossy(&io.stdout),
            String::from_utf8_lossy(&want_out)
        ));
    }
    let want_err = std::fs::read(dir.join("stderr.txt")).unwrap_or_default();
    if io.stderr != want_err {
        problems.push(format!(
            "stderr differs:\n--- ours\n{}--- recorded\n{}",
            String::from_utf8_lossy(&io.stderr),
            String::from_utf8_lossy(&want_err)
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{slug} ({}):\n{}",
            args.join(" "),
            problems.join("\n")
        ))
    }
}

fn all_slugs() -> Vec<String> {
    let mut slugs = Vec::new();
    for (sub, prefix) in [("", ""), ("extra", "extra/")] {
        let dir = vectors_dir().join(sub);
        for entry in std::fs::read_dir(&dir).expect("vectors directory") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            if name.starts_with("ntpq-") {
                slugs.push(format!("{prefix}{name}"));
            }
        }
    }
    for name in ["ntpq-c-as", "ntpq-c-mrulist", "ntpq-c-rv", "ntpq-p"] {
        slugs.push(format!("ntpsec-1.2.2/classic-ntpq-vs-ntpsec-ntpd/{name}"));
    }
    slugs.sort();
    slugs
}

#[test]
fn every_classic_ntpq_vector_replays_byte_for_byte() {
    let slugs = all_slugs();
    assert!(
        slugs.len() >= 28,
        "expected the classic ntpq vectors, found {slugs:?}"
    );
    let failures: Vec<String> = slugs.iter().filter_map(|s| replay(s).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} vectors differ:\n\n{}",
        failures.len(),
        slugs.len(),
        failures.join("\n\n")
    );
}

#[test]
fn peers_when_column_follows_the_clock() {
    // The same recording read 100 s later must age the `when` column by 100 s: the column
    // comes from our clock, not from the recording's text.
    let (_, datagrams) = load("ntpq-p");
    let mut io = ReplayIo::new(datagrams, capture_start("ntpq-p").unwrap() + 100.0);
    ntpq::run(&["ntpq".into(), "-p".into()], &mut io);
    let out = String::from_utf8(io.stdout).unwrap();
    let row = out.lines().find(|l| l.starts_with('*')).unwrap();
    assert!(row.contains(" 113   64  377"), "{row}");
}

#[test]
fn unknown_command_is_reported_and_nothing_is_sent() {
    let mut io = ReplayIo::new(Vec::new(), 0.0);
    let status = ntpq::run(&["ntpq".into(), "-c".into(), "pstatus 1".into()], &mut io);
    assert_eq!(status, 0);
    assert_eq!(
        String::from_utf8(io.stderr).unwrap(),
        "***Command `pstatus' unknown\n"
    );
    assert!(io.mismatches.is_empty());
}

#[test]
fn silent_server_times_out_after_one_retry() {
    let request = hex("160200010000000000000000");
    let script = vec![
        Dgram {
            request: true,
            t: 0.0,
            bytes: request.clone(),
        },
        Dgram {
            request: true,
            t: 5.0,
            bytes: request,
        },
    ];
    let mut io = ReplayIo::new(script, 0.0);
    ntpq::run(
        &["ntpq".into(), "-c".into(), "rv".into(), "h".into()],
        &mut io,
    );
    assert!(io.mismatches.is_empty(), "{:?}", io.mismatches);
    assert!(io.script.is_empty());
    assert_eq!(
        String::from_utf8(io.stderr).unwrap(),
        "h: timed out, nothing received\n***Request timed out\n"
    );
}

#[test]
fn json_peers_have_stable_field_names() {
    let io = run_against("ntpq-p", &["ntpq", "--json", "-p"]);
    let v: Value = serde_json::from_slice(&io.stdout).expect("JSON");
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    let sys = &rows[1];
    assert_eq!(sys["assid"], 10098);
    assert_eq!(sys["tally"], "*");
    assert_eq!(sys["remote"], "10.123.21.2");
    assert_eq!(sys["refid"], "LOCAL(1)");
    assert_eq!(sys["stratum"], 2);
    assert_eq!(sys["type"], "u");
    assert_eq!(sys["when"], 13);
    assert_eq!(sys["poll"], 64);
    assert_eq!(sys["reach"], 255);
    assert_eq!(sys["delay"], 0.023);
    assert_eq!(sys["offset"], -0.004);
    assert_eq!(sys["jitter"], 0.016);
    assert_eq!(rows[4]["when"], Value::Null);
}

#[test]
fn json_associations_have_stable_field_names() {
    let io = run_against("ntpq-c-as", &["ntpq", "--json", "-c", "as"]);
    let v: Value = serde_json::from_slice(&io.stdout).expect("JSON");
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[1],
        serde_json::json!({"ind": 2, "assid": 10098, "status": "961a", "conf": "yes",
            "reach": "yes", "auth": "none", "condition": "sys.peer",
            "last_event": "sys_peer", "count": 1})
    );
}

#[test]
fn json_readvar_has_status_and_variables() {
    let io = run_against("ntpq-c-rv", &["ntpq", "--json", "-c", "rv"]);
    let v: Value = serde_json::from_slice(&io.stdout).expect("JSON");
    assert_eq!(v["assid"], 0);
    assert_eq!(v["status"], "0616");
    assert_eq!(v["status_text"], "leap_none, sync_ntp, 1 event, restart");
    assert_eq!(v["variables"]["stratum"], "3");
    assert_eq!(v["variables"]["processor"], "x86_64");
    assert_eq!(v["variables"]["refid"], "10.123.21.2");
}

#[test]
fn json_mrulist_rows_follow_the_table() {
    let io = run_against("ntpq-c-mrulist", &["ntpq", "--json", "-c", "mrulist"]);
    let v: Value = serde_json::from_slice(&io.stdout).expect("JSON");
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[3],
        serde_json::json!({"lstint": 440, "avgint": 7, "restrict": "0", "flag": ".",
            "mode": 3, "version": 4, "count": 5, "port": 44604,
            "address": "127.0.0.1", "host": "localhost"})
    );
}

#[test]
fn numeric_option_prints_addresses_in_mrulist() {
    let io = run_against("ntpq-c-mrulist", &["ntpq", "-n", "-c", "mrulist"]);
    let out = String::from_utf8(io.stdout).unwrap();
    assert!(out.contains(" 44604 127.0.0.1\n"), "{out}");
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| (*a).to_owned()).collect()
}

/// A daemon's error reply to a request a hand-made client sent (mode6-errors vectors) gives
/// classic ntpq's message for the same request from us.
fn error_reply_message(case: &str, command: &str) -> (String, String) {
    let (_, datagrams) = load(&format!("mode6-errors/{case}"));
    let mut io = ReplayIo::new(datagrams, 1_795_664_300.0);
    io.patch_sequence = true;
    ntpq::run(&args(&["ntpq", "-c", command, "127.0.0.1"]), &mut io);
    assert!(io.mismatches.is_empty(), "{case}: {:?}", io.mismatches);
    assert!(io.script.is_empty(), "{case}: request not sent");
    (
        String::from_utf8(io.stdout).unwrap(),
        String::from_utf8(io.stderr).unwrap(),
    )
}

#[test]
fn daemon_error_replies_print_classic_messages() {
    assert_eq!(
        error_reply_message("readvar-unknown-variable", "rv 0 nosuchvaria"),
        (
            String::new(),
            "***A request variable unknown to the server\n".to_owned()
        )
    );
    assert_eq!(
        error_reply_message("readvar-unknown-assoc", "rv 4660"),
        (
            String::new(),
            "***Association ID 4660 unknown to server\n".to_owned()
        )
    );
    assert_eq!(
        error_reply_message("readclock-unknown-assoc", "cv 4660"),
        (
            String::new(),
            "***Association ID 4660 unknown to server\n".to_owned()
        )
    );
}

#[test]
fn raw_mode_prints_the_server_text() {
    let io = run_against(
        "ntpq-c-rv-0-stratum-offset",
        &["ntpq", "-c", "raw", "-c", "rv 0 stratum,offset"],
    );
    assert_eq!(
        String::from_utf8(io.stdout).unwrap(),
        "Output set to raw\n\nstratum=3, offset=0.000000\n"
    );
}

#[test]
fn missing_password_sends_nothing_and_uses_up_a_sequence_number() {
    // `keyid 1` without `passwd`: the password prompt meets EOF; the next request carries
    // sequence 2, as classic ntpq's does.
    let (_, recorded) = load("ntpq-c-rv");
    let mut script = recorded.clone();
    script[0].bytes[3] = 2;
    script[1].bytes[3] = 2;
    let mut io = ReplayIo::new(script, capture_start("ntpq-c-rv").unwrap());
    ntpq::run(
        &args(&[
            "ntpq",
            "-c",
            "keyid 1",
            "-c",
            "writevar 0 leap=00",
            "-c",
            "rv",
        ]),
        &mut io,
    );
    assert!(io.mismatches.is_empty(), "{:?}", io.mismatches);
    assert!(io.script.is_empty());
    assert_eq!(
        String::from_utf8(io.stderr).unwrap(),
        "MD5 Password: Invalid password\n"
    );
    let want = format!(
        "\n\n{}",
        std::fs::read_to_string(slug_dir("ntpq-c-rv").join("stdout.txt")).unwrap()
    );
    assert_eq!(String::from_utf8(io.stdout).unwrap(), want);
}

#[test]
fn password_typed_at_the_prompt_signs_the_request() {
    // Same request and MAC as `-c 'keyid 1' -c 'passwd vectorkey1' -c ifstats`.
    let (_, datagrams) = load("ntpq-c-ifstats-auth");
    let mut io = ReplayIo::new(datagrams, capture_start("ntpq-c-ifstats-auth").unwrap());
    io.answers = VecDeque::from(["1".to_owned(), "vectorkey1".to_owned()]);
    ntpq::run(&args(&["ntpq", "-c", "ifstats"]), &mut io);
    assert!(io.mismatches.is_empty(), "{:?}", io.mismatches);
    assert_eq!(
        String::from_utf8(io.stderr).unwrap(),
        "Keyid: MD5 Password: "
    );
    let want = std::fs::read_to_string(slug_dir("ntpq-c-ifstats-auth").join("stdout.txt")).unwrap();
    assert_eq!(
        String::from_utf8(io.stdout).unwrap(),
        want.trim_start_matches('\n')
    );
}

#[test]
fn peers_option_keeps_its_place_among_commands() {
    // `-p` before `-c as` runs first; the READSTAT of `as` follows the peers exchanges.
    let (_, mut script) = load("ntpq-p");
    let (_, as_script) = load("ntpq-c-as");
    let mut as_script = as_script;
    for d in &mut as_script {
        d.bytes[3] = 7;
    }
    script.extend(as_script);
    let mut io = ReplayIo::new(script, capture_start("ntpq-p").unwrap());
    ntpq::run(&args(&["ntpq", "-p", "-c", "as"]), &mut io);
    assert!(io.mismatches.is_empty(), "{:?}", io.mismatches);
    let out = String::from_utf8(io.stdout).unwrap();
    let peers = std::fs::read_to_string(slug_dir("ntpq-p").join("stdout.txt")).unwrap();
    let assoc = std::fs::read_to_string(slug_dir("ntpq-c-as").join("stdout.txt")).unwrap();
    assert_eq!(out, format!("{peers}\n{assoc}"));
}

#[test]
fn mrulist_sort_orders_reorder_rows() {
    let rows = |order: &str| -> Vec<String> {
        let io = run_against(
            "ntpq-c-mrulist",
            &["ntpq", "-c", &format!("mrulist {order}")],
        );
        String::from_utf8(io.stdout)
            .unwrap()
            .lines()
            .skip(2)
            .map(|l| l.split_whitespace().last().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        rows("sort=-lstint"),
        [
            "10.123.3.1",
            "localhost",
            "10.123.23.2",
            "10.123.22.2",
            "10.123.21.2"
        ]
    );
    assert_eq!(
        rows("sort=addr"),
        [
            "10.123.3.1",
            "10.123.21.2",
            "10.123.22.2",
            "10.123.23.2",
            "localhost"
        ]
    );
    assert_eq!(rows("sort=count")[0], "10.123.3.1");
    assert_eq!(rows("sort=-count")[4], "10.123.3.1");
}

/// A recording replayed once per host, sequence numbers continuing.
fn twice(slug: &str) -> Vec<Dgram> {
    let (_, one) = load(slug);
    let requests = one.iter().filter(|d| d.request).count() as u8;
    let mut script = one.clone();
    let mut second = one;
    for d in &mut second {
        d.bytes[3] += requests;
    }
    script.extend(second);
    script
}

#[test]
fn several_hosts_are_queried_in_turn() {
    let mut io = ReplayIo::new(twice("ntpq-c-as"), capture_start("ntpq-c-as").unwrap());
    ntpq::run(&args(&["ntpq", "-c", "as", "h1", "h2"]), &mut io);
    assert!(io.mismatches.is_empty(), "{:?}", io.mismatches);
    assert!(io.script.is_empty());
    let table = std::fs::read_to_string(slug_dir("ntpq-c-as").join("stdout.txt")).unwrap();
    assert_eq!(
        String::from_utf8(io.stdout).unwrap(),
        format!("{table}\n{table}")
    );
}

#[test]
fn several_hosts_get_a_server_column_in_peers() {
    let mut io = ReplayIo::new(twice("ntpq-p"), capture_start("ntpq-p").unwrap());
    ntpq::run(&args(&["ntpq", "-p", "127.0.0.1", "127.0.0.1"]), &mut io);
    assert!(io.mismatches.is_empty(), "{:?}", io.mismatches);
    let out = String::from_utf8(io.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    // The column is as wide as the longest host as shown ("localhost", 9).
    assert!(
        lines[0].starts_with("server (l      remote"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], "=".repeat(78 + 10));
    assert!(lines[2].starts_with("localhost  LOCAL(0) "), "{}", lines[2]);
    assert!(
        lines[3].starts_with("10.123.21 *10.123.21.2 "),
        "{}",
        lines[3]
    );
    // Second host: an empty line, then the same table again.
    assert_eq!(lines[7], "");
    assert_eq!(lines[8], lines[0]);
}

#[test]
fn output_redirection_writes_the_command_output_to_a_file() {
    let io = run_against("ntpq-c-as", &["ntpq", "-c", "as > assoc.txt"]);
    assert_eq!(io.stdout, b"");
    assert_eq!(io.files.len(), 1);
    assert_eq!(io.files[0].0, "assoc.txt");
    let want = std::fs::read(slug_dir("ntpq-c-as").join("stdout.txt")).unwrap();
    assert_eq!(*io.files[0].1 .0.borrow(), want);
}
