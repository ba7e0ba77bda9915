//! Leap seconds from the leap-seconds file, as classic ntpd 4.2.8 schedules them
//! (ntpd/ntp_leapsec.c `leapsec_query()`, ntpd/ntp_timer.c `check_leapsec()`; RFC 5905
//! section 7.3 defines the LI bits). Plain data in, decisions out: the daemon reads and
//! checks the file, the engine asks [`LeapSchedule::query`] with the clock's reading.
//!
//! Proximity levels, relative to the leap's due time (the end of the last day of a month;
//! the kernel executes the leap itself, classic's "electric" mode, so due = the leap time):
//! - [`Proximity::Schedule`] from the start of that month: the leap is armed (`leap_armed`
//!   event), nothing is announced yet.
//! - [`Proximity::Announce`] in the last 24 hours: the system LI becomes 01 (insert) or 10
//!   (delete), served to clients and set in the kernel (`STA_INS`/`STA_DEL`), which inserts
//!   the second at the next UTC midnight.
//! - [`Proximity::Alert`] in the last 10 seconds; in the last 3 seconds ("leap second in
//!   progress") served packets say LI=11 (not synchronised) as classic's `xmt_leap` does.
//! - At the due time the table moves on: the TAI offset steps and the LI clears.
//!
//! A loaded, unexpired table is authoritative for the LI (classic feeds the upstream votes
//! into the table only when it has none or it expired); otherwise the upstream vote stands.

use ntp_wire::time::{civil_from_days, days_from_civil};
use ntp_wire::{LeapIndicator, NtpTimestamp};

use crate::mono::MonoTime;

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
pub const NTP_UNIX_OFFSET: i64 = 2_208_988_800;
const DAY: i64 = 86_400;

/// How close the next leap second is (classic's `LSPROX_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Proximity {
    /// Nothing scheduled before the end of this month (`LSPROX_NOWARN`).
    #[default]
    None,
    /// A leap at the end of this month (`LSPROX_SCHEDULE`).
    Schedule,
    /// Less than a day to go (`LSPROX_ANNOUNCE`).
    Announce,
    /// Less than 10 seconds to go (`LSPROX_ALERT`).
    Alert,
}

/// The leap-second table: (NTP seconds of the leap, TAI - UTC from then on), ascending, and
/// the table's expiry (NTP seconds).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeapSchedule {
    entries: Vec<(i64, i32)>,
    expires: Option<i64>,
}

/// What the table says at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeapQuery {
    /// TAI - UTC now (0 before the table's first entry).
    pub tai_offset: i32,
    /// Proximity of the next leap.
    pub proximity: Proximity,
    /// +1 (insert) or -1 (delete) once the next leap is scheduled (proximity at least
    /// `Schedule`), else 0.
    pub tai_diff: i32,
    /// Seconds until the leap is due (when scheduled).
    pub due_in: i64,
    /// NTP seconds at which the query's answer next changes (a proximity boundary or the
    /// leap itself), if any.
    pub next_change: Option<i64>,
}

impl LeapQuery {
    /// The LI the system announces from the table: add/delete within the last day.
    pub fn indicator(&self) -> LeapIndicator {
        use LeapIndicator as L;
        match (self.proximity >= Proximity::Announce, self.tai_diff) {
            (true, d) if d > 0 => L::AddSecond,
            (true, d) if d < 0 => L::DeleteSecond,
            _ => L::NoWarning,
        }
    }

    /// True in the last 3 seconds before the leap (classic `leap_sec_in_progress`): served
    /// packets then carry LI=11.
    pub fn in_progress(&self) -> bool {
        self.tai_diff != 0 && (0..3).contains(&self.due_in)
    }
}

/// NTP seconds of the first instant of the month that contains `ntp_secs`.
fn month_start(ntp_secs: i64) -> i64 {
    let unix = ntp_secs - NTP_UNIX_OFFSET;
    let (y, m, _) = civil_from_days(unix.div_euclid(DAY));
    days_from_civil(y, m, 1) * DAY + NTP_UNIX_OFFSET
}

