//! Named closed-loop scenarios: the engine, the simulated clock and simulated servers and
//! network, each with its stated tolerance.

use ntp_core::{DisciplineState, SelectStatus, SourceConfig};
use ntp_sim::{ClockSpec, KodBehaviour, PathSpec, Scenario, ServerSpec, Simulation};
use ntp_wire::LeapIndicator;

fn clock(offset: f64, ppm: f64) -> ClockSpec {
    ClockSpec {
        offset,
        frequency_ppm: ppm,
        wander: 1e-9,
    }
}

fn path() -> PathSpec {
    PathSpec::exponential(1e-3, 100e-6)
}

/// `n` perfect servers; the client uses `tos minclock` defaults and iburst.
fn multi(seed: u64, offsets: &[f64], clk: ClockSpec, duration: f64) -> Scenario {
    let mut sc = Scenario::single(seed, path(), clk, duration);
    sc.servers = offsets
        .iter()
        .enumerate()
        .map(|(i, &o)| {
            let mut s = ServerSpec::perfect(i as u8 + 1, path());
            s.offset = o;
            s
        })
        .collect();
    sc
}

#[test]
fn same_seed_same_run() {
    let a = Simulation::new(Scenario::single(4, path(), clock(0.01, 30.0), 20_000.0)).run();
    let b = Simulation::new(Scenario::single(4, path(), clock(0.01, 30.0), 20_000.0)).run();
    assert_eq!(a.final_offset, b.final_offset);
    assert_eq!(a.requests, b.requests);
}

#[test]
fn large_initial_offset_is_stepped() {
    // Tolerance: one step, then within 500 us of UTC after the first hour.
    let mut sc = Scenario::single(1, path(), clock(5.0, 20.0), 7_200.0);
    sc.warmup = 3_600.0;
    let r = Simulation::new(sc).run();
    assert_eq!(r.steps, 1, "{r:?}");
    assert!(r.max_abs_offset < 500e-6, "{}", r.max_abs_offset);
    assert!(r.panics.is_empty());
}

#[test]
fn offset_beyond_panic_is_refused() {
    // Tolerance: no step at all, the engine reports a panic of about +2000 s.
    let sc = Scenario::single(2, path(), clock(-2000.0, 0.0), 3_600.0);
    let r = Simulation::new(sc).run();
    assert_eq!(r.steps, 0);
    assert_eq!(r.panics.len(), 1);
    assert!((r.panics[0] - 2000.0).abs() < 0.1, "{:?}", r.panics);
    assert!((r.final_offset + 2000.0).abs() < 1.0);
    assert_eq!(r.snapshot.system.state, DisciplineState::Panic);
}

#[test]
fn frequency_error_of_100_ppm_converges() {
    // Tolerance: frequency within 0.05 ppm of the oscillator's error; after 2 h an RMS
    // offset under 100 us and never beyond 500 us; no step.
    let mut sc = Scenario::single(3, path(), clock(0.0, 100.0), 30_000.0);
    sc.warmup = 7_200.0;
    let r = Simulation::new(sc).run();
    let f = r.snapshot.system.frequency;
    assert!(
        (f + r.clock_frequency_error).abs() < 0.05,
        "frequency {f} vs error {}",
        r.clock_frequency_error
    );
    assert!(r.rms_offset < 100e-6, "{}", r.rms_offset);
    assert!(r.max_abs_offset < 500e-6, "{}", r.max_abs_offset);
    assert_eq!(r.steps, 0);
    assert_eq!(r.snapshot.system.state, DisciplineState::Sync);
}

#[test]
fn falseticker_minority_is_rejected() {
    // Tolerance: two of five servers 10 s and -7 s off; clock stays within 500 us, no step.
    let mut sc = multi(
        5,
        &[0.0, 10.0, 0.0, -7.0, 0.0],
        clock(0.001, 10.0),
        20_000.0,
    );
    sc.warmup = 3_600.0;
    let r = Simulation::new(sc).run();
    assert_eq!(r.steps, 0);
    assert!(r.max_abs_offset < 500e-6, "{}", r.max_abs_offset);
    let s = &r.snapshot.sources;
    assert_eq!(s[1].select, SelectStatus::Falseticker);
    assert_eq!(s[3].select, SelectStatus::Falseticker);
    assert!(s
        .iter()
        .filter(|x| x.select == SelectStatus::SystemPeer)
        .all(|x| x.address.ip().to_string().ends_with(".1")
            || x.address.ip().to_string().ends_with(".3")
            || x.address.ip().to_string().ends_with(".5")));
}

