//! A Uniswap v3 pool: slot0, in-range liquidity, initialized ticks with `liquidityNet` and fee
//! growth outside, positions with fee growth inside, and the `UniswapV3Pool.swap` loop.
//!
//! Initialized ticks live in an ordered map instead of the contract's bitmap, but the search
//! `nextInitializedTickWithinOneWord` keeps the bitmap's one-word (256 spacings) horizon: each
//! uninitialized word boundary is a swap step in the contract, and since every step rounds, the
//! step boundaries must match for amounts to agree to the unit. Protocol fees are off
//! (`feeProtocol = 0`) and the oracle accumulators are not kept here; meshsim records prices
//! per block itself.

use std::collections::BTreeMap;

use super::sqrt_price_math::{get_amount0_delta, get_amount1_delta};
use super::swap_math::{AmountRemaining, compute_swap_step};
use super::tick_math::{
    MAX_SQRT_RATIO, MAX_TICK, MIN_SQRT_RATIO, MIN_TICK, get_sqrt_ratio_at_tick, get_tick_at_sqrt_ratio,
};
use super::{add_delta, tick_spacing_to_max_liquidity_per_tick};
use crate::full_math::mul_div;
use crate::{MathError, MathResult, Protocol, U256};

const Q128: U256 = U256::from_limbs([0, 0, 1, 0]);
const MAX_I255: U256 = U256::from_limbs([u64::MAX, u64::MAX, u64::MAX, u64::MAX >> 1]);

const fn revert(reason: &'static str) -> MathError {
    MathError::revert(Protocol::UniswapV3, reason)
}

/// `Tick.Info` without the oracle fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickInfo {
    /// Total position liquidity that references this tick.
    pub liquidity_gross: u128,
    /// Liquidity added (subtracted) when the tick is crossed left to right (right to left).
    pub liquidity_net: i128,
    /// Fee growth per unit of liquidity on the other side of this tick, token0.
    pub fee_growth_outside0_x128: U256,
    /// Same for token1.
    pub fee_growth_outside1_x128: U256,
}

/// A position is owned by a stable id (an agent id in meshsim) and a tick range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PositionKey {
    /// Owner's stable id.
    pub owner: u64,
    /// Lower tick, inclusive.
    pub tick_lower: i32,
    /// Upper tick, exclusive.
    pub tick_upper: i32,
}

/// `Position.Info`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PositionInfo {
    /// The position's liquidity.
    pub liquidity: u128,
    /// Fee growth inside the range at the last update, token0.
    pub fee_growth_inside0_last_x128: U256,
    /// Same for token1.
    pub fee_growth_inside1_last_x128: U256,
    /// Token0 owed to the owner (fees and burned principal), collectable.
    pub tokens_owed0: u128,
    /// Token1 owed to the owner.
    pub tokens_owed1: u128,
}

/// The outcome of a swap, direction-neutral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V3SwapResult {
    /// Total input paid by the trader, fee included.
    pub amount_in: U256,
    /// Output received.
    pub amount_out: U256,
    /// Fee part of `amount_in`.
    pub fee_amount: U256,
    /// Price after the swap.
    pub sqrt_price_x96: U256,
    /// Tick after the swap.
    pub tick: i32,
    /// Initialized ticks crossed.
    pub ticks_crossed: u32,
}

/// What a quote needs of a swap: [`V3SwapResult`] without the final tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V3Quote {
    /// Total input paid by the trader, fee included.
    pub amount_in: U256,
    /// Output received.
    pub amount_out: U256,
    /// Fee part of `amount_in`.
    pub fee_amount: U256,
    /// Price after the swap.
    pub sqrt_price_x96: U256,
    /// Initialized ticks crossed.
    pub ticks_crossed: u32,
}

/// A computed but not yet applied swap.
#[derive(Debug, Clone)]
struct SwapComputation {
    result: V3SwapResult,
    zero_for_one: bool,
    liquidity: u128,
    fee_growth_global_in: U256,
    // (tick, fee growth global of the input token at the moment the tick was crossed)
    crossings: Vec<(i32, U256)>,
}

/// One Uniswap v3 pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Pool {
    fee_pips: u32,
    tick_spacing: i32,
    max_liquidity_per_tick: u128,
    sqrt_price_x96: U256,
    tick: i32,
    liquidity: u128,
    fee_growth_global0_x128: U256,
    fee_growth_global1_x128: U256,
    ticks: BTreeMap<i32, TickInfo>,
    positions: BTreeMap<PositionKey, PositionInfo>,
}

