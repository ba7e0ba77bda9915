//! Closed-loop leap second driven by the leap file alone: the servers never announce it,
//! the engine learns it from the table, announces it in the last day and arms the simulated
//! kernel clock, which inserts the second at midnight; observing only, nothing is armed.

use ntp_core::leap::{LeapSchedule, NTP_UNIX_OFFSET};
use ntp_sim::{ClockSpec, PathSpec, Scenario, ServerSpec, Simulation};
use ntp_wire::LeapIndicator;

/// A UTC midnight (Unix seconds) and a scenario starting 6 h before it, three servers that
/// do not know about the leap, UTC inserting a second at that midnight.
fn scenario(observe_only: bool) -> (Scenario, LeapSchedule) {
    let midnight: i64 = 1_800_057_600;
    let clock = ClockSpec {
        offset: 0.0,
        frequency_ppm: 10.0,
        wander: 1e-9,
    };
    let path = PathSpec::exponential(1e-3, 100e-6);
    let mut sc = Scenario::single(21, path.clone(), clock, 30_000.0);
    sc.start_unix = midnight - 6 * 3600;
    sc.leap_at = Some(6.0 * 3600.0);
    sc.servers.push(ServerSpec::perfect(2, path.clone()));
    sc.servers.push(ServerSpec::perfect(3, path));
    for s in &mut sc.servers {
        s.leap_announce = None;
    }
    sc.engine.observe_only = observe_only;
    sc.warmup = 3_600.0;
    let leap = (midnight + NTP_UNIX_OFFSET) as u64;
    let table = LeapSchedule::new(&[(3_692_217_600, 37), (leap, 38)], Some(leap + 10_000_000));
    (sc, table)
}

#[test]
fn the_leap_file_alone_makes_the_clock_insert_the_second() {
    // Tolerance: one leap executed by the clock, no step, within 200 us of UTC after it.
    let (sc, table) = scenario(false);
    let r = Simulation::new(sc).with_leap_schedule(table).run();
    assert_eq!(r.leaps, 1);
    assert_eq!(r.steps, 0);
    assert!(r.max_abs_offset < 200e-6, "{}", r.max_abs_offset);
    assert_eq!(r.snapshot.system.leap, LeapIndicator::NoWarning);
    assert_eq!(r.snapshot.system.tai, 38);
}

#[test]
fn without_the_leap_file_nothing_is_inserted_and_observing_only_arms_nothing() {
    let (sc, _) = scenario(false);
    let r = Simulation::new(sc).run();
    assert_eq!(r.leaps, 0, "no server announced it and no table");
    let (sc, table) = scenario(true);
    let r = Simulation::new(sc).with_leap_schedule(table).run();
    assert_eq!(r.leaps, 0, "observe-only never touches the clock");
}
