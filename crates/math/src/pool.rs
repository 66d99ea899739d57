//! One interface over every pool kind.
//!
//! An enum rather than a trait object: the set of kinds is closed and known to the scenario
//! schema, matching is exhaustive (a new kind cannot be half-supported), pools clone cheaply for
//! what-if quotes, and there is no dynamic dispatch in the block loop's hot path.

use crate::stableswap::StableSwapPool;
use crate::v2::{self, V2Pair};
use crate::v3::tick_math::{MAX_SQRT_RATIO, MIN_SQRT_RATIO};
use crate::v3::{AmountRemaining, V3Pool};
use crate::weighted::WeightedPool;
use crate::{MathError, MathResult, Protocol, U256, u128_to_f64, u256_to_f64};

/// Any AMM pool meshsim can simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pool {
    /// Uniswap v2 constant product.
    ConstantProduct(V2Pair),
    /// Uniswap v3 concentrated liquidity.
    Concentrated(V3Pool),
    /// Curve stableswap.
    StableSwap(StableSwapPool),
    /// Balancer weighted.
    Weighted(WeightedPool),
}

/// The pool kind, for display and output tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PoolKind {
    /// Uniswap v2.
    ConstantProduct,
    /// Uniswap v3.
    Concentrated,
    /// Curve.
    StableSwap,
    /// Balancer.
    Weighted,
}

impl PoolKind {
    /// Short lowercase name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            PoolKind::ConstantProduct => "constant_product",
            PoolKind::Concentrated => "concentrated",
            PoolKind::StableSwap => "stableswap",
            PoolKind::Weighted => "weighted",
        }
    }
}

/// The float model's trade to a price ([`Pool::trade_to_price_estimate`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TradeEstimate {
    /// The input, fee included (NaN when the model has no answer).
    pub amount_in: f64,
    /// Whether the trade's marginal rate is convex in its input over the trade (it falls ever
    /// more slowly): the gain above the target rate is then at most half the rectangle
    /// `(p0 - target) * amount_in`.
    pub rate_convex: bool,
}

/// What a swap pays and takes, in base units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SwapQuote {
    /// Input taken from the trader (fee included).
    pub amount_in: u128,
    /// Output paid to the trader.
    pub amount_out: u128,
    /// Fee kept by liquidity providers, in the token given by `fee_in_output`.
    pub lp_fee: u128,
    /// Whether `lp_fee` is in the output token (Curve) rather than the input token.
    pub fee_in_output: bool,
    /// Output-token amount that leaves the pool to the protocol's fee sink (Curve admin fee).
    pub protocol_fee_out: u128,
    /// Initialized ticks crossed (v3; zero for other kinds), for gas accounting.
    pub ticks_crossed: u32,
}

const MAX_U128: U256 = U256::from_limbs([u64::MAX, u64::MAX, 0, 0]);

fn to_u128(v: U256) -> MathResult<u128> {
    u128::try_from(v).map_err(|_| MathError::Overflow { what: "amount above u128" })
}

fn two_token(i: usize, j: usize) -> MathResult<bool> {
    for index in [i, j] {
        if index > 1 {
            return Err(MathError::TokenIndex { index, n_tokens: 2 });
        }
    }
    if i == j {
        return Err(MathError::SameToken { index: i });
    }
    Ok(i == 0)
}

/// `(sqrtP / 2^96)^2` as f64: token1 per token0 in base units.
pub fn price_from_sqrt_x96(sqrt_price_x96: U256) -> f64 {
    let s = u256_to_f64(sqrt_price_x96) / 79_228_162_514_264_337_593_543_950_336.0;
    s * s
}

/// The Q64.96 sqrt price of a token1-per-token0 price, clamped to the valid range.
pub fn sqrt_x96_from_price(price: f64) -> U256 {
    let s = libm::sqrt(price) * 79_228_162_514_264_337_593_543_950_336.0;
    let v = if s.is_finite() && s > 0.0 { crate::f64_to_u256(s) } else { U256::ZERO };
    v.clamp(MIN_SQRT_RATIO, MAX_SQRT_RATIO)
}

