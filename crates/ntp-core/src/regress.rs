//! Offset and frequency estimation by weighted linear regression over a source's samples,
//! with the window chosen by a runs test (the approach of chrony's `regress.c`, which the
//! RFC 5905 PLL/FLL of section 11.3 is replaced by; see docs/algorithm.md for why).
//!
//! Samples are kept in the "free-running" domain: `raw = offset + Q(t)`, where `Q` is the
//! total correction the engine itself has applied to the clock (steps plus the integral of
//! the frequency it set). The engine's own corrections therefore never disturb the history;
//! only the oscillator's real wander does, and the runs test finds how far back the history
//! stays linear.
//!
//! Weights come from the delay: with independent exponential (or any similar) delays in the
//! two directions, a sample whose round trip exceeds the minimum by `D` has an offset error
//! spread over `[-D/2, D/2]`, variance `D^2/12`.

use std::collections::VecDeque;

/// Most samples kept per source.
pub const MAX_SAMPLES: usize = 64;
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
    /// z threshold of the runs test (too few runs means the window is not linear).
    pub runs_z: f64,
}

impl Default for RegressParams {
    fn default() -> Self {
        RegressParams {
            floor_fraction: 0.2,
            min_sd: 1e-7,
            runs_z: 1.65,
        }
    }
}

/// Append a sample, keeping the newest [`MAX_SAMPLES`].
pub fn push(samples: &mut VecDeque<RawSample>, s: RawSample) {
    if samples.len() == MAX_SAMPLES {
        samples.pop_front();
    }
    samples.push_back(s);
}

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

/// Count sign runs of the residuals and say whether there are too few for randomness.
fn runs_ok(xs: &[f64], ys: &[f64], fit: &Fit, z: f64) -> bool {
    let n = xs.len();
    if n < 6 {
        return true;
    }
    let mut pos = 0usize;
    let mut runs = 0usize;
    let mut last: Option<bool> = None;
    for (x, y) in xs.iter().zip(ys) {
        let s = y - fit.a - fit.b * x >= 0.0;
        if s {
            pos += 1;
        }
        if last != Some(s) {
            runs += 1;
            last = Some(s);
        }
    }
    let neg = n - pos;
    if pos == 0 || neg == 0 {
        return false;
    }
    let (p, q, nn) = (pos as f64, neg as f64, n as f64);
    let mean = 1.0 + 2.0 * p * q / nn;
    let var = 2.0 * p * q * (2.0 * p * q - nn) / (nn * nn * (nn - 1.0));
    if var <= 0.0 {
        return true;
    }
    (runs as f64 - mean) / var.sqrt() > -z
}

/// Estimate raw offset at `now` and slope from the samples (oldest first), choosing the
/// longest window of newest samples that passes the runs test. `None` when empty.
pub fn estimate(samples: &VecDeque<RawSample>, now: f64, p: &RegressParams) -> Option<Estimate> {
    let n = samples.len();
    let last = samples.back()?;
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
    let xs: Vec<f64> = samples.iter().map(|s| s.time - now).collect();
    let ys: Vec<f64> = samples.iter().map(|s| s.raw).collect();
    let all: Vec<&RawSample> = samples.iter().collect();
    let mut best: Option<(usize, Fit)> = None;
    for start in 0..n.saturating_sub(1) {
        let win = &all[start..];
        let min_delay = win.iter().map(|s| s.delay).fold(f64::INFINITY, f64::min);
        let mean_excess = win.iter().map(|s| s.delay - min_delay).sum::<f64>() / win.len() as f64;
        let floor = (p.floor_fraction * mean_excess).powi(2) + p.min_sd * p.min_sd;
        let ws: Vec<f64> = win
            .iter()
            .map(|s| 1.0 / ((s.delay - min_delay).powi(2) / 12.0 + floor))
            .collect();
        let Some(fit) = wls(&xs[start..], &ys[start..], &ws) else {
            continue;
        };
        let ok = runs_ok(&xs[start..], &ys[start..], &fit, p.runs_z);
        if ok || n - start <= MIN_SLOPE_SAMPLES {
            best = Some((start, fit));
            break;
        }
    }
    let (start, fit) = best?;
    let used = n - start;
    let slope_known = used >= MIN_SLOPE_SAMPLES || (used == 2 && n == 2);
    Some(Estimate {
        raw_at_ref: fit.a,
        ref_time: now,
        slope: slope_known.then_some(fit.b),
        slope_sd: (used >= MIN_SLOPE_SAMPLES).then(|| fit.var_b.sqrt()),
        used,
        residual_rms: fit.rms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn recovers_offset_and_frequency_from_noisy_samples() {
        let mut rng = SplitMix64::new(3);
        let mut v = VecDeque::new();
        let (x0, f) = (0.004, 37e-6);
        for i in 0..40 {
            let t = i as f64 * 64.0;
            let (d1, d2) = (1e-4 * rng.next_exp(), 1e-4 * rng.next_exp());
            push(
                &mut v,
                RawSample {
                    time: t,
                    raw: x0 + f * t + (d1 - d2) / 2.0,
                    delay: 2e-4 + d1 + d2,
                },
            );
        }
        let now = 39.0 * 64.0;
        let e = estimate(&v, now, &RegressParams::default()).unwrap();
        assert!((e.raw_at_ref - (x0 + f * now)).abs() < 2e-5, "{e:?}");
        assert!((e.slope.unwrap() - f).abs() < 2e-8, "{e:?}");
        assert_eq!(e.used, 40);
    }

    #[test]
    fn runs_test_drops_history_before_a_frequency_change() {
        let mut v = VecDeque::new();
        let mut rng = SplitMix64::new(5);
        for i in 0..60 {
            let t = i as f64 * 64.0;
            // frequency jumps from 0 to 10 ppm at sample 30
            let raw = if i < 30 {
                0.0
            } else {
                10e-6 * (t - 30.0 * 64.0)
            };
            push(
                &mut v,
                RawSample {
                    time: t,
                    raw: raw + 1e-6 * rng.next_gaussian(),
                    delay: 1e-3,
                },
            );
        }
        let e = estimate(&v, 59.0 * 64.0, &RegressParams::default()).unwrap();
        assert!(e.used <= 35, "window should stop near the change: {e:?}");
        assert!((e.slope.unwrap() - 10e-6).abs() < 5e-7, "{e:?}");
    }

    #[test]
    fn a_single_sample_gives_offset_but_no_slope() {
        let mut v = VecDeque::new();
        push(
            &mut v,
            RawSample {
                time: 5.0,
                raw: 0.25,
                delay: 0.01,
            },
        );
        let e = estimate(&v, 10.0, &RegressParams::default()).unwrap();
        assert_eq!(e.raw_at_ref, 0.25);
        assert_eq!(e.slope, None);
        assert!(estimate(&VecDeque::new(), 0.0, &RegressParams::default()).is_none());
    }
}