impl V3Pool {
    /// A pool `initialize`d at `sqrt_price_x96`, with no liquidity.
    pub fn new(fee_pips: u32, tick_spacing: i32, sqrt_price_x96: U256) -> MathResult<Self> {
        if fee_pips >= 1_000_000 {
            return Err(MathError::InvalidParameter { name: "fee_pips", detail: format!("{fee_pips} >= 1e6") });
        }
        // UniswapV3Factory.enableFeeAmount: tickSpacing > 0 && tickSpacing < 16384
        if !(1..16_384).contains(&tick_spacing) {
            return Err(MathError::InvalidParameter {
                name: "tick_spacing",
                detail: format!("{tick_spacing} is not in 1..16384"),
            });
        }
        let tick = get_tick_at_sqrt_ratio(sqrt_price_x96)?;
        Ok(V3Pool {
            fee_pips,
            tick_spacing,
            max_liquidity_per_tick: tick_spacing_to_max_liquidity_per_tick(tick_spacing),
            sqrt_price_x96,
            tick,
            liquidity: 0,
            fee_growth_global0_x128: U256::ZERO,
            fee_growth_global1_x128: U256::ZERO,
            ticks: BTreeMap::new(),
            positions: BTreeMap::new(),
        })
    }

    /// Fee in pips.
    pub fn fee_pips(&self) -> u32 {
        self.fee_pips
    }
    /// Tick spacing.
    pub fn tick_spacing(&self) -> i32 {
        self.tick_spacing
    }
    /// Current sqrt price, Q64.96.
    pub fn sqrt_price_x96(&self) -> U256 {
        self.sqrt_price_x96
    }
    /// Current tick.
    pub fn tick(&self) -> i32 {
        self.tick
    }
    /// In-range liquidity.
    pub fn liquidity(&self) -> u128 {
        self.liquidity
    }
    /// Global fee growth per unit liquidity, (token0, token1).
    pub fn fee_growth_global_x128(&self) -> (U256, U256) {
        (self.fee_growth_global0_x128, self.fee_growth_global1_x128)
    }
    /// Initialized ticks in ascending order.
    pub fn ticks(&self) -> impl Iterator<Item = (i32, &TickInfo)> {
        self.ticks.iter().map(|(t, i)| (*t, i))
    }
    /// A position, if it exists.
    pub fn position(&self, key: &PositionKey) -> Option<&PositionInfo> {
        self.positions.get(key)
    }
    /// All positions in key order.
    pub fn positions(&self) -> impl Iterator<Item = (&PositionKey, &PositionInfo)> {
        self.positions.iter()
    }

    fn check_ticks(&self, tick_lower: i32, tick_upper: i32) -> MathResult<()> {
        if tick_lower >= tick_upper {
            return Err(revert("TLU"));
        }
        if tick_lower < MIN_TICK {
            return Err(revert("TLM"));
        }
        if tick_upper > MAX_TICK {
            return Err(revert("TUM"));
        }
        // TickBitmap.flipTick: require(tick % tickSpacing == 0)
        if tick_lower % self.tick_spacing != 0 || tick_upper % self.tick_spacing != 0 {
            return Err(revert("tick not a multiple of tickSpacing"));
        }
        Ok(())
    }

    /// `UniswapV3Pool.mint`: add `amount` liquidity to `owner`'s range. Returns the token amounts
    /// owed to the pool, rounded up.
    pub fn mint(&mut self, owner: u64, tick_lower: i32, tick_upper: i32, amount: u128) -> MathResult<(U256, U256)> {
        if amount == 0 {
            return Err(revert("require(amount > 0)"));
        }
        let delta = i128::try_from(amount).map_err(|_| MathError::Overflow { what: "SafeCast.toInt128" })?;
        self.modify_position(PositionKey { owner, tick_lower, tick_upper }, delta)
    }

