//! One reserve of an Aave v3 pool: indexes that grow with time (`ReserveLogic.updateState`),
//! scaled balances so interest accrues without touching accounts, the treasury's share of
//! interest (`_accrueToTreasury`), rates recomputed after every action
//! (`updateInterestRatesAndVirtualBalance`), and the reserve side of supply, withdraw, borrow and
//! repay. Accounts hold scaled amounts; their balance is `scaled x index`.

use super::rates::{RateStrategy, Rates};
use super::wad_ray::{RAY, compounded_interest, linear_interest, percent_mul, ray_div, ray_mul};
use crate::{MathError, MathResult, Protocol, U256};

fn revert(reason: &'static str) -> MathError {
    MathError::Revert { protocol: Protocol::Aave, reason }
}

/// A reserve's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserve {
    /// Rate parameters.
    pub strategy: RateStrategy,
    /// Share of borrowers' interest kept by the treasury, bps.
    pub reserve_factor_bps: u32,
    /// Supply index, a ray (starts at 1).
    pub liquidity_index: U256,
    /// Variable borrow index, a ray (starts at 1).
    pub variable_borrow_index: U256,
    /// Current rates.
    pub rates: Rates,
    /// Time of the last update, seconds.
    pub last_update: u64,
    /// Scaled supply of the aToken (suppliers, treasury mints included).
    pub scaled_supply: U256,
    /// Scaled variable debt.
    pub scaled_debt: U256,
    /// Treasury interest accrued, scaled, not yet minted.
    pub accrued_to_treasury: U256,
    /// Underlying the reserve holds (v3.1's virtual balance).
    pub available: U256,
    /// Debt written off because its collateral ran out (v3.3's `deficit`), underlying units.
    pub deficit: U256,
    /// Interest borrowers have accrued since genesis, underlying units (a statistic).
    pub interest: U256,
}

impl Reserve {
    /// An empty reserve at time `now`, indexes at 1.
    pub fn new(strategy: RateStrategy, reserve_factor_bps: u32, now: u64) -> MathResult<Self> {
        strategy.validate()?;
        if reserve_factor_bps > 10_000 {
            return Err(MathError::InvalidParameter {
                name: "reserve factor",
                detail: format!("{reserve_factor_bps} bps is over 100 %"),
            });
        }
        let rates = strategy.rates(U256::ZERO, U256::ZERO, reserve_factor_bps)?;
        Ok(Reserve {
            strategy,
            reserve_factor_bps,
            liquidity_index: RAY,
            variable_borrow_index: RAY,
            rates,
            last_update: now,
            scaled_supply: U256::ZERO,
            scaled_debt: U256::ZERO,
            accrued_to_treasury: U256::ZERO,
            available: U256::ZERO,
            deficit: U256::ZERO,
            interest: U256::ZERO,
        })
    }

    /// `updateState`: grows both indexes to `now` and accrues the treasury's share of the
    /// interest borrowers owe for the interval. Nothing happens twice in one second.
    pub fn accrue(&mut self, now: u64) -> MathResult<()> {
        if now <= self.last_update {
            return Ok(());
        }
        let dt = now - self.last_update;
        let (prev_liquidity, prev_borrow) = (self.liquidity_index, self.variable_borrow_index);
        if !self.rates.liquidity_rate.is_zero() {
            self.liquidity_index = ray_mul(linear_interest(self.rates.liquidity_rate, dt)?, prev_liquidity)?;
        }
        if !self.scaled_debt.is_zero() {
            let growth = compounded_interest(self.rates.variable_borrow_rate, dt)?;
            self.variable_borrow_index = ray_mul(growth, prev_borrow)?;
            // the debt that accrued, and the treasury's share of it
            let before = ray_mul(self.scaled_debt, prev_borrow)?;
            let after = ray_mul(self.scaled_debt, self.variable_borrow_index)?;
            self.interest += after - before;
            let to_mint = percent_mul(after - before, U256::from(self.reserve_factor_bps))?;
            if !to_mint.is_zero() {
                self.accrued_to_treasury += ray_div(to_mint, self.liquidity_index)?;
            }
        }
        self.last_update = now;
        Ok(())
    }

