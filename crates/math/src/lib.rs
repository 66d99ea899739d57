//! Exact integer AMM and lending math for meshsim.
//!
//! Token amounts are integers in base units; every division rounds the way the original contract
//! does (in the pool's favour). Nothing here panics on input: contract `require`s become
//! [`MathError::Revert`] with the contract's reason. No ECS, no I/O, no configuration formats.
//!
//! - [`v2`]: Uniswap v2 library and pair (fee as a parameter).
//! - [`v3`]: Uniswap v3 TickMath, SqrtPriceMath, SwapMath, FullMath, LiquidityMath, ticks,
//!   positions and the swap loop.
//! - [`stableswap`]: Curve stableswap, classic and NG.
//! - [`weighted`]: Balancer V2 weighted pools.
//! - [`Pool`]: one interface over all of them, including *trade-to-price*.
//! - [`lending`]: Aave v3 reserves: ray math, interest accrual, the two-slope rate model.
//! - [`book`]: a central limit order book: price-time priority, every order type, exact fills.
//!
//! ```
//! use meshsim_math::{Pool, v2::V2Pair};
//! let pool = Pool::ConstantProduct(V2Pair { reserve0: 1_000_000, reserve1: 2_000_000, total_supply: 0, fee_pips: 3_000 });
//! let q = pool.quote_exact_in(0, 1, 1_000).unwrap();
//! assert_eq!(q.amount_out, 1_992); // floor(1000*997*2e6 / (1e6*1000 + 1000*997))
//! ```

pub mod book;
pub mod error;
pub mod full_math;
pub mod lending;
mod pool;
pub mod stableswap;
pub mod v2;
pub mod v3;
pub mod weighted;

pub use error::{MathError, MathResult, Protocol};
pub use pool::{
    Pool, PoolKind, SwapQuote, TradeEstimate, price_from_sqrt_x96, solve_rate, solve_rate_within, sqrt_x96_from_price,
};

/// 256-bit unsigned integer (the EVM word).
pub type U256 = ruint::aliases::U256;
/// 512-bit unsigned integer for full-precision intermediates.
pub type U512 = ruint::aliases::U512;

/// Nearest f64 of a U256 (for prices and metrics, never for amounts).
pub fn u256_to_f64(x: U256) -> f64 {
    let limbs = x.as_limbs();
    let mut v = 0.0;
    for limb in limbs.iter().rev() {
        v = v * 18_446_744_073_709_551_616.0 + *limb as f64;
    }
    v
}

/// A non-negative finite f64 truncated to U256 (saturating at the top).
pub fn f64_to_u256(x: f64) -> U256 {
    if x.is_nan() || x < 1.0 {
        return U256::ZERO;
    }
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64 - 1075;
    let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
    if exponent >= 0 {
        if exponent > 200 {
            return U256::MAX;
        }
        U256::from(mantissa) << (exponent as usize)
    } else {
        U256::from(mantissa >> ((-exponent) as u32).min(63))
    }
}

/// Parts per million of the whole, for proportional withdrawals.
const PPM: u32 = 1_000_000;

/// `amount * share_ppm / 1e6`, rounded down (every contract's proportional withdrawal rounds in
/// the pool's favour); a share above the whole is refused.
pub(crate) fn share_of(amount: u128, share_ppm: u32) -> MathResult<u128> {
    if share_ppm > PPM {
        return Err(MathError::InvalidParameter { name: "share_ppm", detail: format!("{share_ppm} > 1e6") });
    }
    Ok((U256::from(amount) * U256::from(share_ppm) / U256::from(PPM)).to::<u128>())
}

/// [`share_of`] every balance, taking it out: what a proportional withdrawal pays.
pub(crate) fn withdraw_pro_rata(balances: &mut [u128], share_ppm: u32) -> MathResult<Vec<u128>> {
    let out = balances.iter().map(|b| share_of(*b, share_ppm)).collect::<MathResult<Vec<u128>>>()?;
    for (b, o) in balances.iter_mut().zip(&out) {
        *b -= o;
    }
    Ok(out)
}