    /// `UniswapV3Pool.burn`: remove `amount` liquidity; the principal (rounded down) is credited to
    /// the position's `tokens_owed`. `amount = 0` pokes the position to accrue fees (`NP` if empty).
    pub fn burn(&mut self, owner: u64, tick_lower: i32, tick_upper: i32, amount: u128) -> MathResult<(U256, U256)> {
        let delta = i128::try_from(amount).map_err(|_| MathError::Overflow { what: "SafeCast.toInt128" })?;
        let key = PositionKey { owner, tick_lower, tick_upper };
        let (amount0, amount1) = self.modify_position(key, -delta)?;
        if !amount0.is_zero() || !amount1.is_zero() {
            let position = self.positions.entry(key).or_default();
            // uint128(amount) truncates and the sum wraps in the contract; amounts here fit u128.
            position.tokens_owed0 = position.tokens_owed0.wrapping_add(amount0.wrapping_to::<u128>());
            position.tokens_owed1 = position.tokens_owed1.wrapping_add(amount1.wrapping_to::<u128>());
        }
        Ok((amount0, amount1))
    }

    /// Every position burns `share_ppm` millionths of its liquidity (rounded down) and collects
    /// the principal that frees (fees already owed stay owed). Returns the amounts paid out.
    pub fn remove_share(&mut self, share_ppm: u32) -> MathResult<(u128, u128)> {
        let burns: Vec<(PositionKey, u128)> = self
            .positions
            .iter()
            .map(|(k, p)| crate::share_of(p.liquidity, share_ppm).map(|l| (*k, l)))
            .collect::<MathResult<_>>()?;
        let mut paid = (0u128, 0u128);
        for (key, liquidity) in burns.into_iter().filter(|(_, l)| *l > 0) {
            let (a0, a1) = self.burn(key.owner, key.tick_lower, key.tick_upper, liquidity)?;
            let (a0, a1) = (a0.saturating_to::<u128>(), a1.saturating_to::<u128>());
            let (c0, c1) = self.collect(key.owner, key.tick_lower, key.tick_upper, a0, a1);
            paid = (paid.0 + c0, paid.1 + c1);
        }
        Ok(paid)
    }

    /// `UniswapV3Pool.collect`: pay out up to the requested owed amounts.
    pub fn collect(
        &mut self,
        owner: u64,
        tick_lower: i32,
        tick_upper: i32,
        request0: u128,
        request1: u128,
    ) -> (u128, u128) {
        let key = PositionKey { owner, tick_lower, tick_upper };
        let Some(position) = self.positions.get_mut(&key) else {
            return (0, 0);
        };
        let amount0 = request0.min(position.tokens_owed0);
        let amount1 = request1.min(position.tokens_owed1);
        position.tokens_owed0 -= amount0;
        position.tokens_owed1 -= amount1;
        if position.liquidity == 0 && position.tokens_owed0 == 0 && position.tokens_owed1 == 0 {
            // nothing left to track; keeps long runs' maps small
            self.positions.remove(&key);
        }
        (amount0, amount1)
    }

    fn fee_growth_inside(&self, lower: (i32, &TickInfo), upper: (i32, &TickInfo)) -> (U256, U256) {
        let (g0, g1) = (self.fee_growth_global0_x128, self.fee_growth_global1_x128);
        // calculate fee growth below
        let (below0, below1) = if self.tick >= lower.0 {
            (lower.1.fee_growth_outside0_x128, lower.1.fee_growth_outside1_x128)
        } else {
            (g0.wrapping_sub(lower.1.fee_growth_outside0_x128), g1.wrapping_sub(lower.1.fee_growth_outside1_x128))
        };
        // calculate fee growth above
        let (above0, above1) = if self.tick < upper.0 {
            (upper.1.fee_growth_outside0_x128, upper.1.fee_growth_outside1_x128)
        } else {
            (g0.wrapping_sub(upper.1.fee_growth_outside0_x128), g1.wrapping_sub(upper.1.fee_growth_outside1_x128))
        };
        (g0.wrapping_sub(below0).wrapping_sub(above0), g1.wrapping_sub(below1).wrapping_sub(above1))
    }

    /// `Tick.update` on a copy: returns the new info (the caller commits it).
    fn updated_tick(&self, tick: i32, delta: i128, upper: bool) -> MathResult<TickInfo> {
        let mut info = self.ticks.get(&tick).cloned().unwrap_or_default();
        let gross_before = info.liquidity_gross;
        let gross_after = add_delta(gross_before, delta)?;
        if gross_after > self.max_liquidity_per_tick {
            return Err(revert("LO"));
        }
        if gross_before == 0 && tick <= self.tick {
            // by convention, we assume that all growth before a tick was initialized happened _below_ the tick
            info.fee_growth_outside0_x128 = self.fee_growth_global0_x128;
            info.fee_growth_outside1_x128 = self.fee_growth_global1_x128;
        }
        info.liquidity_gross = gross_after;
        // when the lower (upper) tick is crossed left to right (right to left), liquidity must be added (removed)
        info.liquidity_net =
            if upper { info.liquidity_net.checked_sub(delta) } else { info.liquidity_net.checked_add(delta) }
                .ok_or(MathError::Overflow { what: "Tick.update liquidityNet" })?;
        Ok(info)
    }

