//! `ntp-load`: benchmark tools for the server path, loopback only. `run` is a closed-loop
//! load generator that validates every reply and reports responses/s, loss and latency;
//! `responder` is the minimal recvmmsg/sendmmsg responder (the floor); `probe` waits until a
//! server answers with a sane stratum. `cargo xtask bench server` drives all three.
#![forbid(unsafe_code)]

mod client;
mod responder;
mod validate;

use std::net::{SocketAddrV4, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;

#[derive(Parser, Debug)]
#[command(
    name = "ntp-load",
    about = "NTP server benchmark tools (loopback only)"
)]
struct Args {
    /// Pin this process to this CPU.
    #[arg(long, global = true)]
    cpu: Option<usize>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Closed-loop load against a server; prints a summary and a `RESULT key=value` line.
    Run {
        /// Server address (loopback).
        #[arg(long, default_value = "127.0.0.1:123")]
        target: SocketAddrV4,
        /// UDP sockets.
        #[arg(long, default_value_t = 64)]
        sockets: usize,
        /// Requests in flight.
        #[arg(long, default_value_t = 64)]
        inflight: usize,
        /// Seconds to send.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// Stop after this many requests (0: no limit).
        #[arg(long, default_value_t = 0)]
        count: u64,
        /// Milliseconds after which a request counts as lost.
        #[arg(long, default_value_t = 200)]
        timeout_ms: u64,
        /// Spread requests over this many source addresses 127.64.0.1 and up (0: off).
        #[arg(long, default_value_t = 0)]
        sources: u32,
        /// Block in poll when idle instead of spinning (when the server shares this CPU).
        #[arg(long)]
        block: bool,
        /// Open loop: requests per second on a fixed schedule (0: closed loop).
        #[arg(long, default_value_t = 0.0)]
        rate: f64,
    },
    /// The minimal responder: answer mode 3 with mode 4 until killed.
    Responder {
        /// Address to listen on (loopback).
        #[arg(long, default_value = "127.0.0.1:123")]
        listen: SocketAddrV4,
        /// Send each reply with its own sendto as soon as it is built (as chronyd does)
        /// instead of one sendmmsg per batch.
        #[arg(long)]
        per_packet: bool,
    },
    /// Query until the server answers with stratum 1..15 (exit 0) or the time is up (exit 1).
    Probe {
        /// Server address (loopback).
        #[arg(long, default_value = "127.0.0.1:123")]
        target: SocketAddrV4,
        /// Seconds to keep trying.
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
    },
}

fn pin(cpu: usize) -> Result<(), String> {
    let mut set = CpuSet::new();
    set.set(cpu).map_err(|e| format!("cpu {cpu}: {e}"))?;
    sched_setaffinity(Pid::from_raw(0), &set).map_err(|e| format!("sched_setaffinity: {e}"))
}

fn seed() -> u64 {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    t.as_nanos() as u64 ^ (u64::from(std::process::id()) << 32)
}

fn probe(target: SocketAddrV4, seconds: f64) -> Result<(), String> {
    client::check_target(target)?;
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut rng = validate::Rng::new(seed());
    let mut last = String::from("no reply");
    let mut attempt: u16 = 0;
    while Instant::now() < deadline {
        // A fresh source address per attempt, so a rate-limiting server does not limit us.
        attempt = attempt.wrapping_add(1);
        let [hi, lo] = attempt.to_be_bytes();
        let sock = UdpSocket::bind((std::net::Ipv4Addr::new(127, 1, hi, lo), 0))
            .map_err(|e| format!("bind: {e}"))?;
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .map_err(|e| e.to_string())?;
        let xmt = rng.next_u64();
        sock.send_to(&validate::request(4, xmt), target)
            .map_err(|e| format!("send: {e}"))?;
        let mut buf = [0u8; 128];
        if let Ok(n) = sock.recv(&mut buf) {
            let data = &buf[..n.min(buf.len())];
            if validate::origin_of(data) == Some(xmt) {
                match validate::check_reply(data, 4) {
                    Ok(validate::ReplyKind::Reply) => {
                        println!("stratum {}", data[1]);
                        return Ok(());
                    }
                    other => last = format!("{other:?} (stratum {})", data[1]),
                }
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    Err(format!(
        "{target}: no sane reply within {seconds} s (last: {last})"
    ))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = args.cpu.map_or(Ok(()), pin).and_then(|()| match args.cmd {
        Cmd::Run {
            target,
            sockets,
            inflight,
            seconds,
            count,
            timeout_ms,
            sources,
            block,
            rate,
        } => {
            let cfg = client::LoadConfig {
                target,
                sockets,
                inflight,
                duration: Duration::from_secs_f64(seconds.max(0.0)),
                count,
                timeout: Duration::from_millis(timeout_ms),
                sources: sources.min(1 << 22),
                block,
                rate,
            };
            client::run(&cfg, seed()).map(|r| {
                let loss = if r.sent > 0 {
                    r.lost as f64 / r.sent as f64
                } else {
                    0.0
                };
                println!(
                    "{target}: {:.0} responses/s over {:.2} s; sent {}, replies {}, kods {}, \
                     invalid {}, lost {} ({:.4} %), unmatched {}; latency p50 {} us, p99 {} us",
                    r.rate(),
                    r.elapsed,
                    r.sent,
                    r.replies,
                    r.kods,
                    r.invalid,
                    r.lost,
                    loss * 100.0,
                    r.unmatched,
                    r.latency.quantile_us(0.5),
                    r.latency.quantile_us(0.99)
                );
                println!(
                    "RESULT rps={:.0} sent={} replies={} kods={} invalid={} lost={} unmatched={} \
                     secs={:.3} p50_us={} p99_us={}",
                    r.rate(),
                    r.sent,
                    r.replies,
                    r.kods,
                    r.invalid,
                    r.lost,
                    r.unmatched,
                    r.elapsed,
                    r.latency.quantile_us(0.5),
                    r.latency.quantile_us(0.99)
                );
            })
        }
        Cmd::Responder { listen, per_packet } => responder::serve(listen, per_packet),
        Cmd::Probe { target, seconds } => probe(target, seconds),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ntp-load: {e}");
            ExitCode::FAILURE
        }
    }
}
