//! An account across reserves, as Aave v3's `GenericLogic` and `LiquidationLogic` see it: values
//! in the oracle's base currency (8 decimals), the health factor, how much debt a liquidation may
//! cover (the close factor), and how much collateral it seizes with the bonus and the protocol's
//! fee on the bonus.

use super::wad_ray::{WAD, percent_div, percent_mul, wad_div};
use crate::{MathError, MathResult, Protocol, U256};

/// Below this health factor a liquidation may cover all the debt (0.95, a wad).
pub const CLOSE_FACTOR_HF_THRESHOLD: U256 = U256::from_limbs([950_000_000_000_000_000, 0, 0, 0]);
/// Share of the debt one liquidation may cover otherwise (50 %, bps).
pub const DEFAULT_CLOSE_FACTOR_BPS: u32 = 5_000;
/// Positions whose collateral or debt in the reserve is worth less than this ($2,000, base
/// currency with 8 decimals) may be liquidated whole.
pub const MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD: U256 = U256::from_limbs([200_000_000_000, 0, 0, 0]);
/// A partial liquidation must leave at least this much debt and collateral ($1,000).
pub const MIN_LEFTOVER_BASE: U256 = U256::from_limbs([100_000_000_000, 0, 0, 0]);

/// An amount of a token in the base currency: `amount x price / 10^decimals`
/// (`_getUserBalanceInBaseCurrency`), price with the oracle's 8 decimals.
pub fn value_in_base(amount: U256, price: U256, decimals: u8) -> MathResult<U256> {
    Ok(amount.checked_mul(price).ok_or(MathError::Overflow { what: "balance in base currency" })? / unit(decimals))
}

/// `10^decimals` (a token's whole unit in base units); a table look-up up to 38 decimals, which
/// account valuations call for every line of every position.
pub fn unit(decimals: u8) -> U256 {
    const POW10: [u128; 39] = {
        let mut t = [1u128; 39];
        let mut k = 1;
        while k < 39 {
            t[k] = t[k - 1] * 10;
            k += 1;
        }
        t
    };
    match POW10.get(usize::from(decimals)) {
        Some(p) => U256::from(*p),
        None => U256::from(10u8).pow(U256::from(decimals)),
    }
}

/// One collateral position: its value in the base currency and its liquidation threshold (bps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collateral {
    /// Value in base currency.
    pub value: U256,
    /// Liquidation threshold, bps.
    pub liquidation_threshold_bps: u32,
}

/// `calculateUserAccountData`'s health factor, a wad: the collateral weighted by liquidation
/// thresholds over the debt; `U256::MAX` without debt.
pub fn health_factor(collateral: &[Collateral], total_debt: U256) -> MathResult<U256> {
    if total_debt.is_zero() {
        return Ok(U256::MAX);
    }
    let total: U256 = collateral.iter().fold(U256::ZERO, |a, c| a + c.value);
    if total.is_zero() {
        return Ok(U256::ZERO);
    }
    let weighted = collateral.iter().try_fold(U256::ZERO, |a, c| {
        c.value.checked_mul(U256::from(c.liquidation_threshold_bps)).and_then(|x| a.checked_add(x))
    });
    let average_threshold = weighted.ok_or(MathError::Overflow { what: "avgLiquidationThreshold" })? / total;
    wad_div(percent_mul(total, average_threshold)?, total_debt)
}

/// The most of one debt reserve a liquidation may cover (`executeLiquidationCall`): the close
/// factor's share of the account's debt (Aave: [`DEFAULT_CLOSE_FACTOR_BPS`], 50 %), or all of it
/// when the health factor is at or below 0.95 or the position in either reserve is worth less
/// than $2,000. Values in base currency.
pub fn max_liquidatable_debt(
    health: U256,
    total_debt: U256,
    reserve_debt: U256,
    reserve_collateral: U256,
    close_factor_bps: u32,
) -> MathResult<U256> {
    let small =
        reserve_collateral < MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD || reserve_debt < MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD;
    if small || health <= CLOSE_FACTOR_HF_THRESHOLD {
        return Ok(reserve_debt);
    }
    Ok(reserve_debt.min(percent_mul(total_debt, U256::from(close_factor_bps))?))
}

