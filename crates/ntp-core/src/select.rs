//! Source selection (RFC 5905 section 11.2 and appendix A.5.5): the intersection algorithm
//! that separates truechimers from falsetickers, the cluster algorithm that prunes outliers
//! down to `minclock`, and the combine algorithm that averages the survivors weighted by
//! the inverse of their root distance.

/// One candidate as the selection sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Caller's index for the source.
    pub index: usize,
    /// Offset estimate, seconds.
    pub offset: f64,
    /// Root distance (correctness interval half-width), seconds.
    pub distance: f64,
    /// Jitter, seconds.
    pub jitter: f64,
    /// Stratum (for ordering).
    pub stratum: u8,
    /// `true` option: always survives the intersection.
    pub truechimer: bool,
}

/// The outcome of the intersection algorithm.
#[derive(Debug, Clone, PartialEq)]
pub struct Intersection {
    /// Lower end of the intersection interval.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// Indices (into the candidate slice) of the truechimers.
    pub truechimers: Vec<usize>,
}

/// Marzullo's intersection as refined in RFC 5905: find the smallest number `f` of
/// falsetickers (`f < n/2`) for which `n - f` correctness intervals share a point, and
/// return the candidates whose offset lies in that common interval. `None` when no majority
/// exists.
pub fn intersect(cands: &[Candidate]) -> Option<Intersection> {
    let n = cands.len();
    if n == 0 {
        return None;
    }
    // (value, type): -1 lower end, 0 midpoint, +1 upper end
    let mut ends: Vec<(f64, i32)> = Vec::with_capacity(3 * n);
    for c in cands {
        ends.push((c.offset - c.distance, -1));
        ends.push((c.offset, 0));
        ends.push((c.offset + c.distance, 1));
    }
    ends.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut f = 0usize;
    while 2 * f < n {
        let need = (n - f) as i32;
        let mut found = 0usize;
        let mut chime = 0i32;
        let mut low = f64::INFINITY;
        for &(v, t) in &ends {
            chime -= t;
            if chime >= need {
                low = v;
                break;
            }
            if t == 0 {
                found += 1;
            }
        }
        chime = 0;
        let mut high = f64::NEG_INFINITY;
        for &(v, t) in ends.iter().rev() {
            chime += t;
            if chime >= need {
                high = v;
                break;
            }
            if t == 0 {
                found += 1;
            }
        }
        if found <= f && low <= high {
            let truechimers = cands
                .iter()
                .enumerate()
                .filter(|(_, c)| c.truechimer || (c.offset >= low && c.offset <= high))
                .map(|(i, _)| i)
                .collect();
            return Some(Intersection {
                low,
                high,
                truechimers,
            });
        }
        f += 1;
    }
    None
}

/// The cluster algorithm: repeatedly drop the survivor with the largest selection jitter
/// while more than `minclock` remain and that jitter exceeds the smallest peer jitter.
/// Returns the kept indices (into `cands`), ordered by stratum then distance.
pub fn cluster(cands: &[Candidate], survivors: &[usize], minclock: usize) -> Vec<usize> {
    let mut keep: Vec<usize> = survivors.to_vec();
    while keep.len() > minclock.max(1) {
        let n = keep.len() as f64;
        let mut max_sel = (f64::NEG_INFINITY, 0usize);
        let mut min_peer = f64::INFINITY;
        for (k, &i) in keep.iter().enumerate() {
            let sel = (keep
                .iter()
                .map(|&j| (cands[i].offset - cands[j].offset).powi(2))
                .sum::<f64>()
                / (n - 1.0))
                .sqrt();
            if sel > max_sel.0 {
                max_sel = (sel, k);
            }
            min_peer = min_peer.min(cands[i].jitter);
        }
        if max_sel.0 <= min_peer {
            break;
        }
        keep.remove(max_sel.1);
    }
    keep.sort_by(|&a, &b| {
        let (ca, cb) = (&cands[a], &cands[b]);
        ca.stratum
            .cmp(&cb.stratum)
            .then(ca.distance.total_cmp(&cb.distance))
    });
    keep
}

/// chrony's `combinelimit`: of the cluster survivors `keep`, only those whose root distance
/// is at most `limit` times the system peer's (`sys`) are combined. A source whose delay an
/// on-path attacker inflates keeps a wide interval that still intersects the truth, so it
/// survives selection; its offset carries up to half the added delay as error, and even with
/// a small 1/distance weight it would pull the combined offset. The system peer is always kept.
pub fn within_combine_limit(
    cands: &[Candidate],
    keep: &[usize],
    sys: usize,
    limit: f64,
) -> Vec<usize> {
    let bound = cands[sys].distance * limit;
    keep.iter()
        .copied()
        .filter(|&k| k == sys || cands[k].distance <= bound)
        .collect()
}

