//! Test harness: a scripted [`Io`] under virtual time. The clock is a shared
//! [`SimulatedClock`] (so "now" and the time replies arrive are exact), the network is a
//! responder closure that answers each request with datagrams arriving after given delays,
//! and every clock action ntpdate applies is recorded.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use ntp_clock::SimulatedClock;
use ntp_core::{Clock, ClockAction, ClockError, ClockStatus, SplitMix64};
use ntp_wire::{NtpDuration, NtpHeader, NtpTimestamp};
use ntpdate::{Env, Family, Io, Level, OpenError, ResolveError};

/// The simulated clock, shared by the run (as its [`Clock`]) and the fake network.
#[derive(Clone)]
pub struct SharedClock {
    pub sim: Rc<RefCell<SimulatedClock>>,
    pub actions: Rc<RefCell<Vec<ClockAction>>>,
}

impl SharedClock {
    pub fn new(start: NtpTimestamp) -> Self {
        SharedClock {
            sim: Rc::new(RefCell::new(SimulatedClock::new(start, 1))),
            actions: Rc::new(RefCell::new(Vec::new())),
        }
    }

    /// True time now.
    pub fn true_time(&self) -> NtpTimestamp {
        self.sim.borrow().true_time()
    }
}

impl Clock for SharedClock {
    fn now(&self) -> Result<NtpTimestamp, ClockError> {
        self.sim.borrow().now()
    }
    fn step(&mut self, offset: NtpDuration) -> Result<(), ClockError> {
        self.actions.borrow_mut().push(ClockAction::Step(offset));
        self.sim.borrow_mut().step(offset)
    }
    fn slew(&mut self, offset: NtpDuration) -> Result<(), ClockError> {
        self.actions.borrow_mut().push(ClockAction::Slew(offset));
        self.sim.borrow_mut().slew(offset)
    }
    fn set_frequency(&mut self, ppm: f64) -> Result<(), ClockError> {
        self.actions
            .borrow_mut()
            .push(ClockAction::SetFrequency(ppm));
        self.sim.borrow_mut().set_frequency(ppm)
    }
    fn frequency(&self) -> Result<f64, ClockError> {
        self.sim.borrow().frequency()
    }
    fn set_status(&mut self, status: &ClockStatus) -> Result<(), ClockError> {
        self.actions
            .borrow_mut()
            .push(ClockAction::SetStatus(*status));
        self.sim.borrow_mut().set_status(status)
    }
}

/// A reply the responder schedules: arrives `after` the request, from `from`.
pub struct Reply {
    /// Seconds after the request (f64, so binary-exact delays stay exact).
    pub after: f64,
    pub from: SocketAddr,
    pub bytes: Vec<u8>,
}

/// Answers one request `(to, bytes, true time at send)` with any number of replies.
pub type Responder = Box<dyn FnMut(SocketAddr, &[u8], NtpTimestamp) -> Vec<Reply>>;

pub struct FakeIo {
    pub clock: SharedClock,
    pub responder: Responder,
    pub names: HashMap<String, Vec<SocketAddr>>,
    pub files: HashMap<String, String>,
    pub open_result: Option<fn() -> OpenError>,
    pub opened: Vec<(Vec<Family>, Option<u16>)>,
    pub sent: Vec<(SocketAddr, Vec<u8>)>,
    pub syslog_lines: Vec<(Level, String)>,
    queue: Vec<(f64, SocketAddr, Vec<u8>)>,
    rng: SplitMix64,
}

impl FakeIo {
    pub fn new(clock: SharedClock, responder: Responder) -> Self {
        FakeIo {
            clock,
            responder,
            names: HashMap::new(),
            files: HashMap::new(),
            open_result: None,
            opened: Vec::new(),
            sent: Vec::new(),
            syslog_lines: Vec::new(),
            queue: Vec::new(),
            rng: SplitMix64::new(42),
        }
    }

    fn elapsed(&self) -> f64 {
        self.clock.sim.borrow().elapsed()
    }
}