    /// `_modifyPosition` + `_updatePosition`, all-or-nothing like the transaction: every check and
    /// amount is computed before anything is written.
    fn modify_position(&mut self, key: PositionKey, delta: i128) -> MathResult<(U256, U256)> {
        self.check_ticks(key.tick_lower, key.tick_upper)?;
        let (lower, upper) = if delta != 0 {
            (self.updated_tick(key.tick_lower, delta, false)?, self.updated_tick(key.tick_upper, delta, true)?)
        } else {
            (
                self.ticks.get(&key.tick_lower).cloned().unwrap_or_default(),
                self.ticks.get(&key.tick_upper).cloned().unwrap_or_default(),
            )
        };
        let (inside0, inside1) = self.fee_growth_inside((key.tick_lower, &lower), (key.tick_upper, &upper));

        // Position.update
        let mut position = self.positions.get(&key).cloned().unwrap_or_default();
        let liquidity_next = if delta == 0 {
            if position.liquidity == 0 {
                return Err(revert("NP")); // disallow pokes for 0 liquidity positions
            }
            position.liquidity
        } else {
            add_delta(position.liquidity, delta)?
        };
        let owed0 =
            mul_div(inside0.wrapping_sub(position.fee_growth_inside0_last_x128), U256::from(position.liquidity), Q128)?;
        let owed1 =
            mul_div(inside1.wrapping_sub(position.fee_growth_inside1_last_x128), U256::from(position.liquidity), Q128)?;
        if delta != 0 {
            position.liquidity = liquidity_next;
        }
        position.fee_growth_inside0_last_x128 = inside0;
        position.fee_growth_inside1_last_x128 = inside1;
        // overflow is acceptable, have to withdraw before you hit type(uint128).max fees
        position.tokens_owed0 = position.tokens_owed0.wrapping_add(owed0.wrapping_to::<u128>());
        position.tokens_owed1 = position.tokens_owed1.wrapping_add(owed1.wrapping_to::<u128>());

        // token amounts for the liquidity change
        let sqrt_a = get_sqrt_ratio_at_tick(key.tick_lower)?;
        let sqrt_b = get_sqrt_ratio_at_tick(key.tick_upper)?;
        let (l, round_up) = (delta.unsigned_abs(), delta > 0);
        let mut amounts = (U256::ZERO, U256::ZERO);
        let mut new_liquidity = self.liquidity;
        if delta != 0 {
            if self.tick < key.tick_lower {
                // below the range: only token0 is needed (it becomes more valuable as price rises into range)
                amounts.0 = get_amount0_delta(sqrt_a, sqrt_b, l, round_up)?;
            } else if self.tick < key.tick_upper {
                amounts.0 = get_amount0_delta(self.sqrt_price_x96, sqrt_b, l, round_up)?;
                amounts.1 = get_amount1_delta(sqrt_a, self.sqrt_price_x96, l, round_up)?;
                new_liquidity = add_delta(self.liquidity, delta)?;
            } else {
                amounts.1 = get_amount1_delta(sqrt_a, sqrt_b, l, round_up)?;
            }
        }

        // commit
        if delta != 0 {
            for (tick, info) in [(key.tick_lower, lower), (key.tick_upper, upper)] {
                if info.liquidity_gross == 0 {
                    self.ticks.remove(&tick);
                } else {
                    self.ticks.insert(tick, info);
                }
            }
        }
        self.positions.insert(key, position);
        self.liquidity = new_liquidity;
        Ok(amounts)
    }

    /// `TickBitmap.nextInitializedTickWithinOneWord`, on the ordered map.
    fn next_initialized_tick_within_one_word(&self, tick: i32, lte: bool) -> (i32, bool) {
        let spacing = self.tick_spacing;
        // round towards negative infinity
        let compressed = tick.div_euclid(spacing);
        if lte {
            let word_start = (compressed >> 8) << 8;
            match self.ticks.range(word_start * spacing..=compressed * spacing).next_back() {
                Some((t, _)) => (*t, true),
                None => (word_start * spacing, false),
            }
        } else {
            let next = compressed + 1;
            let word_end = ((next >> 8) << 8) + 255;
            match self.ticks.range(next * spacing..=word_end * spacing).next() {
                Some((t, _)) => (*t, true),
                None => (word_end * spacing, false),
            }
        }
    }

