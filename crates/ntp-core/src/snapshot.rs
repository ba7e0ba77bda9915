//! Plain-data views of the engine for the control responders (ntpq's system and peer
//! variables, ntpdc's peer lists), metrics and statistics. Copying out keeps the engine's
//! internals private and lets server threads read state without locking the engine.

use std::net::SocketAddr;

use ntp_wire::{LeapIndicator, NtpTimestamp, RefId};

use crate::filter::NSTAGE;

/// Index of a source inside the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub usize);

/// Where a source stands after the last selection (ntpq's tally character).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SelectStatus {
    /// Not a candidate (unreachable, unfit, noselect): `' '`.
    #[default]
    Rejected,
    /// Discarded by the intersection algorithm: `'x'`.
    Falseticker,
    /// Beyond `maxclock`: `'.'`.
    Excess,
    /// Discarded by the cluster algorithm: `'-'`.
    Outlier,
    /// Survivor used in the combination: `'+'`.
    Candidate,
    /// Survivor not combined (backup): `'#'`.
    Backup,
    /// The system peer: `'*'`.
    SystemPeer,
}

impl SelectStatus {
    /// The tally character ntpq prints before the remote name.
    pub fn tally(self) -> char {
        match self {
            SelectStatus::Rejected => ' ',
            SelectStatus::Falseticker => 'x',
            SelectStatus::Excess => '.',
            SelectStatus::Outlier => '-',
            SelectStatus::Candidate => '+',
            SelectStatus::Backup => '#',
            SelectStatus::SystemPeer => '*',
        }
    }

    /// The 3-bit select code of the mode 6 peer status word.
    pub fn code(self) -> u8 {
        match self {
            SelectStatus::Rejected => 0,
            SelectStatus::Falseticker => 1,
            SelectStatus::Excess => 2,
            SelectStatus::Outlier => 3,
            SelectStatus::Candidate => 4,
            SelectStatus::Backup => 5,
            SelectStatus::SystemPeer => 6,
        }
    }
}

/// The discipline's state (classic's `state` system variable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DisciplineState {
    /// No frequency known, clock never set (`NSET`, 0).
    #[default]
    NoFrequency,
    /// Frequency from the drift file, clock not yet set (`FSET`, 1).
    FrequencySet,
    /// An offset above the step threshold is waiting out the stepout interval (`SPIK`, 2).
    Spike,
    /// Measuring the frequency after a step (`FREQ`, 3).
    Frequency,
    /// Normal operation (`SYNC`, 4).
    Sync,
    /// An offset beyond the panic threshold was refused.
    Panic,
}

impl DisciplineState {
    /// Classic's numeric state.
    pub fn code(self) -> u8 {
        match self {
            DisciplineState::NoFrequency => 0,
            DisciplineState::FrequencySet => 1,
            DisciplineState::Spike => 2,
            DisciplineState::Frequency => 3,
            DisciplineState::Sync => 4,
            DisciplineState::Panic => 5,
        }
    }
}

/// System variables.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemSnapshot {
    /// System leap indicator (3 when unsynchronised; 01/10 in the last day before a leap).
    pub leap: LeapIndicator,
    /// The LI served packets carry: `leap`, except 3 in the last seconds before a leap.
    pub served_leap: LeapIndicator,
    /// TAI - UTC from the leap file (0: unknown).
    pub tai: i32,
    /// A leap second from the leap file is scheduled for the end of this month.
    pub leap_armed: bool,
    /// NTP seconds of the leap file's last entry (mode 6 `leapsec`).
    pub leap_table: Option<i64>,
    /// NTP seconds the leap file expires (mode 6 `expire`).
    pub leap_expire: Option<i64>,
    /// Stratum (16 when unsynchronised).
    pub stratum: u8,
    /// Precision, log2 s.
    pub precision: i8,
    /// Root delay to the primary reference, seconds.
    pub root_delay: f64,
    /// Root dispersion, seconds.
    pub root_dispersion: f64,
    /// Reference id.
    pub refid: RefId,
    /// When the clock was last updated (clock reading).
    pub reftime: NtpTimestamp,
    /// When the clock was last updated (monotonic), for aging the root dispersion at PHI
    /// when answering clients: `root_dispersion + 15e-6 * (now - last_update)`.
    pub last_update: Option<crate::mono::MonoTime>,
    /// The system peer.
    pub sys_peer: Option<SourceId>,
    /// Last combined offset, seconds.
    pub offset: f64,
    /// Frequency correction in effect excluding slew, ppm.
    pub frequency: f64,
    /// Combined (selection) jitter, seconds.
    pub sys_jitter: f64,
    /// Clock jitter (RMS of the estimator residuals), seconds.
    pub clk_jitter: f64,
    /// Frequency wander (RMS of frequency changes between updates), ppm.
    pub clk_wander: f64,
    /// System poll, log2 s.
    pub poll: i8,
    /// Discipline state.
    pub state: DisciplineState,
    /// Orphan mode active.
    pub orphan: bool,
    /// Clock steps done.
    pub steps: u64,
    /// Clock updates done.
    pub updates: u64,
}

