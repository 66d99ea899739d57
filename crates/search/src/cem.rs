//! The cross-entropy method, pure: a sampling law over a box of parameters (independent normals,
//! truncated to the box), its refit to the elite of a generation, and the importance-sampling
//! estimate of a tail probability from the final law (Rubinstein and Kroese, "The Cross-Entropy
//! Method", 2004; de Boer et al., "A tutorial on the cross-entropy method", 2005).

use rand::RngExt;
use rand_chacha::ChaCha12Rng;
use rand_distr::{Distribution, StandardNormal};

/// One parameter's box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Lowest value.
    pub from: f64,
    /// Highest value.
    pub to: f64,
    /// Whole numbers only.
    pub integer: bool,
}

impl Bounds {
    /// `x` moved into the box (and rounded, for whole numbers).
    pub fn clamp(&self, x: f64) -> f64 {
        let x = x.clamp(self.from, self.to);
        if self.integer { libm::round(x).clamp(self.from, self.to) } else { x }
    }

    fn width(&self) -> f64 {
        (self.to - self.from).max(f64::MIN_POSITIVE)
    }
}

/// Independent normal laws, one per parameter, truncated to their boxes.
#[derive(Debug, Clone, PartialEq)]
pub struct Law {
    /// Means.
    pub mean: Vec<f64>,
    /// Standard deviations.
    pub sd: Vec<f64>,
}

impl Law {
    /// The starting law: centred in each box, half its width wide (close to uniform on it).
    pub fn wide(bounds: &[Bounds]) -> Self {
        Law {
            mean: bounds.iter().map(|b| (b.from + b.to) / 2.0).collect(),
            sd: bounds.iter().map(|b| b.width() / 2.0).collect(),
        }
    }

    /// A draw (by rejection into the box; after 64 misses, clamped).
    pub fn sample(&self, bounds: &[Bounds], rng: &mut ChaCha12Rng) -> Vec<f64> {
        self.mean
            .iter()
            .zip(&self.sd)
            .zip(bounds)
            .map(|((m, s), b)| {
                for _ in 0..64 {
                    let z: f64 = StandardNormal.sample(rng);
                    let x = m + s * z;
                    if x >= b.from && x <= b.to {
                        return b.clamp(x);
                    }
                }
                b.clamp(*m)
            })
            .collect()
    }

    /// Refits to `elite` (the best candidates' parameters), moving `smoothing` of the way from
    /// the current law; each sd keeps at least `floor` of its box's width.
    pub fn refit(&mut self, elite: &[Vec<f64>], bounds: &[Bounds], smoothing: f64, floor: f64) {
        if elite.is_empty() {
            return;
        }
        let n = elite.len() as f64;
        for (k, b) in bounds.iter().enumerate() {
            let m = elite.iter().map(|x| x[k]).sum::<f64>() / n;
            let v = elite.iter().map(|x| (x[k] - m) * (x[k] - m)).sum::<f64>() / n;
            self.mean[k] = smoothing * m + (1.0 - smoothing) * self.mean[k];
            let sd = smoothing * libm::sqrt(v) + (1.0 - smoothing) * self.sd[k];
            self.sd[k] = sd.max(floor * b.width());
        }
    }

    /// Refits to `elite` with weights (the likelihood ratios of rare-event estimation), moving
    /// `smoothing` of the way; sds keep at least `floor` of their box's width.
    pub fn refit_weighted(&mut self, elite: &[(Vec<f64>, f64)], bounds: &[Bounds], smoothing: f64, floor: f64) {
        let total: f64 = elite.iter().map(|(_, w)| w).sum();
        if elite.is_empty() || total.is_nan() || total <= 0.0 {
            return;
        }
        for (k, b) in bounds.iter().enumerate() {
            let m = elite.iter().map(|(x, w)| w * x[k]).sum::<f64>() / total;
            let v = elite.iter().map(|(x, w)| w * (x[k] - m) * (x[k] - m)).sum::<f64>() / total;
            self.mean[k] = smoothing * m + (1.0 - smoothing) * self.mean[k];
            let sd = smoothing * libm::sqrt(v) + (1.0 - smoothing) * self.sd[k];
            self.sd[k] = sd.max(floor * b.width());
        }
    }

    /// Density of `x` under the law truncated to the box (per parameter, the normal density over
    /// the normal mass inside the box). Whole-number parameters are treated as continuous.
    pub fn density(&self, x: &[f64], bounds: &[Bounds]) -> f64 {
        let phi = |z: f64| 0.5 * libm::erfc(-z / std::f64::consts::SQRT_2);
        let mut d = 1.0;
        for (k, b) in bounds.iter().enumerate() {
            let (m, s) = (self.mean[k], self.sd[k].max(f64::MIN_POSITIVE));
            let mass = (phi((b.to - m) / s) - phi((b.from - m) / s)).max(f64::MIN_POSITIVE);
            let z = (x[k] - m) / s;
            d *= libm::exp(-0.5 * z * z) / (s * libm::sqrt(2.0 * std::f64::consts::PI)) / mass;
        }
        d
    }
}

/// Uniform draws over the boxes (the baseline a search must beat).
pub fn uniform(bounds: &[Bounds], rng: &mut ChaCha12Rng) -> Vec<f64> {
    bounds.iter().map(|b| b.clamp(b.from + rng.random::<f64>() * (b.to - b.from))).collect()
}