impl Pool {
    /// Which kind of pool this is.
    pub fn kind(&self) -> PoolKind {
        match self {
            Pool::ConstantProduct(_) => PoolKind::ConstantProduct,
            Pool::Concentrated(_) => PoolKind::Concentrated,
            Pool::StableSwap(_) => PoolKind::StableSwap,
            Pool::Weighted(_) => PoolKind::Weighted,
        }
    }

    /// Number of tokens.
    pub fn n_tokens(&self) -> usize {
        match self {
            Pool::ConstantProduct(_) | Pool::Concentrated(_) => 2,
            Pool::StableSwap(p) => p.n_coins(),
            Pool::Weighted(p) => p.n_tokens(),
        }
    }

    /// The swap fee as a fraction of the input (base fee for NG's dynamic fee).
    pub fn fee_fraction(&self) -> f64 {
        match self {
            Pool::ConstantProduct(p) => f64::from(p.fee_pips) / 1e6,
            Pool::Concentrated(p) => f64::from(p.fee_pips()) / 1e6,
            Pool::StableSwap(p) => p.fee_fraction(),
            Pool::Weighted(p) => p.fee_fraction(),
        }
    }

    /// Marginal price of token `i` in token `j` base units (output per unit input), before fee.
    pub fn marginal_price(&self, i: usize, j: usize) -> f64 {
        match self {
            Pool::ConstantProduct(p) => {
                let r = [u128_to_f64(p.reserve0), u128_to_f64(p.reserve1)];
                r[j] / r[i]
            }
            Pool::Concentrated(p) => {
                let price = price_from_sqrt_x96(p.sqrt_price_x96());
                if i == 0 { price } else { 1.0 / price }
            }
            Pool::StableSwap(p) => p.marginal_price(i, j),
            Pool::Weighted(p) => p.marginal_price(i, j),
        }
    }

    /// Every pair's [`Pool::marginal_price`] at once into `out` (row-major, `n x n`; the
    /// diagonal is left alone), with the same figures: the work shared by the pairs (converting
    /// reserves, a stableswap's invariant terms) is done once.
    pub fn marginal_prices(&self, out: &mut [f64]) {
        match self {
            Pool::ConstantProduct(p) => {
                let r = [u128_to_f64(p.reserve0), u128_to_f64(p.reserve1)];
                out[1] = r[1] / r[0];
                out[2] = r[0] / r[1];
            }
            Pool::Concentrated(p) => {
                let price = price_from_sqrt_x96(p.sqrt_price_x96());
                out[1] = price;
                out[2] = 1.0 / price;
            }
            Pool::StableSwap(p) => p.marginal_prices(out),
            Pool::Weighted(p) => {
                let n = p.n_tokens();
                for i in 0..n {
                    for j in (0..n).filter(|j| *j != i) {
                        out[i * n + j] = p.marginal_price(i, j);
                    }
                }
            }
        }
    }

    /// Marginal price net of the fee: what an infinitesimal trade of `i` actually receives in `j`.
    pub fn net_price(&self, i: usize, j: usize) -> f64 {
        self.marginal_price(i, j) * (1.0 - self.fee_fraction())
    }

