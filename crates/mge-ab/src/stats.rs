//! Small-sample statistics for comparing modes: mean, standard deviation, Student's t
//! distribution (CDF through the regularized incomplete beta function, quantile by bisection),
//! the paired t-test and Welch's t-test with Welch–Satterthwaite degrees of freedom. Pure
//! functions, no I/O.

use serde::{Deserialize, Serialize};

/// Arithmetic mean; `None` for an empty sample.
pub fn mean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        None
    } else {
        Some(xs.iter().sum::<f64>() / xs.len() as f64)
    }
}

/// Sample standard deviation (n - 1 in the denominator); `None` below two values.
pub fn sd(xs: &[f64]) -> Option<f64> {
    variance(xs).map(f64::sqrt)
}

/// Sample variance (n - 1 in the denominator); `None` below two values.
pub fn variance(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs)?;
    Some(xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64)
}

/// Natural log of the gamma function (Lanczos approximation, g = 7, 9 terms), for `x > 0`.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1-x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularized incomplete beta function I_x(a, b) for `a, b > 0` and `x` in [0, 1], by Lentz's
/// continued fraction.
pub fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry
    // I_x(a, b) = 1 - I_{1-x}(b, a) otherwise.
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_fraction(x, a, b) / a
    } else {
        1.0 - ln_front.exp() * beta_fraction(1.0 - x, b, a) / b
    }
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-15;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// One tail of Student's t distribution, P(T > |t|) = I_x(df/2, 1/2) / 2 with x = df/(df+t²).
/// For small |t|, x rounds to 1, so the complement I_{1-x}(1/2, df/2) is taken with 1 - x
/// computed directly as t²/(df+t²).
fn t_tail(t: f64, df: f64) -> f64 {
    if t.is_infinite() {
        return 0.0;
    }
    let t2 = t * t;
    if t2 < df {
        0.5 - 0.5 * incomplete_beta(t2 / (df + t2), 0.5, df / 2.0)
    } else {
        0.5 * incomplete_beta(df / (df + t2), df / 2.0, 0.5)
    }
}

/// CDF of Student's t distribution with `df > 0` degrees of freedom (not necessarily whole).
pub fn t_cdf(t: f64, df: f64) -> f64 {
    let tail = t_tail(t, df);
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// Two-sided p-value of a t statistic: P(|T| >= |t|).
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    (2.0 * t_tail(t, df)).clamp(0.0, 1.0)
}