#[test]
fn majority_of_falsetickers_means_no_sync_and_no_step() {
    // Tolerance: four servers that all disagree by seconds: never synchronised, no step,
    // no clock correction beyond the free-running drift.
    let sc = multi(6, &[0.0, 3.0, 6.0, -4.0], clock(0.0, 0.0), 7_200.0);
    let r = Simulation::new(sc).run();
    assert_eq!(r.steps, 0);
    assert!(r.panics.is_empty());
    assert_eq!(r.snapshot.system.stratum, 16);
    assert_eq!(r.snapshot.system.leap, LeapIndicator::Unsynchronized);
    assert!(r.final_offset.abs() < 1e-3, "{}", r.final_offset);
    assert!(r
        .snapshot
        .sources
        .iter()
        .all(|s| s.select == SelectStatus::Falseticker));
}

#[test]
fn kod_rate_is_honoured() {
    // Tolerance: after the RATE kiss the client never polls faster than 2^10 s (minus jitter)
    // and the server has to send at most two kisses.
    let mut sc = Scenario::single(7, path(), clock(0.0, 5.0), 20_000.0);
    sc.servers[0].kod = KodBehaviour::Rate {
        min_interval: 100.0,
        poll: 10,
    };
    let r = Simulation::new(sc).run();
    assert!(
        r.kods_sent[0] >= 1 && r.kods_sent[0] <= 2,
        "{:?}",
        r.kods_sent
    );
    assert!(
        r.min_request_interval[0] >= 960.0,
        "{:?}",
        r.min_request_interval
    );
    assert_eq!(r.snapshot.sources[0].kod, r.kods_sent[0]);
}

#[test]
fn server_restart_is_ridden_out() {
    // Tolerance: the only server is down 10 min, then unsynchronised 10 min; the clock
    // stays within 200 us, no step, and the server is the system peer again at the end.
    let mut sc = Scenario::single(8, path(), clock(0.0, 30.0), 30_000.0);
    sc.servers[0].down = vec![(15_000.0, 15_600.0)];
    sc.servers[0].unsynchronized = vec![(15_600.0, 16_200.0)];
    sc.warmup = 5_000.0;
    let r = Simulation::new(sc).run();
    assert_eq!(r.steps, 0);
    assert!(r.max_abs_offset < 200e-6, "{}", r.max_abs_offset);
    assert_eq!(r.snapshot.sources[0].select, SelectStatus::SystemPeer);
    assert_eq!(r.snapshot.system.stratum, 2);
}

#[test]
fn leap_second_is_inserted_by_the_clock_not_stepped() {
    // Start 6 h before a UTC midnight; servers announce the leap for 24 h before it.
    // Tolerance: one leap executed by the clock, no step, within 200 us of UTC after it.
    let midnight = 1_800_057_600;
    let mut sc = Scenario::single(9, path(), clock(0.0, 10.0), 30_000.0);
    sc.start_unix = midnight - 6 * 3600;
    sc.leap_at = Some(6.0 * 3600.0);
    sc.servers.push(ServerSpec::perfect(2, path()));
    sc.servers.push(ServerSpec::perfect(3, path()));
    sc.warmup = 3_600.0;
    let r = Simulation::new(sc).run();
    assert_eq!(r.leaps, 1);
    assert_eq!(r.steps, 0);
    assert!(r.max_abs_offset < 200e-6, "{}", r.max_abs_offset);
    assert_eq!(r.snapshot.system.leap, LeapIndicator::NoWarning);
}

#[test]
fn intermittent_network_keeps_time() {
    // 30% loss and two 3-hour outages. Free-running through an outage, the 1e-9/s random
    // walk alone moves the frequency by about 0.1 ppm, about 0.7 ms of phase in 3 h.
    // Tolerance: within 2 ms throughout after 1 h, RMS under 500 us, no step.
    let mut p = path();
    p.loss = 0.3;
    p.outages = vec![(20_000.0, 30_800.0), (50_000.0, 60_800.0)];
    let mut sc = Scenario::single(10, p, clock(0.0, 50.0), 80_000.0);
    sc.warmup = 3_600.0;
    let r = Simulation::new(sc).run();
    assert_eq!(r.steps, 0);
    assert!(r.max_abs_offset < 2e-3, "{}", r.max_abs_offset);
    assert!(r.rms_offset < 500e-6, "{}", r.rms_offset);
}

#[test]
fn local_clock_driver_takes_over_when_the_server_is_gone() {
    let mut sc = Scenario::single(11, path(), clock(0.0, 10.0), 20_000.0);
    sc.servers[0].down = vec![(5_000.0, 1e9)];
    sc.extra_sources = vec![SourceConfig::local(
        10,
        ntp_wire::RefId::from_bytes(*b"LOCL"),
    )];
    let r = Simulation::new(sc).run();
    assert_eq!(r.snapshot.system.stratum, 11);
    assert!(r.snapshot.sources[1].local_clock);
    assert_eq!(r.snapshot.sources[1].select, SelectStatus::SystemPeer);
}