/// What a liquidation moves, in token amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seizure {
    /// Collateral to the liquidator (bonus included, protocol fee excluded).
    pub collateral_to_liquidator: U256,
    /// Collateral to the protocol (its fee on the bonus).
    pub protocol_fee: U256,
    /// Debt actually repaid.
    pub debt_repaid: U256,
}

/// Prices and decimals of the two tokens of a liquidation, the oracle's 8-decimal prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    /// Debt token price.
    pub debt_price: U256,
    /// Debt token decimals.
    pub debt_decimals: u8,
    /// Collateral token price.
    pub collateral_price: U256,
    /// Collateral token decimals.
    pub collateral_decimals: u8,
}

/// `_calculateAvailableCollateralToLiquidate`: the collateral `debt_to_cover` buys at the bonus
/// (10_500 = 5 % bonus), limited by the account's `collateral_balance` (then less debt is
/// repaid), and the protocol's `protocol_fee_bps` share of the bonus part.
pub fn seize(
    pair: Pair,
    debt_to_cover: U256,
    collateral_balance: U256,
    liquidation_bonus_bps: u32,
    protocol_fee_bps: u32,
) -> MathResult<Seizure> {
    if pair.debt_price.is_zero() || pair.collateral_price.is_zero() {
        return Err(MathError::Revert { protocol: Protocol::Aave, reason: "PRICE_ORACLE_SENTINEL_CHECK_FAILED" });
    }
    let (debt_unit, collateral_unit) = (unit(pair.debt_decimals), unit(pair.collateral_decimals));
    let overflow = || MathError::Overflow { what: "collateral to liquidate" };
    let bonus = U256::from(liquidation_bonus_bps);
    let base_collateral =
        pair.debt_price.checked_mul(debt_to_cover).and_then(|x| x.checked_mul(collateral_unit)).ok_or_else(overflow)?
            / pair.collateral_price.checked_mul(debt_unit).ok_or_else(overflow)?;
    let max_collateral = percent_mul(base_collateral, bonus)?;
    let (collateral, debt_repaid) = if max_collateral > collateral_balance {
        let needed = pair
            .collateral_price
            .checked_mul(collateral_balance)
            .and_then(|x| x.checked_mul(debt_unit))
            .ok_or_else(overflow)?
            / pair.debt_price.checked_mul(collateral_unit).ok_or_else(overflow)?;
        (collateral_balance, percent_div(needed, bonus)?)
    } else {
        (max_collateral, debt_to_cover)
    };
    let protocol_fee = if protocol_fee_bps == 0 {
        U256::ZERO
    } else {
        let bonus_part = collateral - percent_div(collateral, bonus)?;
        percent_mul(bonus_part, U256::from(protocol_fee_bps))?
    };
    Ok(Seizure { collateral_to_liquidator: collateral - protocol_fee, protocol_fee, debt_repaid })
}

/// Whether a partial liquidation leaves enough behind: at least $1,000 of debt and of
/// collateral in the two reserves, unless it takes all of either (v3.3's dust rule).
pub fn leftover_allowed(debt_left: U256, collateral_left: U256) -> bool {
    debt_left.is_zero()
        || collateral_left.is_zero()
        || (debt_left >= MIN_LEFTOVER_BASE && collateral_left >= MIN_LEFTOVER_BASE)
}

/// One reserve as an account's valuation sees it.
#[derive(Debug, Clone, Copy)]
pub struct ReserveView<'a> {
    /// The reserve (its indexes).
    pub reserve: &'a super::Reserve,
    /// Oracle price, base currency with 8 decimals.
    pub price: U256,
    /// Token decimals.
    pub decimals: u8,
    /// Loan-to-value, bps.
    pub ltv_bps: u32,
    /// Liquidation threshold, bps.
    pub liquidation_threshold_bps: u32,
}