impl Io for FakeIo {
    fn resolve(
        &mut self,
        host: &str,
        port: u16,
        family: Option<Family>,
    ) -> Result<Vec<SocketAddr>, ResolveError> {
        let all = if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            vec![SocketAddr::new(ip, port)]
        } else {
            self.names
                .get(host)
                .cloned()
                .ok_or_else(|| ResolveError::NotFound {
                    message: "Name or service not known".into(),
                    code: -2,
                })?
        };
        Ok(all
            .into_iter()
            .filter(|a| match family {
                Some(Family::V4) => a.is_ipv4(),
                Some(Family::V6) => a.is_ipv6(),
                None => true,
            })
            .collect())
    }

    fn open(&mut self, families: &[Family], local_port: Option<u16>) -> Result<(), OpenError> {
        self.opened.push((families.to_vec(), local_port));
        match self.open_result {
            Some(f) => Err(f()),
            None => Ok(()),
        }
    }

    fn send(&mut self, to: SocketAddr, datagram: &[u8]) -> std::io::Result<()> {
        self.sent.push((to, datagram.to_vec()));
        let now = self.elapsed();
        let truth = self.clock.true_time();
        for r in (self.responder)(to, datagram, truth) {
            self.queue.push((now + r.after, r.from, r.bytes));
        }
        Ok(())
    }

    fn recv(
        &mut self,
        buf: &mut [u8],
        timeout: Duration,
    ) -> std::io::Result<Option<(usize, SocketAddr)>> {
        let now = self.elapsed();
        let limit = now + timeout.as_secs_f64();
        // Earliest arrival first; equal times keep the order they were scheduled in.
        let next = self
            .queue
            .iter()
            .enumerate()
            .filter(|(_, q)| q.0 <= limit)
            .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0).then(a.0.cmp(&b.0)))
            .map(|(i, _)| i);
        match next {
            Some(i) => {
                let (at, from, bytes) = self.queue.remove(i);
                self.clock.sim.borrow_mut().advance((at - now).max(0.0));
                let n = bytes.len().min(buf.len());
                buf[..n].copy_from_slice(&bytes[..n]);
                Ok(Some((n, from)))
            }
            None => {
                self.clock.sim.borrow_mut().advance(timeout.as_secs_f64());
                Ok(None)
            }
        }
    }

    fn monotonic(&mut self) -> Duration {
        Duration::from_secs_f64(self.elapsed())
    }

    fn random_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    fn read_file(&mut self, path: &str) -> std::io::Result<String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }

    fn utc_offset(&self, _unix: i64) -> i32 {
        0
    }

    fn syslog(&mut self, level: Level, message: &str) {
        self.syslog_lines.push((level, message.to_string()));
    }
}

/// The result of one run.
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run ntpdate with `args` (without the program name) against `io`.
pub fn run_with(io: &mut FakeIo, pid: u32, version: &str, args: &str) -> Outcome {
    let argv: Vec<String> = std::iter::once("ntpdate")
        .chain(args.split_whitespace())
        .map(String::from)
        .collect();
    let mut clock = io.clock.clone();
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = ntpdate::run(
        &argv,
        &mut Env {
            io,
            clock: &mut clock,
            stdout: &mut out,
            stderr: &mut err,
            pid,
            version: version.to_string(),
        },
    );
    Outcome {
        code,
        stdout: String::from_utf8(out).unwrap(),
        stderr: String::from_utf8(err).unwrap(),
    }
}

/// A well-behaved server's reply to `request`: stratum 2, synchronised a minute ago, both
/// timestamps `truth + offset` (`truth` is the true time the reply is made).
pub fn server_reply(request: &[u8], truth: NtpTimestamp, offset: f64) -> NtpHeader {
    let req = NtpHeader::decode(request).expect("a request header");
    let t = truth + NtpDuration::from_seconds_f64(offset);
    NtpHeader {
        leap: ntp_wire::LeapIndicator::NoWarning,
        version: 4,
        mode: ntp_wire::Mode::Server,
        stratum: 2,
        poll: 3,
        precision: -20,
        root_delay: ntp_wire::NtpShort::from_bits(0x10),
        root_dispersion: ntp_wire::NtpShort::from_bits(0x80),
        reference_id: ntp_wire::RefId::from_bytes([192, 0, 2, 1]),
        reference_timestamp: t - NtpDuration::from_seconds(60),
        origin_timestamp: req.transmit_timestamp,
        receive_timestamp: t,
        transmit_timestamp: t,
    }
}

/// Hex to bytes.
pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}
