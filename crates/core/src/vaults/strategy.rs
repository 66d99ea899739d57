//! The pure decision rules of a vault: valuation, targets, triggers and sizing. No ECS, no
//! ledger: numbers in, numbers out, so each rule is unit-tested on its own.

use meshsim_scenario::{Sizing, Strategy, TokenId, Trigger};

pub use meshsim_scenario::MAX_VAULT_TOKENS;

/// One figure per universe token, in a fixed array: a vault handles at most
/// [`MAX_VAULT_TOKENS`] tokens (validated at load), so these never touch the heap, copy as plain
/// bytes and fill without iterator machinery (collecting into a small vector dominated the
/// vaults' per-block cost).
#[derive(Clone, Copy, PartialEq)]
pub struct PerToken<T: Copy> {
    len: u8,
    items: [T; MAX_VAULT_TOKENS],
}

impl<T: Copy + Default> PerToken<T> {
    /// `f(k)` for each of `n` tokens (at most [`MAX_VAULT_TOKENS`]; more are a bug upstream of
    /// validation and are cut off).
    #[inline]
    pub fn from_fn(n: usize, mut f: impl FnMut(usize) -> T) -> Self {
        debug_assert!(n <= MAX_VAULT_TOKENS, "{n} vault tokens passed validation");
        let n = n.min(MAX_VAULT_TOKENS);
        let mut items = [T::default(); MAX_VAULT_TOKENS];
        for (k, x) in items.iter_mut().take(n).enumerate() {
            *x = f(k);
        }
        PerToken { len: n as u8, items }
    }

    /// A copy of `values`.
    #[inline]
    pub fn from_slice(values: &[T]) -> Self {
        Self::from_fn(values.len(), |k| values[k])
    }

    /// `n` copies of `value`.
    pub fn from_elem(value: T, n: usize) -> Self {
        Self::from_fn(n, |_| value)
    }

    /// Appends a figure (ignored past [`MAX_VAULT_TOKENS`], which validation rules out).
    pub fn push(&mut self, value: T) {
        if usize::from(self.len) < MAX_VAULT_TOKENS {
            self.items[usize::from(self.len)] = value;
            self.len += 1;
        }
    }

    /// No figures.
    pub fn new() -> Self {
        Self::from_fn(0, |_| T::default())
    }

    /// All [`MAX_VAULT_TOKENS`] slots: past `len()` each holds `T::default()` (nothing mutable
    /// reaches them), so fixed-length loops over the padded arrays give the same figures as
    /// loops over the tokens, without a bound the compiler cannot see.
    #[inline]
    pub fn padded(&self) -> &[T; MAX_VAULT_TOKENS] {
        &self.items
    }
}

impl<T: Copy + Default> Default for PerToken<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy> std::ops::Deref for PerToken<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        &self.items[..usize::from(self.len)]
    }
}

impl<T: Copy> std::ops::DerefMut for PerToken<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.items[..usize::from(self.len)]
    }
}

impl<T: Copy + std::fmt::Debug> std::fmt::Debug for PerToken<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Copy + Default> FromIterator<T> for PerToken<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut v = Self::new();
        for x in iter {
            v.push(x);
        }
        v
    }
}

impl<'a, T: Copy> IntoIterator for &'a PerToken<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: Copy> IntoIterator for PerToken<T> {
    type Item = T;
    type IntoIter = std::iter::Take<std::array::IntoIter<T, MAX_VAULT_TOKENS>>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter().take(usize::from(self.len))
    }
}

/// `n` figures, `f(k)` for each.
#[inline]
pub fn per_token<T: Copy + Default>(n: usize, f: impl FnMut(usize) -> T) -> PerToken<T> {
    PerToken::from_fn(n, f)
}

/// A vault's holdings valued at its oracle prices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Valuation {
    /// Value per universe token, numeraire.
    pub values: PerToken<f64>,
    /// Total.
    pub nav: f64,
}