    /// Total variable debt, `scaled_debt x index`.
    pub fn total_debt(&self) -> MathResult<U256> {
        ray_mul(self.scaled_debt, self.variable_borrow_index)
    }

    /// Utilization, a ray: debt / (available + debt).
    pub fn utilization(&self) -> MathResult<U256> {
        let debt = self.total_debt()?;
        if debt.is_zero() { Ok(U256::ZERO) } else { ray_div(debt, debt + self.available) }
    }

    /// `updateInterestRatesAndVirtualBalance`: the rates after `added` underlying came in and
    /// `taken` went out.
    fn update_rates(&mut self, added: U256, taken: U256) -> MathResult<()> {
        let available =
            (self.available + added).checked_sub(taken).ok_or(revert("ERC20: transfer amount exceeds balance"))?;
        self.rates = self.strategy.rates(self.total_debt()?, available, self.reserve_factor_bps)?;
        self.available = available;
        Ok(())
    }

    /// Runs an action on a copy and keeps it only if it succeeded: a reverted transaction leaves
    /// the reserve as it was, accrual included.
    fn atomically<T>(&mut self, action: impl FnOnce(&mut Reserve) -> MathResult<T>) -> MathResult<T> {
        let mut next = self.clone();
        let out = action(&mut next)?;
        *self = next;
        Ok(out)
    }

    /// Supply `amount` (accrued to now first): returns the scaled aToken amount minted.
    pub fn supply(&mut self, now: u64, amount: U256) -> MathResult<U256> {
        self.atomically(|r| r.supply_in_place(now, amount))
    }

    /// Withdraw `amount` of a supplier holding `scaled_balance`: returns the scaled amount
    /// burned. Fails beyond the holder's balance, and beyond what the reserve holds (the
    /// 100 %-utilization lock).
    pub fn withdraw(&mut self, now: u64, amount: U256, scaled_balance: U256) -> MathResult<U256> {
        self.atomically(|r| r.withdraw_in_place(now, amount, scaled_balance))
    }

    /// Borrow `amount`: returns the scaled debt minted. (Health, caps and collateral are the
    /// pool's checks, outside the reserve.) Fails beyond what the reserve holds.
    pub fn borrow(&mut self, now: u64, amount: U256) -> MathResult<U256> {
        self.atomically(|r| r.borrow_in_place(now, amount))
    }

    /// Repay up to `amount` of a borrower owing `scaled_debt`: returns (amount repaid, scaled
    /// debt burned); paying more than the debt repays the debt.
    pub fn repay(&mut self, now: u64, amount: U256, scaled_debt: U256) -> MathResult<(U256, U256)> {
        self.atomically(|r| r.repay_in_place(now, amount, scaled_debt))
    }

    /// `cumulateToLiquidityIndex`: `amount` of underlying (a flash loan's premium) paid into the
    /// reserve for its suppliers: the supply index grows by `amount / total supplied`.
    pub fn donate(&mut self, now: u64, amount: U256) -> MathResult<()> {
        self.atomically(|r| {
            r.accrue(now)?;
            let supplied = ray_mul(r.scaled_supply + r.accrued_to_treasury, r.liquidity_index)?;
            if !supplied.is_zero() && !amount.is_zero() {
                let growth = ray_div(amount, supplied)? + RAY;
                r.liquidity_index = ray_mul(growth, r.liquidity_index)?;
            }
            r.update_rates(amount, U256::ZERO)
        })
    }

    /// `_burnBadDebt`: writes off a borrower's whole debt of `scaled_debt` (its collateral is
    /// gone) into the reserve's deficit; returns the amount written off.
    pub fn write_off(&mut self, now: u64, scaled_debt: U256) -> MathResult<U256> {
        self.atomically(|r| {
            r.accrue(now)?;
            let owed = ray_mul(scaled_debt, r.variable_borrow_index)?;
            r.scaled_debt -= scaled_debt.min(r.scaled_debt);
            r.deficit += owed;
            r.update_rates(U256::ZERO, U256::ZERO)?;
            Ok(owed)
        })
    }

