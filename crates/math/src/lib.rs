//! Exact integer AMM math for meshsim.
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
//!
//! ```
//! use meshsim_math::{Pool, v2::V2Pair};
//! let pool = Pool::ConstantProduct(V2Pair { reserve0: 1_000_000, reserve1: 2_000_000, total_supply: 0, fee_pips: 3_000 });
//! let q = pool.quote_exact_in(0, 1, 1_000).unwrap();
//! assert_eq!(q.amount_out, 1_992); // floor(1000*997*2e6 / (1e6*1000 + 1000*997))
//! ```

pub mod error;
pub mod full_math;
mod pool;
pub mod stableswap;
pub mod v2;
pub mod v3;
pub mod weighted;

pub use error::{MathError, MathResult, Protocol};
pub use pool::{Pool, PoolKind, SwapQuote, price_from_sqrt_x96, solve_rate, sqrt_x96_from_price};

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

/// Nearest f64 of a u128, correctly rounded like `as f64` but without the slow software routine
/// for values above 2^64: the top 64 bits with a sticky bit for the rest convert in hardware.
#[inline]
pub fn u128_to_f64(x: u128) -> f64 {
    let hi = (x >> 64) as u64;
    if hi == 0 {
        return x as u64 as f64;
    }
    let shift = 64 - hi.leading_zeros();
    let top = (x >> shift) as u64;
    let sticky = u64::from(x & ((1u128 << shift) - 1) != 0);
    // exact scaling by a power of two
    (top | sticky) as f64 * f64::from_bits((1023 + u64::from(shift)) << 52)
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

    proptest! {
        #[test]
        fn u128_to_f64_rounds_like_as(x in any::<u128>(), shift in 0u32..128) {
            let y = x >> shift;
            prop_assert_eq!(u128_to_f64(y).to_bits(), (y as f64).to_bits());
        }
    }
}
