//! Uniswap v2: `UniswapV2Library` (getAmountOut, getAmountIn, quote) and the `UniswapV2Pair`
//! swap / mint / burn with the K check and `MINIMUM_LIQUIDITY`.
//!
//! The fee is a parameter in pips (1e-6); v2's 30 bp is [`V2_DEFAULT_FEE_PIPS`]. With 3000 pips the
//! formulas reduce exactly to the contract's `997/1000` (numerator and denominator both scale by
//! 1000, so every floor is the same). Protocol fee minting (`feeTo`) is off, as on most forks.

use crate::full_math::isqrt;
use crate::{MathError, MathResult, Protocol, U256, U512};

/// v2's swap fee, 0.30 %, in pips.
pub const V2_DEFAULT_FEE_PIPS: u32 = 3_000;
/// One in pips.
pub const PIPS: u32 = 1_000_000;
/// Liquidity locked forever at the first mint (`UniswapV2Pair.MINIMUM_LIQUIDITY`).
pub const MINIMUM_LIQUIDITY: u128 = 1_000;
/// Reserves are `uint112` in the pair.
pub const MAX_RESERVE: u128 = (1u128 << 112) - 1;

const fn revert(reason: &'static str) -> MathError {
    MathError::revert(Protocol::UniswapV2, reason)
}

fn check_fee(fee_pips: u32) -> MathResult<()> {
    if fee_pips >= PIPS {
        return Err(MathError::InvalidParameter {
            name: "fee_pips",
            detail: format!("{fee_pips} is not below 1_000_000 (100 %)"),
        });
    }
    Ok(())
}

/// `UniswapV2Library.getAmountOut`: the output for an exact input, rounded down.
#[inline]
pub fn get_amount_out(amount_in: u128, reserve_in: u128, reserve_out: u128, fee_pips: u32) -> MathResult<u128> {
    if amount_in == 0 {
        return Err(revert("UniswapV2Library: INSUFFICIENT_INPUT_AMOUNT"));
    }
    if reserve_in == 0 || reserve_out == 0 {
        return Err(revert("UniswapV2Library: INSUFFICIENT_LIQUIDITY"));
    }
    check_fee(fee_pips)?;
    // Fast path: the same integers in u128 where the amount with fee and the denominator fit
    // (every realistic pair); the product with the reserve may not, and mul_div_u128 divides its
    // 256-bit value exactly.
    let g = u128::from(PIPS - fee_pips);
    if let Some(with_fee) = amount_in.checked_mul(g)
        && let Some(denominator) = reserve_in.checked_mul(u128::from(PIPS)).and_then(|d| d.checked_add(with_fee))
        && let Some(out) = crate::full_math::mul_div_u128(with_fee, reserve_out, denominator)
    {
        return Ok(out);
    }
    let amount_in_with_fee = U256::from(amount_in) * U256::from(PIPS - fee_pips);
    let numerator = amount_in_with_fee * U256::from(reserve_out);
    let denominator = U256::from(reserve_in) * U256::from(PIPS) + amount_in_with_fee;
    // numerator / denominator < reserve_out, so it fits u128.
    Ok((numerator / denominator).to::<u128>())
}

/// `UniswapV2Library.getAmountIn`: the input needed for an exact output, rounded up (`+ 1`).
#[inline]
pub fn get_amount_in(amount_out: u128, reserve_in: u128, reserve_out: u128, fee_pips: u32) -> MathResult<u128> {
    if amount_out == 0 {
        return Err(revert("UniswapV2Library: INSUFFICIENT_OUTPUT_AMOUNT"));
    }
    if reserve_in == 0 || reserve_out == 0 {
        return Err(revert("UniswapV2Library: INSUFFICIENT_LIQUIDITY"));
    }
    check_fee(fee_pips)?;
    if amount_out >= reserve_out {
        // reserveOut.sub(amountOut) underflows (or the division is by zero) in the library.
        return Err(revert("ds-math-sub-underflow"));
    }
    let numerator = U256::from(reserve_in) * U256::from(amount_out) * U256::from(PIPS);
    let denominator = U256::from(reserve_out - amount_out) * U256::from(PIPS - fee_pips);
    let amount_in = numerator / denominator + U256::ONE;
    u128::try_from(amount_in).map_err(|_| MathError::Overflow { what: "UniswapV2Library.getAmountIn" })
}