/// Per-source variables.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSnapshot {
    /// Engine index.
    pub id: SourceId,
    /// Remote address.
    pub address: SocketAddr,
    /// True for the local clock driver.
    pub local_clock: bool,
    /// True for a `peer` association (symmetric active, ntpq's `hmode` 1, type `s`).
    pub symmetric: bool,
    /// `prefer` configured.
    pub prefer: bool,
    /// `noselect` configured.
    pub noselect: bool,
    /// A key is configured and the last response verified.
    pub authenticated: bool,
    /// Leap indicator from the source.
    pub leap: LeapIndicator,
    /// Source's stratum (16 until heard).
    pub stratum: u8,
    /// Source's precision, log2 s.
    pub precision: i8,
    /// Source's root delay, seconds.
    pub root_delay: f64,
    /// Source's root dispersion, seconds.
    pub root_dispersion: f64,
    /// Source's refid (INIT until heard).
    pub refid: RefId,
    /// Source's reference time.
    pub reftime: NtpTimestamp,
    /// Our poll for it, log2 s.
    pub hpoll: i8,
    /// Its poll as it reported, log2 s.
    pub ppoll: i8,
    /// Reach register.
    pub reach: u8,
    /// Polls since the last valid response.
    pub unreach: u32,
    /// Monotonic time of the last valid response (None: never); ntpq's `when` is the
    /// caller's now minus this.
    pub last_received: Option<crate::mono::MonoTime>,
    /// Monotonic time of the next poll (ntpq's `timer` is this minus the caller's now).
    pub next_poll: crate::mono::MonoTime,
    /// Filter offset, seconds.
    pub offset: f64,
    /// Filter delay, seconds.
    pub delay: f64,
    /// Filter dispersion, seconds.
    pub dispersion: f64,
    /// Filter jitter, seconds.
    pub jitter: f64,
    /// Root distance as of the last sample (without aging since), seconds.
    pub root_distance: f64,
    /// Frequency estimate of the source's regression, ppm (None until known).
    pub frequency: Option<f64>,
    /// Selection status.
    pub select: SelectStatus,
    /// Flash bits of the last packet (TEST1 0x1 ... TEST13 0x1000).
    pub flash: u16,
    /// Filter offsets, newest first (seconds).
    pub filter_offset: [f64; NSTAGE],
    /// Filter delays, newest first (seconds).
    pub filter_delay: [f64; NSTAGE],
    /// Filter dispersions, newest first (seconds).
    pub filter_dispersion: [f64; NSTAGE],
    /// Requests sent.
    pub sent: u64,
    /// Valid responses received.
    pub received: u64,
    /// Responses dropped by a packet test.
    pub rejected: u64,
    /// Kiss-o'-death packets believed.
    pub kod: u64,
    /// Refused by an authenticated DENY/RSTR: no longer polled.
    pub denied: bool,
}

/// Everything at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// System variables.
    pub system: SystemSnapshot,
    /// Sources in engine order.
    pub sources: Vec<SourceSnapshot>,
}
