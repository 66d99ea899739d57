//! Flash-loan liquidations, executed by the lending market and the pools together: the market
//! lends the debt (up to what its reserve holds), the liquidation repays the borrower's debt with
//! it and hands over the collateral, the pools buy the collateral back into the debt token, and
//! the loan returns with its premium (5 bp, paid to the reserve's suppliers). Everything is
//! quoted before anything moves: a sale that would not repay the loan reverts the whole
//! transaction, which pays only its gas.

use meshsim_math::U256;
use meshsim_math::lending::percent_mul;
use meshsim_scenario::GasCosts;

use super::Lending;
use super::book::{Owner, revert};
use crate::engine::venue::{ExecCtx, Venue};
use crate::ledger::AccountId;
use crate::pools::Pools;
use crate::pools::venue::hop_gas;
use crate::tx::{
    Effect, FLASH_PREMIUM_BPS, FlashLiquidate, LendEffect, LendOp, RevertReason, Sender, Swap, SwapEffect, Tx,
};

/// The two venues a flash liquidation runs on.
pub struct FlashVenue<'a> {
    /// The pools (the sale).
    pub pools: &'a mut Pools,
    /// The markets (the loan and the liquidation).
    pub lending: &'a mut Lending,
}

fn to_u128(x: U256) -> u128 {
    u128::try_from(x).unwrap_or(u128::MAX)
}

impl Venue for FlashVenue<'_> {
    type Action = FlashLiquidate;
    type Quote = u64;

    fn quote(&self, f: &FlashLiquidate, costs: &GasCosts) -> Result<u64, RevertReason> {
        if self.lending.markets.get(f.lend.market.0 as usize).is_none() {
            return Err(RevertReason::UnknownVenue);
        }
        let mut gas = costs.base_tx + costs.liquidation;
        for leg in &f.sell {
            let entry = self.pools.entries.get(leg.pool.index()).ok_or(RevertReason::UnknownVenue)?;
            gas += hop_gas(costs, entry.pool.kind(), 0);
        }
        Ok(gas)
    }

    fn gas_used(&self, quote: &u64) -> u64 {
        *quote
    }

    fn failure_gas(&self, costs: &GasCosts) -> u64 {
        costs.base_tx + costs.liquidation
    }

    fn attempted(&self, f: &FlashLiquidate, effect: &mut Effect) {
        let (amount, position) = match f.lend.op {
            LendOp::Liquidate { debt_to_cover, user, .. } => (debt_to_cover, user.0),
            _ => (0, u32::MAX),
        };
        *effect = Effect::Lend(LendEffect { amount, position, ..LendEffect::default() });
    }

    fn apply(
        &mut self,
        tx: &Tx,
        f: &FlashLiquidate,
        _gas: &u64,
        payer: AccountId,
        ctx: &mut ExecCtx<'_>,
        effect: &mut Effect,
    ) -> Result<(), RevertReason> {
        let venue = |e| RevertReason::Venue(Box::new(e));
        let ledger = |e| RevertReason::Ledger(Box::new(e));
        let LendOp::Liquidate { user, collateral, debt, debt_to_cover } = f.lend.op else {
            return Err(venue(revert("INVALID_FLASH_ACTION")));
        };
        let owner = match tx.sender {
            Sender::Agent(a) => Owner::Agent(a),
            Sender::Vault(v) => Owner::Vault(v),
        };
        let market = self.lending.markets.get_mut(f.lend.market.0 as usize).ok_or(RevertReason::UnknownVenue)?;
        let d = market.reserve_of(debt).ok_or_else(|| venue(revert("ASSET_NOT_LISTED")))?;
        // what the liquidation would do now, and what its collateral fetches on the pools
        let terms = market.preview_liquidation(user, collateral, debt, debt_to_cover, ctx.now)?;
        let loan = to_u128(terms.seizure.debt_repaid);
        let seized = to_u128(terms.seizure.collateral_to_liquidator);
        let premium = to_u128(percent_mul(U256::from(loan), U256::from(FLASH_PREMIUM_BPS)).map_err(venue)?);
        if U256::from(loan) > market.reserves[d].reserve.available {
            return Err(venue(revert("FLASHLOAN_EXCEEDS_AVAILABLE_LIQUIDITY")));
        }
        let costs = ctx.config.gas;
        let sale = self.pools.quote_path(&[], &f.sell, seized, &costs)?;
        let need = loan.saturating_add(premium).saturating_add(f.min_profit);
        if sale.amount_out() < need {
            return Err(RevertReason::BelowMinimum { out: sale.amount_out(), min: need, token: debt });
        }
        // the loan, then the liquidation it pays for (undone if the market refuses)
        ctx.ledger.transfer(market.account, payer, debt, loan).map_err(ledger)?;
        let op = LendOp::Liquidate { user, collateral, debt, debt_to_cover: loan };
        let done = match market.execute(owner, op, payer, ctx) {
            Ok(done) => done,
            Err(e) => {
                ctx.ledger.transfer(payer, market.account, debt, loan).map_err(ledger)?;
                return Err(e);
            }
        };
        // quoted above on the same state: the sale and the repayment cannot fail from here
        let swap = Swap::new(f.sell.clone(), done.seized, need);
        let mut sold = Effect::None;
        self.pools.apply_swap(tx, &swap, &sale, payer, ctx, &mut sold)?;
        ctx.ledger.transfer(payer, market.account, debt, loan.saturating_add(premium)).map_err(ledger)?;
        market.reserves[d].reserve.donate(ctx.now, U256::from(premium)).map_err(venue)?;
        let sale = match sold {
            Effect::Swap(s) => s,
            _ => SwapEffect::default(),
        };
        *effect = Effect::FlashLiquidation(Box::new((LendEffect { premium, ..done }, sale)));
        Ok(())
    }
}
