//! Timed example: how long `ntpdate -q -p 1` takes against a server on loopback (target:
//! under 50 ms). Measures the library run in-process and, when the binary sits next to the
//! examples directory, the whole process. Only `-q`, so the clock is never changed.
//!
//! `cargo run --release -p ntpdate --example query_timing [runs]`

use std::net::UdpSocket;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ntp_clock::KernelClock;
use ntp_wire::{LeapIndicator, Mode, NtpDuration, NtpHeader, NtpShort, NtpTimestamp, RefId};
use ntpdate::sys::SystemIo;
use ntpdate::Env;

fn realtime() -> NtpTimestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    NtpTimestamp::from_unix(d.as_secs() as i64, d.subsec_nanos())
}

/// A minimal stratum-2 server on 127.0.0.1, answering forever from a background thread.
fn serve() -> u16 {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind loopback");
    let port = sock.local_addr().expect("local address").port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        loop {
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                continue;
            };
            let rx = realtime();
            let Ok(req) = NtpHeader::decode(&buf[..n]) else {
                continue;
            };
            let tx = realtime();
            let h = NtpHeader {
                leap: LeapIndicator::NoWarning,
                version: 4,
                mode: Mode::Server,
                stratum: 2,
                poll: 3,
                precision: -20,
                root_delay: NtpShort::from_bits(0x10),
                root_dispersion: NtpShort::from_bits(0x80),
                reference_id: RefId::from_bytes([127, 0, 0, 1]),
                reference_timestamp: tx - NtpDuration::from_seconds(16),
                origin_timestamp: req.transmit_timestamp,
                receive_timestamp: rx,
                transmit_timestamp: tx,
            };
            let _ = sock.send_to(&h.to_bytes(), from);
        }
    });
    port
}

fn report(what: &str, mut v: Vec<Duration>) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{what}: runs {}, min {:.3} ms, median {:.3} ms, max {:.3} ms",
        v.len(),
        ms(v[0]),
        ms(v[v.len() / 2]),
        ms(v[v.len() - 1])
    );
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50)
        .max(1);
    let port = serve().to_string();
    let args: Vec<String> = ["ntpdate", "-q", "-p", "1", "--port", &port, "127.0.0.1"]
        .iter()
        .map(|s| s.to_string())
        .collect();

    let mut times = Vec::new();
    for _ in 0..runs {
        let mut io = SystemIo::new();
        let mut clock = KernelClock::new();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let t = Instant::now();
        let code = ntpdate::run(
            &args,
            &mut Env {
                io: &mut io,
                clock: &mut clock,
                stdout: &mut out,
                stderr: &mut err,
                pid: std::process::id(),
                version: ntpdate::VERSION.to_string(),
            },
        );
        times.push(t.elapsed());
        assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    }
    report("ntpdate::run -q -p 1 (in process)", times);

    let bin = std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.join("ntpdate")))
        .filter(|p| p.exists());
    match bin {
        Some(bin) => {
            let mut times = Vec::new();
            for _ in 0..runs {
                let t = Instant::now();
                let out = Command::new(&bin).args(&args[1..]).output().expect("spawn");
                times.push(t.elapsed());
                assert!(out.status.success());
            }
            report("ntpdate -q -p 1 (whole process)", times);
        }
        None => println!("binary not built next to the examples; process timing skipped"),
    }
}