/// Quantile of Student's t distribution: the `t` with `t_cdf(t, df) == p`, by bisection.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let (mut lo, mut hi) = (-1.0, 1.0);
    while t_cdf(lo, df) > p {
        lo *= 2.0;
    }
    while t_cdf(hi, df) < p {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 * hi.abs().max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Which test produced a [`Comparison`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestKind {
    Paired,
    Welch,
}

/// A difference `a - b` between two samples with its 95% confidence interval and two-sided
/// p-value. Fields that cannot be computed (too few values) are `None`, with a note saying why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub test: TestKind,
    /// Paired differences, or the size of the smaller sample for Welch.
    pub n: usize,
    pub mean_a: Option<f64>,
    pub mean_b: Option<f64>,
    /// Mean of `a - b`.
    pub diff: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub t: Option<f64>,
    pub df: Option<f64>,
    pub p_value: Option<f64>,
    /// p < alpha (0.05).
    pub significant: bool,
    pub note: Option<String>,
}

/// Significance level of the tests and 1 - the confidence of the intervals.
pub const ALPHA: f64 = 0.05;

impl Comparison {
    fn empty(test: TestKind, n: usize, a: &[f64], b: &[f64], note: &str) -> Comparison {
        let (mean_a, mean_b) = (mean(a), mean(b));
        Comparison {
            test,
            n,
            mean_a,
            mean_b,
            diff: mean_a.zip(mean_b).map(|(x, y)| x - y),
            ci_low: None,
            ci_high: None,
            t: None,
            df: None,
            p_value: None,
            significant: false,
            note: Some(note.to_string()),
        }
    }

    /// Fills t, CI and p from a mean difference, its standard error and degrees of freedom.
    fn with_t(mut self, diff: f64, se: f64, df: f64) -> Comparison {
        let q = t_quantile(1.0 - ALPHA / 2.0, df);
        let t = diff / se;
        let p = t_two_sided_p(t, df);
        self.diff = Some(diff);
        self.t = Some(t);
        self.df = Some(df);
        self.ci_low = Some(diff - q * se);
        self.ci_high = Some(diff + q * se);
        self.p_value = Some(p);
        self.significant = p < ALPHA;
        self.note = None;
        self
    }

    /// Zero standard error: every difference is the same, so the interval is a point and the
    /// test is decided by whether that difference is zero.
    fn degenerate(mut self, diff: f64, scale: f64) -> Comparison {
        // Rounding noise (sums taken in another order) is no difference.
        let diff = if diff.abs() <= NOISE * scale {
            0.0
        } else {
            diff
        };
        self.diff = Some(diff);
        self.ci_low = Some(diff);
        self.ci_high = Some(diff);
        if diff == 0.0 {
            self.p_value = Some(1.0);
            self.significant = false;
            self.note = Some("no variance: identical values in both modes".to_string());
        } else {
            self.p_value = Some(0.0);
            self.significant = true;
            self.note = Some(
                "no variance: the difference is the same in every pair, so p is taken as 0"
                    .to_string(),
            );
        }
        self
    }
}

/// Relative size below which a standard error or difference is floating-point noise.
const NOISE: f64 = 1e-9;

/// Largest magnitude among the values: the scale that noise is measured against.
fn magnitude(a: &[f64], b: &[f64]) -> f64 {
    a.iter().chain(b).fold(0.0, |m, x| m.max(x.abs()))
}

/// Paired t-test of `a[i] - b[i]` (the slices must be paired and of equal length).
pub fn paired_t(a: &[f64], b: &[f64]) -> Comparison {
    assert_eq!(a.len(), b.len(), "paired samples have equal lengths");
    let n = a.len();
    let base = Comparison::empty(TestKind::Paired, n, a, b, "");
    let diffs: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let Some(d) = mean(&diffs) else {
        return Comparison::empty(TestKind::Paired, n, a, b, "no pairs");
    };
    let Some(s) = sd(&diffs) else {
        return Comparison::empty(TestKind::Paired, n, a, b, "one pair: no test below 2 pairs");
    };
    let se = s / (n as f64).sqrt();
    let scale = magnitude(a, b);
    if se <= NOISE * scale {
        return base.degenerate(d, scale);
    }
    base.with_t(d, se, (n - 1) as f64)
}

/// Welch's t-test of `mean(a) - mean(b)` for independent samples of possibly unequal
/// variances, with Welch–Satterthwaite degrees of freedom.
pub fn welch_t(a: &[f64], b: &[f64]) -> Comparison {
    let n = a.len().min(b.len());
    let base = Comparison::empty(TestKind::Welch, n, a, b, "");
    let (Some(ma), Some(mb)) = (mean(a), mean(b)) else {
        return Comparison::empty(TestKind::Welch, n, a, b, "an empty sample");
    };
    let (Some(va), Some(vb)) = (variance(a), variance(b)) else {
        return Comparison::empty(TestKind::Welch, n, a, b, "a sample below 2 values: no test");
    };
    let (qa, qb) = (va / a.len() as f64, vb / b.len() as f64);
    let se2 = qa + qb;
    let diff = ma - mb;
    let scale = magnitude(a, b);
    if se2.sqrt() <= NOISE * scale {
        return base.degenerate(diff, scale);
    }
    let df = se2 * se2 / (qa * qa / (a.len() - 1) as f64 + qb * qb / (b.len() - 1) as f64);
    base.with_t(diff, se2.sqrt(), df)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values from scipy 1.17 (scipy.stats.t, ttest_rel, ttest_ind(equal_var=False)).

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} != {b} (tolerance {tol})");
    }

    #[test]
    fn mean_and_sd_match_known_values() {
        let a = [12.1, 14.3, 11.8, 13.9, 15.2, 12.7];
        close(mean(&a).unwrap(), 13.333_333_333_333_334, 1e-12);
        close(sd(&a).unwrap(), 1.342_634_226_685_237_8, 1e-12);
        assert_eq!(mean(&[]), None);
        assert_eq!(sd(&[1.0]), None);
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        close(ln_gamma(1.0), 0.0, 1e-13);
        close(ln_gamma(5.0), 24f64.ln(), 1e-12);
        close(ln_gamma(0.5), std::f64::consts::PI.sqrt().ln(), 1e-12);
        close(ln_gamma(0.25), 3.625_609_908_221_908_f64.ln(), 1e-12);
    }

    #[test]
    fn incomplete_beta_edges_and_symmetry() {
        assert_eq!(incomplete_beta(0.0, 2.0, 3.0), 0.0);
        assert_eq!(incomplete_beta(1.0, 2.0, 3.0), 1.0);
        // I_x(1, 1) = x; I_x(a, b) = 1 - I_{1-x}(b, a).
        close(incomplete_beta(0.3, 1.0, 1.0), 0.3, 1e-13);
        close(
            incomplete_beta(0.3, 2.5, 4.0),
            1.0 - incomplete_beta(0.7, 4.0, 2.5),
            1e-13,
        );
    }

    #[test]
    fn t_cdf_matches_scipy() {
        for (t, df, want) in [
            (2.0, 5.0, 0.949_030_260_585_070_8),
            (-1.3, 12.0, 0.109_008_585_541_757_06),
            (0.5, 1.0, 0.647_583_617_650_433_3),
            (3.1, 2.5, 0.966_105_810_837_539_9),
            (1.0, 100.0, 0.840_137_922_107_938_4),
        ] {
            close(t_cdf(t, df), want, 1e-10);
        }
        close(t_cdf(0.0, 3.0), 0.5, 1e-15);
        // Near 0, where df / (df + t²) rounds to 1 (scipy: 3.8273273439415334e-10).
        close(t_cdf(1e-9, 6.0) - 0.5, 3.827_327_343_941_533_4e-10, 1e-17);
    }

    #[test]
    fn t_quantile_matches_scipy() {
        for (df, want) in [
            (1.0, 12.706_204_736_174_694),
            (2.0, 4.302_652_729_749_462),
            (4.0, 2.776_445_105_197_793_4),
            (9.0, 2.262_157_162_798_205),
            (30.0, 2.042_272_456_301_237_8),
            (7.3, 2.345_066_736_547_703),
        ] {
            close(t_quantile(0.975, df), want, 1e-8);
        }
        close(t_quantile(0.5, 6.0), 0.0, 1e-10);
        close(t_quantile(0.025, 9.0), -2.262_157_162_798_205, 1e-8);
    }

    #[test]
    fn paired_t_matches_scipy() {
        let a = [12.1, 14.3, 11.8, 13.9, 15.2, 12.7];
        let b = [11.0, 13.9, 12.2, 12.5, 14.1, 11.9];
        let c = paired_t(&a, &b);
        assert_eq!(c.test, TestKind::Paired);
        assert_eq!(c.n, 6);
        close(c.t.unwrap(), 2.762_981_976_168_308_3, 1e-10);
        assert_eq!(c.df, Some(5.0));
        close(c.p_value.unwrap(), 0.039_694_067_037_866_38, 1e-10);
        close(c.ci_low.unwrap(), 0.051_065_637_636_115_38, 1e-8);
        close(c.ci_high.unwrap(), 1.415_601_029_030_551_4, 1e-8);
        assert!(c.significant);
        assert_eq!(c.note, None);
    }

    #[test]
    fn welch_t_matches_scipy() {
        let x = [3.1, 2.9, 4.2, 3.8, 3.3];
        let y = [4.4, 5.1, 3.9, 4.8, 5.6, 4.9, 5.2];
        let c = welch_t(&x, &y);
        assert_eq!(c.test, TestKind::Welch);
        close(c.t.unwrap(), -4.355_208_512_772_67, 1e-10);
        close(c.df.unwrap(), 9.020_758_908_394_122, 1e-10);
        close(c.p_value.unwrap(), 0.001_826_258_806_285_347_8, 1e-10);
        close(c.ci_low.unwrap(), -2.100_880_899_731_618, 1e-8);
        close(c.ci_high.unwrap(), -0.664_833_385_982_666_7, 1e-8);
        assert!(c.significant);
    }

    #[test]
    fn identical_pairs_have_p_one() {
        let c = paired_t(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]);
        assert_eq!(c.diff, Some(0.0));
        assert_eq!(c.p_value, Some(1.0));
        assert!(!c.significant);
        assert!(c.note.unwrap().contains("no variance"));
    }

    #[test]
    fn constant_nonzero_difference_has_p_zero_with_a_note() {
        let c = paired_t(&[2.0, 3.0, 4.0], &[1.0, 2.0, 3.0]);
        assert_eq!(c.diff, Some(1.0));
        assert_eq!((c.ci_low, c.ci_high), (Some(1.0), Some(1.0)));
        assert_eq!(c.p_value, Some(0.0));
        assert!(c.significant);
        assert!(c.note.unwrap().contains("p is taken as 0"));
        let w = welch_t(&[5.0, 5.0], &[3.0, 3.0, 3.0]);
        assert_eq!(
            (w.diff, w.p_value, w.significant),
            (Some(2.0), Some(0.0), true)
        );
    }

    #[test]
    fn rounding_noise_counts_as_no_variance() {
        // The same totals summed in another order differ in the last bits.
        let a = [0.1 + 0.2 + 0.3, 0.4 + 0.5, 57.0 / 7.0];
        let b = [0.3 + 0.2 + 0.1, 0.5 + 0.4, 57.0 / 7.0];
        let c = paired_t(&a, &b);
        assert_eq!(
            (c.diff, c.p_value, c.significant),
            (Some(0.0), Some(1.0), false)
        );
        let shifted: Vec<f64> = b.iter().map(|x| x - 57.0).collect();
        let d = paired_t(&a, &shifted);
        assert!(d.significant);
        assert!(d.note.unwrap().contains("no variance"));
    }

    #[test]
    fn below_two_values_there_is_no_test() {
        let c = paired_t(&[1.0], &[2.0]);
        assert_eq!(c.diff, Some(-1.0));
        assert_eq!((c.p_value, c.ci_low, c.significant), (None, None, false));
        assert!(c.note.unwrap().contains("below 2 pairs"));
        let e = paired_t(&[], &[]);
        assert_eq!((e.diff, e.note.as_deref()), (None, Some("no pairs")));
        let w = welch_t(&[1.0, 2.0], &[3.0]);
        assert_eq!(w.p_value, None);
        assert!(w.note.unwrap().contains("below 2 values"));
    }

    proptest::proptest! {
        #[test]
        fn quantile_inverts_cdf(p in 0.001f64..0.999, df in 0.5f64..200.0) {
            let t = t_quantile(p, df);
            proptest::prop_assert!((t_cdf(t, df) - p).abs() < 1e-9);
        }

        #[test]
        fn p_value_is_symmetric_and_bounded(t in -50f64..50.0, df in 1f64..100.0) {
            let p = t_two_sided_p(t, df);
            proptest::prop_assert!((0.0..=1.0).contains(&p));
            proptest::prop_assert!((p - t_two_sided_p(-t, df)).abs() < 1e-12);
            proptest::prop_assert!((p - 2.0 * t_cdf(-t.abs(), df)).abs() < 1e-9);
        }
    }
}