impl Valuation {
    /// Values `balances` (base units) at `prices` (numeraire per base unit).
    pub fn new(balances: &[u128], prices: &[f64]) -> Self {
        let n = balances.len().min(prices.len());
        let values = per_token(n, |k| meshsim_math::u128_to_f64(balances[k]) * prices[k]);
        let nav = values.iter().sum();
        Valuation { values, nav }
    }

    /// Values holdings of `units` (base units, as floats) at `prices` (numeraire per base unit),
    /// token by token as [`Valuation::new`] does, over the padded arrays (the padding is zero and
    /// adds nothing).
    #[inline]
    pub fn at(units: &PerToken<f64>, prices: &PerToken<f64>) -> Self {
        // token by token: the prices were just written one by one, and loading them in pairs
        // would stall on store forwarding
        let mut items = [0.0; MAX_VAULT_TOKENS];
        for ((x, u), p) in items.iter_mut().zip(units.iter()).zip(prices.iter()) {
            *x = u * p;
        }
        // summed in token order, as `new` does: the same rounding
        let nav = items.iter().sum();
        Valuation { values: PerToken { len: units.len, items }, nav }
    }

    /// Weights (zero when the vault is empty).
    #[inline]
    pub fn weights(&self) -> PerToken<f64> {
        let v = self.values.padded();
        let mut items = [0.0; MAX_VAULT_TOKENS];
        if self.nav > 0.0 {
            for (x, v) in items.iter_mut().zip(v) {
                *x = v / self.nav;
            }
        }
        PerToken { len: self.values.len, items }
    }
}

/// Target weight of each universe token. CPPI: risky = multiplier x (NAV - floor) / NAV, clamped
/// to [0, 1] (no leverage, no shorting); `floor_value` is the floor in numeraire now.
pub fn target_weights(strategy: &Strategy, universe: &[TokenId], nav: f64, floor_value: f64) -> PerToken<f64> {
    let mut t: PerToken<f64> = PerToken::from_elem(0.0, universe.len());
    let pos = |token: TokenId| universe.iter().position(|u| *u == token);
    match strategy {
        Strategy::ConstantMix { targets } => {
            for (token, w) in targets {
                if let Some(k) = pos(*token) {
                    t[k] = *w;
                }
            }
        }
        Strategy::Leveraged { risky, debt, target_leverage, .. } => {
            // risky value over NAV is the leverage; the debt is the rest, negative
            if let (Some(r), Some(d)) = (pos(*risky), pos(*debt)) {
                t[r] = *target_leverage;
                t[d] = 1.0 - target_leverage;
            }
        }
        Strategy::Cppi { risky, safe, multiplier, .. } => {
            let risky_w = if nav > 0.0 { (multiplier * (nav - floor_value) / nav).clamp(0.0, 1.0) } else { 0.0 };
            if let (Some(r), Some(s)) = (pos(*risky), pos(*safe)) {
                t[r] = risky_w;
                t[s] = 1.0 - risky_w;
            }
        }
    }
    t
}

/// Half-width of the band of each token: absolute, or relative to its target.
pub fn bands(trigger: &Trigger, targets: &[f64], band: f64) -> PerToken<f64> {
    match trigger {
        Trigger::Threshold { relative: true, .. } => per_token(targets.len(), |k| band * targets[k]),
        _ => PerToken::from_elem(band, targets.len()),
    }
}

/// The band of the trigger now: its fixed band, or the volatility-scaled one.
pub fn current_band(trigger: &Trigger, annualized_vol: f64) -> f64 {
    match *trigger {
        Trigger::Threshold { band, .. } => band,
        Trigger::VolatilityAdjusted { base_band, reference_volatility, min_band, max_band, .. } => {
            (base_band * annualized_vol / reference_volatility).clamp(min_band, max_band)
        }
        // worked out from its costs every block (`cost_band`); this is its floor
        Trigger::CostAware { min_band, .. } => min_band,
        Trigger::Predictive { band, .. } => band,
        Trigger::PeriodicBlocks(_) | Trigger::PeriodicSeconds(_) => 0.0,
    }
}