    /// Quote an exact-input swap of `amount_in` of token `i` for token `j`. Concentrated pools
    /// may fill partially when liquidity runs out; `amount_in` is then what was taken.
    pub fn quote_exact_in(&self, i: usize, j: usize, amount_in: u128) -> MathResult<SwapQuote> {
        match self {
            Pool::ConstantProduct(p) => {
                let zero_for_one = two_token(i, j)?;
                let (r_in, r_out) = p.reserves(zero_for_one);
                let out = v2::get_amount_out(amount_in, r_in, r_out, p.fee_pips)?;
                Ok(SwapQuote {
                    amount_in,
                    amount_out: out,
                    lp_fee: fee_of(amount_in, p.fee_pips),
                    ..Default::default()
                })
            }
            Pool::Concentrated(p) => {
                let zero_for_one = two_token(i, j)?;
                let r = p.quote_swap_amounts(
                    zero_for_one,
                    AmountRemaining::ExactIn(U256::from(amount_in)),
                    default_limit(zero_for_one),
                )?;
                Ok(SwapQuote {
                    amount_in: to_u128(r.amount_in)?,
                    amount_out: to_u128(r.amount_out)?,
                    lp_fee: to_u128(r.fee_amount)?,
                    ticks_crossed: r.ticks_crossed,
                    ..Default::default()
                })
            }
            Pool::StableSwap(p) => {
                let o = p.quote(i, j, amount_in)?;
                Ok(SwapQuote {
                    amount_in,
                    amount_out: o.dy,
                    lp_fee: o.dy_fee - o.dy_admin_fee.min(o.dy_fee),
                    fee_in_output: true,
                    protocol_fee_out: o.dy_admin_fee,
                    ticks_crossed: 0,
                })
            }
            Pool::Weighted(p) => {
                let (out, fee) = p.quote_out_given_in(i, j, amount_in)?;
                Ok(SwapQuote { amount_in, amount_out: out, lp_fee: fee, ..Default::default() })
            }
        }
    }

    /// Quote an exact-output swap: the input of token `i` needed to receive `amount_out` of `j`.
    /// Errors when the pool cannot pay that much.
    pub fn quote_exact_out(&self, i: usize, j: usize, amount_out: u128) -> MathResult<SwapQuote> {
        match self {
            Pool::ConstantProduct(p) => {
                let zero_for_one = two_token(i, j)?;
                let (r_in, r_out) = p.reserves(zero_for_one);
                let amount_in = v2::get_amount_in(amount_out, r_in, r_out, p.fee_pips)?;
                Ok(SwapQuote { amount_in, amount_out, lp_fee: fee_of(amount_in, p.fee_pips), ..Default::default() })
            }
            Pool::Concentrated(p) => {
                let zero_for_one = two_token(i, j)?;
                let r = p.quote_swap_amounts(
                    zero_for_one,
                    AmountRemaining::ExactOut(U256::from(amount_out)),
                    default_limit(zero_for_one),
                )?;
                if r.amount_out < U256::from(amount_out) {
                    // SwapRouter: require(amountOutReceived == amountOut)
                    return Err(MathError::revert(Protocol::UniswapV3, "insufficient liquidity for exact output"));
                }
                Ok(SwapQuote {
                    amount_in: to_u128(r.amount_in)?,
                    amount_out,
                    lp_fee: to_u128(r.fee_amount)?,
                    ticks_crossed: r.ticks_crossed,
                    ..Default::default()
                })
            }
            Pool::StableSwap(p) => {
                // No get_dx in classic pools: the smallest dx whose get_dy reaches amount_out.
                let enough = |dx: u128| p.quote(i, j, dx).is_ok_and(|o| o.dy >= amount_out);
                let estimate = amount_out as f64 / p.marginal_price(i, j);
                let guess = if estimate.is_finite() && estimate < 1e38 { estimate as u128 } else { 0 };
                let dx = largest_satisfying(guess, |dx| !enough(dx)).saturating_add(1);
                if !enough(dx) {
                    return Err(MathError::revert(Protocol::Curve, "exact output exceeds pool balance"));
                }
                let mut q = self.quote_exact_in(i, j, dx)?;
                q.amount_in = dx;
                Ok(q)
            }
            Pool::Weighted(p) => {
                let (amount_in, fee) = p.quote_in_given_out(i, j, amount_out)?;
                Ok(SwapQuote { amount_in, amount_out, lp_fee: fee, ..Default::default() })
            }
        }
    }