/// `UniswapV2Library.quote`: the equivalent amount at the current ratio, rounded down.
pub fn quote(amount_a: u128, reserve_a: u128, reserve_b: u128) -> MathResult<u128> {
    if amount_a == 0 {
        return Err(revert("UniswapV2Library: INSUFFICIENT_AMOUNT"));
    }
    if reserve_a == 0 || reserve_b == 0 {
        return Err(revert("UniswapV2Library: INSUFFICIENT_LIQUIDITY"));
    }
    let b = U256::from(amount_a) * U256::from(reserve_b) / U256::from(reserve_a);
    u128::try_from(b).map_err(|_| MathError::Overflow { what: "UniswapV2Library.quote" })
}

/// The state of one `UniswapV2Pair`: reserves, LP supply and the fee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Pair {
    /// Reserve of token0, base units.
    pub reserve0: u128,
    /// Reserve of token1, base units.
    pub reserve1: u128,
    /// LP tokens in existence, including the locked `MINIMUM_LIQUIDITY`.
    pub total_supply: u128,
    /// Swap fee in pips (3000 = v2's 0.30 %).
    pub fee_pips: u32,
}

impl V2Pair {
    /// An empty pair (no liquidity yet).
    pub fn empty(fee_pips: u32) -> MathResult<Self> {
        check_fee(fee_pips)?;
        Ok(V2Pair { reserve0: 0, reserve1: 0, total_supply: 0, fee_pips })
    }

    /// A pair seeded by a first mint of `amount0` / `amount1`; the minter's LP balance is
    /// `total_supply - MINIMUM_LIQUIDITY`.
    pub fn seeded(amount0: u128, amount1: u128, fee_pips: u32) -> MathResult<Self> {
        let mut pair = Self::empty(fee_pips)?;
        pair.mint(amount0, amount1)?;
        Ok(pair)
    }

    /// `UniswapV2Pair.mint` after the caller has sent `amount0`/`amount1`: returns the liquidity
    /// minted to the caller. The first mint locks `MINIMUM_LIQUIDITY` (counted in `total_supply`).
    pub fn mint(&mut self, amount0: u128, amount1: u128) -> MathResult<u128> {
        let balance0 = checked_reserve(self.reserve0, amount0)?;
        let balance1 = checked_reserve(self.reserve1, amount1)?;
        let liquidity = if self.total_supply == 0 {
            let root = isqrt(U256::from(amount0) * U256::from(amount1)).to::<u128>();
            if root <= MINIMUM_LIQUIDITY {
                return Err(revert("UniswapV2: INSUFFICIENT_LIQUIDITY_MINTED"));
            }
            self.total_supply = MINIMUM_LIQUIDITY;
            root - MINIMUM_LIQUIDITY
        } else {
            let ts = U256::from(self.total_supply);
            let l0 = U256::from(amount0) * ts / U256::from(self.reserve0);
            let l1 = U256::from(amount1) * ts / U256::from(self.reserve1);
            u128::try_from(l0.min(l1)).map_err(|_| MathError::Overflow { what: "UniswapV2Pair.mint" })?
        };
        if liquidity == 0 {
            return Err(revert("UniswapV2: INSUFFICIENT_LIQUIDITY_MINTED"));
        }
        self.total_supply = self
            .total_supply
            .checked_add(liquidity)
            .ok_or(MathError::Overflow { what: "UniswapV2Pair.totalSupply" })?;
        self.reserve0 = balance0;
        self.reserve1 = balance1;
        Ok(liquidity)
    }

