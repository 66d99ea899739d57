//! Curve stableswap, 2 to 4 coins: `get_D`, `get_y`, `get_dy` / `exchange` with fees and rates,
//! ported from `3pool/StableSwap3Pool.vy` (classic, `A` in contract units) and
//! `stableswap-ng/CurveStableSwapNG.vy` (`A_PRECISION = 100`, optional off-peg dynamic fee).
//!
//! Balances are in coin base units; `rates[k]` is the 1e18-scaled multiplier that brings coin `k`
//! to 18 decimals times its redemption rate (`10^(36 - decimals)` for a plain coin), so
//! `xp[k] = balances[k] * rates[k] / 1e18`.

use smallvec::SmallVec;

use crate::{MathError, MathResult, Protocol, U256};

/// `PRECISION` = 1e18.
pub const PRECISION: u128 = 1_000_000_000_000_000_000;
/// `FEE_DENOMINATOR` = 1e10 (fees are in 1e-10 units).
pub const FEE_DENOMINATOR: u64 = 10_000_000_000;
/// NG's `A_PRECISION`.
pub const A_PRECISION: u64 = 100;
/// Coins per pool supported here.
pub const MAX_COINS: usize = 4;
const MAX_ITERATIONS: u32 = 255;

const fn revert(reason: &'static str) -> MathError {
    MathError::revert(Protocol::Curve, reason)
}

/// Which contract generation's integer formulas to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StableSwapVariant {
    /// 3pool-era contracts: `amp` is the contract's `A` (`A_whitepaper * n^(n-1)`), no precision
    /// factor.
    Classic,
    /// stableswap-ng: `amp` is `A * A_PRECISION` (so fractional A like 85.5 is `8550`), and the
    /// off-peg fee multiplier is available.
    Ng,
}

impl StableSwapVariant {
    fn a_precision(self) -> U256 {
        U256::from(match self {
            StableSwapVariant::Classic => 1,
            StableSwapVariant::Ng => A_PRECISION,
        })
    }
}

/// A stableswap pool's state and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StableSwapPool {
    balances: Vec<u128>,
    rates: Vec<U256>,
    amp: u64,
    fee: u64,
    admin_fee: u64,
    offpeg_fee_multiplier: u64,
    variant: StableSwapVariant,
    // the invariant of the current balances, kept in step with them (it is needed for every
    // price and quote, and costs a Newton solve)
    d: Result<U256, MathError>,
}

/// One `exchange` (or its quote).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StableSwapOutcome {
    /// Coin `j` paid to the trader (fee already deducted).
    pub dy: u128,
    /// The whole fee, in coin-`j` units (`dy_fee * 1e18 / rates[j]`).
    pub dy_fee: u128,
    /// Part of the fee that leaves the pool's balances to the admin, coin-`j` units.
    pub dy_admin_fee: u128,
}

impl StableSwapPool {
    /// Validates and builds a pool. `fee` and `admin_fee` are in 1e-10 units;
    /// `offpeg_fee_multiplier <= 1e10` disables NG's dynamic fee (and classic pools ignore it).
    pub fn try_new(
        balances: Vec<u128>,
        rates: Vec<U256>,
        amp: u64,
        fee: u64,
        admin_fee: u64,
        offpeg_fee_multiplier: u64,
        variant: StableSwapVariant,
    ) -> MathResult<Self> {
        let n = balances.len();
        if !(2..=MAX_COINS).contains(&n) || rates.len() != n {
            return Err(MathError::InvalidParameter {
                name: "coins",
                detail: format!("{n} balances and {} rates; need 2..=4 of each, equal counts", rates.len()),
            });
        }
        if amp == 0 || rates.iter().any(|r| r.is_zero()) {
            return Err(MathError::InvalidParameter { name: "amp/rates", detail: "must be positive".into() });
        }
        if fee >= FEE_DENOMINATOR || admin_fee > FEE_DENOMINATOR {
            return Err(MathError::InvalidParameter {
                name: "fee",
                detail: format!("fee {fee} must be < 1e10 and admin_fee {admin_fee} <= 1e10"),
            });
        }
        let mut pool =
            StableSwapPool { balances, rates, amp, fee, admin_fee, offpeg_fee_multiplier, variant, d: Ok(U256::ZERO) };
        pool.d = get_d(&pool.xp(), pool.amp, pool.variant);
        Ok(pool)
    }