    fn supply_in_place(&mut self, now: u64, amount: U256) -> MathResult<U256> {
        if amount.is_zero() {
            return Err(revert("INVALID_AMOUNT"));
        }
        self.accrue(now)?;
        self.update_rates(amount, U256::ZERO)?;
        let scaled = ray_div(amount, self.liquidity_index)?;
        if scaled.is_zero() {
            return Err(revert("INVALID_MINT_AMOUNT"));
        }
        self.scaled_supply += scaled;
        Ok(scaled)
    }

    fn withdraw_in_place(&mut self, now: u64, amount: U256, scaled_balance: U256) -> MathResult<U256> {
        if amount.is_zero() {
            return Err(revert("INVALID_AMOUNT"));
        }
        self.accrue(now)?;
        if amount > ray_mul(scaled_balance, self.liquidity_index)? {
            return Err(revert("NOT_ENOUGH_AVAILABLE_USER_BALANCE"));
        }
        let scaled = ray_div(amount, self.liquidity_index)?.min(scaled_balance);
        if scaled.is_zero() {
            return Err(revert("INVALID_BURN_AMOUNT"));
        }
        self.update_rates(U256::ZERO, amount)?;
        self.scaled_supply -= scaled.min(self.scaled_supply);
        Ok(scaled)
    }

    fn borrow_in_place(&mut self, now: u64, amount: U256) -> MathResult<U256> {
        if amount.is_zero() {
            return Err(revert("INVALID_AMOUNT"));
        }
        self.accrue(now)?;
        let scaled = ray_div(amount, self.variable_borrow_index)?;
        if scaled.is_zero() {
            return Err(revert("INVALID_MINT_AMOUNT"));
        }
        self.scaled_debt += scaled;
        self.update_rates(U256::ZERO, amount)?;
        Ok(scaled)
    }