    /// `UniswapV2Pair.burn` of `liquidity` LP tokens: returns `(amount0, amount1)` paid out, each
    /// rounded down (pro rata of the balances).
    pub fn burn(&mut self, liquidity: u128) -> MathResult<(u128, u128)> {
        if liquidity > self.total_supply.saturating_sub(MINIMUM_LIQUIDITY) {
            return Err(revert("ds-math-sub-underflow"));
        }
        let ts = U256::from(self.total_supply);
        let amount0 = (U256::from(liquidity) * U256::from(self.reserve0) / ts).to::<u128>();
        let amount1 = (U256::from(liquidity) * U256::from(self.reserve1) / ts).to::<u128>();
        if amount0 == 0 || amount1 == 0 {
            return Err(revert("UniswapV2: INSUFFICIENT_LIQUIDITY_BURNED"));
        }
        self.total_supply -= liquidity;
        self.reserve0 -= amount0;
        self.reserve1 -= amount1;
        Ok((amount0, amount1))
    }

    /// The LPs burn `share_ppm` millionths of their LP tokens (the locked `MINIMUM_LIQUIDITY`
    /// excluded), rounded down. Returns what `burn` pays out (nothing if that rounds to zero).
    pub fn remove_share(&mut self, share_ppm: u32) -> MathResult<(u128, u128)> {
        let liquidity = crate::share_of(self.total_supply.saturating_sub(MINIMUM_LIQUIDITY), share_ppm)?;
        if liquidity == 0 {
            return Ok((0, 0));
        }
        self.burn(liquidity)
    }

    /// The low-level `UniswapV2Pair.swap`: the caller has sent `amount0_in` / `amount1_in` and asks
    /// for `amount0_out` / `amount1_out`; the K check (fee on the input) decides.
    pub fn swap(&mut self, amount0_out: u128, amount1_out: u128, amount0_in: u128, amount1_in: u128) -> MathResult<()> {
        self.swap_checked(amount0_out, amount1_out, amount0_in, amount1_in, true)
    }

    /// The pair's `swap`, with the K check optional: callers that priced the output with
    /// `getAmountOut` on these reserves skip it, because that output satisfies K by construction
    /// (it is the floor of the largest output the invariant allows; property-tested). Debug builds
    /// check it anyway.
    fn swap_checked(
        &mut self,
        amount0_out: u128,
        amount1_out: u128,
        amount0_in: u128,
        amount1_in: u128,
        check_k: bool,
    ) -> MathResult<()> {
        if amount0_out == 0 && amount1_out == 0 {
            return Err(revert("UniswapV2: INSUFFICIENT_OUTPUT_AMOUNT"));
        }
        if amount0_out >= self.reserve0 || amount1_out >= self.reserve1 {
            return Err(revert("UniswapV2: INSUFFICIENT_LIQUIDITY"));
        }
        let (Some(gross0), Some(gross1)) =
            (self.reserve0.checked_add(amount0_in), self.reserve1.checked_add(amount1_in))
        else {
            return Err(revert("UniswapV2: OVERFLOW"));
        };
        let (balance0, balance1) = (gross0 - amount0_out, gross1 - amount1_out);
        if amount0_in == 0 && amount1_in == 0 {
            return Err(revert("UniswapV2: INSUFFICIENT_INPUT_AMOUNT"));
        }
        let k =
            || k_holds((balance0, amount0_in), (balance1, amount1_in), (self.reserve0, self.reserve1), self.fee_pips);
        if check_k && !k() {
            return Err(revert("UniswapV2: K"));
        }
        debug_assert!(check_k || k(), "a getAmountOut output broke K");
        if balance0 > MAX_RESERVE || balance1 > MAX_RESERVE {
            return Err(revert("UniswapV2: OVERFLOW"));
        }
        self.reserve0 = balance0;
        self.reserve1 = balance1;
        Ok(())
    }

    /// Reserves as (in, out) for a direction.
    #[inline]
    pub fn reserves(&self, zero_for_one: bool) -> (u128, u128) {
        if zero_for_one { (self.reserve0, self.reserve1) } else { (self.reserve1, self.reserve0) }
    }

    /// Router-style exact-input swap: `getAmountOut` then the pair swap. Returns the output.
    pub fn swap_exact_in(&mut self, zero_for_one: bool, amount_in: u128) -> MathResult<u128> {
        let (r_in, r_out) = self.reserves(zero_for_one);
        let out = get_amount_out(amount_in, r_in, r_out, self.fee_pips)?;
        self.apply_exact_in(zero_for_one, amount_in, out)?;
        Ok(out)
    }

