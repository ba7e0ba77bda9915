//! The clock filter (RFC 5905 section 10 and appendix A.5.2): eight (offset, delay,
//! dispersion) stages per source; the sample with the lowest delay is the source's offset,
//! the others give its dispersion and jitter. Dispersion of stored stages grows at PHI.

/// Number of filter stages (`NSTAGE`).
pub const NSTAGE: usize = 8;
/// Maximum dispersion, seconds (`MAXDISP`).
pub const MAXDISP: f64 = 16.0;

/// One stage of the filter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilterStage {
    /// Offset, seconds.
    pub offset: f64,
    /// Round-trip delay, seconds.
    pub delay: f64,
    /// Dispersion when measured, seconds.
    pub dispersion: f64,
    /// Monotonic time of the measurement, seconds.
    pub time: f64,
}

impl FilterStage {
    const EMPTY: FilterStage = FilterStage {
        offset: 0.0,
        delay: MAXDISP,
        dispersion: MAXDISP,
        time: 0.0,
    };
}

/// The eight-stage shift register and the statistics derived from it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockFilter {
    /// Newest first.
    stages: [FilterStage; NSTAGE],
    /// Stages holding a real sample.
    count: usize,
    /// Offset of the lowest-delay stage.
    pub offset: f64,
    /// Delay of the lowest-delay stage.
    pub delay: f64,
    /// Weighted dispersion of all stages (at the last update).
    pub dispersion: f64,
    /// RMS of the other stages' offsets against the chosen one (floored at precision).
    pub jitter: f64,
    /// Monotonic time of the chosen stage, seconds.
    pub time: f64,
}

impl Default for ClockFilter {
    fn default() -> Self {
        ClockFilter {
            stages: [FilterStage::EMPTY; NSTAGE],
            count: 0,
            offset: 0.0,
            delay: 0.0,
            dispersion: MAXDISP,
            jitter: 0.0,
            time: 0.0,
        }
    }
}

impl ClockFilter {
    /// True when no sample has been stored since the last reset.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Stages newest first (empty stages have delay and dispersion [`MAXDISP`]).
    pub fn stages(&self) -> &[FilterStage; NSTAGE] {
        &self.stages
    }

    /// Shift in a sample taken at `now` (monotonic seconds), with clock tolerance `phi` and
    /// precision floor `precision` (seconds).
    pub fn add(&mut self, sample: FilterStage, now: f64, phi: f64, precision: f64) {
        self.stages.rotate_right(1);
        self.stages[0] = sample;
        self.count = (self.count + 1).min(NSTAGE);
        // Order the stages by delay, aging each stage's dispersion since it was taken.
        let mut idx: [usize; NSTAGE] = [0, 1, 2, 3, 4, 5, 6, 7];
        let aged = |s: &FilterStage| (s.dispersion + phi * (now - s.time).max(0.0)).min(MAXDISP);
        idx.sort_by(|&a, &b| {
            let (sa, sb) = (&self.stages[a], &self.stages[b]);
            let ka = if a < self.count {
                sa.delay
            } else {
                f64::INFINITY
            };
            let kb = if b < self.count {
                sb.delay
            } else {
                f64::INFINITY
            };
            ka.total_cmp(&kb)
        });
        let best = self.stages[idx[0]];
        let mut disp = 0.0;
        let mut weight = 0.5;
        let mut jit = 0.0;
        for (rank, &i) in idx.iter().enumerate() {
            let s = &self.stages[i];
            let d = if i < self.count { aged(s) } else { MAXDISP };
            disp += d * weight;
            weight *= 0.5;
            if i < self.count && rank > 0 {
                jit += (s.offset - best.offset).powi(2);
            }
        }
        self.offset = best.offset;
        self.delay = best.delay;
        self.time = best.time;
        self.dispersion = disp;
        let others = self.count.saturating_sub(1).max(1) as f64;
        self.jitter = (jit / others).sqrt().max(precision);
    }

    /// Forget everything (after a step or a restart of the source).
    pub fn reset(&mut self) {
        *self = ClockFilter::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(offset: f64, delay: f64, time: f64) -> FilterStage {
        FilterStage {
            offset,
            delay,
            dispersion: 1e-6,
            time,
        }
    }

    #[test]
    fn lowest_delay_sample_wins() {
        let mut f = ClockFilter::default();
        f.add(stage(0.010, 0.050, 0.0), 0.0, 15e-6, 1e-6);
        f.add(stage(0.002, 0.010, 64.0), 64.0, 15e-6, 1e-6);
        f.add(stage(0.020, 0.090, 128.0), 128.0, 15e-6, 1e-6);
        assert_eq!(f.offset, 0.002);
        assert_eq!(f.delay, 0.010);
        assert_eq!(f.time, 64.0);
        // jitter: RMS of (0.008, 0.018) against the chosen offset
        let expect = ((0.008f64.powi(2) + 0.018f64.powi(2)) / 2.0).sqrt();
        assert!((f.jitter - expect).abs() < 1e-12);
    }

    #[test]
    fn empty_stages_keep_dispersion_high_until_filled() {
        let mut f = ClockFilter::default();
        f.add(stage(0.0, 0.01, 0.0), 0.0, 15e-6, 1e-6);
        assert!(
            f.dispersion > 7.9,
            "seven empty stages weigh in: {}",
            f.dispersion
        );
        for i in 1..8 {
            f.add(stage(0.0, 0.01, i as f64), i as f64, 15e-6, 1e-6);
        }
        assert!(f.dispersion < 1e-3);
        f.reset();
        assert!(f.is_empty());
    }
}