    /// The passive LPs withdraw `share_ppm` millionths of their liquidity in proportion (each
    /// contract's own burn / remove_liquidity / exit rounding). Returns the amount of each of the
    /// pool's tokens paid out, in pool order.
    pub fn remove_share(&mut self, share_ppm: u32) -> MathResult<Vec<u128>> {
        match self {
            Pool::ConstantProduct(p) => p.remove_share(share_ppm).map(|(a, b)| vec![a, b]),
            Pool::Concentrated(p) => p.remove_share(share_ppm).map(|(a, b)| vec![a, b]),
            Pool::StableSwap(p) => p.remove_share(share_ppm),
            Pool::Weighted(p) => p.remove_share(share_ppm),
        }
    }

    /// Apply an exact-input swap; returns what was paid and received.
    pub fn swap_exact_in(&mut self, i: usize, j: usize, amount_in: u128) -> MathResult<SwapQuote> {
        match self {
            Pool::ConstantProduct(p) => {
                let zero_for_one = two_token(i, j)?;
                let out = p.swap_exact_in(zero_for_one, amount_in)?;
                Ok(SwapQuote {
                    amount_in,
                    amount_out: out,
                    lp_fee: fee_of(amount_in, p.fee_pips),
                    ..Default::default()
                })
            }
            Pool::Concentrated(p) => {
                let zero_for_one = two_token(i, j)?;
                let r =
                    p.swap(zero_for_one, AmountRemaining::ExactIn(U256::from(amount_in)), default_limit(zero_for_one))?;
                Ok(SwapQuote {
                    amount_in: to_u128(r.amount_in)?,
                    amount_out: to_u128(r.amount_out)?,
                    lp_fee: to_u128(r.fee_amount)?,
                    ticks_crossed: r.ticks_crossed,
                    ..Default::default()
                })
            }
            Pool::StableSwap(p) => {
                let o = p.exchange(i, j, amount_in, 0)?;
                Ok(SwapQuote {
                    amount_in,
                    amount_out: o.dy,
                    lp_fee: o.dy_fee - o.dy_admin_fee.min(o.dy_fee),
                    fee_in_output: true,
                    protocol_fee_out: o.dy_admin_fee,
                    ticks_crossed: 0,
                })
            }
            Pool::Weighted(p) => {
                let (out, fee) = p.quote_out_given_in(i, j, amount_in)?;
                p.apply(i, j, amount_in, out)?;
                Ok(SwapQuote { amount_in, amount_out: out, lp_fee: fee, ..Default::default() })
            }
        }
    }

    /// Apply an exact-input swap already quoted on this pool's current state (`q` from
    /// [`Pool::quote_exact_in`] with the same `i`, `j`): the same result as
    /// [`Pool::swap_exact_in`], without pricing it again where the quote carries everything the
    /// new state needs (constant product); other kinds swap again.
    pub fn apply_quote(&mut self, i: usize, j: usize, q: &SwapQuote) -> MathResult<SwapQuote> {
        match self {
            Pool::ConstantProduct(p) => {
                let zero_for_one = two_token(i, j)?;
                p.apply_exact_in(zero_for_one, q.amount_in, q.amount_out)?;
                Ok(*q)
            }
            Pool::Concentrated(_) | Pool::StableSwap(_) | Pool::Weighted(_) => self.swap_exact_in(i, j, q.amount_in),
        }
    }

    /// Apply an exact-output swap; returns what was paid and received.
    pub fn swap_exact_out(&mut self, i: usize, j: usize, amount_out: u128) -> MathResult<SwapQuote> {
        let q = self.quote_exact_out(i, j, amount_out)?;
        match self {
            Pool::ConstantProduct(p) => {
                let zero_for_one = two_token(i, j)?;
                p.swap_exact_out(zero_for_one, amount_out)?;
                Ok(q)
            }
            Pool::Concentrated(p) => {
                let zero_for_one = two_token(i, j)?;
                p.swap(zero_for_one, AmountRemaining::ExactOut(U256::from(amount_out)), default_limit(zero_for_one))?;
                Ok(q)
            }
            Pool::StableSwap(_) => {
                // exchange(dx) pays at least amount_out; report what it actually paid
                self.swap_exact_in(i, j, q.amount_in)
            }
            Pool::Weighted(p) => {
                p.apply(i, j, q.amount_in, amount_out)?;
                Ok(q)
            }
        }
    }