    /// Coin balances held by the pool (admin fees already removed).
    pub fn balances(&self) -> &[u128] {
        &self.balances
    }
    /// Rate multipliers.
    pub fn rates(&self) -> &[U256] {
        &self.rates
    }
    /// The amplification in contract units (see [`StableSwapVariant`]).
    pub fn amp(&self) -> u64 {
        self.amp
    }
    /// Swap fee in 1e-10 units.
    pub fn fee(&self) -> u64 {
        self.fee
    }
    /// Variant.
    pub fn variant(&self) -> StableSwapVariant {
        self.variant
    }
    /// Number of coins.
    pub fn n_coins(&self) -> usize {
        self.balances.len()
    }

    /// `_xp_mem`: balances in 18-decimal, rate-adjusted units.
    pub fn xp(&self) -> SmallVec<[U256; MAX_COINS]> {
        self.balances.iter().zip(&self.rates).map(|(b, r)| U256::from(*b) * *r / U256::from(PRECISION)).collect()
    }

    /// `get_D` on the current balances.
    pub fn d(&self) -> MathResult<U256> {
        self.d.clone()
    }

    fn check_pair(&self, i: usize, j: usize) -> MathResult<()> {
        let n = self.n_coins();
        for index in [i, j] {
            if index >= n {
                return Err(MathError::TokenIndex { index, n_tokens: n });
            }
        }
        if i == j {
            return Err(MathError::SameToken { index: i });
        }
        Ok(())
    }

    /// NG `_dynamic_fee`: the fee rises off peg when the multiplier is above 1e10.
    fn dynamic_fee(&self, xpi: U256, xpj: U256) -> MathResult<U256> {
        let fee = U256::from(self.fee);
        let den = U256::from(FEE_DENOMINATOR);
        if self.variant == StableSwapVariant::Classic || self.offpeg_fee_multiplier <= FEE_DENOMINATOR {
            return Ok(fee);
        }
        let m = U256::from(self.offpeg_fee_multiplier);
        let xps2 = (xpi + xpj) * (xpi + xpj);
        if xps2.is_zero() {
            return Err(MathError::DivisionByZero { what: "Curve _dynamic_fee" });
        }
        let overflow = MathError::Overflow { what: "Curve _dynamic_fee" };
        let skew = (m - den)
            .checked_mul(U256::from(4u8))
            .and_then(|v| v.checked_mul(xpi))
            .and_then(|v| v.checked_mul(xpj))
            .ok_or(overflow)?
            / xps2;
        Ok(m * fee / (skew + den))
    }

    /// `get_dy` with its fee split: what `exchange(i, j, dx)` would pay, without changing state.
    pub fn quote(&self, i: usize, j: usize, dx: u128) -> MathResult<StableSwapOutcome> {
        self.check_pair(i, j)?;
        let xp = self.xp();
        self.quote_at(i, j, dx, &xp, None)
    }

    /// [`StableSwapPool::quote`] and [`StableSwapPool::slope_after`] of the same input, sharing
    /// its `get_y`. The slope is `None` where `slope_after` would be.
    pub fn quote_and_slope(&self, i: usize, j: usize, dx: u128) -> (MathResult<StableSwapOutcome>, Option<f64>) {
        if let Err(e) = self.check_pair(i, j) {
            return (Err(e), None);
        }
        let xp = self.xp();
        let mut y_memo = None;
        let slope = self.d().ok().and_then(|d| self.slope_after_with(i, j, dx, &xp, d, &mut y_memo));
        (self.quote_at(i, j, dx, &xp, y_memo), slope)
    }

