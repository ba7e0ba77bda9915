//! Print a trace of one run (time, offset, frequency, poll) for looking at the loop's
//! behaviour: `cargo run -p ntp-sim --example trace -- <jitter_us> <ppm> <seconds> <every>`.

use ntp_sim::{ClockSpec, PathSpec, Scenario, Simulation};

fn main() {
    let a: Vec<f64> = std::env::args()
        .skip(1)
        .filter_map(|s| s.parse().ok())
        .collect();
    let jitter = a.first().copied().unwrap_or(100.0) * 1e-6;
    let ppm = a.get(1).copied().unwrap_or(100.0);
    let dur = a.get(2).copied().unwrap_or(20_000.0);
    let every = a.get(3).copied().unwrap_or(64.0);
    let clock = ClockSpec {
        offset: 0.0,
        frequency_ppm: ppm,
        wander: 1e-9,
    };
    let sc = Scenario::single(3, PathSpec::exponential(1e-3, jitter), clock, dur);
    let r = Simulation::new(sc).with_trace(every).run();
    for (t, o, f, p) in r.trace {
        println!("{t:9.1} {:10.1} {f:10.4} {p}", o * 1e6);
    }
}