/// Weighted combination of the survivors: (offset, jitter) with weights 1/distance.
pub fn combine(cands: &[Candidate], keep: &[usize]) -> (f64, f64) {
    let mut sw = 0.0;
    let mut so = 0.0;
    for &i in keep {
        let w = 1.0 / cands[i].distance.max(1e-9);
        sw += w;
        so += w * cands[i].offset;
    }
    if sw == 0.0 {
        return (0.0, 0.0);
    }
    let off = so / sw;
    let jit = keep
        .iter()
        .map(|&i| (cands[i].offset - off).powi(2) / cands[i].distance.max(1e-9))
        .sum::<f64>()
        / sw;
    (off, jit.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combine_limit_drops_sources_far_wider_than_the_system_peer() {
        // Two honest sources 5 ms wide, one whose delay was inflated to 110 ms wide.
        let cands = [
            cand(0, 0.0, 0.005),
            cand(1, 0.001, 0.006),
            cand(2, -0.1, 0.11),
        ];
        let kept = within_combine_limit(&cands, &[0, 1, 2], 0, 3.0);
        assert_eq!(kept, vec![0, 1]);
        let (off, _) = combine(&cands, &kept);
        assert!(off.abs() < 0.001, "{off}");
        // Without the limit the inflated source pulls the result by about 2 ms.
        let (all, _) = combine(&cands, &[0, 1, 2]);
        assert!(all < -0.0015, "{all}");
        // The system peer itself is never dropped, even when it is the widest.
        assert_eq!(
            within_combine_limit(&cands, &[0, 1, 2], 2, 3.0),
            vec![0, 1, 2]
        );
        assert_eq!(within_combine_limit(&cands, &[2], 2, 3.0), vec![2]);
    }

    fn cand(index: usize, offset: f64, distance: f64) -> Candidate {
        Candidate {
            index,
            offset,
            distance,
            jitter: 1e-4,
            stratum: 2,
            truechimer: false,
        }
    }

    #[test]
    fn minority_falseticker_is_excluded() {
        let c = [
            cand(0, 0.001, 0.01),
            cand(1, -0.002, 0.01),
            cand(2, 10.0, 0.01),
            cand(3, 0.0, 0.01),
            cand(4, 0.002, 0.02),
        ];
        let i = intersect(&c).unwrap();
        assert_eq!(i.truechimers, vec![0, 1, 3, 4]);
    }

    #[test]
    fn no_majority_means_no_selection() {
        let c = [
            cand(0, 0.0, 0.01),
            cand(1, 5.0, 0.01),
            cand(2, 10.0, 0.01),
            cand(3, 20.0, 0.01),
        ];
        assert!(intersect(&c).is_none());
    }

    #[test]
    fn true_option_survives_even_as_falseticker() {
        let mut c = vec![cand(0, 0.0, 0.01), cand(1, 0.001, 0.01), cand(2, 7.0, 0.01)];
        c[2].truechimer = true;
        let i = intersect(&c).unwrap();
        assert_eq!(i.truechimers, vec![0, 1, 2]);
    }

    #[test]
    fn cluster_prunes_the_outlier_and_combine_weights_by_distance() {
        let c = [
            cand(0, 0.000, 0.01),
            cand(1, 0.001, 0.01),
            cand(2, 0.0005, 0.02),
            cand(3, 0.030, 0.05),
        ];
        let keep = cluster(&c, &[0, 1, 2, 3], 3);
        assert_eq!(keep.len(), 3);
        assert!(!keep.contains(&3));
        let (off, _) = combine(&c, &[0, 1]);
        assert!((off - 0.0005).abs() < 1e-12);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Truechimers clustered near zero always survive and distant falsetickers never
        /// do, as long as the truechimers are a strict majority.
        #[test]
        fn majority_of_truechimers_always_wins(
            good in proptest::collection::vec((-0.001f64..0.001, 0.002f64..0.05), 3..8),
            bad in proptest::collection::vec((1.0f64..100.0, 0.002f64..0.05, any::<bool>()), 0..3),
        ) {
            prop_assume!(bad.len() < good.len());
            let mut c: Vec<Candidate> = good
                .iter()
                .enumerate()
                .map(|(i, &(o, d))| Candidate { index: i, offset: o, distance: d, jitter: 1e-4, stratum: 2, truechimer: false })
                .collect();
            for (k, &(o, d, neg)) in bad.iter().enumerate() {
                // Falsetickers far apart from each other too (no coalition).
                let o = if neg { -o } else { o } * (k as f64 + 1.0);
                c.push(Candidate { index: 100 + k, offset: o, distance: d, jitter: 1e-4, stratum: 2, truechimer: false });
            }
            let i = intersect(&c).expect("a majority exists");
            prop_assert_eq!(&i.truechimers, &(0..good.len()).collect::<Vec<_>>());
            let keep = cluster(&c, &i.truechimers, 3);
            prop_assert!(!keep.is_empty());
            let (off, _) = combine(&c, &keep);
            prop_assert!(off.abs() <= 0.001);
        }
    }
}