/// The probability that a token of weight `w` (target `t`, band half-width `band`) leaves its
/// band within `horizon` blocks, if its price relative to the rest of the vault follows Brownian
/// motion in log terms with drift `mu` and volatility `sigma` per block. The band's edges are
/// log-price moves `d = ln(w'(1 - w) / (w (1 - w')))` for `w' = t +- band`; each is reached by
/// `T` with the first-passage probability of drifted Brownian motion,
/// `Phi((mu T - a) / (sigma sqrt T)) + exp(2 mu a / sigma^2) Phi(-(a + mu T) / (sigma sqrt T))` for
/// a barrier `a > 0` (the reflection principle), and the two are summed (capped at one).
pub fn breach_probability(w: f64, t: f64, band: f64, mu: f64, sigma: f64, horizon: f64) -> f64 {
    if !(w > 0.0 && w < 1.0) || horizon <= 0.0 {
        return 0.0;
    }
    if (w - t).abs() > band {
        return 1.0;
    }
    let edge =
        |to: f64| -> Option<f64> { (to > 0.0 && to < 1.0).then(|| libm::log(to * (1.0 - w) / (w * (1.0 - to)))) };
    let sd = sigma * libm::sqrt(horizon);
    let first_passage = |a: f64, m: f64| -> f64 {
        if a <= 0.0 {
            return 1.0;
        }
        if sd <= 0.0 {
            return if m * horizon >= a { 1.0 } else { 0.0 };
        }
        let phi = |x: f64| 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
        let direct = phi((m * horizon - a) / sd);
        // exp(2 m a / sigma^2) Phi(...) in logs: each factor may be huge or tiny
        let tail = phi(-(a + m * horizon) / sd);
        let reflected = if tail > 0.0 { libm::exp(2.0 * m * a / (sigma * sigma) + libm::log(tail)) } else { 0.0 };
        (direct + reflected).clamp(0.0, 1.0)
    };
    let up = edge(t + band).map_or(0.0, |d| first_passage(d, mu));
    let down = edge(t - band).map_or(0.0, |d| first_passage(-d, -mu));
    (up + down).min(1.0)
}

/// Whether any weight is outside its band.
pub fn out_of_band(weights: &[f64], targets: &[f64], bands: &[f64]) -> bool {
    weights.iter().zip(targets).zip(bands).any(|((w, t), b)| (w - t).abs() > *b)
}

/// Room kept for float error by [`quiet_move`]: on each weight's slack to its band edge and on
/// the log move it returns. Far above the weights' rounding (a few 1e-16), far below any band.
pub const QUIET_MARGIN: f64 = 1e-12;

/// How far every price may move before weights now inside their bands could leave one: `m` such
/// that while each token's price stays within a factor `e^m` of its price now (each either way,
/// all at once), every `|w - t| <= width` still holds. A weight `w = a / (a + rest)` moves by at
/// most a factor `e^{2m}` when `a` and every part of the rest move by at most `e^m`, so `m` is
/// half the smallest `ln(1 + slack / w)`; a token the vault holds none of stays at weight zero.
/// `None` when a weight is within [`QUIET_MARGIN`] of its edge, outside it, negative (debt) or not
/// finite: no bound worth keeping.
pub fn quiet_move(weights: &[f64], targets: &[f64], widths: &[f64]) -> Option<f64> {
    let mut m = f64::INFINITY;
    for ((w, t), b) in weights.iter().zip(targets).zip(widths) {
        let slack = b - (w - t).abs() - QUIET_MARGIN;
        if slack.is_nan() || slack <= 0.0 || w.is_nan() || *w < 0.0 {
            return None;
        }
        if *w > 0.0 {
            m = m.min(0.5 * libm::log1p(slack / w));
        }
    }
    // the price bounds built from it round too
    let m = m - QUIET_MARGIN;
    (m.is_finite() && m > 0.0).then_some(m)
}

/// Whether the trigger fires now. `since` = blocks and seconds since the last rebalance (None:
/// never rebalanced).
pub fn triggered(trigger: &Trigger, weights: &[f64], targets: &[f64], band: f64, since: Option<(u64, f64)>) -> bool {
    triggered_with(trigger, weights, targets, &bands(trigger, targets, band), since)
}

