//! Whatever a server answers, no command panics: every request gets a reply carrying
//! arbitrary data (a few times, then silence).

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ntp_wire::NtpTimestamp;
use ntpq::{Family, Io};
use proptest::prelude::*;

struct AnyReply {
    data: Vec<u8>,
    status: u16,
    answers_left: usize,
    pending: Option<Vec<u8>>,
    out: Vec<u8>,
    err: Vec<u8>,
}

impl Io for AnyReply {
    fn open(&mut self, _: &str, port: u16, _: Family) -> Result<SocketAddr, String> {
        Ok(SocketAddr::from(([127, 0, 0, 1], port)))
    }
    fn send(&mut self, req: &[u8]) -> std::io::Result<()> {
        if self.answers_left == 0 || req.len() < 12 {
            self.pending = None;
            return Ok(());
        }
        self.answers_left -= 1;
        let mut d = vec![0x16, 0x80 | (req[1] & 0x1f), req[2], req[3]];
        d.extend_from_slice(&self.status.to_be_bytes());
        d.extend_from_slice(&req[6..8]);
        d.extend_from_slice(&[0, 0]);
        d.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
        d.extend_from_slice(&self.data);
        while d.len() % 4 != 0 {
            d.push(0);
        }
        self.pending = Some(d);
        Ok(())
    }
    fn recv(&mut self, buf: &mut [u8], _: Duration) -> std::io::Result<Option<usize>> {
        Ok(self.pending.take().map(|d| {
            buf[..d.len()].copy_from_slice(&d);
            d.len()
        }))
    }
    fn now(&mut self) -> NtpTimestamp {
        NtpTimestamp::from_unix(1_795_664_309, 0)
    }
    fn utc_offset(&mut self, _: i64) -> i64 {
        0
    }
    fn reverse_lookup(&mut self, _: IpAddr) -> Option<String> {
        None
    }
    fn prompt(&mut self, _: &str, _: bool) -> Option<String> {
        None
    }
    fn read_line(&mut self) -> Option<String> {
        None
    }
    fn is_interactive_terminal(&mut self) -> bool {
        false
    }
    fn read_file(&mut self, _: &str) -> std::io::Result<String> {
        Ok(":config junk\nserver x\n".to_owned())
    }
    fn create_file(&mut self, _: &str) -> std::io::Result<Box<dyn Write>> {
        Ok(Box::new(Vec::new()))
    }
    fn out(&mut self) -> &mut dyn Write {
        &mut self.out
    }
    fn err(&mut self) -> &mut dyn Write {
        &mut self.err
    }
}

const COMMANDS: &[&str] = &[
    "rv",
    "rv 1",
    "cv 1",
    "as",
    "peers",
    "apeers",
    "opeers",
    "lpeers",
    "sysinfo",
    "kerninfo",
    "sysstats",
    "pstats 1",
    "mrulist",
    "ifstats",
    "reslist",
    "writevar 1 a=b",
    ":config x",
    "saveconfig x",
    "mrv 1 2",
    "config-from-file f",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn no_command_panics_on_any_reply(
        data in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..400),
            "[a-z.0-9=, x\"\r\n:\\[\\]]{0,400}".prop_map(String::into_bytes),
        ],
        status in any::<u16>(),
        cmd in 0..COMMANDS.len(),
    ) {
        let mut io = AnyReply { data, status, answers_left: 6, pending: None, out: vec![], err: vec![] };
        let args: Vec<String> = ["ntpq", "-c", "keyid 1", "-c", "passwd k", "-c", COMMANDS[cmd]]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        ntpq::run(&args, &mut io);
    }
}
