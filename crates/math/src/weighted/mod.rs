//! Balancer V2 weighted pools (2 to 8 tokens): `WeightedMath._calcOutGivenIn` /
//! `_calcInGivenOut` with the pool's swap-fee handling and token scaling
//! (`BaseMinimalSwapInfoPool.onSwap`), spot price, and the invariant.
//!
//! The swap fee is not clamped to Balancer's deployed `[1e12, 1e17]` bounds so that zero-fee
//! studies are possible; everything else (30 % in/out ratio limits, 1 % minimum weight) follows
//! the contracts.

pub mod fixed_point;
mod log_exp_math;

pub use log_exp_math::pow;

use fixed_point::{ONE, complement, div_down, div_up, mul_down, mul_up, pow_down, pow_up};

use crate::{MathError, MathResult, Protocol, U256};

/// Most tokens in a weighted pool here (Balancer's `WeightedPool` supports 8 with this layout).
pub const MAX_TOKENS: usize = 8;
/// `_MIN_WEIGHT` = 1 %.
pub const MIN_WEIGHT: U256 = U256::from_limbs([10_000_000_000_000_000, 0, 0, 0]);
const MAX_IN_RATIO: U256 = U256::from_limbs([300_000_000_000_000_000, 0, 0, 0]);
const MAX_OUT_RATIO: U256 = U256::from_limbs([300_000_000_000_000_000, 0, 0, 0]);

const fn bal(code: &'static str) -> MathError {
    MathError::revert(Protocol::Balancer, code)
}

/// `WeightedMath._calcOutGivenIn` on upscaled (18-decimal) values. Rounds down.
pub fn calc_out_given_in(
    balance_in: U256,
    weight_in: U256,
    balance_out: U256,
    weight_out: U256,
    amount_in: U256,
) -> MathResult<U256> {
    // Cannot exceed maximum in ratio (BAL#304)
    if amount_in > mul_down(balance_in, MAX_IN_RATIO)? {
        return Err(bal("BAL#304"));
    }
    // The multiplication rounds down, and the subtrahend (power) rounds up (so the base rounds up too).
    // Because bI / (bI + aI) <= 1, the exponent rounds down.
    let denominator = fixed_point::add(balance_in, amount_in)?;
    let base = div_up(balance_in, denominator)?;
    let exponent = div_down(weight_in, weight_out)?;
    let power = pow_up(base, exponent)?;
    mul_down(balance_out, complement(power))
}

/// `WeightedMath._calcInGivenOut` on upscaled values. Rounds up.
pub fn calc_in_given_out(
    balance_in: U256,
    weight_in: U256,
    balance_out: U256,
    weight_out: U256,
    amount_out: U256,
) -> MathResult<U256> {
    // Cannot exceed maximum out ratio (BAL#305)
    if amount_out > mul_down(balance_out, MAX_OUT_RATIO)? {
        return Err(bal("BAL#305"));
    }
    // The multiplication rounds up, and the power rounds up (so the base rounds up too).
    // Because b0 / (b0 - a0) >= 1, the exponent rounds up.
    let base = div_up(balance_out, fixed_point::sub(balance_out, amount_out)?)?;
    let exponent = div_up(weight_out, weight_in)?;
    let power = pow_up(base, exponent)?;
    let ratio = fixed_point::sub(power, ONE)?;
    mul_up(balance_in, ratio)
}

/// A weighted pool: balances in token base units, normalized weights (1e18 = 100 %, summing to
/// exactly 1e18), per-token scaling factors `10^(18 - decimals) * 1e18`, swap fee (1e18 = 100 %).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedPool {
    balances: Vec<u128>,
    weights: Vec<U256>,
    scaling_factors: Vec<U256>,
    swap_fee: U256,
}

impl WeightedPool {
    /// Validates weights (each >= 1 %, sum exactly 1e18), decimals (<= 18) and the fee (< 1e18).
    pub fn try_new(balances: Vec<u128>, weights: Vec<U256>, decimals: &[u8], swap_fee: U256) -> MathResult<Self> {
        let n = balances.len();
        if !(2..=MAX_TOKENS).contains(&n) || weights.len() != n || decimals.len() != n {
            return Err(MathError::InvalidParameter {
                name: "tokens",
                detail: format!(
                    "{n} balances, {} weights, {} decimals; need 2..=8 of each",
                    weights.len(),
                    decimals.len()
                ),
            });
        }
        if weights.iter().any(|w| *w < MIN_WEIGHT) {
            return Err(bal("BAL#302")); // MIN_WEIGHT
        }
        if weights.iter().fold(U256::ZERO, |a, w| a + *w) != ONE {
            return Err(bal("BAL#308")); // NORMALIZED_WEIGHT_INVARIANT
        }
        if swap_fee >= ONE {
            return Err(MathError::InvalidParameter { name: "swap_fee", detail: format!("{swap_fee} >= 1e18") });
        }
        let mut scaling_factors = Vec::with_capacity(n);
        for d in decimals {
            if *d > 18 {
                return Err(MathError::InvalidParameter { name: "decimals", detail: format!("{d} > 18") });
            }
            scaling_factors.push(ONE * U256::from(10u8).pow(U256::from(18 - d)));
        }
        Ok(WeightedPool { balances, weights, scaling_factors, swap_fee })
    }

    /// Balances, base units.
    pub fn balances(&self) -> &[u128] {
        &self.balances
    }
    /// Normalized weights.
    pub fn weights(&self) -> &[U256] {
        &self.weights
    }
    /// Swap fee, 1e18 = 100 %.
    pub fn swap_fee(&self) -> U256 {
        self.swap_fee
    }
    /// Number of tokens.
    pub fn n_tokens(&self) -> usize {
        self.balances.len()
    }