    /// *Trade-to-price*: the exact input of token `i` at which the trade's marginal rate (output of
    /// `j` per further unit of input, net of fee) falls to `target_net`; one more base unit would
    /// take it below. Against an external price this is the profit-maximising arbitrage size;
    /// for v3 it moves the pool price exactly to `target_net / (1 - fee)` (the fee does not enter
    /// the curve). Zero when the net price is already at or below the target. v2 is its closed
    /// form, computed without cancellation; weighted starts from its closed form and searches;
    /// v3 walks ticks with the target as the swap's price limit; stableswap searches its integer
    /// `get_y`.
    pub fn input_to_price(&self, i: usize, j: usize, target_net: f64) -> MathResult<u128> {
        if !(target_net.is_finite() && target_net > 0.0) {
            return Err(MathError::InvalidParameter { name: "target price", detail: format!("{target_net}") });
        }
        if self.n_tokens() <= i.max(j) {
            return Err(MathError::TokenIndex { index: i.max(j), n_tokens: self.n_tokens() });
        }
        if self.net_price(i, j) <= target_net {
            return Ok(0);
        }
        match self {
            Pool::ConstantProduct(p) => {
                // the closed form, evaluated without cancellation, is within a few parts in 1e15
                // of the exact crossing (tested against 512-bit integer arithmetic): finer than
                // the f64 marginal rate itself can resolve when the trade is small next to the
                // reserves, so a search on that rate would only walk through its rounding noise
                Ok(p.input_to_price(two_token(i, j)?, target_net))
            }
            Pool::Concentrated(p) => {
                let zero_for_one = two_token(i, j)?;
                let gross = target_net / (1.0 - self.fee_fraction());
                let limit = sqrt_x96_from_price(if zero_for_one { gross } else { 1.0 / gross });
                let limit = limit.clamp(MIN_SQRT_RATIO + U256::ONE, MAX_SQRT_RATIO - U256::ONE);
                let beyond = if zero_for_one { limit < p.sqrt_price_x96() } else { limit > p.sqrt_price_x96() };
                if !beyond {
                    return Ok(0);
                }
                let r = p.quote_swap_amounts(zero_for_one, AmountRemaining::ExactIn(MAX_U128), limit)?;
                to_u128(r.amount_in)
            }
            Pool::StableSwap(p) => {
                let xp = p.xp();
                let d = p.d()?;
                let g = 1.0 - self.fee_fraction();
                let estimate = p.input_to_price_estimate(i, j, target_net);
                let guess =
                    if estimate.is_finite() && estimate < 1e38 { estimate as u128 } else { p.balances()[i] / 1_000 };
                Ok(solve_rate(guess, guess >> 40, target_net, |a| p.slope_after(i, j, a, &xp, d).map(|s| s * g)))
            }
            Pool::Weighted(p) => {
                let guess = p.input_to_price_estimate(i, j, target_net);
                let guess = if guess.is_finite() && guess < u128::MAX as f64 { guess as u128 } else { 0 };
                let a = solve_rate(guess, guess >> 46, target_net, |a| self.marginal_rate_after(i, j, a));
                // Balancer refuses an input over 30 % of the balance (BAL#304): past it, the
                // most the pool takes (found only then, so the common case costs nothing)
                if a < p.balances()[i] / 4 || self.quote_exact_in(i, j, a).is_ok() {
                    return Ok(a);
                }
                let (mut lo, mut hi) = (0u128, a);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if self.quote_exact_in(i, j, mid).is_ok() { lo = mid } else { hi = mid }
                }
                Ok(lo)
            }
        }
    }

    /// f64 model of [`Pool::input_to_price`]: the same size from each kind's float closed form
    /// or walk (v2 and weighted closed forms, v3 walking its ticks with their liquidity,
    /// stableswap's float Newton), without integer work. A screen that tells whether the exact
    /// solve is worth running, and its seed. Zero when the net price is at or below the target;
    /// NaN when the model has no answer (the caller must then solve exactly).
    pub fn input_to_price_estimate(&self, i: usize, j: usize, target_net: f64) -> f64 {
        self.trade_to_price_estimate(i, j, target_net).amount_in
    }

    /// [`Pool::input_to_price_estimate`] with what the model knows of the trade's shape.
    pub fn trade_to_price_estimate(&self, i: usize, j: usize, target_net: f64) -> TradeEstimate {
        let est = |amount_in: f64, rate_convex: bool| TradeEstimate { amount_in, rate_convex };
        if !(target_net.is_finite() && target_net > 0.0) || self.n_tokens() <= i.max(j) || i == j {
            return est(f64::NAN, false);
        }
        // (each model is zero by itself when the net price is at or below the target)
        match self {
            // the rate g x y / (x + g a)^2 is convex in a
            Pool::ConstantProduct(p) => est(u128_to_f64(p.input_to_price(i == 0, target_net)), true),
            Pool::Concentrated(p) => {
                let gross = target_net / (1.0 - self.fee_fraction());
                let zero_for_one = i == 0;
                // sqrt of token1 per token0
                let target_sqrt = libm::sqrt(if zero_for_one { gross } else { 1.0 / gross });
                // within one range the rate is g L^2 P / (L + g a sqrt P)^2 (or its mirror): convex
                let (amount_in, one_range) = p.input_to_sqrt_price_estimate(zero_for_one, target_sqrt);
                est(amount_in, one_range)
            }
            // the rate stays flat near the peg and then falls: not convex in general
            Pool::StableSwap(p) => est(p.input_to_price_estimate(i, j, target_net), false),
            // g P (B / (B + g a))^(w_i / w_o + 1): convex
            Pool::Weighted(p) => est(p.input_to_price_estimate(i, j, target_net), true),
        }
    }

    /// `(quote_exact_in(i, j, a).amount_out, marginal_rate_after(i, j, a))` with one swap
    /// computation where the two share it (v3's walk, stableswap's `get_y`): what a path solver
    /// evaluates at every hop. `None` when either would fail.
    pub fn out_and_rate_after(&self, i: usize, j: usize, amount_in: u128) -> Option<(u128, f64)> {
        if amount_in == 0 {
            return Some((0, self.marginal_rate_after(i, j, 0)?));
        }
        match self {
            Pool::Concentrated(p) => {
                let (out, rate) = v3_fill(p, two_token(i, j).ok()?, amount_in, 1.0 - self.fee_fraction())?;
                Some((to_u128(out).ok()?, rate))
            }
            Pool::StableSwap(p) => {
                let (outcome, slope) = p.quote_and_slope(i, j, amount_in);
                Some((outcome.ok()?.dy, slope? * (1.0 - self.fee_fraction())))
            }
            Pool::ConstantProduct(_) | Pool::Weighted(_) => {
                let rate = self.marginal_rate_after(i, j, amount_in)?;
                Some((self.quote_exact_in(i, j, amount_in).ok()?.amount_out, rate))
            }
        }
    }

    /// The marginal rate of an exact-input trade after `amount_in` of `i` has gone in: output of
    /// `j` per further unit of input, net of fee. `None` if the trade would fail.
    pub fn marginal_rate_after(&self, i: usize, j: usize, amount_in: u128) -> Option<f64> {
        let g = 1.0 - self.fee_fraction();
        match self {
            Pool::ConstantProduct(p) => {
                let zero_for_one = two_token(i, j).ok()?;
                let (x, y) = p.reserves(zero_for_one);
                let (x, y, a) = (u128_to_f64(x), u128_to_f64(y), u128_to_f64(amount_in));
                // d/da of y g a / (x + g a)
                Some(g * x * y / ((x + g * a) * (x + g * a)))
            }
            Pool::Concentrated(p) => {
                let zero_for_one = two_token(i, j).ok()?;
                if amount_in == 0 {
                    return Some(self.net_price(i, j));
                }
                v3_fill(p, zero_for_one, amount_in, g).map(|(_, rate)| rate)
            }
            Pool::StableSwap(p) => {
                // the curve's slope at (x_i + a, y_j(x_i + a)): the fee is taken from the output
                if i.max(j) >= p.n_coins() || i == j {
                    return None;
                }
                let xp = p.xp();
                p.slope_after(i, j, amount_in, &xp, p.d().ok()?).map(|s| s * g)
            }
            Pool::Weighted(p) => {
                if i.max(j) >= p.n_tokens() || i == j {
                    return None;
                }
                // Balancer's 30 % max-in ratio on the net input
                if g * u128_to_f64(amount_in) > 0.3 * u128_to_f64(p.balances()[i]) {
                    return None;
                }
                let (wi, wo) = (u256_to_f64(p.weights()[i]), u256_to_f64(p.weights()[j]));
                let b_in = u128_to_f64(p.balances()[i]);
                let base = b_in / (b_in + g * u128_to_f64(amount_in));
                // d/da of B_o (1 - (B_i / (B_i + g a))^(w_i/w_o))
                Some(g * p.marginal_price(i, j) * libm::pow(base, wi / wo + 1.0))
            }
        }
    }
}

