//! Criterion micro-benchmarks of the server request path, per request: header parse, restrict
//! lookup (the tutorial configuration's table), rate-limit accounting, `respond` + `finish`
//! (build and stamp the reply), and all of them together as a worker runs them.
//! Run by hand: `cargo bench -p ntp-core --bench server`.
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ntp_conf::RestrictTable;
use ntp_core::server::{
    finish, respond, Access, NoKeys, RateLimitConfig, RateLimiter, RequestContext, SystemState,
    MAX_REPLY_LEN,
};
use ntp_wire::{LeapIndicator, Mode, NtpHeader, NtpTimestamp};

fn request() -> [u8; 48] {
    NtpHeader {
        leap: LeapIndicator::Unsynchronized,
        version: 4,
        mode: Mode::Client,
        poll: 6,
        transmit_timestamp: NtpTimestamp::from_bits(0xeeb2_2828_1234_5678),
        ..NtpHeader::default()
    }
    .to_bytes()
}

fn tutorial_table() -> RestrictTable {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/examples/tutorial.conf"
    );
    let text = std::fs::read_to_string(path).expect("docs/examples/tutorial.conf");
    let config = ntp_conf::parse(&text, "tutorial.conf", &ntp_conf::NoFiles).expect("parses");
    RestrictTable::build(&config).0
}

/// 4096 client addresses, so table slots and caches see many sources. The benches advance
/// the clock 10 ms per request, so each source comes back every 41 s and is never limited.
fn clients() -> Vec<SocketAddr> {
    (0..4096u32)
        .map(|i| {
            SocketAddr::new(
                IpAddr::V4(Ipv4Addr::from(0xc633_6400 + i)),
                1024 + (i % 50_000) as u16,
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let req = request();
    let table = tutorial_table();
    let from = clients();
    let system = SystemState {
        leap: LeapIndicator::NoWarning,
        stratum: 2,
        ..SystemState::default()
    };
    let mut g = c.benchmark_group("server");
    g.throughput(Throughput::Elements(1));

    g.bench_function("parse_header", |b| {
        b.iter(|| NtpHeader::decode(black_box(&req)))
    });

    let mut i = 0usize;
    g.bench_function("restrict_lookup_tutorial", |b| {
        b.iter(|| {
            i = (i + 1) & 4095;
            table.lookup(black_box(from[i])).flags
        })
    });

    let limiter = RateLimiter::new(RateLimitConfig::default(), (1, 2));
    let mut t = 0.0f64;
    g.bench_function("ratelimit_account_limited", |b| {
        b.iter(|| {
            i = (i + 1) & 4095;
            t += 1e-2;
            limiter.account(black_box(from[i]), 3, 4, t, true)
        })
    });

    let mut out = [0u8; MAX_REPLY_LEN];
    let tx = NtpTimestamp::from_bits(0xeeb2_2828_8000_0000);
    g.bench_function("respond_finish_no_limiter", |b| {
        b.iter(|| {
            let ctx = RequestContext {
                from: from[0].ip(),
                from_port: from[0].port(),
                access: Access::NONE,
                receive_timestamp: tx,
                now_mono: 1.0,
            };
            let r = respond(black_box(&req), &ctx, &system, None, &NoKeys, &mut out);
            finish(&mut out, r, tx, &NoKeys)
        })
    });

    // What a worker does per datagram: restrict lookup, respond (with MRU/rate accounting,
    // `limited kod` as in the rate-limited benchmark), finish.
    let limiter = RateLimiter::new(RateLimitConfig::default(), (3, 4));
    g.bench_function("full_request_path_limited_kod", |b| {
        b.iter(|| {
            i = (i + 1) & 4095;
            t += 1e-2;
            let f = black_box(from[i]);
            let access = Access::from_bits(table.lookup(f).flags.bits())
                .union(Access::LIMITED)
                .union(Access::KOD);
            let ctx = RequestContext {
                from: f.ip(),
                from_port: f.port(),
                access,
                receive_timestamp: tx,
                now_mono: t,
            };
            let r = respond(&req, &ctx, &system, Some(&limiter), &NoKeys, &mut out);
            finish(&mut out, r, tx, &NoKeys)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