impl LeapSchedule {
    /// A schedule from (NTP seconds, TAI offset) entries in increasing time order and the
    /// expiry (NTP seconds). Entries out of order are dropped.
    pub fn new(entries: &[(u64, i32)], expires: Option<u64>) -> Self {
        let mut v: Vec<(i64, i32)> = Vec::with_capacity(entries.len());
        for &(t, o) in entries {
            let Ok(t) = i64::try_from(t) else { continue };
            if v.last().is_none_or(|&(last, _)| t > last) {
                v.push((t, o));
            }
        }
        LeapSchedule {
            entries: v,
            expires: expires.and_then(|e| i64::try_from(e).ok()),
        }
    }

    /// NTP seconds of the last entry (mode 6 `leapsec`).
    pub fn last_entry(&self) -> Option<i64> {
        self.entries.last().map(|e| e.0)
    }

    /// NTP seconds the table expires (mode 6 `expire`).
    pub fn expires(&self) -> Option<i64> {
        self.expires
    }

    /// True when the table has an expiry and `now` (NTP seconds) is past it.
    pub fn expired(&self, now: i64) -> bool {
        self.expires.is_some_and(|e| now >= e)
    }

    /// Classic `leapsec_query()` at `now` (NTP seconds).
    pub fn query(&self, now: i64) -> LeapQuery {
        let idx = self.entries.partition_point(|&(t, _)| t <= now);
        let tai_offset = idx
            .checked_sub(1)
            .and_then(|i| self.entries.get(i))
            .map_or(0, |e| e.1);
        let Some(&(due, next_tai)) = self.entries.get(idx) else {
            return LeapQuery {
                tai_offset,
                ..LeapQuery::default()
            };
        };
        // The schedule window opens at the start of the month the leap ends (classic:
        // the entry's date with the month decremented).
        let start = month_start(due - 1);
        let mut q = LeapQuery {
            tai_offset,
            next_change: Some(start),
            ..LeapQuery::default()
        };
        if now < start {
            return q;
        }
        q.tai_diff = next_tai - tai_offset;
        q.due_in = due - now;
        let (proximity, next) = if now < due - DAY {
            (Proximity::Schedule, due - DAY)
        } else if now < due - 10 {
            (Proximity::Announce, due - 10)
        } else if now < due - 2 {
            // From due - 2 on the leap is "in progress" (less than 3 s to go).
            (Proximity::Alert, due - 2)
        } else {
            (Proximity::Alert, due)
        };
        q.proximity = proximity;
        q.next_change = Some(next);
        q
    }

    /// Classic `check_leap_expiration()`: the log message (and whether it is an error
    /// rather than a warning) for the table named `name` at `now` (NTP seconds). Less than
    /// a day left is reported at every (hourly) check; expired or under 28 days only at the
    /// daily check.
    pub fn expiry_message(&self, name: &str, now: i64, daily: bool) -> Option<(bool, String)> {
        let expires = self.expires?;
        let days = (expires - now).div_euclid(DAY);
        let prefix = format!("leapsecond file ('{name}')");
        if days == 0 {
            Some((false, format!("{prefix}: will expire in less than one day")))
        } else if daily && days < 28 {
            if days < 0 {
                let n = -days;
                let s = if n == 1 { "" } else { "s" };
                Some((true, format!("{prefix}: expired less than {n} day{s} ago")))
            } else {
                Some((
                    false,
                    format!("{prefix}: will expire in less than {} days", 1 + days),
                ))
            }
        } else {
            None
        }
    }
}

/// The engine's view of the leap file: the table, what it says at the last check and when
/// to check again.
#[derive(Debug, Clone, Default)]
pub struct LeapState {
    table: Option<LeapSchedule>,
    query: LeapQuery,
    usable: bool,
    check_at: Option<MonoTime>,
}

/// Re-check at least this often (seconds), so a stepped clock cannot skip a boundary for long.
const MAX_CHECK: f64 = 3600.0;