/// Nearest f64 of a u128, correctly rounded like `as f64` but without the slow software routine:
/// the top 63 bits, with a sticky bit for everything below, convert as a signed 64-bit integer
/// (one instruction on x86-64, where unsigned and 128-bit conversions are long sequences). The
/// sticky bit sits ten bits below the last mantissa bit kept, so it only breaks ties, exactly as
/// the full value would. All shifts are on 64-bit halves.
#[inline]
pub fn u128_to_f64(x: u128) -> f64 {
    let (hi, lo) = ((x >> 64) as u64, x as u64);
    if hi == 0 {
        if lo >> 63 == 0 {
            return lo as i64 as f64;
        }
        return ((lo >> 1) | (lo & 1)) as i64 as f64 * 2.0;
    }
    let z = hi.leading_zeros(); // 0..=63
    // the 64 bits from the leading one down, and whether any bit below them is set
    let top = (hi << z) | ((lo >> 1) >> (63 - z));
    let below = lo << z != 0;
    let top63 = (top >> 1) | ((top & 1) | u64::from(below));
    // exact scaling by 2^(65 - z)
    top63 as i64 as f64 * f64::from_bits(u64::from(1023 + 65 - z) << 52)
}

/// `x as u128` (truncating; NaN and negatives give 0, too large gives `u128::MAX`) without the
/// slow software routine: below 2^63 one signed conversion, above it the mantissa shifted into
/// place (every such float is an integer).
#[inline]
pub fn f64_to_u128(x: f64) -> u128 {
    if x.is_nan() || x <= 0.0 {
        return 0;
    }
    if x < 9_223_372_036_854_775_808.0 {
        return x as i64 as u128;
    }
    if x >= 340_282_366_920_938_463_463_374_607_431_768_211_456.0 {
        return u128::MAX;
    }
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as u32 - 1075; // 11..=75 here
    let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
    u128::from(mantissa) << exp
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shares_round_down_and_never_exceed_the_whole() {
        assert_eq!(share_of(999, 500_000).unwrap(), 499);
        assert_eq!(share_of(u128::MAX, 1_000_000).unwrap(), u128::MAX);
        assert!(share_of(10, 1_000_001).is_err());
        let mut b = [10u128, 7];
        assert_eq!(withdraw_pro_rata(&mut b, 500_000).unwrap(), vec![5, 3]);
        assert_eq!(b, [5, 4]);
    }

    #[test]
    fn u128_to_f64_rounds_edges_like_as() {
        // powers of two and their neighbours; 54-bit values halfway between two f64s (ties to
        // even, both parities) at every scale, and one unit either side of each
        for k in 0..128u32 {
            let p = 1u128 << k;
            let mut cases = vec![p, p - 1, p.wrapping_add(1)];
            for tie in [(1u128 << 53) | 1, (1u128 << 53) | 3] {
                if k + 54 <= 128 {
                    let t = tie << k;
                    cases.extend([t, t - 1, t + 1]);
                }
            }
            for x in cases {
                assert_eq!(u128_to_f64(x).to_bits(), (x as f64).to_bits(), "{x}");
            }
        }
    }

    #[test]
    fn f64_to_u128_truncates_like_as() {
        let mut cases = vec![0.0, -0.0, -1.0, 0.5, 1.0, 1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX];
        for k in 0..130 {
            let p = libm::ldexp(1.0, k);
            cases.extend([p, p * (1.0 - f64::EPSILON), p * (1.0 + f64::EPSILON), p * 1.5]);
        }
        for x in cases {
            assert_eq!(f64_to_u128(x), x as u128, "{x:e}");
        }
    }

    proptest! {
        #[test]
        fn f64_to_u128_like_as(bits in any::<u64>()) {
            let x = f64::from_bits(bits);
            prop_assert_eq!(f64_to_u128(x), x as u128);
        }

        #[test]
        fn u128_to_f64_rounds_like_as(x in any::<u128>(), shift in 0u32..128) {
            let y = x >> shift;
            prop_assert_eq!(u128_to_f64(y).to_bits(), (y as f64).to_bits());
        }
    }
}
