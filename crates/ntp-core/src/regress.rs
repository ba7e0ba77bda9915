//! Offset and frequency estimation by weighted linear regression over a source's samples,
//! in the spirit of chrony's `regress.c` (replacing the RFC 5905 PLL/FLL of section 11.3;
//! see docs/algorithm.md for why).
//!
//! The window (a time span back from now) is chosen by how well each candidate span
//! predicted the samples that followed (see [`Regression`]).
//!
//! Samples are kept in the "free-running" domain: `raw = offset + Q(t)`, where `Q` is the
//! total correction the engine itself has applied to the clock (steps plus the integral of
//! the frequency it set). The engine's own corrections therefore never disturb the history;
//! only the oscillator's real wander does, and the window choice finds how far back the
//! history stays useful.
//!
//! Weights come from the delay: with independent exponential (or any similar) delays in the
//! two directions, a sample whose round trip exceeds the minimum by `D` has an offset error
//! spread over `[-D/2, D/2]`, variance `D^2/12`.

use std::collections::VecDeque;

/// Most samples kept per source.
pub const MAX_SAMPLES: usize = 128;
/// Fewest samples for which the slope (frequency) is trusted.
pub const MIN_SLOPE_SAMPLES: usize = 3;

/// One measurement in the free-running domain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawSample {
    /// Monotonic time, seconds.
    pub time: f64,
    /// Offset plus the engine's accumulated correction at `time`, seconds.
    pub raw: f64,
    /// Round-trip delay, seconds.
    pub delay: f64,
}

/// The regression's answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Fitted raw offset at the reference time, seconds.
    pub raw_at_ref: f64,
    /// The reference time (monotonic seconds).
    pub ref_time: f64,
    /// Slope of raw offset (s/s): the frequency correction the clock needs. `None` when too
    /// few samples.
    pub slope: Option<f64>,
    /// Standard error of the slope (s/s), when known.
    pub slope_sd: Option<f64>,
    /// Samples used (the newest ones).
    pub used: usize,

    /// Weighted RMS residual, seconds.
    pub residual_rms: f64,
}

/// Tunable parameters of the estimator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegressParams {
    /// Variance floor as a fraction of the mean delay excess (squared).
    pub floor_fraction: f64,
    /// Absolute floor of the per-sample standard deviation, seconds.
    pub min_sd: f64,
}

impl Default for RegressParams {
    fn default() -> Self {
        RegressParams {
            floor_fraction: 0.05,
            min_sd: 1e-7,
        }
    }
}

/// Window lengths (newest samples) the estimator chooses between.
/// Candidate window spans, seconds (32 s to 36 h, doubling). Spans rather than sample
/// counts, so that the choice reflects the oscillator and the network, not the poll: a
/// longer poll simply puts fewer samples into the best span, and the poll adaptation sees it.
pub const SPANS: [f64; 13] = [
    32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0, 8192.0, 16384.0, 32768.0, 65536.0,
    131072.0,
];
/// Fewest samples in a fit (a span holding fewer takes the newest this many).
const MIN_FIT: usize = 3;
/// Memory of the prediction-error scores, in samples.
/// Memory of the scores: this many seconds, but at least [`SCORE_MIN_SAMPLES`] samples.
const SCORE_MEMORY: f64 = 8192.0;
/// Fewest samples the score memory spans.
const SCORE_MIN_SAMPLES: f64 = 32.0;
/// Largest contribution of one prediction error to a score (in variances), so that one
/// transient (a start-up error, a spike) does not dominate the score for long.
const SCORE_CAP: f64 = 25.0;

struct Fit {
    a: f64,
    b: f64,
    var_b: f64,
    rms: f64,
}