/// A v3 exact-input quote of `amount_in` whole (`None` if liquidity runs out first): its output
/// and the marginal rate after it, net of the fee fraction `1 - g`.
fn v3_fill(p: &V3Pool, zero_for_one: bool, amount_in: u128, g: f64) -> Option<(U256, f64)> {
    let r = p
        .quote_swap_amounts(zero_for_one, AmountRemaining::ExactIn(U256::from(amount_in)), default_limit(zero_for_one))
        .ok()?;
    if r.amount_in < U256::from(amount_in) {
        return None; // ran out of liquidity
    }
    let price = price_from_sqrt_x96(r.sqrt_price_x96);
    Some((r.amount_out, g * if zero_for_one { price } else { 1.0 / price }))
}

#[inline]
fn fee_of(amount_in: u128, fee_pips: u32) -> u128 {
    // informational split of the input; rounded up like the contracts' fee
    if let Some(fee) = amount_in.checked_mul(u128::from(fee_pips)) {
        return fee.div_ceil(1_000_000);
    }
    let fee = U256::from(amount_in) * U256::from(fee_pips);
    let (q, r) = fee.div_rem(U256::from(1_000_000u32));
    (q + if r.is_zero() { U256::ZERO } else { U256::ONE }).to::<u128>()
}

fn default_limit(zero_for_one: bool) -> U256 {
    // what SwapRouter uses for sqrtPriceLimitX96 == 0
    if zero_for_one { MIN_SQRT_RATIO + U256::ONE } else { MAX_SQRT_RATIO - U256::ONE }
}