    /// The nearest initialized tick in the direction, however far (`MIN_TICK`/`MAX_TICK` if none).
    fn next_initialized_tick_unbounded(&self, tick: i32, lte: bool) -> (i32, bool) {
        let compressed = tick.div_euclid(self.tick_spacing);
        if lte {
            match self.ticks.range(..=compressed * self.tick_spacing).next_back() {
                Some((t, _)) => (*t, true),
                None => (MIN_TICK, false),
            }
        } else {
            match self.ticks.range((compressed + 1) * self.tick_spacing..).next() {
                Some((t, _)) => (*t, true),
                None => (MAX_TICK, false),
            }
        }
    }

    /// f64 model of a trade to a price: the input (fee included) that moves the pool's sqrt price
    /// to `target_sqrt` (same units as `sqrt_price_x96 / 2^96`), walking the initialized ticks in
    /// between with their liquidity and no rounding; zero if the price is already there. A
    /// screen and a seed for the exact walk, within a few parts in 1e12 of it. Also whether the
    /// walk stayed in one liquidity range (crossed no initialized tick).
    pub fn input_to_sqrt_price_estimate(&self, zero_for_one: bool, target_sqrt: f64) -> (f64, bool) {
        const Q96: f64 = 79_228_162_514_264_337_593_543_950_336.0;
        // sqrt(1.0001^t), within parts in 1e14 of getSqrtRatioAtTick over the whole tick range
        let sqrt_at = |t: i32| libm::exp(f64::from(t) * (0.5 * libm::log(1.0001)));
        let mut s = crate::u256_to_f64(self.sqrt_price_x96) / Q96;
        let mut liquidity = self.liquidity as f64;
        let mut tick = self.tick;
        let mut net_in = 0.0;
        let mut one_range = true;
        loop {
            let moving = if zero_for_one { s > target_sqrt } else { s < target_sqrt };
            if !moving {
                break;
            }
            let (next, initialized) = self.next_initialized_tick_unbounded(tick, zero_for_one);
            let s_next = sqrt_at(next.clamp(MIN_TICK, MAX_TICK));
            let end = if zero_for_one { s_next.max(target_sqrt) } else { s_next.min(target_sqrt) };
            // token0 in moves 1/sqrt(P) up by amount / L; token1 in moves sqrt(P) up by amount / L
            net_in += liquidity * if zero_for_one { 1.0 / end - 1.0 / s } else { end - s };
            if end != s_next || !initialized {
                break; // reached the target, or no liquidity left beyond the last tick
            }
            let delta = self.ticks.get(&next).map_or(0, |t| t.liquidity_net) as f64;
            liquidity += if zero_for_one { -delta } else { delta };
            one_range = false;
            s = s_next;
            tick = if zero_for_one { next - 1 } else { next };
        }
        (net_in / (1.0 - f64::from(self.fee_pips) / 1e6), one_range)
    }

    /// A tick the bitmap walk steps onto when moving down: the first tick of a 256-spacing word.
    fn is_word_start(&self, tick: i32) -> bool {
        tick % self.tick_spacing == 0 && (tick / self.tick_spacing).rem_euclid(256) == 0
    }

    fn compute_swap(
        &self,
        zero_for_one: bool,
        amount: AmountRemaining,
        sqrt_price_limit_x96: U256,
        final_tick: bool,
    ) -> MathResult<SwapComputation> {
        self.compute_swap_walk(zero_for_one, amount, sqrt_price_limit_x96, true, final_tick)
    }