/// [`triggered`] with each token's band half-width already computed ([`bands`]).
pub fn triggered_with(
    trigger: &Trigger,
    weights: &[f64],
    targets: &[f64],
    band_widths: &[f64],
    since: Option<(u64, f64)>,
) -> bool {
    match *trigger {
        Trigger::PeriodicBlocks(n) => since.is_none_or(|(b, _)| b >= n),
        Trigger::PeriodicSeconds(s) => since.is_none_or(|(_, t)| t >= s),
        // a predictive trigger's early firing is decided with its estimates (`predictive_fires`)
        Trigger::Threshold { .. }
        | Trigger::VolatilityAdjusted { .. }
        | Trigger::CostAware { .. }
        | Trigger::Predictive { .. } => out_of_band(weights, targets, band_widths),
    }
}

/// Weights to trade to: the targets, or the nearest band edge with the difference taken from
/// (or given to) the tokens inside their bands, toward their targets.
pub fn desired_weights(sizing: Sizing, weights: &[f64], targets: &[f64], bands: &[f64]) -> PerToken<f64> {
    if sizing == Sizing::Full || bands.iter().all(|b| *b <= 0.0) {
        return PerToken::from_slice(targets);
    }
    let mut d: PerToken<f64> =
        weights.iter().zip(targets).zip(bands).map(|((w, t), b)| w.clamp(t - b, t + b)).collect();
    // the clamped weights no longer sum to one: move the rest toward the targets
    let residual = 1.0 - d.iter().sum::<f64>();
    let room: PerToken<f64> =
        d.iter().zip(targets).map(|(x, t)| if residual > 0.0 { (t - x).max(0.0) } else { (x - t).max(0.0) }).collect();
    let total: f64 = room.iter().sum();
    if total > 0.0 {
        for (x, r) in d.iter_mut().zip(&room) {
            *x += residual * r / total;
        }
    }
    d
}

/// Pairs sellers with buyers, largest first: `(sell index, buy index, value)`.
pub fn pair_trades(current: &[f64], desired: &[f64], nav: f64, min_value: f64) -> PerToken<(usize, usize, f64)> {
    let mut delta: PerToken<f64> = desired.iter().zip(current).map(|(d, c)| (d - c) * nav).collect();
    let mut trades = PerToken::new();
    for _ in 0..2 * delta.len() {
        let sell = (0..delta.len()).min_by(|a, b| delta[*a].total_cmp(&delta[*b]).then(a.cmp(b)));
        let buy = (0..delta.len()).max_by(|a, b| delta[*a].total_cmp(&delta[*b]).then(b.cmp(a)));
        let (Some(s), Some(b)) = (sell, buy) else { break };
        let value = (-delta[s]).min(delta[b]);
        if s == b || value <= min_value {
            break;
        }
        trades.push((s, b, value));
        delta[s] += value;
        delta[b] -= value;
    }
    trades
}