/// Largest `a` with `rate(a) >= target` for a rate that falls as `a` grows (`None` = the trade
/// fails, counted as below). Brackets outward from `guess` in doubling steps from `step`, then
/// narrows with Illinois regula falsi on `ln(rate / target)` until the bracket is no wider than
/// `step` (callers pass one base unit for small sizes, or the finest size difference their f64
/// rate resolves); a good guess costs a handful of evaluations.
pub fn solve_rate(guess: u128, step: u128, target: f64, rate: impl Fn(u128) -> Option<f64>) -> u128 {
    // the initial step is also the resolution: callers size it to what their rate resolves
    solve_rate_within(guess, step, step, target, rate)
}

/// [`solve_rate`] with the bracket's first step apart from the resolution: a caller whose guess
/// is good to some per cent steps by about that much, and the regula falsi narrows the bracket
/// to `resolution` from there, where a first step of `resolution` would double its way out.
pub fn solve_rate_within(
    guess: u128,
    first_step: u128,
    resolution: u128,
    target: f64,
    rate: impl Fn(u128) -> Option<f64>,
) -> u128 {
    let f = |a: u128| {
        if a == 0 { Some(f64::INFINITY) } else { rate(a).map(|r| libm::log(r / target)) }
    };
    let step_resolution = resolution.max(1);
    // bracketing needs only the comparison, not the logarithm
    let above = |a: u128| a == 0 || rate(a).is_some_and(|r| r >= target);
    // bracket by doubling steps away from the guess: lo above (rate >= target), hi below
    let mut step = first_step.max(1);
    let (mut lo, mut hi);
    if above(guess) {
        lo = guess;
        loop {
            let Some(next) = lo.checked_add(step) else {
                return lo;
            };
            if above(next) {
                lo = next;
                step = step.saturating_mul(2);
            } else {
                hi = next;
                break;
            }
        }
    } else {
        hi = guess;
        loop {
            let next = hi.saturating_sub(step);
            if above(next) {
                lo = next;
                break;
            }
            hi = next;
            step = step.saturating_mul(2);
        }
    }
    let resolution = step_resolution;
    if hi - lo <= resolution {
        // bracketed within the resolution already (a good guess): no logarithm needed
        return lo;
    }
    let (mut f_lo, mut f_hi) = (f(lo).filter(|v| v.is_finite()), f(hi));
    let mut last_side = 0i8;
    let mut last_width = u128::MAX;
    for _ in 0..200 {
        if hi - lo <= resolution {
            break;
        }
        // a step that did not halve the bracket (flat or kinked rate) is followed by a bisection
        let stalled = (hi - lo) > last_width / 2;
        last_width = hi - lo;
        let mid = match (f_lo, f_hi) {
            (Some(fl), Some(fh)) if !stalled && fh < 0.0 && fl > 0.0 => {
                let t = fl / (fl - fh);
                let m = lo as f64 + (hi - lo) as f64 * t;
                (m as u128).clamp(lo + 1, hi - 1)
            }
            _ => lo + (hi - lo) / 2,
        };
        match f(mid) {
            Some(v) if v >= 0.0 => {
                lo = mid;
                f_lo = Some(v);
                if last_side == 1 {
                    f_hi = f_hi.map(|x| x / 2.0); // Illinois: the stale end is halved
                }
                last_side = 1;
            }
            other => {
                hi = mid;
                f_hi = other;
                if last_side == -1 {
                    f_lo = f_lo.map(|x| x / 2.0);
                }
                last_side = -1;
            }
        }
    }
    lo
}