    /// Applies an exact-input swap already priced: `amount_out` must be `getAmountOut(amount_in)`
    /// on the current reserves (what [`get_amount_out`] or a quote returned), so the pair's K check
    /// holds by construction and is skipped; every other check of the pair runs.
    pub fn apply_exact_in(&mut self, zero_for_one: bool, amount_in: u128, amount_out: u128) -> MathResult<()> {
        debug_assert_eq!(
            {
                let (r_in, r_out) = self.reserves(zero_for_one);
                get_amount_out(amount_in, r_in, r_out, self.fee_pips).ok()
            },
            Some(amount_out),
            "apply_exact_in takes getAmountOut's output on the current reserves"
        );
        if zero_for_one {
            self.swap_checked(0, amount_out, amount_in, 0, false)
        } else {
            self.swap_checked(amount_out, 0, 0, amount_in, false)
        }
    }

    /// Router-style exact-output swap: `getAmountIn` then the pair swap. Returns the input paid.
    pub fn swap_exact_out(&mut self, zero_for_one: bool, amount_out: u128) -> MathResult<u128> {
        let (r_in, r_out) = self.reserves(zero_for_one);
        let amount_in = get_amount_in(amount_out, r_in, r_out, self.fee_pips)?;
        if zero_for_one {
            self.swap(0, amount_out, amount_in, 0)?
        } else {
            self.swap(amount_out, 0, 0, amount_in)?
        }
        Ok(amount_in)
    }

    /// The profit-maximising input against an external price `target_out_per_in`: the size at
    /// which the trade's marginal rate `d out / d in = g r_in r_out / (r_in + g dx)^2` (`g = 1 -
    /// fee`) falls to the target. Closed form (THEORY §2) `dx = (sqrt(r_in r_out g / target) -
    /// r_in) / g`, as an f64 estimate accurate to a few units in the last place; zero when the
    /// pool's net price is already at or below it.
    ///
    /// Written as `dx = r_in (sqrt(q) - 1) / g` with `q = g r_out / (t r_in)`, and `q - 1` from
    /// `g r_out - t r_in` computed with fused multiply-adds: the naive `sqrt(..) - r_in` cancels
    /// almost every digit when the trade is small next to the reserve, which it nearly always
    /// is (a price move of one block), and left solvers a thousand units off.
    pub fn input_to_price(&self, zero_for_one: bool, target_out_per_in: f64) -> u128 {
        let (r_in, r_out) = self.reserves(zero_for_one);
        if target_out_per_in.is_nan() || target_out_per_in <= 0.0 || r_in == 0 || r_out == 0 {
            return 0;
        }
        let g = f64::from(PIPS - self.fee_pips) / f64::from(PIPS);
        let (x, y, t) = (crate::u128_to_f64(r_in), crate::u128_to_f64(r_out), target_out_per_in);
        // t x = p + e exactly; g y - t x = (g y - p) - e, each step rounded once
        let p = t * x;
        let e = libm::fma(t, x, -p);
        let excess = libm::fma(g, y, -p) - e;
        if excess.is_nan() || excess <= 0.0 || !p.is_finite() {
            return 0;
        }
        let q_minus_1 = excess / p;
        // sqrt(q) - 1 without cancellation
        let root_minus_1 = q_minus_1 / (libm::sqrt(1.0 + q_minus_1) + 1.0);
        let dx = x * root_minus_1 / g;
        if dx.is_nan() {
            0
        } else if dx >= u128::MAX as f64 {
            u128::MAX
        } else {
            crate::f64_to_u128(dx)
        }
    }
}