impl LeapState {
    /// Replace the table (`None`: no leap file).
    pub fn set_table(&mut self, table: Option<LeapSchedule>) {
        self.table = table;
        self.check_at = None;
    }

    /// The table in use.
    pub fn table(&self) -> Option<&LeapSchedule> {
        self.table.as_ref()
    }

    /// Re-evaluate at monotonic `now` with the clock reading `clock`; true when the announced
    /// LI or the in-progress flag changed.
    pub fn update(&mut self, now: MonoTime, clock: NtpTimestamp) -> bool {
        let before = (self.announced(), self.query.in_progress());
        let secs = clock.to_unix().0 + NTP_UNIX_OFFSET;
        match &self.table {
            Some(t) => {
                self.query = t.query(secs);
                self.usable = !t.expired(secs);
                let wait = self
                    .query
                    .next_change
                    .map_or(MAX_CHECK, |c| (c - secs) as f64)
                    .clamp(0.5, MAX_CHECK);
                self.check_at = Some(now.add_secs_f64(wait));
            }
            None => {
                self.query = LeapQuery::default();
                self.usable = false;
                self.check_at = None;
            }
        }
        before != (self.announced(), self.query.in_progress())
    }

    /// When [`LeapState::update`] wants to run again.
    pub fn deadline(&self) -> Option<MonoTime> {
        self.check_at
    }

    fn announced(&self) -> Option<LeapIndicator> {
        self.usable.then(|| self.query.indicator())
    }

    /// The system LI: an unexpired table decides; without one, the upstream vote `voted`
    /// stands. Never changes "unsynchronised".
    pub fn system_leap(&self, voted: LeapIndicator) -> LeapIndicator {
        match (voted, self.announced()) {
            (LeapIndicator::Unsynchronized, _) | (_, None) => voted,
            (_, Some(l)) => l,
        }
    }

    /// The LI put in served packets: the system LI, except "unsynchronised" during the last
    /// 3 seconds before a leap (classic's `xmt_leap`).
    pub fn served_leap(&self, voted: LeapIndicator) -> LeapIndicator {
        let sys = self.system_leap(voted);
        if sys != LeapIndicator::Unsynchronized && self.query.in_progress() {
            LeapIndicator::Unsynchronized
        } else {
            sys
        }
    }

    /// True while an unexpired table schedules a leap (proximity at least `Schedule`):
    /// classic's `leap_armed` system event fires when this turns on.
    pub fn armed(&self) -> bool {
        self.usable && self.query.proximity >= Proximity::Schedule && self.query.tai_diff != 0
    }

    /// TAI - UTC from the table (0: unknown).
    pub fn tai(&self) -> i32 {
        if self.table.is_some() {
            self.query.tai_offset
        } else {
            0
        }
    }