/// Density of the uniform law over the boxes.
pub fn uniform_density(bounds: &[Bounds]) -> f64 {
    bounds.iter().map(|b| 1.0 / b.width()).product()
}

/// An estimate of a probability with its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The estimate.
    pub p: f64,
    /// Its standard error.
    pub se: f64,
    /// Samples.
    pub n: usize,
}

/// The importance-sampling estimate of `P(L > level)` under the nominal law: the mean of
/// `1{L > level} w` over draws from the sampling law, `w` the likelihood ratio nominal / sampling
/// density at the draw, with its standard error from the sample variance.
pub fn importance_estimate(samples: &[(f64, f64)], level: f64) -> Estimate {
    // (objective, weight)
    let n = samples.len();
    if n == 0 {
        return Estimate { p: 0.0, se: 0.0, n };
    }
    let values: Vec<f64> = samples.iter().map(|(l, w)| if *l > level { *w } else { 0.0 }).collect();
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n.max(2) - 1) as f64;
    Estimate { p: mean, se: libm::sqrt(var / n as f64), n }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn rng(k: u64) -> ChaCha12Rng {
        ChaCha12Rng::seed_from_u64(k)
    }

    /// A narrow bump at (0.83, 0.21) on the unit square.
    fn bump(x: &[f64]) -> f64 {
        let d = (x[0] - 0.83) * (x[0] - 0.83) + (x[1] - 0.21) * (x[1] - 0.21);
        libm::exp(-d / (2.0 * 0.03 * 0.03))
    }

    const BOX: [Bounds; 2] =
        [Bounds { from: 0.0, to: 1.0, integer: false }, Bounds { from: 0.0, to: 1.0, integer: false }];

    fn cem_best(seed: u64, budget: usize) -> f64 {
        let mut law = Law::wide(&BOX);
        let mut r = rng(seed);
        let (population, mut best) = (budget / 8, f64::MIN);
        for _ in 0..8 {
            let mut generation: Vec<(f64, Vec<f64>)> = (0..population)
                .map(|_| {
                    let x = law.sample(&BOX, &mut r);
                    (bump(&x), x)
                })
                .collect();
            generation.sort_by(|a, b| b.0.total_cmp(&a.0));
            best = best.max(generation[0].0);
            let elite: Vec<Vec<f64>> = generation.iter().take(population / 5).map(|g| g.1.clone()).collect();
            law.refit(&elite, &BOX, 0.7, 0.001);
        }
        best
    }

    #[test]
    fn the_cross_entropy_method_finds_a_narrow_peak_that_random_draws_miss() {
        let budget = 160;
        for seed in 1..=5 {
            let mut r = rng(100 + seed);
            let random = (0..budget).map(|_| bump(&uniform(&BOX, &mut r))).fold(f64::MIN, f64::max);
            let cem = cem_best(seed, budget);
            assert!(cem > random, "seed {seed}: CEM {cem} vs random {random}");
            assert!(cem > 0.9, "seed {seed}: CEM reached {cem}");
        }
    }

    #[test]
    fn truncated_densities_integrate_to_one_and_draws_stay_in_the_box() {
        let law = Law { mean: vec![0.9, 0.1], sd: vec![0.2, 0.05] };
        let mut r = rng(3);
        for _ in 0..1000 {
            let x = law.sample(&BOX, &mut r);
            assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
        }
        // midpoint rule on a 400 x 400 grid
        let n = 400;
        let mut total = 0.0;
        for i in 0..n {
            for j in 0..n {
                let x = [(f64::from(i) + 0.5) / f64::from(n), (f64::from(j) + 0.5) / f64::from(n)];
                total += law.density(&x, &BOX) / f64::from(n * n);
            }
        }
        assert!((total - 1.0).abs() < 2e-3, "{total}");
    }

    #[test]
    fn importance_sampling_agrees_with_plain_monte_carlo_with_a_smaller_error() {
        // P(x0 + x1 > 1.8) for two uniforms on [0, 1]: (0.2)^2 / 2 = 0.02
        let level = 1.8;
        let truth = 0.02;
        let n = 4000;
        let mut r = rng(7);
        let plain: Vec<(f64, f64)> = (0..n).map(|_| (uniform(&BOX, &mut r).iter().sum::<f64>(), 1.0)).collect();
        let mc = importance_estimate(&plain, level);
        // the sampling law a cross-entropy search would end on: near the corner
        let q = Law { mean: vec![0.9, 0.9], sd: vec![0.12, 0.12] };
        let nominal = uniform_density(&BOX);
        let weighted: Vec<(f64, f64)> = (0..n)
            .map(|_| {
                let x = q.sample(&BOX, &mut r);
                (x.iter().sum::<f64>(), nominal / q.density(&x, &BOX))
            })
            .collect();
        let is = importance_estimate(&weighted, level);
        assert!((mc.p - truth).abs() < 3.0 * mc.se, "MC {mc:?}");
        assert!((is.p - truth).abs() < 3.0 * is.se, "IS {is:?}");
        assert!((is.p - mc.p).abs() < 3.0 * (is.se * is.se + mc.se * mc.se).sqrt());
        assert!(is.se < mc.se, "IS error {} vs MC {}", is.se, mc.se);
    }
}