    /// The swap loop. The tick of a step that stops short of its next tick is recomputed only
    /// when another step follows or `final_tick` asks for it (otherwise `result.tick` is stale):
    /// such a step normally ends the swap (it used the whole amount or reached the limit), so its
    /// tick matters only to the pool's new state, and `getTickAtSqrtRatio` is the costliest part
    /// of a quote that crosses nothing.
    fn compute_swap_walk(
        &self,
        zero_for_one: bool,
        amount: AmountRemaining,
        sqrt_price_limit_x96: U256,
        jump_empty: bool,
        final_tick: bool,
    ) -> MathResult<SwapComputation> {
        let (exact_in, specified) = match amount {
            AmountRemaining::ExactIn(a) => (true, a),
            AmountRemaining::ExactOut(a) => (false, a),
        };
        if specified.is_zero() {
            return Err(revert("AS"));
        }
        if specified > MAX_I255 {
            return Err(MathError::Overflow { what: "UniswapV3Pool.swap amountSpecified (int256)" });
        }
        let limit_ok = if zero_for_one {
            sqrt_price_limit_x96 < self.sqrt_price_x96 && sqrt_price_limit_x96 > MIN_SQRT_RATIO
        } else {
            sqrt_price_limit_x96 > self.sqrt_price_x96 && sqrt_price_limit_x96 < MAX_SQRT_RATIO
        };
        if !limit_ok {
            return Err(revert("SPL"));
        }

        let mut remaining = specified;
        let mut calculated = U256::ZERO;
        let mut fee_total = U256::ZERO;
        let mut sqrt_price = self.sqrt_price_x96;
        let mut tick = self.tick;
        let mut liquidity = self.liquidity;
        let mut fee_growth = if zero_for_one { self.fee_growth_global0_x128 } else { self.fee_growth_global1_x128 };
        let mut crossings = Vec::new();
        let overflow = MathError::Overflow { what: "UniswapV3Pool.swap amounts" };
        // the price moved inside a tick range and `tick` has not been recomputed from it yet
        let mut tick_stale = false;
        let resolve_tick = |sqrt_price: U256, liquidity: u128| -> MathResult<i32> {
            let mut tick = get_tick_at_sqrt_ratio(sqrt_price)?;
            if jump_empty
                && liquidity == 0
                && zero_for_one
                && self.is_word_start(tick)
                && get_sqrt_ratio_at_tick(tick)? == sqrt_price
            {
                // the walk would have stopped exactly on this word boundary and stepped below it
                tick -= 1;
            }
            Ok(tick)
        };

        // continue swapping as long as we haven't used the entire input/output and haven't reached the price limit
        while !remaining.is_zero() && sqrt_price != sqrt_price_limit_x96 {
            if tick_stale {
                // a short step that did not end the swap: the next step starts from its tick
                tick = resolve_tick(sqrt_price, liquidity)?;
                tick_stale = false;
            }
            let step_start = sqrt_price;
            // Without liquidity every step is free (zero amounts, zero fee) and only moves the
            // price, so the contract's word-by-word walk through empty ticks ends in the same state
            // as one jump to the next initialized tick; the jump keeps sparse pools fast.
            let (next, initialized) = if jump_empty && liquidity == 0 {
                self.next_initialized_tick_unbounded(tick, zero_for_one)
            } else {
                self.next_initialized_tick_within_one_word(tick, zero_for_one)
            };
            // ensure that we do not overshoot the min/max tick, as the tick bitmap is not aware of these bounds
            let tick_next = next.clamp(MIN_TICK, MAX_TICK);
            let sqrt_next = get_sqrt_ratio_at_tick(tick_next)?;
            let target = if (zero_for_one && sqrt_next < sqrt_price_limit_x96)
                || (!zero_for_one && sqrt_next > sqrt_price_limit_x96)
            {
                sqrt_price_limit_x96
            } else {
                sqrt_next
            };
            let step_remaining =
                if exact_in { AmountRemaining::ExactIn(remaining) } else { AmountRemaining::ExactOut(remaining) };
            let step = compute_swap_step(sqrt_price, target, liquidity, step_remaining, self.fee_pips)?;
            sqrt_price = step.sqrt_next_x96;
            let paid = step.amount_in.checked_add(step.fee_amount).ok_or(overflow.clone())?;
            if exact_in {
                remaining = remaining.checked_sub(paid).ok_or(overflow.clone())?;
                calculated = calculated.checked_add(step.amount_out).ok_or(overflow.clone())?;
            } else {
                remaining = remaining.checked_sub(step.amount_out).ok_or(overflow.clone())?;
                calculated = calculated.checked_add(paid).ok_or(overflow.clone())?;
            }
            fee_total += step.fee_amount;
            // update global fee tracker
            if liquidity > 0 {
                fee_growth = fee_growth.wrapping_add(mul_div(step.fee_amount, Q128, U256::from(liquidity))?);
            }
            // shift tick if we reached the next price
            if sqrt_price == sqrt_next {
                if initialized {
                    crossings.push((tick_next, fee_growth));
                    let net = self.ticks.get(&tick_next).map_or(0, |t| t.liquidity_net);
                    // if we're moving leftward, we interpret liquidityNet as the opposite sign
                    liquidity = add_delta(liquidity, if zero_for_one { -net } else { net })?;
                }
                tick = if zero_for_one { tick_next - 1 } else { tick_next };
            } else if sqrt_price != step_start {
                // recompute unless we're on a lower tick boundary (i.e. already transitioned ticks), and haven't moved
                tick_stale = true;
            }
        }
        if tick_stale && final_tick {
            tick = resolve_tick(sqrt_price, liquidity)?;
        }

        let (amount_in, amount_out) =
            if exact_in { (specified - remaining, calculated) } else { (calculated, specified - remaining) };
        Ok(SwapComputation {
            result: V3SwapResult {
                amount_in,
                amount_out,
                fee_amount: fee_total,
                sqrt_price_x96: sqrt_price,
                tick,
                ticks_crossed: crossings.len() as u32,
            },
            zero_for_one,
            liquidity,
            fee_growth_global_in: fee_growth,
            crossings,
        })
    }