/// An account's holdings in one reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PositionLine {
    /// Scaled aToken balance.
    pub scaled_supply: U256,
    /// Scaled variable debt.
    pub scaled_debt: U256,
    /// Whether the supply counts as collateral.
    pub collateral: bool,
}

/// `calculateUserAccountData`: what an account's positions are worth and may still borrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountData {
    /// Collateral, base currency.
    pub collateral: U256,
    /// Debt, base currency.
    pub debt: U256,
    /// Weighted loan-to-value, bps.
    pub average_ltv_bps: U256,
    /// Weighted liquidation threshold, bps.
    pub average_threshold_bps: U256,
    /// Health factor, a wad (`U256::MAX` without debt).
    pub health: U256,
    /// What it may still borrow, base currency (`availableBorrowsBase`).
    pub borrowable: U256,
}

/// Values an account across reserves as `GenericLogic.calculateUserAccountData` does: balances
/// at the current indexes (`scaled x index`), priced by the oracle, collateral weighted by LTV
/// and threshold. (The indexes are the reserves' as last accrued.)
pub fn account_data(lines: &[(ReserveView<'_>, PositionLine)]) -> MathResult<AccountData> {
    account_data_of(lines.iter().map(|(v, l)| (*v, l)))
}

/// [`account_data`] over pairs as they come (no list to build first).
pub fn account_data_of<'a>(
    lines: impl IntoIterator<Item = (ReserveView<'a>, &'a PositionLine)>,
) -> MathResult<AccountData> {
    let (mut collateral, mut debt, mut ltv_sum, mut lt_sum) = (U256::ZERO, U256::ZERO, U256::ZERO, U256::ZERO);
    let overflow = || MathError::Overflow { what: "calculateUserAccountData" };
    for (view, line) in lines {
        if line.collateral && view.liquidation_threshold_bps != 0 && !line.scaled_supply.is_zero() {
            let balance = super::wad_ray::ray_mul(line.scaled_supply, view.reserve.liquidity_index)?;
            let value = value_in_base(balance, view.price, view.decimals)?;
            collateral = collateral.checked_add(value).ok_or_else(overflow)?;
            ltv_sum = value
                .checked_mul(U256::from(view.ltv_bps))
                .and_then(|x| x.checked_add(ltv_sum))
                .ok_or_else(overflow)?;
            lt_sum = value
                .checked_mul(U256::from(view.liquidation_threshold_bps))
                .and_then(|x| x.checked_add(lt_sum))
                .ok_or_else(overflow)?;
        }
        if !line.scaled_debt.is_zero() {
            let owed = super::wad_ray::ray_mul(line.scaled_debt, view.reserve.variable_borrow_index)?;
            debt = debt.checked_add(value_in_base(owed, view.price, view.decimals)?).ok_or_else(overflow)?;
        }
    }
    let (average_ltv_bps, average_threshold_bps) =
        if collateral.is_zero() { (U256::ZERO, U256::ZERO) } else { (ltv_sum / collateral, lt_sum / collateral) };
    let health =
        if debt.is_zero() { U256::MAX } else { wad_div(percent_mul(collateral, average_threshold_bps)?, debt)? };
    let limit = percent_mul(collateral, average_ltv_bps)?;
    Ok(AccountData {
        collateral,
        debt,
        average_ltv_bps,
        average_threshold_bps,
        health,
        borrowable: limit.saturating_sub(debt),
    })
}

/// A health factor as a float, for screens and tables (never for decisions).
pub fn health_f64(health: U256) -> f64 {
    if health == U256::MAX { f64::INFINITY } else { crate::u256_to_f64(health) / crate::u256_to_f64(WAD) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USD: u64 = 100_000_000; // one dollar in base currency

    fn base(dollars: u64) -> U256 {
        U256::from(dollars) * U256::from(USD)
    }

    #[test]
    fn health_weighs_collateral_by_its_threshold() {
        // $10,000 of ETH at 82.5 % and $5,000 of WBTC at 78 % against $9,000 of debt
        let c = [
            Collateral { value: base(10_000), liquidation_threshold_bps: 8_250 },
            Collateral { value: base(5_000), liquidation_threshold_bps: 7_800 },
        ];
        let hf = health_f64(health_factor(&c, base(9_000)).unwrap());
        assert!((hf - (8_250.0 + 3_900.0) / 9_000.0).abs() < 1e-4, "{hf}");
        assert_eq!(health_factor(&c, U256::ZERO).unwrap(), U256::MAX);
    }

    #[test]
    fn the_close_factor_doubles_below_095_and_for_small_positions() {
        let (debt, coll) = (base(10_000), base(12_000));
        let half = max_liquidatable_debt(
            WAD * U256::from(99u8) / U256::from(100u8),
            debt,
            debt,
            coll,
            DEFAULT_CLOSE_FACTOR_BPS,
        )
        .unwrap();
        assert_eq!(half, base(5_000));
        let all = max_liquidatable_debt(CLOSE_FACTOR_HF_THRESHOLD, debt, debt, coll, DEFAULT_CLOSE_FACTOR_BPS).unwrap();
        assert_eq!(all, debt);
        let small =
            max_liquidatable_debt(WAD * U256::from(99u8) / U256::from(100u8), base(1_500), base(1_500), coll, 5_000);
        assert_eq!(small.unwrap(), base(1_500));
    }

    #[test]
    fn a_liquidation_seizes_debt_value_times_the_bonus_and_the_protocol_takes_its_share() {
        // ETH at $2,000 (18 decimals) seized for USDC debt at $1 (6 decimals)
        let pair = Pair {
            debt_price: U256::from(USD),
            debt_decimals: 6,
            collateral_price: U256::from(2_000 * USD),
            collateral_decimals: 18,
        };
        let e18 = U256::from(10u64.pow(18));
        // $1,000 of debt at a 5 % bonus: 0.525 ETH, 10 % of the 0.025 ETH bonus to the protocol
        let s = seize(pair, U256::from(1_000_000_000u64), U256::from(10u8) * e18, 10_500, 1_000).unwrap();
        assert_eq!(s.debt_repaid, U256::from(1_000_000_000u64));
        assert_eq!(s.protocol_fee, U256::from(2_500_000_000_000_000u64));
        assert_eq!(s.collateral_to_liquidator + s.protocol_fee, U256::from(525_000_000_000_000_000u64));
        // not enough collateral: all of it goes, and less debt is repaid
        let s = seize(pair, U256::from(10_000_000_000u64), e18 / U256::from(4u8), 10_500, 0).unwrap();
        assert_eq!(s.collateral_to_liquidator, e18 / U256::from(4u8));
        // $500 of collateral covers 500 / 1.05 = $476.190476 of debt
        assert_eq!(s.debt_repaid, U256::from(476_190_476u64));
    }

    proptest::proptest! {
        /// A liquidation of an unhealthy account never lowers its health while its collateral
        /// still covers its debt with the bonus (collateral / debt >= bonus, i.e. health >=
        /// threshold x bonus); below that margin each liquidation lowers it (the spiral).
        #[test]
        fn liquidation_does_not_lower_health_within_the_margin(
            collateral in 2_000u64..10_000_000, hf_pct in 50u64..100, lt in 5_000u32..9_000,
            bonus_bp in 0u32..2_000, cover_pct in 1u64..=100,
        ) {
            let bonus = 10_000 + bonus_bp;
            // debt that puts the health factor at hf_pct %
            let debt = collateral * u64::from(lt) / 10_000 * 100 / hf_pct;
            proptest::prop_assume!(debt > 0);
            let c = [Collateral { value: base(collateral), liquidation_threshold_bps: lt }];
            let before = health_factor(&c, base(debt)).unwrap();
            proptest::prop_assume!(before < WAD);
            let max = max_liquidatable_debt(before, base(debt), base(debt), base(collateral), DEFAULT_CLOSE_FACTOR_BPS).unwrap();
            let cover = max * U256::from(cover_pct) / U256::from(100u8);
            proptest::prop_assume!(!cover.is_zero());
            // the same token price and decimals for both: amounts are base-currency values
            let pair = Pair { debt_price: U256::from(USD), debt_decimals: 8, collateral_price: U256::from(USD), collateral_decimals: 8 };
            let s = seize(pair, cover, base(collateral), bonus, 0).unwrap();
            let (c_left, d_left) = (base(collateral) - s.collateral_to_liquidator, base(debt) - s.debt_repaid);
            let after = health_factor(&[Collateral { value: c_left, liquidation_threshold_bps: lt }], d_left).unwrap();
            // collateral / debt against the bonus, both in bps
            let margin = collateral as f64 / debt as f64 - f64::from(bonus) / 1e4;
            if margin > 1e-6 {
                // a few units of the wad's last digits for rounding
                proptest::prop_assert!(after.saturating_add(U256::from(1_000_000u64)) >= before, "{} -> {}", health_f64(before), health_f64(after));
            } else if margin < -1e-6 && !d_left.is_zero() {
                proptest::prop_assert!(after <= before.saturating_add(U256::from(1_000_000u64)), "{} -> {}", health_f64(before), health_f64(after));
            }
        }
    }

    #[test]
    fn an_account_is_valued_across_reserves_at_their_indexes() {
        use crate::lending::{RateStrategy, Reserve};
        let s = RateStrategy { optimal_usage_bps: 9_000, base_rate_bps: 0, slope1_bps: 400, slope2_bps: 6_000 };
        let mut eth = Reserve::new(s, 1_000, 0).unwrap();
        let mut usdc = Reserve::new(s, 1_000, 0).unwrap();
        let e18 = U256::from(10u64.pow(18));
        let e6 = U256::from(1_000_000u64);
        // 10 ETH supplied as collateral, 12,000 USDC borrowed (after someone supplied USDC)
        let mine = eth.supply(0, U256::from(10u8) * e18).unwrap();
        usdc.supply(0, U256::from(100_000u32) * e6).unwrap();
        let debt = usdc.borrow(0, U256::from(12_000u32) * e6).unwrap();
        let view = |reserve, price: u64, decimals, ltv, lt| ReserveView {
            reserve,
            price: U256::from(price) * U256::from(USD),
            decimals,
            ltv_bps: ltv,
            liquidation_threshold_bps: lt,
        };
        let lines = [
            (
                view(&eth, 2_000, 18, 8_000, 8_250),
                PositionLine { scaled_supply: mine, scaled_debt: U256::ZERO, collateral: true },
            ),
            (
                view(&usdc, 1, 6, 7_500, 7_800),
                PositionLine { scaled_supply: U256::ZERO, scaled_debt: debt, collateral: false },
            ),
        ];
        let a = account_data(&lines).unwrap();
        assert_eq!(a.collateral, base(20_000));
        assert_eq!(a.debt, base(12_000));
        // 20,000 x 82.5 % / 12,000
        assert!((health_f64(a.health) - 1.375).abs() < 1e-12, "{}", health_f64(a.health));
        // 80 % of 20,000 less 12,000
        assert_eq!(a.borrowable, base(4_000));
        // the same collateral not enabled: no health at all
        let mut off = lines;
        off[0].1.collateral = false;
        assert_eq!(account_data(&off).unwrap().health, U256::ZERO);
    }

    #[test]
    fn dust_may_not_be_left_behind() {
        assert!(leftover_allowed(base(1_000), base(5_000)));
        assert!(!leftover_allowed(base(999), base(5_000)));
        assert!(leftover_allowed(U256::ZERO, base(10)));
    }
}