/// The pair's K check with the fee on the input:
/// `(b0 * 1e6 - a0_in * fee) * (b1 * 1e6 - a1_in * fee) >= r0 * r1 * 1e12`.
fn k_holds(side0: (u128, u128), side1: (u128, u128), reserves: (u128, u128), fee_pips: u32) -> bool {
    let (pips, fee) = (u128::from(PIPS), u128::from(fee_pips));
    // fast path: adjusted balances in u128, products in U256
    let adjusted = |(balance, amount_in): (u128, u128)| {
        balance.checked_mul(pips).and_then(|b| amount_in.checked_mul(fee).map(|f| b - f))
    };
    if let (Some(a0), Some(a1)) = (adjusted(side0), adjusted(side1))
        && let Some(rhs) = (U256::from(reserves.0) * U256::from(reserves.1)).checked_mul(U256::from(pips * pips))
        && let Some(lhs) = U256::from(a0).checked_mul(U256::from(a1))
    {
        return lhs >= rhs;
    }
    let adjusted_wide = |(balance, amount_in): (u128, u128)| {
        U256::from(balance) * U256::from(pips) - U256::from(amount_in) * U256::from(fee)
    };
    let lhs: U512 = adjusted_wide(side0).widening_mul(adjusted_wide(side1));
    let k = U256::from(reserves.0) * U256::from(reserves.1);
    let rhs: U512 = k.widening_mul(U256::from(pips * pips));
    lhs >= rhs
}