/// Largest `a` with `ok(a)` (assuming `ok(0)` and a monotone predicate), searching outward from
/// `guess` in steps scaled to the guess so good guesses cost two evaluations.
fn largest_satisfying(guess: u128, ok: impl Fn(u128) -> bool) -> u128 {
    let ok = |a: u128| a == 0 || ok(a);
    let initial_step = (guess >> 40).max(1);
    let (mut lo, mut hi);
    if ok(guess) {
        lo = guess;
        let mut step = initial_step;
        loop {
            let Some(next) = lo.checked_add(step) else {
                return lo;
            };
            if ok(next) {
                lo = next;
                step = step.saturating_mul(2);
            } else {
                hi = next;
                break;
            }
        }
    } else {
        hi = guess;
        let mut step = initial_step;
        loop {
            let next = hi.saturating_sub(step);
            if ok(next) {
                lo = next;
                break;
            }
            hi = next;
            step = step.saturating_mul(2);
        }
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if ok(mid) { lo = mid } else { hi = mid }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_find_the_boundary() {
        for boundary in [0u128, 1, 2, 17, 1 << 40, (1 << 90) + 12345] {
            for guess in [0u128, 1, boundary / 2, boundary, boundary + 1, boundary * 3 + 7] {
                assert_eq!(largest_satisfying(guess, |a| a <= boundary), boundary, "guess {guess}");
                let rate = |a: u128| Some(1.0 / (1.0 + a as f64));
                let target = 1.0 / (1.0 + boundary as f64);
                // exact up to f64's resolution of the rate itself
                let got = solve_rate(guess, guess >> 46, target, rate);
                assert!(got.abs_diff(boundary) <= boundary >> 45, "solve_rate from {guess}: {got} vs {boundary}");
            }
        }
    }
}