    /// `get_dy` on precomputed `xp`; `known_y` is `(x, get_y(x))` when already solved.
    fn quote_at(
        &self,
        i: usize,
        j: usize,
        dx: u128,
        xp: &[U256],
        known_y: Option<(U256, U256)>,
    ) -> MathResult<StableSwapOutcome> {
        // NG's _transfer_in refuses nothing for something (a zero input can otherwise return the
        // Newton solves' last units); found by the pool fuzz target
        if dx == 0 && self.variant == StableSwapVariant::Ng {
            return Err(revert("dev: do not transferFrom 0 tokens into the pool"));
        }
        let precision = U256::from(PRECISION);
        let x = xp[i] + U256::from(dx) * self.rates[i] / precision;
        let y = match known_y {
            Some((kx, ky)) if kx == x => ky,
            _ => get_y_d(i, j, x, xp, self.amp, self.variant, self.d()?)?,
        };
        // -1 just in case there were some rounding errors
        let dy = xp[j].checked_sub(y + U256::ONE).ok_or(revert("exchange: dy underflow"))?;
        let fee = match self.variant {
            StableSwapVariant::Classic => U256::from(self.fee),
            StableSwapVariant::Ng => self.dynamic_fee((xp[i] + x) / U256::from(2u8), (xp[j] + y) / U256::from(2u8))?,
        };
        let dy_fee = dy * fee / U256::from(FEE_DENOMINATOR);
        // Convert all to real units
        let out = (dy - dy_fee) * precision / self.rates[j];
        let admin = dy_fee * U256::from(self.admin_fee) / U256::from(FEE_DENOMINATOR) * precision / self.rates[j];
        let to_u128 = |v: U256| u128::try_from(v).map_err(|_| MathError::Overflow { what: "Curve get_dy" });
        Ok(StableSwapOutcome {
            dy: to_u128(out)?,
            dy_fee: to_u128(dy_fee * precision / self.rates[j])?,
            dy_admin_fee: to_u128(admin)?,
        })
    }

    /// `exchange(i, j, dx, min_dy)`: pays `dy`, removes the admin fee from the balances.
    pub fn exchange(&mut self, i: usize, j: usize, dx: u128, min_dy: u128) -> MathResult<StableSwapOutcome> {
        let outcome = self.quote(i, j, dx)?;
        if outcome.dy < min_dy {
            return Err(revert("Exchange resulted in fewer coins than expected"));
        }
        let new_in = self.balances[i].checked_add(dx).ok_or(MathError::Overflow { what: "Curve balances" })?;
        let new_out = self.balances[j]
            .checked_sub(outcome.dy + outcome.dy_admin_fee)
            .ok_or(revert("exchange: balance underflow"))?;
        self.balances[i] = new_in;
        self.balances[j] = new_out;
        self.d = get_d(&self.xp(), self.amp, self.variant);
        Ok(outcome)
    }

    /// `remove_liquidity` of `share_ppm` millionths of the LP supply: every balance pays out
    /// `balance * share / 1e6` rounded down (the pool keeps the dust, as the contract does).
    pub fn remove_share(&mut self, share_ppm: u32) -> MathResult<Vec<u128>> {
        let out = crate::withdraw_pro_rata(&mut self.balances, share_ppm)?;
        self.d = get_d(&self.xp(), self.amp, self.variant);
        Ok(out)
    }

    /// Marginal price of coin `i` in coin `j` base units (output per unit input, before fee), from
    /// the derivative of the invariant: `(Ann + D^(n+1)/(n^n P x_i)) / (Ann + D^(n+1)/(n^n P x_j))`
    /// in rate-adjusted units, times `rate_i / rate_j`.
    pub fn marginal_price(&self, i: usize, j: usize) -> f64 {
        self.spot().price(i, j)
    }

    /// Every pair's [`StableSwapPool::marginal_price`] into `out` (row-major, `n x n`; the diagonal
    /// is left alone), sharing the invariant terms.
    pub fn marginal_prices(&self, out: &mut [f64]) {
        let spot = self.spot();
        let n = self.n_coins();
        for i in 0..n {
            for j in (0..n).filter(|j| *j != i) {
                out[i * n + j] = spot.price(i, j);
            }
        }
    }

