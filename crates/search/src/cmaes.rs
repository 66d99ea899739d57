//! CMA-ES, our own code (no maintained crate fits: `cmaes` evaluates through its own callback
//! loop and draws from its own generator, where a search needs each generation's candidates in
//! hand to run them in parallel, journal them and draw them from its seeded stream). The
//! (mu/mu_w, lambda) evolution strategy with rank-one and rank-mu covariance updates and
//! cumulative step-size adaptation, with the default parameters of Hansen, "The CMA Evolution
//! Strategy: A Tutorial" (arXiv:1604.00772). It maximises, in the unit cube: candidates outside
//! are evaluated at their nearest point inside and ranked with a penalty on the distance, so the
//! mean stays near the box.

use nalgebra::{DMatrix, DVector, SymmetricEigen};
use rand_chacha::ChaCha12Rng;
use rand_distr::{Distribution, StandardNormal};

/// The strategy's state.
#[derive(Debug, Clone)]
pub struct Cma {
    n: usize,
    /// Candidates per generation.
    pub lambda: usize,
    mu: usize,
    weights: Vec<f64>,
    mueff: f64,
    cc: f64,
    cs: f64,
    c1: f64,
    cmu: f64,
    damps: f64,
    chi_n: f64,
    /// Mean, in the unit cube.
    pub mean: DVector<f64>,
    /// Step size.
    pub sigma: f64,
    pc: DVector<f64>,
    ps: DVector<f64>,
    c: DMatrix<f64>,
    b: DMatrix<f64>,
    d: DVector<f64>,
    generation: u32,
}

impl Cma {
    /// A strategy over `n` unit-cube coordinates, centred, step 0.3, `lambda` candidates a
    /// generation (at least 4).
    pub fn new(n: usize, lambda: usize) -> Self {
        let nf = n as f64;
        let lambda = lambda.max(4);
        let mu = lambda / 2;
        let raw: Vec<f64> = (1..=mu).map(|i| libm::log(mu as f64 + 0.5) - libm::log(i as f64)).collect();
        let total: f64 = raw.iter().sum();
        let weights: Vec<f64> = raw.iter().map(|w| w / total).collect();
        let mueff = 1.0 / weights.iter().map(|w| w * w).sum::<f64>();
        let cc = (4.0 + mueff / nf) / (nf + 4.0 + 2.0 * mueff / nf);
        let cs = (mueff + 2.0) / (nf + mueff + 5.0);
        let c1 = 2.0 / ((nf + 1.3) * (nf + 1.3) + mueff);
        let cmu = (1.0 - c1).min(2.0 * (mueff - 2.0 + 1.0 / mueff) / ((nf + 2.0) * (nf + 2.0) + mueff));
        let damps = 1.0 + 2.0 * (libm::sqrt((mueff - 1.0) / (nf + 1.0)) - 1.0).max(0.0) + cs;
        let chi_n = libm::sqrt(nf) * (1.0 - 1.0 / (4.0 * nf) + 1.0 / (21.0 * nf * nf));
        Cma {
            n,
            lambda,
            mu,
            weights,
            mueff,
            cc,
            cs,
            c1,
            cmu,
            damps,
            chi_n,
            mean: DVector::from_element(n, 0.5),
            sigma: 0.3,
            pc: DVector::zeros(n),
            ps: DVector::zeros(n),
            c: DMatrix::identity(n, n),
            b: DMatrix::identity(n, n),
            d: DVector::from_element(n, 1.0),
            generation: 0,
        }
    }

    /// A generation's candidates: `mean + sigma B D z`, `z` standard normal.
    pub fn ask(&self, rng: &mut ChaCha12Rng) -> Vec<DVector<f64>> {
        (0..self.lambda)
            .map(|_| {
                let z = DVector::from_fn(self.n, |_, _| StandardNormal.sample(rng));
                let y = &self.b * z.component_mul(&self.d);
                &self.mean + y * self.sigma
            })
            .collect()
    }

