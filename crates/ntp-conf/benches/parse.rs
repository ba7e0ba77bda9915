//! Benchmark: parse (and check) a generated 10,000-line ntp.conf. Target: under 50 ms.
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use std::fmt::Write;

/// A realistic mix: associations, restrict lines of every form, fudges, comments.
fn generate(lines: usize) -> String {
    let mut s = String::with_capacity(lines * 48);
    s.push_str("driftfile /var/lib/ntp/ntp.drift\nrestrict default kod nomodify notrap nopeer noquery limited\n");
    let mut i = 0usize;
    while s.lines().count() < lines {
        let (a, b) = ((i / 250) % 250, i % 250);
        let line = match i % 8 {
            0 => format!("server 10.{a}.{b}.1 iburst minpoll 4 maxpoll 10"),
            1 => format!("restrict 10.{a}.{b}.0 mask 255.255.255.0 nomodify notrap"),
            2 => format!("restrict 172.16.{b}.{a}/32 noquery ippeerlimit 2"),
            3 => "# a comment line explaining the next directives".to_string(),
            4 => format!("pool {a}.{b}.pool.ntp.org iburst"),
            5 => format!("restrict 2001:db8:{a:x}:{b:x}::/64 kod limited"),
            6 => format!(
                "peer host-{a}-{b}.example.net key {} version 4",
                i % 65535 + 1
            ),
            _ => format!("server 127.127.28.{} mode 1 # shm unit", b),
        };
        let _ = writeln!(s, "{line}");
        i += 1;
    }
    s
}

fn bench(c: &mut Criterion) {
    let text = generate(10_000);
    assert_eq!(text.lines().count(), 10_000);
    // The generated file must be valid, or the benchmark measures error paths.
    assert!(ntp_conf::parse(&text, "big.conf", &ntp_conf::NoFiles).is_ok());
    c.bench_function("parse_10000_lines", |b| {
        b.iter(|| ntp_conf::parse(std::hint::black_box(&text), "big.conf", &ntp_conf::NoFiles))
    });
    let cfg = ntp_conf::parse(&text, "big.conf", &ntp_conf::NoFiles).unwrap_or_default();
    c.bench_function("restrict_table_10000_lines", |b| {
        b.iter(|| ntp_conf::RestrictTable::build(std::hint::black_box(&cfg)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