    fn spot(&self) -> Spot<'_> {
        // f64 is enough for a price: no 256-bit division for xp
        let xp: SmallVec<[f64; MAX_COINS]> =
            self.balances.iter().zip(&self.rates).map(|(b, r)| *b as f64 * (crate::u256_to_f64(*r) / 1e18)).collect();
        let d = match &self.d {
            Ok(d) => crate::u256_to_f64(*d),
            Err(_) => f64::NAN,
        };
        let n = xp.len() as f64;
        let ann = self.amp as f64 / crate::u256_to_f64(self.variant.a_precision()) * n;
        // D^(n+1) / (n^n prod x), computed as D * prod(D / (n x)) to stay in range
        let dp: f64 = xp.iter().fold(d, |acc, x| acc * d / (n * x));
        Spot { pool: self, xp, ann, dp }
    }

    /// Output per unit input of the fee-free curve at the point an input of `a` of coin `i`
    /// reaches, given the current `xp` and invariant `d` (both precomputed by the caller so a
    /// solver pays one `get_y` per evaluation). `None` if the curve cannot go there.
    pub fn slope_after(&self, i: usize, j: usize, a: u128, xp: &[U256], d: U256) -> Option<f64> {
        self.slope_after_with(i, j, a, xp, d, &mut None)
    }

    /// [`StableSwapPool::slope_after`], leaving `(x, get_y(x))` in `solved` when it got that far.
    fn slope_after_with(
        &self,
        i: usize,
        j: usize,
        a: u128,
        xp: &[U256],
        d: U256,
        solved: &mut Option<(U256, U256)>,
    ) -> Option<f64> {
        let x = xp[i].checked_add(U256::from(a).checked_mul(self.rates[i])? / U256::from(PRECISION))?;
        let y = get_y_d(i, j, x, xp, self.amp, self.variant, d).ok()?;
        *solved = Some((x, y));
        if y >= xp[j] || y.is_zero() {
            return None;
        }
        let n = xp.len() as f64;
        let d = crate::u256_to_f64(d);
        let ann = self.amp as f64 / crate::u256_to_f64(self.variant.a_precision()) * n;
        let point = |k: usize| {
            crate::u256_to_f64(if k == i {
                x
            } else if k == j {
                y
            } else {
                xp[k]
            })
        };
        let q = (0..xp.len()).fold(d, |acc, k| acc * d / (n * point(k)));
        let slope = (ann + q / point(i)) / (ann + q / point(j));
        Some(slope * crate::u256_to_f64(self.rates[i]) / crate::u256_to_f64(self.rates[j]))
    }

    /// f64 model of [`crate::Pool::input_to_price`] for this curve: the input of coin `i` at
    /// which the fee-free slope times `1 - fee` falls to `target_net`. A starting point for the
    /// exact integer search (bisection in log size, Newton for `y` at each step).
    pub fn input_to_price_estimate(&self, i: usize, j: usize, target_net: f64) -> f64 {
        let Ok(d) = self.d() else { return 0.0 };
        let f = crate::u256_to_f64;
        let xp: SmallVec<[f64; MAX_COINS]> = self.xp().iter().map(|v| f(*v)).collect();
        let n = xp.len() as f64;
        let d = f(d);
        let ann = self.amp as f64 / f(self.variant.a_precision()) * n;
        let (rate_i, rate_j) = (f(self.rates[i]) / 1e18, f(self.rates[j]) / 1e18);
        let g = 1.0 - self.fee_fraction();
        let slope = |a: f64| -> Option<f64> {
            let x = xp[i] + a * rate_i;
            let (mut c, mut sum) = (d, 0.0);
            for (k, xk) in xp.iter().enumerate() {
                if k == j {
                    continue;
                }
                let xk = if k == i { x } else { *xk };
                sum += xk;
                c = c * d / (xk * n);
            }
            c = c * d / (ann * n);
            let b = sum + d / ann;
            // from the balance before the trade: the new one is close, and Newton on this convex
            // quadratic falls monotonically to the root from above
            let mut y = xp[j];
            for _ in 0..64 {
                let next = (y * y + c) / (2.0 * y + b - d);
                let done = (next - y).abs() <= 1e-13 * y;
                y = next;
                if done {
                    break;
                }
            }
            // (at a zero-size trade y is the balance itself, up to rounding)
            if !(y > 0.0 && y <= xp[j] * (1.0 + 1e-12)) {
                return None;
            }
            let point = |k: usize| {
                if k == i {
                    x
                } else if k == j {
                    y
                } else {
                    xp[k]
                }
            };
            let q = (0..xp.len()).fold(d, |acc, k| acc * d / (n * point(k)));
            Some(g * (ann + q / x) / (ann + q / y) * rate_i / rate_j)
        };
        // the usual case, a pool a little off the target after one block's price move: ln(slope)
        // is nearly linear in the size there, so the secant method from a zero-size trade lands
        // in a few steps
        let h = |a: f64| slope(a).map(|s| libm::log(s / target_net));
        if let Some(a) = secant_root(&h, xp[i] / rate_i) {
            return a;
        }
        // otherwise: regula falsi (Illinois) on u = ln(size) between a tiny trade and 100x the
        // pool, on f(u) = ln(slope / target); a failed point counts as below
        let f = |u: f64| slope(libm::exp(u)).map_or(-1.0, |s| libm::log(s / target_net));
        let (mut lo, mut hi) = (libm::log(xp[i] / rate_i * 1e-12), libm::log(xp[i] / rate_i * 100.0));
        let (mut f_lo, mut f_hi) = (f(lo), f(hi));
        if f_lo < 0.0 {
            return 0.0;
        }
        if f_hi >= 0.0 {
            return libm::exp(hi);
        }
        let mut side = 0i8;
        for _ in 0..100 {
            if hi - lo < 1e-13 {
                break;
            }
            let u = (lo * f_hi - hi * f_lo) / (f_hi - f_lo);
            let u = if u > lo && u < hi { u } else { 0.5 * (lo + hi) };
            let fu = f(u);
            if fu >= 0.0 {
                lo = u;
                f_lo = fu;
                if side == 1 {
                    f_hi /= 2.0;
                }
                side = 1;
            } else {
                hi = u;
                f_hi = fu;
                if side == -1 {
                    f_lo /= 2.0;
                }
                side = -1;
            }
        }
        libm::exp(lo)
    }

    /// The fee as a fraction (base fee; NG's dynamic fee can be higher off peg).
    pub fn fee_fraction(&self) -> f64 {
        self.fee as f64 / FEE_DENOMINATOR as f64
    }
}