    /// Quote `UniswapV3Pool.swap` without changing the pool.
    pub fn quote_swap(
        &self,
        zero_for_one: bool,
        amount: AmountRemaining,
        sqrt_price_limit_x96: U256,
    ) -> MathResult<V3SwapResult> {
        Ok(self.compute_swap(zero_for_one, amount, sqrt_price_limit_x96, true)?.result)
    }

    /// [`V3Pool::quote_swap`] without the tick the swap ends in: the same amounts, price and
    /// crossings, for what-if pricing that never applies the result.
    pub fn quote_swap_amounts(
        &self,
        zero_for_one: bool,
        amount: AmountRemaining,
        sqrt_price_limit_x96: U256,
    ) -> MathResult<V3Quote> {
        let r = self.compute_swap(zero_for_one, amount, sqrt_price_limit_x96, false)?.result;
        Ok(V3Quote {
            amount_in: r.amount_in,
            amount_out: r.amount_out,
            fee_amount: r.fee_amount,
            sqrt_price_x96: r.sqrt_price_x96,
            ticks_crossed: r.ticks_crossed,
        })
    }

    /// `UniswapV3Pool.swap`: swaps until the amount is used or the price limit is reached (a
    /// partial fill then, as on chain). Returns what was paid and received.
    pub fn swap(
        &mut self,
        zero_for_one: bool,
        amount: AmountRemaining,
        sqrt_price_limit_x96: U256,
    ) -> MathResult<V3SwapResult> {
        let c = self.compute_swap(zero_for_one, amount, sqrt_price_limit_x96, true)?;
        let (g0, g1) = (self.fee_growth_global0_x128, self.fee_growth_global1_x128);
        for (tick, fee_growth_in) in &c.crossings {
            if let Some(info) = self.ticks.get_mut(tick) {
                // Tick.cross: flip the outside accumulators
                let (in0, in1) = if c.zero_for_one { (*fee_growth_in, g1) } else { (g0, *fee_growth_in) };
                info.fee_growth_outside0_x128 = in0.wrapping_sub(info.fee_growth_outside0_x128);
                info.fee_growth_outside1_x128 = in1.wrapping_sub(info.fee_growth_outside1_x128);
            }
        }
        self.sqrt_price_x96 = c.result.sqrt_price_x96;
        self.tick = c.result.tick;
        self.liquidity = c.liquidity;
        if c.zero_for_one {
            self.fee_growth_global0_x128 = c.fee_growth_global_in;
        } else {
            self.fee_growth_global1_x128 = c.fee_growth_global_in;
        }
        Ok(c.result)
    }

    /// The token amounts the pool holds for all positions at the current price (principal only,
    /// rounded down), plus nothing for fees: a lower bound of what the pool's balances must cover.
    pub fn principal_amounts(&self) -> MathResult<(U256, U256)> {
        let mut total = (U256::ZERO, U256::ZERO);
        for (key, pos) in &self.positions {
            let (a0, a1) = amounts_for_liquidity(
                self.sqrt_price_x96,
                get_sqrt_ratio_at_tick(key.tick_lower)?,
                get_sqrt_ratio_at_tick(key.tick_upper)?,
                pos.liquidity,
            )?;
            total = (total.0 + a0, total.1 + a1);
        }
        Ok(total)
    }
}

