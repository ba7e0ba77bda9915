//! Accuracy benchmark (not a test): chrony's comparison scenarios reproduced in the simulator.
//! One perfect server; the client clock starts with a 100 ppm frequency error and wanders;
//! each one-way delay is 100 us + jitter * Exp(1). RMS of the true offset sampled every
//! second after the first 10,000 s of a 100,000 s run, mean over 10 seeds.
//!
//! `cargo run --release -p ntp-sim --example accuracy [seeds] [duration]`

use ntp_sim::{ClockSpec, PathSpec, Scenario, Simulation};
use ntp_wire::PollInterval;

fn run(wander: f64, fixed_poll: bool, jitter: f64, seeds: u64, duration: f64) -> (f64, f64) {
    let mut total = 0.0;
    let mut polls = 0.0;
    for seed in 1..=seeds {
        let clock = ClockSpec {
            offset: 0.0,
            frequency_ppm: 100.0,
            wander,
        };
        let mut sc = Scenario::single(seed, PathSpec::exponential(100e-6, jitter), clock, duration);
        sc.warmup = 10_000.0;
        if fixed_poll {
            sc.source.minpoll = PollInterval::from_log2(6);
            sc.source.maxpoll = PollInterval::from_log2(6);
        }
        let r = Simulation::new(sc).run();
        total += r.rms_offset;
        polls += r.snapshot.system.poll as f64;
    }
    (total / seeds as f64, polls / seeds as f64)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seeds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let duration: f64 = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000.0);
    let jitters = [10e-6, 100e-6, 1e-3, 10e-3];
    let chrony = [[35.0, 109.0, 475.0, 1603.0], [14.0, 56.0, 229.0, 750.0]];
    let ntpd_t1 = [234.0, 256.0, 454.0, 3665.0];
    let started = std::time::Instant::now();
    println!("| test | jitter | ours RMS (us) | chrony (us) | classic ntpd (us) | final poll |");
    println!("|---|---|---|---|---|---|");
    for (t, (wander, fixed)) in [(1e-9, false), (1e-8, true)].into_iter().enumerate() {
        for (j, &jit) in jitters.iter().enumerate() {
            let (rms, poll) = run(wander, fixed, jit, seeds, duration);
            let classic = if t == 0 {
                format!("{}", ntpd_t1[j])
            } else {
                "-".to_string()
            };
            println!(
                "| T{} | {} us | {:.1} | {} | {} | {:.1} |",
                t + 1,
                jit * 1e6,
                rms * 1e6,
                chrony[t][j],
                classic,
                poll
            );
        }
    }
    eprintln!(
        "{} runs of {} simulated s in {:.2} s",
        8 * seeds,
        duration,
        started.elapsed().as_secs_f64()
    );
}