/// The root of a decreasing `h` on `[0, depth]` by the secant method from `0` and a small trade,
/// for a root near zero (a pool a little off its target); `None` when `h(0) <= 0` is not the
/// case to solve, or the iterates leave `[0, depth]`, fail, or do not settle in a few steps (the
/// caller then brackets).
fn secant_root(h: &impl Fn(f64) -> Option<f64>, depth: f64) -> Option<f64> {
    let (mut a0, mut h0) = (0.0, h(0.0)?);
    if h0.is_nan() || h0 <= 0.0 {
        return None;
    }
    let (mut a1, mut h1) = (depth * 1e-6, h(depth * 1e-6)?);
    for _ in 0..12 {
        // at the noise floor of the f64 slope: as close as it can tell
        if h1.abs() <= 4.0 * f64::EPSILON {
            return Some(a1);
        }
        if h1 == h0 {
            return None;
        }
        let a2 = a1 - h1 * (a1 - a0) / (h1 - h0);
        if !(a2 > 0.0 && a2 < depth) {
            return None;
        }
        if (a2 - a1).abs() <= 1e-13 * a2 {
            return Some(a2);
        }
        (a0, h0) = (a1, h1);
        (a1, h1) = (a2, h(a2)?);
    }
    None
}

/// `get_D`: the invariant by Newton's method from `D = S`, stopping at `|D - Dprev| <= 1`.
pub fn get_d(xp: &[U256], amp: u64, variant: StableSwapVariant) -> MathResult<U256> {
    let n = U256::from(xp.len());
    let s = xp.iter().fold(U256::ZERO, |acc, x| acc + *x);
    if s.is_zero() {
        return Ok(U256::ZERO);
    }
    if xp.iter().any(|x| x.is_zero()) {
        return Err(MathError::DivisionByZero { what: "Curve get_D (an empty coin)" });
    }
    let a_precision = variant.a_precision();
    let ann = U256::from(amp) * n;
    if ann < a_precision {
        return Err(MathError::InvalidParameter { name: "amp", detail: format!("Ann {ann} below A_PRECISION") });
    }
    let n_pow_n = n.pow(n);
    let overflow = MathError::Overflow { what: "Curve get_D" };
    let mut d = s;
    for _ in 0..MAX_ITERATIONS {
        let mut d_p = d;
        match variant {
            StableSwapVariant::Classic => {
                for x in xp {
                    // If division by 0, this will be borked: only withdrawal will work. And that is good
                    d_p = d_p.checked_mul(d).ok_or(overflow.clone())? / (*x * n);
                }
            }
            StableSwapVariant::Ng => {
                for x in xp {
                    d_p = d_p.checked_mul(d).ok_or(overflow.clone())? / *x;
                }
                d_p /= n_pow_n;
            }
        }
        let d_prev = d;
        let numerator = (ann * s / a_precision + d_p * n).checked_mul(d).ok_or(overflow.clone())?;
        let denominator = (ann - a_precision) * d / a_precision + (n + U256::ONE) * d_p;
        d = numerator / denominator;
        // Equality with the precision of 1
        if d.abs_diff(d_prev) <= U256::ONE {
            return Ok(d);
        }
    }
    Err(MathError::NoConvergence { what: "Curve get_D", iterations: MAX_ITERATIONS })
}