    /// The last check's answer.
    pub fn query(&self) -> LeapQuery {
        self.query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NTP seconds of 2027-01-01 00:00:00 UTC.
    const JAN2027: i64 = 4_007_750_400;
    /// NTP seconds of 2026-12-01 00:00:00 UTC.
    const DEC2026: i64 = JAN2027 - 31 * DAY;

    fn table() -> LeapSchedule {
        LeapSchedule::new(
            &[(3_692_217_600, 37), (JAN2027 as u64, 38)],
            Some((JAN2027 + 180 * DAY) as u64),
        )
    }

    #[test]
    fn calendar_constants_are_right() {
        assert_eq!(month_start(JAN2027 - 1), DEC2026);
        assert_eq!(month_start(JAN2027), JAN2027);
        let (y, m, d) = civil_from_days((JAN2027 - NTP_UNIX_OFFSET) / DAY);
        assert_eq!((y, m, d), (2027, 1, 1));
    }

    #[test]
    fn proximity_follows_classic_windows() {
        let t = table();
        let q = t.query(DEC2026 - 1);
        assert_eq!(
            (q.proximity, q.tai_offset, q.tai_diff),
            (Proximity::None, 37, 0)
        );
        assert_eq!(q.next_change, Some(DEC2026));
        assert_eq!(q.indicator(), LeapIndicator::NoWarning);
        let q = t.query(DEC2026);
        assert_eq!((q.proximity, q.tai_diff), (Proximity::Schedule, 1));
        assert_eq!(q.indicator(), LeapIndicator::NoWarning, "not announced yet");
        let q = t.query(JAN2027 - DAY);
        assert_eq!(q.proximity, Proximity::Announce);
        assert_eq!(q.indicator(), LeapIndicator::AddSecond);
        assert!(!q.in_progress());
        let q = t.query(JAN2027 - 10);
        assert_eq!(q.proximity, Proximity::Alert);
        assert!(!q.in_progress());
        let q = t.query(JAN2027 - 2);
        assert!(q.in_progress());
        assert_eq!(q.indicator(), LeapIndicator::AddSecond);
        let q = t.query(JAN2027);
        assert_eq!(
            (q.proximity, q.tai_offset, q.tai_diff),
            (Proximity::None, 38, 0)
        );
        assert_eq!(q.indicator(), LeapIndicator::NoWarning);
        assert_eq!(q.next_change, None);
    }

    #[test]
    fn a_negative_leap_announces_delete() {
        let t = LeapSchedule::new(&[(3_692_217_600, 37), (JAN2027 as u64, 36)], None);
        let q = t.query(JAN2027 - 100);
        assert_eq!(q.tai_diff, -1);
        assert_eq!(q.indicator(), LeapIndicator::DeleteSecond);
    }

    #[test]
    fn expiry_is_reported_as_classic_does() {
        let t = table();
        let exp = JAN2027 + 180 * DAY;
        assert_eq!(t.expiry_message("f", exp - 40 * DAY, true), None);
        assert_eq!(
            t.expiry_message("f", exp - 10 * DAY - 5, true),
            Some((
                false,
                "leapsecond file ('f'): will expire in less than 11 days".into()
            ))
        );
        assert_eq!(t.expiry_message("f", exp - 10 * DAY - 5, false), None);
        assert_eq!(
            t.expiry_message("f", exp - 5, false),
            Some((
                false,
                "leapsecond file ('f'): will expire in less than one day".into()
            ))
        );
        assert_eq!(
            t.expiry_message("f", exp + 5, true),
            Some((
                true,
                "leapsecond file ('f'): expired less than 1 day ago".into()
            ))
        );
        assert_eq!(
            t.expiry_message("f", exp + 2 * DAY + 5, true),
            Some((
                true,
                "leapsecond file ('f'): expired less than 3 days ago".into()
            ))
        );
        assert!(t.expired(exp) && !t.expired(exp - 1));
    }
}

/// The engine with a leap table: announcement window, kernel arming, observe-only.
#[cfg(test)]
mod engine_tests {
    use super::*;
    use crate::{Action, ClockAction, Engine, EngineConfig, LeapStatus, SourceConfig};
    use ntp_wire::RefId;

    /// NTP seconds of 2027-01-01 00:00:00 UTC, a leap in the test table.
    const LEAP: i64 = 4_007_750_400;

    struct Seen {
        /// (clock NTP seconds, system LI, served LI, TAI) after each timeout.
        states: Vec<(i64, LeapIndicator, LeapIndicator, i32)>,
        /// Leap status of every SetStatus action, in order.
        statuses: Vec<LeapStatus>,
        clock_actions: usize,
    }

