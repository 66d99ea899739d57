//! The lending venue: executes [`Lend`] actions on a market as Aave v3's `Pool` does. Every
//! action works on accrued copies of the market's reserves and of the position, checks what the
//! contracts check, moves the tokens, and only then replaces the originals: a reverted action
//! changes nothing.

use meshsim_math::lending::{PositionLine, WAD, percent_div, percent_mul, ray_div, ray_mul, value_in_base};
use meshsim_math::{MathError, U256};
use meshsim_scenario::{GasCosts, TokenId};
use smallvec::SmallVec;

use super::Lending;
use super::book::{MarketState, Owner, ReserveState, revert};
use crate::engine::venue::{ExecCtx, Venue};
use crate::ledger::AccountId;
use crate::tx::{Effect, Lend, LendEffect, LendOp, PositionId, RevertReason, Sender, Tx};

fn venue(e: MathError) -> RevertReason {
    RevertReason::Venue(Box::new(e))
}

/// Accrued copies of a market's reserves: what an action works on.
type Work = SmallVec<[ReserveState; 4]>;

fn to_u128(x: U256) -> u128 {
    u128::try_from(x).unwrap_or(u128::MAX)
}

impl Venue for Lending {
    type Action = Lend;
    type Quote = u64;

    fn quote(&self, action: &Lend, costs: &GasCosts) -> Result<u64, RevertReason> {
        if self.markets.get(action.market.0 as usize).is_none() {
            return Err(RevertReason::UnknownVenue);
        }
        Ok(costs.base_tx
            + match action.op {
                LendOp::Liquidate { .. } => costs.liquidation,
                _ => costs.lending_action,
            })
    }

    fn gas_used(&self, quote: &u64) -> u64 {
        *quote
    }

    fn failure_gas(&self, costs: &GasCosts) -> u64 {
        costs.base_tx + costs.lending_action
    }

    fn attempted(&self, action: &Lend, effect: &mut Effect) {
        let (amount, position) = match action.op {
            LendOp::Supply { amount, .. }
            | LendOp::Withdraw { amount, .. }
            | LendOp::Borrow { amount, .. }
            | LendOp::Repay { amount, .. } => (amount, u32::MAX),
            LendOp::Liquidate { debt_to_cover, user, .. } => (debt_to_cover, user.0),
        };
        // a revert reports the request; the sender's own position is not looked up
        *effect = Effect::Lend(LendEffect { amount, position, ..LendEffect::default() });
    }

    fn apply(
        &mut self,
        tx: &Tx,
        action: &Lend,
        _gas: &u64,
        payer: AccountId,
        ctx: &mut ExecCtx<'_>,
        effect: &mut Effect,
    ) -> Result<(), RevertReason> {
        let owner = match (tx.sender, action.on_behalf) {
            (Sender::Agent(a), None) => Owner::Agent(a),
            (Sender::Agent(a), Some(k)) => Owner::Cohort(a, k),
            (Sender::Vault(v), _) => Owner::Vault(v),
        };
        let market = self.markets.get_mut(action.market.0 as usize).ok_or(RevertReason::UnknownVenue)?;
        let done = market.execute(owner, action.op, payer, ctx)?;
        *effect = Effect::Lend(done);
        Ok(())
    }
}

impl MarketState {
    fn reserve_index(&self, token: TokenId) -> Result<usize, RevertReason> {
        self.reserve_of(token).ok_or_else(|| venue(revert("ASSET_NOT_LISTED")))
    }

    /// Copies of the reserves accrued to `now`: what an action works on.
    fn accrued(&self, now: u64) -> Result<Work, RevertReason> {
        let mut work: Work = self.reserves.iter().cloned().collect();
        for r in &mut work {
            r.reserve.accrue(now).map_err(venue)?;
        }
        Ok(work)
    }

    fn lines_of(&self, id: PositionId) -> Result<SmallVec<[PositionLine; 4]>, RevertReason> {
        self.positions.get(id.0 as usize).map(|p| p.lines.clone()).ok_or_else(|| venue(revert("USER_NOT_FOUND")))
    }

    /// What liquidating up to `cover` of position `user`'s debt would do at `now` (on accrued
    /// copies of the reserves; nothing changes).
    pub fn preview_liquidation(
        &self,
        user: PositionId,
        collateral: TokenId,
        debt: TokenId,
        cover: u128,
        now: u64,
    ) -> Result<super::LiquidationTerms, RevertReason> {
        let work = self.accrued(now)?;
        let lines = self.lines_of(user)?;
        let (c, d) = (self.reserve_index(collateral)?, self.reserve_index(debt)?);
        self.liquidation_terms(&work, &lines, c, d, U256::from(cover)).map_err(venue)
    }