/// `get_y`: the new balance of coin `j` (rate-adjusted) when coin `i` is set to `x`, keeping D.
pub fn get_y(i: usize, j: usize, x: U256, xp: &[U256], amp: u64, variant: StableSwapVariant) -> MathResult<U256> {
    let n_coins = xp.len();
    if i == j {
        return Err(MathError::SameToken { index: i }); // dev: same coin
    }
    if i >= n_coins || j >= n_coins {
        return Err(MathError::TokenIndex { index: i.max(j), n_tokens: n_coins });
    }
    let d = get_d(xp, amp, variant)?;
    get_y_d(i, j, x, xp, amp, variant, d)
}

/// `get_y` with a precomputed D.
pub fn get_y_d(
    i: usize,
    j: usize,
    x: U256,
    xp: &[U256],
    amp: u64,
    variant: StableSwapVariant,
    d: U256,
) -> MathResult<U256> {
    let n = U256::from(xp.len());
    let a_precision = variant.a_precision();
    let ann = U256::from(amp) * n;
    let overflow = MathError::Overflow { what: "Curve get_y" };
    let mut c = d;
    let mut s = U256::ZERO;
    for (k, xk) in xp.iter().enumerate() {
        let xk = if k == i {
            x
        } else if k != j {
            *xk
        } else {
            continue;
        };
        if xk.is_zero() {
            return Err(MathError::DivisionByZero { what: "Curve get_y" });
        }
        s += xk;
        c = c.checked_mul(d).ok_or(overflow.clone())? / (xk * n);
    }
    c = c.checked_mul(d).and_then(|v| v.checked_mul(a_precision)).ok_or(overflow.clone())? / (ann * n);
    let b = s + d * a_precision / ann; // - D
    let mut y = d;
    for _ in 0..MAX_ITERATIONS {
        let y_prev = y;
        let denominator = (y * U256::from(2u8) + b).checked_sub(d).ok_or(revert("get_y: negative denominator"))?;
        if denominator.is_zero() {
            return Err(MathError::DivisionByZero { what: "Curve get_y" });
        }
        y = (y.checked_mul(y).ok_or(overflow.clone())? + c) / denominator;
        // Equality with the precision of 1
        if y.abs_diff(y_prev) <= U256::ONE {
            return Ok(y);
        }
    }
    Err(MathError::NoConvergence { what: "Curve get_y", iterations: MAX_ITERATIONS })
}

/// The terms of a stableswap's marginal price shared by every pair.
struct Spot<'a> {
    pool: &'a StableSwapPool,
    xp: SmallVec<[f64; MAX_COINS]>,
    ann: f64,
    dp: f64,
}

impl Spot<'_> {
    fn price(&self, i: usize, j: usize) -> f64 {
        let num = self.ann + self.dp / self.xp[i];
        let den = self.ann + self.dp / self.xp[j];
        num / den * crate::u256_to_f64(self.pool.rates[i]) / crate::u256_to_f64(self.pool.rates[j])
    }
}