    fn repay_in_place(&mut self, now: u64, amount: U256, scaled_debt: U256) -> MathResult<(U256, U256)> {
        if amount.is_zero() {
            return Err(revert("INVALID_AMOUNT"));
        }
        self.accrue(now)?;
        let owed = ray_mul(scaled_debt, self.variable_borrow_index)?;
        if owed.is_zero() {
            return Err(revert("NO_DEBT_OF_SELECTED_TYPE"));
        }
        let paid = amount.min(owed);
        let scaled =
            if paid == owed { scaled_debt } else { ray_div(paid, self.variable_borrow_index)?.min(scaled_debt) };
        self.scaled_debt -= scaled.min(self.scaled_debt);
        self.update_rates(paid, U256::ZERO)?;
        Ok((paid, scaled))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const E6: u64 = 1_000_000;

    fn usdc() -> Reserve {
        let s = RateStrategy { optimal_usage_bps: 9_200, base_rate_bps: 0, slope1_bps: 650, slope2_bps: 3_500 };
        Reserve::new(s, 1_000, 0).unwrap()
    }

    #[test]
    fn a_year_at_80_percent_utilization_pays_what_the_rates_say() {
        let mut r = usdc();
        let supplied = r.supply(0, U256::from(1_000_000 * E6)).unwrap();
        let debt = r.borrow(0, U256::from(800_000 * E6)).unwrap();
        let year = 31_536_000;
        r.accrue(year).unwrap();
        // borrowers: compounded 5.652 % a year; suppliers: linear 4.070 %
        let owed = crate::u256_to_f64(ray_mul(debt, r.variable_borrow_index).unwrap()) / 1e6;
        assert!((owed / 800_000.0 - libm::exp(0.05652)).abs() < 1e-5, "{owed}");
        let balance = crate::u256_to_f64(ray_mul(supplied, r.liquidity_index).unwrap()) / 1e6;
        assert!((balance / 1_000_000.0 - 1.04070).abs() < 1e-5, "{balance}");
        // the treasury took 10 % of the interest borrowers owe
        let interest = owed - 800_000.0;
        let treasury = crate::u256_to_f64(ray_mul(r.accrued_to_treasury, r.liquidity_index).unwrap()) / 1e6;
        assert!((treasury / interest - 0.1).abs() < 1e-4, "{treasury} of {interest}");
    }

    #[test]
    fn a_fully_used_reserve_cannot_be_withdrawn_from() {
        let mut r = usdc();
        let mine = r.supply(0, U256::from(1_000 * E6)).unwrap();
        r.borrow(0, U256::from(1_000 * E6)).unwrap();
        assert_eq!(r.utilization().unwrap(), RAY);
        let err = r.withdraw(12, U256::from(E6), mine).unwrap_err();
        assert!(matches!(err, MathError::Revert { reason: "ERC20: transfer amount exceeds balance", .. }), "{err}");
        // a repayment frees liquidity again
        let (paid, _) = r.repay(24, U256::from(10 * E6), r.scaled_debt).unwrap();
        assert_eq!(paid, U256::from(10 * E6));
        assert!(r.withdraw(36, U256::from(E6), mine).is_ok());
    }

    #[test]
    fn a_premium_paid_in_grows_every_supplier_balance_by_its_share() {
        let mut r = usdc();
        let a = r.supply(0, U256::from(600_000 * E6)).unwrap();
        let b = r.supply(0, U256::from(400_000 * E6)).unwrap();
        // a 5 bp premium on a 1,000,000 USDC flash loan: 500 USDC for the suppliers
        r.donate(0, U256::from(500 * E6)).unwrap();
        let bal = |s| crate::u256_to_f64(ray_mul(s, r.liquidity_index).unwrap()) / 1e6;
        assert!((bal(a) - 600_300.0).abs() < 1e-3 && (bal(b) - 400_200.0).abs() < 1e-3, "{} {}", bal(a), bal(b));
        assert_eq!(r.available, U256::from(1_000_500 * E6));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever the sequence: indexes never fall, a failed action changes nothing, and what
        /// suppliers and the treasury are owed never exceeds what the reserve holds plus what it
        /// lent (beyond a few base units of rounding).
        #[test]
        fn indexes_grow_and_the_books_balance(
            ops in prop::collection::vec((0u8..4, 1u64..1_000_000_000_000, 0u64..2_000_000), 1..40),
        ) {
            let mut r = usdc();
            let (mut supplied, mut owed) = (U256::ZERO, U256::ZERO);
            let mut now = 0u64;
            let (mut li, mut bi) = (r.liquidity_index, r.variable_borrow_index);
            for (kind, amount, dt) in ops {
                now += dt;
                let amount = U256::from(amount);
                let _ = match kind {
                    0 => r.supply(now, amount).map(|s| supplied += s),
                    1 => r.withdraw(now, amount, supplied).map(|s| supplied -= s),
                    2 => r.borrow(now, amount).map(|s| owed += s),
                    _ => r.repay(now, amount, owed).map(|(_, s)| owed -= s),
                };
                prop_assert!(r.liquidity_index >= li && r.variable_borrow_index >= bi);
                (li, bi) = (r.liquidity_index, r.variable_borrow_index);
                prop_assert_eq!(r.scaled_supply, supplied);
                prop_assert_eq!(r.scaled_debt, owed);
            }
            r.accrue(now + 1_000_000).unwrap();
            let claims = ray_mul(r.scaled_supply + r.accrued_to_treasury, r.liquidity_index).unwrap();
            let assets = r.available + r.total_debt().unwrap();
            // the claims never exceed the assets by more than rounding; the assets may exceed
            // them (borrowers compound, suppliers earn linearly between updates: the surplus
            // stays with the protocol, as in Aave)
            prop_assert!(claims <= assets + U256::from(100u8), "claims {} assets {}", claims, assets);
        }
    }
}