    /// Runs one operation for `owner`, whose tokens come from and go to `payer`: in a
    /// transaction (the venue), or outside one (a vault paying a redeeming depositor).
    pub fn execute(
        &mut self,
        owner: Owner,
        op: LendOp,
        payer: AccountId,
        ctx: &mut ExecCtx<'_>,
    ) -> Result<LendEffect, RevertReason> {
        let now = ctx.now;
        let mut work = self.accrued(now)?;
        let existing = self.position_of(owner);
        // the position acted on: the sender's own, or (liquidations) the one named
        let id = match op {
            LendOp::Liquidate { user, .. } => user,
            LendOp::Supply { .. } => existing.unwrap_or(PositionId(self.positions.len() as u32)),
            _ => existing.ok_or_else(|| venue(revert("NO_POSITION")))?,
        };
        let mut lines = match self.positions.get(id.0 as usize) {
            Some(p) => p.lines.clone(),
            None => self.reserves.iter().map(|_| PositionLine::default()).collect(),
        };
        let balance = |ctx: &ExecCtx<'_>, token| ctx.ledger.balance(payer, token);
        let ledger = |e| RevertReason::Ledger(Box::new(e));
        let mut done = LendEffect { position: id.0, ..LendEffect::default() };
        // token movements, made once every check has passed
        let mut moves: SmallVec<[(AccountId, AccountId, TokenId, u128); 2]> = SmallVec::new();
        match op {
            LendOp::Supply { token, amount } => {
                let k = self.reserve_index(token)?;
                if balance(ctx, token) < amount {
                    return Err(RevertReason::InsufficientBalance);
                }
                let r = &mut work[k];
                if let Some(cap) = r.spec.supply_cap {
                    let supplied =
                        ray_mul(r.reserve.scaled_supply + r.reserve.accrued_to_treasury, r.reserve.liquidity_index)
                            .map_err(venue)?;
                    if supplied + U256::from(amount) > U256::from(cap) {
                        return Err(venue(revert("SUPPLY_CAP_EXCEEDED")));
                    }
                }
                let scaled = r.reserve.supply(now, U256::from(amount)).map_err(venue)?;
                // the first deposit of a collateral asset is enabled as collateral
                if lines[k].scaled_supply.is_zero() && r.spec.ltv_bps != 0 {
                    lines[k].collateral = true;
                }
                lines[k].scaled_supply += scaled;
                moves.push((payer, self.account, token, amount));
                done.amount = amount;
            }
            LendOp::Withdraw { token, amount } => {
                let k = self.reserve_index(token)?;
                let r = &mut work[k];
                let held = ray_mul(lines[k].scaled_supply, r.reserve.liquidity_index).map_err(venue)?;
                let amount = if amount == u128::MAX { to_u128(held) } else { amount };
                let scaled = r.reserve.withdraw(now, U256::from(amount), lines[k].scaled_supply).map_err(venue)?;
                lines[k].scaled_supply -= scaled;
                if lines[k].scaled_supply.is_zero() {
                    lines[k].collateral = false;
                }
                let after = MarketState::value(&work, &lines).map_err(venue)?;
                if after.health < WAD {
                    return Err(venue(revert("HEALTH_FACTOR_LOWER_THAN_LIQUIDATION_THRESHOLD")));
                }
                moves.push((self.account, payer, token, amount));
                done.amount = amount;
            }
            LendOp::Borrow { token, amount } => {
                let k = self.reserve_index(token)?;
                let before = MarketState::value(&work, &lines).map_err(venue)?;
                if before.collateral.is_zero() {
                    return Err(venue(revert("COLLATERAL_BALANCE_IS_ZERO")));
                }
                if before.health < WAD {
                    return Err(venue(revert("HEALTH_FACTOR_LOWER_THAN_LIQUIDATION_THRESHOLD")));
                }
                let r = &mut work[k];
                let wanted = value_in_base(U256::from(amount), r.price, r.decimals).map_err(venue)?;
                let limit = percent_mul(before.collateral, before.average_ltv_bps).map_err(venue)?;
                if before.debt + wanted > limit {
                    return Err(venue(revert("COLLATERAL_CANNOT_COVER_NEW_BORROW")));
                }
                if let Some(cap) = r.spec.borrow_cap {
                    let owed = r.reserve.total_debt().map_err(venue)?;
                    if owed + U256::from(amount) > U256::from(cap) {
                        return Err(venue(revert("BORROW_CAP_EXCEEDED")));
                    }
                }
                let scaled = r.reserve.borrow(now, U256::from(amount)).map_err(venue)?;
                lines[k].scaled_debt += scaled;
                moves.push((self.account, payer, token, amount));
                done.amount = amount;
            }
            LendOp::Repay { token, amount } => {
                let k = self.reserve_index(token)?;
                let r = &mut work[k];
                let owed = to_u128(ray_mul(lines[k].scaled_debt, r.reserve.variable_borrow_index).map_err(venue)?);
                if balance(ctx, token) < amount.min(owed) {
                    return Err(RevertReason::InsufficientBalance);
                }
                let (paid, scaled) = r.reserve.repay(now, U256::from(amount), lines[k].scaled_debt).map_err(venue)?;
                lines[k].scaled_debt -= scaled;
                let paid = to_u128(paid);
                moves.push((payer, self.account, token, paid));
                done.amount = paid;
            }
            LendOp::Liquidate { user, collateral, debt, debt_to_cover } => {
                if self.positions.get(user.0 as usize).is_none() {
                    return Err(venue(revert("USER_NOT_FOUND")));
                }
                lines = self.lines_of(user)?;
                let (c, d) = (self.reserve_index(collateral)?, self.reserve_index(debt)?);
                let terms = self.liquidation_terms(&work, &lines, c, d, U256::from(debt_to_cover)).map_err(venue)?;
                let s = terms.seizure;
                done.health_before = to_u128(terms.health);
                if U256::from(balance(ctx, debt)) < s.debt_repaid {
                    return Err(RevertReason::InsufficientBalance);
                }
                let (paid, burned) = work[d].reserve.repay(now, s.debt_repaid, lines[d].scaled_debt).map_err(venue)?;
                lines[d].scaled_debt -= burned;
                let cr = &mut work[c];
                if !s.collateral_to_liquidator.is_zero() {
                    let scaled =
                        cr.reserve.withdraw(now, s.collateral_to_liquidator, lines[c].scaled_supply).map_err(venue)?;
                    lines[c].scaled_supply -= scaled;
                }
                // the protocol's fee moves as aTokens to the treasury
                let fee_scaled =
                    ray_div(s.protocol_fee, cr.reserve.liquidity_index).map_err(venue)?.min(lines[c].scaled_supply);
                lines[c].scaled_supply -= fee_scaled;
                cr.treasury_scaled += fee_scaled;
                if lines[c].scaled_supply.is_zero() {
                    lines[c].collateral = false;
                }
                let taken = s.collateral_to_liquidator + s.protocol_fee;
                let bonus = taken - percent_div(taken, U256::from(cr.spec.liquidation_bonus_bps)).map_err(venue)?;
                cr.stats.collateral_seized = cr.stats.collateral_seized.saturating_add(to_u128(taken));
                cr.stats.protocol_fees = cr.stats.protocol_fees.saturating_add(to_u128(s.protocol_fee));
                cr.stats.bonus = cr.stats.bonus.saturating_add(to_u128(bonus));
                work[d].stats.liquidations += 1;
                work[d].stats.debt_liquidated = work[d].stats.debt_liquidated.saturating_add(to_u128(paid));
                // no collateral left anywhere: what is still owed is bad debt, written off
                let covered = lines
                    .iter()
                    .zip(&work)
                    .any(|(l, r)| l.collateral && !l.scaled_supply.is_zero() && r.spec.liquidation_threshold_bps != 0);
                if !covered {
                    let mut bad = U256::ZERO;
                    for (l, r) in lines.iter_mut().zip(work.iter_mut()) {
                        if !l.scaled_debt.is_zero() {
                            let owed = r.reserve.write_off(now, l.scaled_debt).map_err(venue)?;
                            l.scaled_debt = U256::ZERO;
                            bad += value_in_base(owed, r.price, r.decimals).map_err(venue)?;
                        }
                    }
                    done.bad_debt_base = to_u128(bad);
                }
                moves.push((payer, self.account, debt, to_u128(paid)));
                moves.push((self.account, payer, collateral, to_u128(s.collateral_to_liquidator)));
                done.amount = to_u128(paid);
                done.seized = to_u128(s.collateral_to_liquidator);
                done.protocol_fee = to_u128(s.protocol_fee);
            }
        }
        done.health_after = to_u128(MarketState::value(&work, &lines).map_err(venue)?.health);
        // balances were checked and custody holds what the reserves say, so these cannot fail
        for (from, to, token, amount) in moves {
            ctx.ledger.transfer(from, to, token, amount).map_err(ledger)?;
        }
        // everything checked and moved: the copies become the market
        for (r, w) in self.reserves.iter_mut().zip(work) {
            *r = w;
        }
        if id.0 as usize == self.positions.len() {
            self.open(owner);
        }
        if let Some(p) = self.positions.get_mut(id.0 as usize) {
            p.lines = lines;
        }
        Ok(done)
    }
}
