//! The cost-aware no-trade band: where a vault should stop tolerating drift, and how far back it
//! should trade, given what a rebalance costs it.
//!
//! Model (small costs, one token's weight `x` off its target `w`): between trades `x` diffuses
//! with variance rate `v = (w (1 - w) sigma)^2`; holding it off target costs the holders
//! `kappa x^2` per unit time, `kappa = gamma sigma^2 / 2` for relative risk aversion `gamma` (the
//! certainty-equivalent loss of a CRRA investor, as in Gerhold, Guasoni, Muhle-Karbe and
//! Schachermayer, "Transaction costs, trading volume, and the liquidity premium", Finance and
//! Stochastics 2014, arXiv:1108.1167); a trade of size `|dx|` costs `c |dx|` (LP fees and price
//! impact, a fraction of the value traded) plus `phi` (gas, a fraction of NAV). The policy: when
//! `|x|` reaches `H`, trade back to `rho` on the same side (`0 <= rho < H`). For Brownian motion
//! started at `rho` and stopped at `+-H`, the expected time to the next trade is
//! `(H^2 - rho^2) / v` and the expected integral of `x^2` until then is `(H^4 - rho^4) / (6 v)`,
//! so the long-run cost rate is
//!
//! ```text
//! f(H, rho) = v (phi + c (H - rho)) / (H^2 - rho^2) + kappa (H^2 + rho^2) / 6
//! ```
//!
//! minimised numerically over both. Its limits are the classic asymptotics:
//! - proportional costs only (`phi = 0`): `rho -> H` (trade to the edge) and
//!   `H = (3 c v / (4 kappa))^(1/3)`; with `kappa = gamma sigma^2 / 2` and the paper's spread
//!   `epsilon = 2 c` (a round trip) this is GGMS's `(3/(4 gamma) w^2 (1 - w)^2 epsilon)^(1/3)`,
//!   the cube-root law of Davis and Norman (1990) and Janecek and Shreve (2004);
//! - a fixed cost only (`c = 0`): `rho = 0` (trade back to the target) and
//!   `H = (6 phi v / kappa)^(1/4)`, the quarter-power law (Korn 1998; Altarovici, Muhle-Karbe and
//!   Soner 2015), and with both costs the vault trades back inside the band (Dybvig and Pezzo).
//!
//! `sigma` cancels out of the argmin (`v` and `kappa` both scale with it): the band depends on the
//! target, the costs relative to the vault and the risk aversion.

/// The band's half-width `H` and the return point `rho` (both in weight units) minimising the
/// cost rate for weight variance rate `v`, penalty `kappa`, proportional cost `c` and fixed cost
/// `phi` (see the module). Degenerate inputs (no drift, no penalty) give `(0, 0)` or `(1, 0)`.
pub fn no_trade_band(v: f64, kappa: f64, c: f64, phi: f64) -> (f64, f64) {
    if v.is_nan() || v <= 0.0 {
        return (0.0, 0.0);
    }
    if kappa.is_nan() || kappa <= 0.0 {
        return (1.0, 0.0);
    }
    let (c, phi) = (c.max(0.0), phi.max(0.0));
    // for a given H, the best return point as a fraction s = rho / H in [0, 1)
    let cost = |h: f64, s: f64| -> f64 {
        let rho = s * h;
        // v (phi + c (h - rho)) / ((h - rho)(h + rho)), written so that phi = 0, rho -> h stays finite
        let trading = v * (phi / ((h - rho) * (h + rho)) + c / (h + rho));
        trading + kappa * (h * h + rho * rho) / 6.0
    };
    let best_s = |h: f64| -> f64 { golden(|s| cost(h, s), 0.0, 1.0 - 1e-9, 60) };
    // H on a log scale: from a hundredth of a basis point to the whole weight
    let log_h = golden(|lh| cost(libm::exp(lh), best_s(libm::exp(lh))), libm::log(1e-6), 0.0, 80);
    let h = libm::exp(log_h);
    (h, best_s(h) * h)
}