/// `LiquidityAmounts.getAmountsForLiquidity` (v3-periphery): token amounts of `liquidity` in the
/// range `[sqrt_a, sqrt_b]` at price `sqrt_price`, rounded down.
pub fn amounts_for_liquidity(
    sqrt_price: U256,
    sqrt_a: U256,
    sqrt_b: U256,
    liquidity: u128,
) -> MathResult<(U256, U256)> {
    let (a, b) = if sqrt_a > sqrt_b { (sqrt_b, sqrt_a) } else { (sqrt_a, sqrt_b) };
    Ok(if sqrt_price <= a {
        (get_amount0_delta(a, b, liquidity, false)?, U256::ZERO)
    } else if sqrt_price < b {
        (get_amount0_delta(sqrt_price, b, liquidity, false)?, get_amount1_delta(a, sqrt_price, liquidity, false)?)
    } else {
        (U256::ZERO, get_amount1_delta(a, b, liquidity, false)?)
    })
}

/// `LiquidityAmounts.getLiquidityForAmounts` (v3-periphery): the most liquidity that `amount0` and
/// `amount1` can mint in `[sqrt_a, sqrt_b]` at `sqrt_price`, rounded down.
pub fn liquidity_for_amounts(
    sqrt_price: U256,
    sqrt_a: U256,
    sqrt_b: U256,
    amount0: u128,
    amount1: u128,
) -> MathResult<u128> {
    use super::sqrt_price_math::Q96;
    let (a, b) = if sqrt_a > sqrt_b { (sqrt_b, sqrt_a) } else { (sqrt_a, sqrt_b) };
    if a == b {
        return Err(revert("empty range"));
    }
    let for0 = |lo: U256, hi: U256| -> MathResult<U256> {
        let intermediate = mul_div(lo, hi, Q96)?;
        mul_div(U256::from(amount0), intermediate, hi - lo)
    };
    let for1 = |lo: U256, hi: U256| mul_div(U256::from(amount1), Q96, hi - lo);
    let l = if sqrt_price <= a {
        for0(a, b)?
    } else if sqrt_price < b {
        for0(sqrt_price, b)?.min(for1(a, sqrt_price)?)
    } else {
        for1(a, b)?
    };
    u128::try_from(l).map_err(|_| MathError::Overflow { what: "LiquidityAmounts.toUint128" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Jumping over empty ticks ends exactly where the contract's word-by-word walk ends,
        /// including price limits that land on word boundaries.
        #[test]
        fn jumping_empty_space_equals_walking_it(
            spacing in prop::sample::select(vec![1, 10, 60]),
            ranges in prop::collection::vec((-30_000i32..30_000, 1i32..3_000, 1u128 << 40..1u128 << 70), 1..4),
            zero_for_one in any::<bool>(), exact_in in any::<bool>(), amount in 1u128..1u128 << 80,
            limit_tick in -60_000i32..60_000, on_boundary in any::<bool>(),
        ) {
            let mut pool = V3Pool::new(3000, spacing, get_sqrt_ratio_at_tick(0).unwrap()).unwrap();
            for (k, (lo, w, l)) in ranges.iter().enumerate() {
                let (lo, hi) = (lo / spacing * spacing, (lo + w) / spacing * spacing);
                if lo < hi {
                    let _ = pool.mint(k as u64, lo, hi, *l);
                }
            }
            let limit_tick = if on_boundary { (limit_tick / (256 * spacing)) * 256 * spacing } else { limit_tick };
            let limit = get_sqrt_ratio_at_tick(limit_tick).unwrap();
            let amount = if exact_in { AmountRemaining::ExactIn(U256::from(amount)) } else { AmountRemaining::ExactOut(U256::from(amount)) };
            let jump = pool.compute_swap_walk(zero_for_one, amount, limit, true, true);
            let walk = pool.compute_swap_walk(zero_for_one, amount, limit, false, true);
            match (jump, walk) {
                (Ok(a), Ok(b)) => {
                    prop_assert_eq!(a.result, b.result);
                    prop_assert_eq!(a.liquidity, b.liquidity);
                    prop_assert_eq!(a.fee_growth_global_in, b.fee_growth_global_in);
                    prop_assert_eq!(a.crossings, b.crossings);
                }
                (Err(a), Err(b)) => prop_assert_eq!(a, b),
                (a, b) => prop_assert!(false, "jump {:?} vs walk {:?}", a, b),
            }
        }
    }
}