fn wls(xs: &[f64], ys: &[f64], ws: &[f64]) -> Option<Fit> {
    let sw: f64 = ws.iter().sum();
    if sw <= 0.0 || !sw.is_finite() {
        return None;
    }
    let xm = xs.iter().zip(ws).map(|(x, w)| x * w).sum::<f64>() / sw;
    let ym = ys.iter().zip(ws).map(|(y, w)| y * w).sum::<f64>() / sw;
    let sxx: f64 = xs.iter().zip(ws).map(|(x, w)| w * (x - xm).powi(2)).sum();
    let sxy: f64 = xs
        .iter()
        .zip(ys)
        .zip(ws)
        .map(|((x, y), w)| w * (x - xm) * (y - ym))
        .sum();
    let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let a = ym - b * xm; // value at x = 0 (the reference time)
    let n = xs.len();
    let ssr: f64 = xs
        .iter()
        .zip(ys)
        .zip(ws)
        .map(|((x, y), w)| w * (y - a - b * x).powi(2))
        .sum();
    let rms = (ssr / sw).sqrt();
    let var_b = if n > 2 && sxx > 0.0 {
        ssr / (n - 2) as f64 / sxx
    } else {
        f64::INFINITY
    };
    Some(Fit { a, b, var_b, rms })
}

/// A source's sample history and the estimator state.
///
/// The window is chosen by prediction: every new sample is first predicted by a fit over
/// each candidate window length, and each length keeps an exponentially weighted score of
/// its squared prediction errors (weighted by the new sample's inverse variance). The
/// estimate uses the length with the lowest score: long windows win while the oscillator
/// is stable (noise averages out), short ones when it wanders (old samples mislead).
#[derive(Debug, Clone, Default)]
pub struct Regression {
    samples: VecDeque<RawSample>,
    scores: [f64; SPANS.len()],
    scored: usize,
}

impl Regression {
    /// Samples held, oldest first.
    pub fn samples(&self) -> &VecDeque<RawSample> {
        &self.samples
    }

    /// Forget everything.
    pub fn clear(&mut self) {
        *self = Regression::default();
    }

    /// Index of the first sample inside `span` seconds before `t_ref`, keeping at least
    /// [`MIN_FIT`] samples.
    fn window_start(&self, span: f64, t_ref: f64) -> usize {
        let n = self.samples.len();
        let inside = self
            .samples
            .iter()
            .position(|s| s.time >= t_ref - span)
            .unwrap_or(n);
        inside.min(n.saturating_sub(MIN_FIT))
    }

    /// Fit over the samples from index `start` with the time origin at `t0`. Works on
    /// stack arrays: it runs for every candidate span on every sample.
    fn fit(&self, start: usize, t0: f64, p: &RegressParams) -> Option<Fit> {
        let n = self.samples.len();
        if start >= n {
            return None;
        }
        let (min_delay, mean_excess) = delay_stats(self.samples.range(start..));
        let floor = (p.floor_fraction * mean_excess).powi(2) + p.min_sd * p.min_sd;
        let mut xs = [0.0; MAX_SAMPLES];
        let mut ys = [0.0; MAX_SAMPLES];
        let mut ws = [0.0; MAX_SAMPLES];
        let mut k = 0;
        for (j, s) in self.samples.range(start..).take(MAX_SAMPLES).enumerate() {
            xs[j] = s.time - t0;
            ys[j] = s.raw;
            ws[j] = 1.0 / ((s.delay - min_delay).powi(2) / 12.0 + floor);
            k = j + 1;
        }
        wls(&xs[..k], &ys[..k], &ws[..k])
    }

    /// Add a sample (scoring the candidate spans on it first), keeping the newest
    /// [`MAX_SAMPLES`].
    pub fn push(&mut self, s: RawSample, p: &RegressParams) {
        if let (true, Some(last)) = (self.samples.len() >= 2, self.samples.back()) {
            let dt = (s.time - last.time).max(0.0);
            let (min_delay, mean_excess) = delay_stats(self.samples.iter());
            let floor = (p.floor_fraction * mean_excess).powi(2) + p.min_sd * p.min_sd;
            let excess = (s.delay - min_delay).max(0.0);
            let w = 1.0 / (excess * excess / 12.0 + floor);
            let decay = (-dt / SCORE_MEMORY.max(SCORE_MIN_SAMPLES * dt)).exp();
            for (i, &span) in SPANS.iter().enumerate() {
                let start = self.window_start(span, s.time);
                if let Some(f) = self.fit(start, s.time, p) {
                    let e = s.raw - f.a;
                    self.scores[i] = self.scores[i] * decay + (w * e * e).min(SCORE_CAP);
                }
            }
            self.scored += 1;
        }
        if self.samples.len() == MAX_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(s);
    }