/// The minimiser of a unimodal `f` on `[a, b]` by golden-section search, `iterations` steps.
fn golden(f: impl Fn(f64) -> f64, mut a: f64, mut b: f64, iterations: u32) -> f64 {
    const R: f64 = 0.618_033_988_749_894_8;
    let mut x1 = b - R * (b - a);
    let mut x2 = a + R * (b - a);
    let (mut f1, mut f2) = (f(x1), f(x2));
    for _ in 0..iterations {
        if f1 <= f2 {
            b = x2;
            x2 = x1;
            f2 = f1;
            x1 = b - R * (b - a);
            f1 = f(x1);
        } else {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + R * (b - a);
            f2 = f(x2);
        }
    }
    (a + b) / 2.0
}

/// `v` and `kappa` for a token of target weight `w`, annualised volatility `sigma` and relative
/// risk aversion `gamma` (per year).
pub fn drift_and_penalty(w: f64, sigma: f64, gamma: f64) -> (f64, f64) {
    let s = w * (1.0 - w) * sigma;
    (s * s, gamma * sigma * sigma / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportional_costs_alone_give_the_cube_root_band_traded_to_its_edge() {
        let (v, kappa) = drift_and_penalty(0.5, 0.8, 2.0);
        for c in [1e-4, 1e-3, 1e-2] {
            let (h, rho) = no_trade_band(v, kappa, c, 0.0);
            let theory = libm::cbrt(3.0 * c * v / (4.0 * kappa));
            assert!((h / theory - 1.0).abs() < 1e-3, "c {c}: {h} vs {theory}");
            assert!(rho / h > 0.999, "trades to the edge: rho {rho} h {h}");
            // GGMS's form, with the round-trip spread 2c
            let ggms = libm::cbrt(3.0 / (4.0 * 2.0) * 0.0625 * 2.0 * c);
            assert!((h / ggms - 1.0).abs() < 1e-3, "{h} vs GGMS {ggms}");
        }
    }

    #[test]
    fn a_fixed_cost_alone_gives_the_quarter_power_band_traded_back_to_target() {
        let (v, kappa) = drift_and_penalty(0.5, 0.8, 2.0);
        for phi in [1e-7, 1e-6, 1e-5] {
            let (h, rho) = no_trade_band(v, kappa, 0.0, phi);
            let theory = libm::pow(6.0 * phi * v / kappa, 0.25);
            assert!((h / theory - 1.0).abs() < 1e-3, "phi {phi}: {h} vs {theory}");
            assert!(rho / h < 1e-3, "back to the target: rho {rho}");
        }
    }

    #[test]
    fn both_costs_trade_back_inside_the_band_which_widens_with_gas_and_narrows_with_size() {
        let (v, kappa) = drift_and_penalty(0.5, 0.8, 2.0);
        let (h, rho) = no_trade_band(v, kappa, 0.003, 1e-5);
        assert!(rho > 0.05 * h && rho < 0.95 * h, "inside: rho {rho}, h {h}");
        // gas up (a larger fixed cost), or the vault smaller: wider; the vault larger: narrower
        let (wider, _) = no_trade_band(v, kappa, 0.003, 4e-5);
        let (narrower, _) = no_trade_band(v, kappa, 0.003, 2.5e-6);
        assert!(wider > h && narrower < h, "{narrower} < {h} < {wider}");
        // more risk aversion: narrower
        let (_, kappa2) = drift_and_penalty(0.5, 0.8, 8.0);
        assert!(no_trade_band(v, kappa2, 0.003, 1e-5).0 < h);
        // volatility cancels: the same band at any sigma
        let (v3, kappa3) = drift_and_penalty(0.5, 0.3, 2.0);
        assert!((no_trade_band(v3, kappa3, 0.003, 1e-5).0 / h - 1.0).abs() < 1e-6);
    }
}