    fn check_pair(&self, i: usize, o: usize) -> MathResult<()> {
        let n = self.n_tokens();
        for index in [i, o] {
            if index >= n {
                return Err(MathError::TokenIndex { index, n_tokens: n });
            }
        }
        if i == o {
            return Err(MathError::SameToken { index: i });
        }
        Ok(())
    }

    fn upscale(&self, k: usize, amount: u128) -> MathResult<U256> {
        mul_down(U256::from(amount), self.scaling_factors[k])
    }

    fn to_u128(v: U256) -> MathResult<u128> {
        u128::try_from(v).map_err(|_| MathError::Overflow { what: "Balancer amount" })
    }

    /// `onSwap` GIVEN_IN: fee off the input (rounded up), upscale, `_calcOutGivenIn`, downscale
    /// down. Returns `(amount_out, fee_amount)` in base units.
    pub fn quote_out_given_in(&self, i: usize, o: usize, amount_in: u128) -> MathResult<(u128, u128)> {
        self.check_pair(i, o)?;
        let fee_amount = mul_up(U256::from(amount_in), self.swap_fee)?;
        let net = U256::from(amount_in) - fee_amount.min(U256::from(amount_in));
        let amount = mul_down(net, self.scaling_factors[i])?;
        let out = calc_out_given_in(
            self.upscale(i, self.balances[i])?,
            self.weights[i],
            self.upscale(o, self.balances[o])?,
            self.weights[o],
            amount,
        )?;
        Ok((Self::to_u128(div_down(out, self.scaling_factors[o])?)?, Self::to_u128(fee_amount)?))
    }

    /// `onSwap` GIVEN_OUT: upscale, `_calcInGivenOut`, downscale up, then add the fee
    /// (`divUp(amount, 1 - fee)`). Returns `(amount_in, fee_amount)` in base units.
    pub fn quote_in_given_out(&self, i: usize, o: usize, amount_out: u128) -> MathResult<(u128, u128)> {
        self.check_pair(i, o)?;
        let amount = self.upscale(o, amount_out)?;
        let raw_in = calc_in_given_out(
            self.upscale(i, self.balances[i])?,
            self.weights[i],
            self.upscale(o, self.balances[o])?,
            self.weights[o],
            amount,
        )?;
        let net_in = div_up(raw_in, self.scaling_factors[i])?;
        let gross_in = div_up(net_in, complement(self.swap_fee))?;
        Ok((Self::to_u128(gross_in)?, Self::to_u128(gross_in - net_in)?))
    }

    /// A proportional exit of `share_ppm` millionths of the BPT supply: each balance pays out
    /// `balance * share / 1e6` rounded down, in the pool's favour as `_calcTokensOutGivenExactBptIn`.
    pub fn remove_share(&mut self, share_ppm: u32) -> MathResult<Vec<u128>> {
        crate::withdraw_pro_rata(&mut self.balances, share_ppm)
    }

    /// Applies a swap whose amounts were quoted: input (fee included) in, output out.
    pub fn apply(&mut self, i: usize, o: usize, amount_in: u128, amount_out: u128) -> MathResult<()> {
        let new_in = self.balances[i].checked_add(amount_in).ok_or(bal("BAL#000"))?;
        let new_out = self.balances[o].checked_sub(amount_out).ok_or(bal("BAL#001"))?;
        self.balances[i] = new_in;
        self.balances[o] = new_out;
        Ok(())
    }

    /// Spot price of token `i` in token `o` base units (output per unit input, before fee):
    /// `(B_o / w_o) / (B_i / w_i)`.
    pub fn marginal_price(&self, i: usize, o: usize) -> f64 {
        let w = |k: usize| crate::u256_to_f64(self.weights[k]);
        (crate::u128_to_f64(self.balances[o]) / w(o)) / (crate::u128_to_f64(self.balances[i]) / w(i))
    }

    /// Swap fee as a fraction.
    pub fn fee_fraction(&self) -> f64 {
        crate::u256_to_f64(self.swap_fee) / 1e18
    }

    /// `_calculateInvariant` on upscaled balances: `prod(b_i ^ w_i)`, rounded down.
    pub fn invariant(&self) -> MathResult<U256> {
        let mut inv = ONE;
        for k in 0..self.n_tokens() {
            inv = mul_down(inv, pow_down(self.upscale(k, self.balances[k])?, self.weights[k])?)?;
        }
        if inv.is_zero() {
            return Err(bal("BAL#311")); // ZERO_INVARIANT
        }
        Ok(inv)
    }

    /// Input (fee included) that moves the net spot price of `i` in `o` to `target` (closed form:
    /// `a_net = B_i ((P / target)^(w_o / (w_i + w_o)) - 1)`), as an f64 estimate.
    pub fn input_to_price_estimate(&self, i: usize, o: usize, target_net: f64) -> f64 {
        let g = 1.0 - self.fee_fraction();
        let p = self.marginal_price(i, o) * g;
        if target_net.is_nan() || target_net <= 0.0 || p <= target_net {
            return 0.0;
        }
        let (wi, wo) = (crate::u256_to_f64(self.weights[i]), crate::u256_to_f64(self.weights[o]));
        let a_net = self.balances[i] as f64 * (libm::pow(p / target_net, wo / (wi + wo)) - 1.0);
        a_net / g
    }
}