    /// Estimate raw offset at `now` and the slope with the best-scoring span. `None` when
    /// empty.
    pub fn estimate(&self, now: f64, p: &RegressParams) -> Option<Estimate> {
        let n = self.samples.len();
        let last = self.samples.back()?;
        if n == 1 {
            return Some(Estimate {
                raw_at_ref: last.raw,
                ref_time: last.time,
                slope: None,
                slope_sd: None,
                used: 1,
                residual_rms: 0.0,
            });
        }
        // Until a few predictions were scored, use everything there is.
        let start = if self.scored < 4 {
            0
        } else {
            let mut best = (f64::INFINITY, 0usize);
            for (i, &span) in SPANS.iter().enumerate() {
                // A longer span within 2% of the best score wins: same accuracy, less noise.
                if self.scores[i] <= best.0 * 1.02 {
                    best = (best.0.min(self.scores[i]), self.window_start(span, now));
                }
            }
            best.1
        };
        let fit = self.fit(start, now, p)?;
        let used = n - start;
        Some(Estimate {
            raw_at_ref: fit.a,
            ref_time: now,
            slope: (used >= 2).then_some(fit.b),
            slope_sd: (used >= MIN_SLOPE_SAMPLES).then(|| fit.var_b.sqrt()),
            used,
            residual_rms: fit.rms,
        })
    }
}

/// Minimum delay and mean excess over it.
fn delay_stats<'a>(win: impl Iterator<Item = &'a RawSample> + Clone) -> (f64, f64) {
    let (mut min_delay, mut count) = (f64::INFINITY, 0usize);
    for s in win.clone() {
        min_delay = min_delay.min(s.delay);
        count += 1;
    }
    let total: f64 = win.map(|s| s.delay - min_delay).sum();
    (min_delay, total / count.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn recovers_offset_and_frequency_from_noisy_samples() {
        let mut rng = SplitMix64::new(3);
        let p = RegressParams::default();
        let mut r = Regression::default();
        let (x0, f) = (0.004, 37e-6);
        for i in 0..40 {
            let t = i as f64 * 64.0;
            let (d1, d2) = (1e-4 * rng.next_exp(), 1e-4 * rng.next_exp());
            r.push(
                RawSample {
                    time: t,
                    raw: x0 + f * t + (d1 - d2) / 2.0,
                    delay: 2e-4 + d1 + d2,
                },
                &p,
            );
        }
        let now = 39.0 * 64.0;
        let e = r.estimate(now, &p).unwrap();
        assert!((e.raw_at_ref - (x0 + f * now)).abs() < 2e-5, "{e:?}");
        assert!((e.slope.unwrap() - f).abs() < 2e-8, "{e:?}");
        assert!(e.used >= 24, "a stable clock earns a long window: {e:?}");
    }

    #[test]
    fn window_shrinks_after_a_frequency_change() {
        let p = RegressParams::default();
        let mut r = Regression::default();
        let mut rng = SplitMix64::new(5);
        for i in 0..60 {
            let t = i as f64 * 64.0;
            // frequency jumps from 0 to 10 ppm at sample 30
            let raw = if i < 30 {
                0.0
            } else {
                10e-6 * (t - 30.0 * 64.0)
            };
            r.push(
                RawSample {
                    time: t,
                    raw: raw + 1e-6 * rng.next_gaussian(),
                    delay: 1e-3 + 1e-6 * rng.next_exp(),
                },
                &p,
            );
        }
        let e = r.estimate(59.0 * 64.0, &p).unwrap();
        assert!(e.used <= 32, "window should stop near the change: {e:?}");
        assert!((e.slope.unwrap() - 10e-6).abs() < 5e-7, "{e:?}");
    }

    #[test]
    fn a_single_sample_gives_offset_but_no_slope() {
        let p = RegressParams::default();
        let mut r = Regression::default();
        assert!(r.estimate(0.0, &p).is_none());
        r.push(
            RawSample {
                time: 5.0,
                raw: 0.25,
                delay: 0.01,
            },
            &p,
        );
        let e = r.estimate(10.0, &p).unwrap();
        assert_eq!(e.raw_at_ref, 0.25);
        assert_eq!(e.slope, None);
        r.clear();
        assert!(r.samples().is_empty());
    }
}
