//! Deterministic closed-loop simulator: the `ntp-core` engine driven in virtual time against
//! simulated servers over simulated network paths, disciplining a `SimulatedClock`.
//!
//! Everything random (delays, loss, clock wander, the engine's own seed) comes from seeds in
//! the [`Scenario`], so a run is exactly reproducible. The engine's monotonic time is the
//! simulation's true elapsed time; the clock's reading is the simulated clock's.
//!
//! Time scales: "true time" runs continuously from the start; servers report UTC, which
//! repeats a second at a leap second, so the error the simulator measures is the client
//! clock minus UTC.
#![forbid(unsafe_code)]

mod sim;

pub use sim::{
    ClockSpec, Distribution, KodBehaviour, PathSpec, Scenario, ServerSpec, SimResult, Simulation,
};