/// L2 distance of the weights from the targets.
pub fn tracking_error(weights: &[f64], targets: &[f64]) -> f64 {
    libm::sqrt(weights.iter().zip(targets).map(|(w, t)| (w - t) * (w - t)).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Weights of `units` at `prices`, as the vault computes them.
    fn weights_at(units: &[f64], prices: &[f64]) -> PerToken<f64> {
        Valuation::at(&PerToken::from_slice(units), &PerToken::from_slice(prices)).weights()
    }

    #[test]
    fn inside_the_quiet_move_no_weight_leaves_its_band() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let mut runner = TestRunner::new(Config { cases: 2000, ..Config::default() });
        let case = (
            proptest::collection::vec((1.0f64..1e6, 1e-2f64..1e4, -0.95f64..0.95), 2..=MAX_VAULT_TOKENS),
            0.005f64..0.2,
            proptest::collection::vec(-1.0f64..=1.0, MAX_VAULT_TOKENS),
        );
        let armed = std::cell::Cell::new(0);
        runner
            .run(&case, |(held, band, moves)| {
                let units: Vec<f64> = held.iter().map(|h| h.0).collect();
                let prices: Vec<f64> = held.iter().map(|h| h.1).collect();
                let weights = weights_at(&units, &prices);
                // targets off the weights by up to 95 % of the band, some near an edge
                let targets: PerToken<f64> = weights.iter().zip(&held).map(|(w, h)| w / (1.0 + band * h.2)).collect();
                let widths = bands(&Trigger::Threshold { band, relative: true }, &targets, band);
                let Some(m) = quiet_move(&weights, &targets, &widths) else {
                    prop_assert!(
                        weights.iter().zip(&targets).zip(&widths).any(|((w, t), b)| (w - t).abs() > b - 2e-12),
                        "no bound for weights {weights:?} inside {widths:?} of {targets:?}"
                    );
                    return Ok(());
                };
                armed.set(armed.get() + 1);
                // any move within e^m: a random one, and for each token the worst for it (it
                // moves one way by the whole bound, every other token the other way)
                let mut trials = vec![moves.iter().take(units.len()).map(|x| m * x).collect::<Vec<f64>>()];
                for k in 0..units.len() {
                    for dir in [1.0, -1.0] {
                        trials.push((0..units.len()).map(|j| if j == k { dir * m } else { -dir * m }).collect());
                    }
                }
                for x in trials {
                    let moved: Vec<f64> = prices.iter().zip(&x).map(|(p, x)| p * libm::exp(*x)).collect();
                    let after = weights_at(&units, &moved);
                    prop_assert!(!out_of_band(&after, &targets, &widths), "left the band within e^{m}: {after:?}");
                }
                Ok(())
            })
            .expect("weights stay in their bands");
        assert!(armed.get() > 500, "only {} cases armed a bound", armed.get());
    }

    #[test]
    fn the_quiet_move_is_none_at_an_edge_and_not_vacuous_inside() {
        let targets = [0.5, 0.5];
        let widths = [0.025, 0.025];
        // at the target the band is left when one price rises e^x and the other falls e^x with
        // 1 / (1 + e^{-2x}) = 0.525: the bound is within a factor of two of that
        let edge = -0.5 * libm::log(1.0 / 0.525 - 1.0);
        let m = quiet_move(&[0.5, 0.5], &targets, &widths).expect("a bound at the target");
        assert!(m < edge && m > 0.45 * edge, "{m} against {edge}");
        assert_eq!(quiet_move(&[0.525, 0.475], &targets, &widths), None, "on the edge");
        assert_eq!(quiet_move(&[0.53, 0.47], &targets, &widths), None, "outside");
        assert_eq!(quiet_move(&[1.2, -0.2], &[1.2, -0.2], &widths), None, "debt");
        assert_eq!(quiet_move(&[f64::NAN, 0.5], &targets, &widths), None);
        assert_eq!(quiet_move(&[0.0, 0.0], &[0.0, 0.0], &widths), None, "nothing held, nothing to bound");
    }

    #[test]
    fn breach_probability_follows_drift_volatility_and_horizon() {
        // driftless: symmetric, rising with the horizon and the volatility, falling with the band
        let p = |mu: f64, sigma: f64, h: f64| breach_probability(0.5, 0.5, 0.05, mu, sigma, h);
        assert!(p(0.0, 0.01, 10.0) < p(0.0, 0.01, 100.0) && p(0.0, 0.01, 100.0) < p(0.0, 0.01, 1000.0));
        assert!(p(0.0, 0.005, 100.0) < p(0.0, 0.01, 100.0));
        assert!((p(0.001, 0.01, 100.0) - p(-0.001, 0.01, 100.0)).abs() < 1e-12, "symmetric in drift at the target");
        // a strong drift toward the edge makes it near certain; none and little volatility, near nil
        assert!(p(0.01, 0.001, 100.0) > 0.99);
        assert!(p(0.0, 0.0001, 100.0) < 1e-9);
        // out of the band already: certain
        assert_eq!(breach_probability(0.6, 0.5, 0.05, 0.0, 0.01, 1.0), 1.0);
        // the first-passage formula against a simulation of the same walk (no drift: 2 Phi(-a / sd))
        let a = libm::log(0.55 * 0.5 / (0.5 * 0.45));
        let exact = 2.0 * 0.5 * libm::erfc(a / (0.01 * 10.0) / std::f64::consts::SQRT_2);
        let up_only = breach_probability(0.5, 0.5, 0.05, 0.0, 0.01, 100.0) / 2.0;
        assert!((up_only - exact).abs() < 1e-12, "{up_only} vs {exact}");
    }

    #[test]
    fn cppi_targets_follow_the_cushion() {
        let s = Strategy::Cppi { risky: TokenId(0), safe: TokenId(1), floor: 0.8, multiplier: 4.0, ratchet: None };
        let u = [TokenId(0), TokenId(1)];
        // cushion 20 of 100, x4 = 80 % risky
        let t = target_weights(&s, &u, 100.0, 80.0);
        assert!((t[0] - 0.8).abs() < 1e-12 && (t[1] - 0.2).abs() < 1e-12);
        // below the floor: all safe; huge cushion: capped at 100 %
        assert_eq!(target_weights(&s, &u, 70.0, 80.0)[..], [0.0, 1.0]);
        assert_eq!(target_weights(&s, &u, 1000.0, 80.0)[..], [1.0, 0.0]);
    }

    #[test]
    fn threshold_and_periodic_triggers() {
        let th = Trigger::Threshold { band: 0.05, relative: false };
        assert!(!triggered(&th, &[0.54, 0.46], &[0.5, 0.5], 0.05, Some((1, 12.0))));
        assert!(triggered(&th, &[0.56, 0.44], &[0.5, 0.5], 0.05, Some((1, 12.0))));
        let rel = Trigger::Threshold { band: 0.1, relative: true };
        // a 10 % target with a relative 10 % band: +-1 point
        assert!(triggered(&rel, &[0.115, 0.885], &[0.1, 0.9], 0.1, None));
        let p = Trigger::PeriodicBlocks(10);
        assert!(!triggered(&p, &[0.5, 0.5], &[0.5, 0.5], 0.0, Some((9, 0.0))));
        assert!(triggered(&p, &[0.5, 0.5], &[0.5, 0.5], 0.0, Some((10, 0.0))));
    }

    #[test]
    fn band_edge_sizing_stops_at_the_edge_and_sums_to_one() {
        let d = desired_weights(Sizing::ToBandEdge, &[0.6, 0.3, 0.1], &[0.5, 0.3, 0.2], &[0.05, 0.05, 0.05]);
        assert!((d.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((d[0] - 0.55).abs() < 1e-12, "{d:?}");
        assert!(d[2] > 0.1 && d[2] <= 0.2, "{d:?}");
    }

    #[test]
    fn trades_pair_sellers_with_buyers_and_conserve_value() {
        let t = pair_trades(&[0.6, 0.1, 0.3], &[0.4, 0.3, 0.3], 1000.0, 1e-9);
        assert_eq!(t.len(), 1);
        assert_eq!((t[0].0, t[0].1), (0, 1));
        assert!((t[0].2 - 200.0).abs() < 1e-9);
        let t = pair_trades(&[0.7, 0.1, 0.2], &[0.4, 0.3, 0.3], 100.0, 1e-9);
        let sold: f64 = t.iter().map(|x| x.2).sum();
        assert!((sold - 30.0).abs() < 1e-9, "{t:?}");
    }

    #[test]
    fn vol_band_is_clamped() {
        let v = Trigger::VolatilityAdjusted {
            base_band: 0.05,
            reference_volatility: 0.5,
            halflife_blocks: 10.0,
            min_band: 0.02,
            max_band: 0.1,
        };
        assert!((current_band(&v, 0.5) - 0.05).abs() < 1e-12);
        assert_eq!(current_band(&v, 5.0), 0.1);
        assert_eq!(current_band(&v, 0.01), 0.02);
    }
}