fn checked_reserve(reserve: u128, add: u128) -> MathResult<u128> {
    match reserve.checked_add(add) {
        Some(b) if b <= MAX_RESERVE => Ok(b),
        _ => Err(revert("UniswapV2: OVERFLOW")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const E18: u128 = 1_000_000_000_000_000_000;

    #[test]
    fn fee_pips_generalisation_equals_997_over_1000() {
        // The contract's own formula, written out with 997/1000.
        let contract = |a: u128, r_in: u128, r_out: u128| {
            let a = U256::from(a) * U256::from(997u32);
            (a * U256::from(r_out) / (U256::from(r_in) * U256::from(1000u32) + a)).to::<u128>()
        };
        for (a, r_in, r_out) in
            [(E18, 5 * E18, 10 * E18), (7, 1_000_003, 999_999_937), (123_456_789, 10u128.pow(30), 17)]
        {
            assert_eq!(get_amount_out(a, r_in, r_out, V2_DEFAULT_FEE_PIPS).unwrap(), contract(a, r_in, r_out));
        }
    }

    #[test]
    fn exact_output_beyond_reserves_reverts() {
        assert!(get_amount_in(100, 100, 100, 3000).is_err());
        assert!(get_amount_out(0, 100, 100, 3000).is_err());
        assert!(get_amount_out(1, 0, 100, 3000).is_err());
        assert!(get_amount_out(1, 10, 100, PIPS).is_err());
    }

    #[test]
    fn input_to_price_is_the_profit_maximising_size() {
        let pair = V2Pair { reserve0: 1_000 * E18, reserve1: 2_000_000 * 1_000_000, total_supply: 0, fee_pips: 3000 };
        // token1 per token0 in base units, net of fee, is 0.997 * 2e12/1e21 = 1.994e-9 now
        let target = 1.5e-9;
        let dx = pair.input_to_price(true, target);
        assert!(dx > 0);
        // profit at the external price 1/target... valued in token0: out / target - dx
        let profit =
            |a: u128| get_amount_out(a, pair.reserve0, pair.reserve1, 3000).unwrap() as f64 / target - a as f64;
        let best = profit(dx);
        for factor in [0.99, 0.999, 1.001, 1.01] {
            assert!(profit((dx as f64 * factor) as u128) < best, "a larger or smaller trade earns more (x{factor})");
        }
        assert_eq!(pair.input_to_price(true, 1e-8), 0, "target above the current price needs no input");
    }

    #[test]
    fn input_to_price_stays_accurate_for_moves_far_smaller_than_the_reserve() {
        use crate::U512;
        // 18-decimal reserves and price moves of a fraction of a basis point to a few dozen: the
        // regime where `sqrt(..) - r_in` loses most of its digits
        let pair =
            V2Pair { reserve0: 500_000 * E18, reserve1: 1_000_000_000 * 1_000_000, total_supply: 0, fee_pips: 500 };
        let (x, y) = (pair.reserve0, pair.reserve1);
        // exact test of "the marginal rate after `a` is still at or above `t`" for the f64 values
        // the rate is defined on (reserves and g as f64, each an exact binary fraction m 2^e):
        // (x + g a)^2 t <= g x y, in 512-bit integers
        let parts = |v: f64| {
            let bits = v.to_bits();
            let exp = ((bits >> 52) & 0x7ff) as i32 - 1075;
            (U512::from((bits & ((1 << 52) - 1)) | (1 << 52)), exp)
        };
        let (xf, yf, gf) = (crate::u128_to_f64(x), crate::u128_to_f64(y), 0.9995f64);
        let at_or_above = |a: u128, t: f64| {
            let ((mx, ex), (my, ey), (mg, eg), (mt, et)) = (parts(xf), parts(yf), parts(gf), parts(t));
            let low = ex.min(eg);
            let s = (mx << (ex - low) as usize) + ((mg * U512::from(a)) << (eg - low) as usize);
            // both sides as integer times 2^exponent; shift the one with the larger exponent
            let (mut lhs, le) = (s * s * mt, 2 * low + et);
            let (mut rhs, re) = (mg * mx * my, eg + ex + ey);
            if le >= re {
                lhs <<= (le - re) as usize
            } else {
                rhs <<= (re - le) as usize
            }
            lhs <= rhs
        };
        let rate0 = gf * yf / xf;
        for move_bp in [0.5, 3.0, 40.0] {
            let target = rate0 * (1.0 - move_bp * 1e-4);
            let a = pair.input_to_price(true, target);
            // within a few parts in 1e15 of the exact crossing (the naive form is ~1e-12 off)
            let slack = a / 100_000_000_000_000;
            assert!(at_or_above(a - slack, target), "{move_bp} bp: {a} is past the crossing");
            assert!(!at_or_above(a + slack, target), "{move_bp} bp: {a} stops short of the crossing");
            // what the textbook form gives: off by far more than the slack for small moves
            let naive = ((libm::sqrt(xf * yf * gf / target) - xf) / gf) as u128;
            if move_bp < 10.0 {
                assert!(naive.abs_diff(a) > slack, "{move_bp} bp: the naive form was fine after all");
            }
        }
    }

    proptest! {
        #[test]
        fn swap_never_decreases_k_and_rounds_for_the_pool(
            r0 in 1_000u128..1u128 << 100, r1 in 1_000u128..1u128 << 100, a in 1u128..1u128 << 90, fee in 0u32..100_000,
        ) {
            let mut pair = V2Pair { reserve0: r0, reserve1: r1, total_supply: 0, fee_pips: fee };
            let k_before = U256::from(r0) * U256::from(r1);
            match pair.swap_exact_in(true, a) {
                Ok(out) => {
                    prop_assert!(U256::from(pair.reserve0) * U256::from(pair.reserve1) >= k_before);
                    // one more unit out must fail the K check: the quote is the largest allowed
                    let mut probe = V2Pair { reserve0: r0, reserve1: r1, total_supply: 0, fee_pips: fee };
                    prop_assert!(probe.swap(0, out + 1, a, 0).is_err());
                }
                Err(e) => prop_assert!(matches!(e, MathError::Revert { .. }), "unexpected error {}", e),
            }
        }

        #[test]
        fn quotes_are_monotone_and_round_trip(
            r_in in 1_000u128..1u128 << 100, r_out in 1_000u128..1u128 << 100, a in 1u128..1u128 << 80, fee in 0u32..50_000,
        ) {
            let out = get_amount_out(a, r_in, r_out, fee).unwrap();
            let out2 = get_amount_out(a + 1, r_in, r_out, fee).unwrap();
            prop_assert!(out2 >= out);
            if out > 0 {
                // exact-out for what exact-in gave never asks more than was paid
                let back = get_amount_in(out, r_in, r_out, fee).unwrap();
                prop_assert!(back <= a);
                // and paying one less than `back` cannot buy `out`
                if back > 1 {
                    prop_assert!(get_amount_out(back - 1, r_in, r_out, fee).unwrap() < out);
                }
            }
        }
    }
}
