//! `cargo xtask clock record FILE` / `clock verify FILE`: prove a test run left the host clock
//! alone. Recorded: the kernel discipline state (adjtimex with modes 0: frequency, offset,
//! status, time constant) and `CLOCK_REALTIME - CLOCK_MONOTONIC_RAW`. Verified: the state is
//! unchanged and the realtime clock moved against the raw oscillator only as the unchanged
//! frequency predicts (a step or slew by anyone shows as a jump).

use nix::time::{clock_gettime, ClockId};
use ntp_clock::KernelClock;

/// Largest unexplained movement of REALTIME against MONOTONIC_RAW, seconds (plus 10 ppm of
/// the elapsed time, for the kernel's tick arithmetic).
const TOLERANCE: f64 = 0.010;

struct Reading {
    frequency: f64,
    offset: f64,
    status: i32,
    constant: i64,
    real_minus_raw: f64,
    raw: f64,
}

fn read() -> Result<Reading, String> {
    let k = KernelClock::new()
        .status()
        .map_err(|e| format!("adjtimex: {e}"))?;
    let secs = |id| {
        clock_gettime(id)
            .map(|t| t.tv_sec() as f64 + t.tv_nsec() as f64 * 1e-9)
            .map_err(|e| format!("clock_gettime: {e}"))
    };
    let raw = secs(ClockId::CLOCK_MONOTONIC_RAW)?;
    let real = secs(ClockId::CLOCK_REALTIME)?;
    Ok(Reading {
        frequency: k.frequency,
        offset: k.offset,
        status: k.status,
        constant: k.constant,
        real_minus_raw: real - raw,
        raw,
    })
}

/// Record the clock state into `path`.
pub fn record(path: &str) -> Result<(), String> {
    let r = read()?;
    let text = format!(
        "{} {} {} {} {} {}\n",
        r.frequency, r.offset, r.status, r.constant, r.real_minus_raw, r.raw
    );
    std::fs::write(path, text).map_err(|e| format!("{path}: {e}"))?;
    eprintln!(
        "xtask clock: recorded frequency {} ppm, status {:#x}",
        r.frequency, r.status
    );
    Ok(())
}

/// Compare the clock with what `path` recorded.
pub fn verify(path: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let v: Vec<f64> = text
        .split_whitespace()
        .map(|s| s.parse().map_err(|_| format!("{path}: bad record")))
        .collect::<Result<_, _>>()?;
    let [freq, offset, status, constant, rmr, raw] = v[..] else {
        return Err(format!("{path}: bad record"));
    };
    let now = read()?;
    let mut problems = Vec::new();
    if now.frequency != freq {
        problems.push(format!("frequency {freq} -> {} ppm", now.frequency));
    }
    if now.offset != offset {
        problems.push(format!("kernel offset {offset} -> {} s", now.offset));
    }
    if now.status != status as i32 {
        problems.push(format!("status {:#x} -> {:#x}", status as i32, now.status));
    }
    if now.constant != constant as i64 {
        problems.push(format!("time constant {constant} -> {}", now.constant));
    }
    let elapsed = now.raw - raw;
    let predicted = freq * 1e-6 * elapsed;
    let moved = now.real_minus_raw - rmr;
    if (moved - predicted).abs() > TOLERANCE + 10e-6 * elapsed {
        problems.push(format!(
            "CLOCK_REALTIME moved {moved:+.6} s against the raw oscillator in {elapsed:.0} s (expected {predicted:+.6} s)"
        ));
    }
    if problems.is_empty() {
        eprintln!("xtask clock: clock untouched over {elapsed:.0} s");
        Ok(())
    } else {
        Err(format!(
            "the host clock was changed: {}",
            problems.join("; ")
        ))
    }
}