    /// Run a local-clock engine from `start` to `end` (clock NTP seconds; the test clock
    /// reads start + monotonic seconds) with the table (`LEAP` inserts a second).
    fn run(observe_only: bool, start: i64, end: i64, table: LeapSchedule) -> Seen {
        let cfg = EngineConfig {
            observe_only,
            ..EngineConfig::default()
        };
        let sources = vec![SourceConfig::local(10, RefId::from_bytes(*b"LOCL"))];
        let mut e = Engine::new(cfg, sources, MonoTime::ZERO);
        let clock = |mono: f64| {
            NtpTimestamp::from_unix((start - NTP_UNIX_OFFSET) + mono as i64, 0)
                + ntp_wire::NtpDuration::from_seconds_f64(mono.fract())
        };
        e.set_leap_schedule(MonoTime::ZERO, clock(0.0), Some(table));
        let mut seen = Seen {
            states: Vec::new(),
            statuses: Vec::new(),
            clock_actions: 0,
        };
        loop {
            while let Some(a) = e.poll_action() {
                if let Action::Clock(c) = a {
                    seen.clock_actions += 1;
                    if let ClockAction::SetStatus(st) = c {
                        seen.statuses.push(st.leap);
                    }
                }
            }
            let t = e.poll_timeout().expect("a timer");
            let now = clock(t.as_secs_f64());
            let secs = now.to_unix().0 + NTP_UNIX_OFFSET;
            if secs > end {
                return seen;
            }
            e.handle_timeout(t, now);
            let s = e.system_snapshot();
            seen.states.push((secs, s.leap, s.served_leap, s.tai));
        }
    }

    fn table() -> LeapSchedule {
        LeapSchedule::new(
            &[(3_692_217_600, 37), (LEAP as u64, 38)],
            Some((LEAP + 180 * DAY) as u64),
        )
    }

    #[test]
    fn li_is_announced_in_the_last_day_only_and_clears_after_the_leap() {
        let seen = run(false, LEAP - 2 * DAY, LEAP + 600, table());
        let synced = |l: LeapIndicator| l != LeapIndicator::Unsynchronized;
        let mut announced = 0;
        for &(t, sys, served, tai) in seen.states.iter().filter(|s| synced(s.1)) {
            if t < LEAP - DAY {
                assert_eq!(sys, LeapIndicator::NoWarning, "at {}", t - LEAP);
                assert_eq!(tai, 37);
            } else if t < LEAP {
                assert_eq!(sys, LeapIndicator::AddSecond, "at {}", t - LEAP);
                announced += 1;
                let expect = if t >= LEAP - 2 {
                    LeapIndicator::Unsynchronized
                } else {
                    LeapIndicator::AddSecond
                };
                assert_eq!(served, expect, "served at {}", t - LEAP);
            } else {
                assert_eq!(sys, LeapIndicator::NoWarning, "after, at {}", t - LEAP);
                assert_eq!(served, LeapIndicator::NoWarning);
                assert_eq!(tai, 38);
            }
        }
        assert!(announced > 100, "{announced} states inside the window");
        // The boundaries themselves are visited (timers at due-1d, due-10 s, due-2 s, due).
        for b in [LEAP - DAY, LEAP - 10, LEAP - 2, LEAP] {
            assert!(
                seen.states.iter().any(|s| s.0 == b),
                "no check at {}",
                b - LEAP
            );
        }
        // The kernel is armed once (insert) and disarmed once after the leap.
        let mut changes = seen.statuses.clone();
        changes.dedup();
        let arms = changes.iter().filter(|&&l| l == LeapStatus::Insert).count();
        assert_eq!(arms, 1, "{changes:?}");
        assert_eq!(changes.last(), Some(&LeapStatus::None));
    }

    #[test]
    fn observe_only_announces_but_never_touches_the_clock() {
        let seen = run(true, LEAP - DAY - 300, LEAP - 100, table());
        assert_eq!(seen.clock_actions, 0);
        let last = seen.states.last().unwrap();
        assert_eq!(last.1, LeapIndicator::AddSecond);
        assert_eq!(last.2, LeapIndicator::AddSecond);
    }

    #[test]
    fn an_expired_table_no_longer_decides_the_li() {
        let expired = LeapSchedule::new(
            &[(3_692_217_600, 37), (LEAP as u64, 38)],
            Some(LEAP as u64 - 3600),
        );
        let seen = run(false, LEAP - 3000, LEAP - 600, expired);
        let last = seen.states.last().unwrap();
        assert_eq!(
            last.1,
            LeapIndicator::NoWarning,
            "upstream vote (none) stands"
        );
        assert!(!seen.statuses.contains(&LeapStatus::Insert));
    }
}