    /// The point of the unit cube nearest `x`, and the squared distance to it.
    pub fn repair(x: &DVector<f64>) -> (DVector<f64>, f64) {
        let inside = x.map(|v| v.clamp(0.0, 1.0));
        let d2 = (x - &inside).norm_squared();
        (inside, d2)
    }

    /// Updates from a generation and its fitness (higher is better), in `ask` order.
    pub fn tell(&mut self, xs: &[DVector<f64>], fitness: &[f64]) {
        let mut order: Vec<usize> = (0..xs.len()).collect();
        order.sort_by(|a, b| fitness[*b].total_cmp(&fitness[*a]).then(a.cmp(b)));
        let old = self.mean.clone();
        let ys: Vec<DVector<f64>> = order.iter().take(self.mu).map(|k| (&xs[*k] - &old) / self.sigma).collect();
        let y_w = ys.iter().zip(&self.weights).fold(DVector::zeros(self.n), |acc, (y, w)| acc + y * *w);
        self.mean = &old + &y_w * self.sigma;
        // C^(-1/2) y_w = B D^-1 B^T y_w
        let inv_sqrt = &self.b * DMatrix::from_diagonal(&self.d.map(|v| 1.0 / v.max(1e-300))) * self.b.transpose();
        self.ps = &self.ps * (1.0 - self.cs) + (&inv_sqrt * &y_w) * libm::sqrt(self.cs * (2.0 - self.cs) * self.mueff);
        self.generation += 1;
        let decay = 1.0 - libm::pow(1.0 - self.cs, 2.0 * f64::from(self.generation));
        let hsig = self.ps.norm() / libm::sqrt(decay) / self.chi_n < 1.4 + 2.0 / (self.n as f64 + 1.0);
        let h = if hsig { 1.0 } else { 0.0 };
        self.pc = &self.pc * (1.0 - self.cc) + &y_w * (h * libm::sqrt(self.cc * (2.0 - self.cc) * self.mueff));
        let rank_one = &self.pc * self.pc.transpose() + &self.c * ((1.0 - h) * self.cc * (2.0 - self.cc));
        let rank_mu = ys
            .iter()
            .zip(&self.weights)
            .fold(DMatrix::zeros(self.n, self.n), |acc, (y, w)| acc + y * y.transpose() * *w);
        self.c = &self.c * (1.0 - self.c1 - self.cmu) + rank_one * self.c1 + rank_mu * self.cmu;
        self.sigma *= libm::exp((self.cs / self.damps) * (self.ps.norm() / self.chi_n - 1.0));
        self.sigma = self.sigma.clamp(1e-8, 1.0);
        // B and D from the symmetric part of C
        let sym = (&self.c + self.c.transpose()) * 0.5;
        let eig = SymmetricEigen::new(sym);
        self.d = eig.eigenvalues.map(|v| libm::sqrt(v.max(1e-20)));
        self.b = eig.eigenvectors;
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn cma_es_climbs_to_a_narrow_peak() {
        // a narrow bump at (0.83, 0.21), and a gentle slope toward it from everywhere
        let f = |x: &DVector<f64>| {
            let d = (x[0] - 0.83) * (x[0] - 0.83) + (x[1] - 0.21) * (x[1] - 0.21);
            libm::exp(-d / (2.0 * 0.03 * 0.03)) - 0.1 * libm::sqrt(d)
        };
        for seed in 1..=5u64 {
            let mut rng = ChaCha12Rng::seed_from_u64(seed);
            let mut cma = Cma::new(2, 12);
            let mut best = f64::MIN;
            for _ in 0..15 {
                let xs = cma.ask(&mut rng);
                let fit: Vec<f64> = xs
                    .iter()
                    .map(|x| {
                        let (inside, d2) = Cma::repair(x);
                        f(&inside) - 10.0 * d2
                    })
                    .collect();
                best = best.max(fit.iter().copied().fold(f64::MIN, f64::max));
                cma.tell(&xs, &fit);
            }
            assert!(best > 0.95, "seed {seed}: {best}");
            assert!((cma.mean[0] - 0.83).abs() < 0.02 && (cma.mean[1] - 0.21).abs() < 0.02, "mean {:?}", cma.mean);
        }
    }
}
