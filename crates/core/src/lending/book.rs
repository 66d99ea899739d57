//! A market's book: its reserves with their oracle prices, and every position in it (scaled
//! balances per reserve). Valuation and liquidation terms are computed here from the math
//! crate's exact functions, so the venue that executes a liquidation and the liquidator that
//! plans one read the same numbers.

use std::collections::BTreeMap;

use meshsim_math::lending::{
    AccountData, Pair, PositionLine, Reserve, ReserveView, Seizure, leftover_allowed, max_liquidatable_debt, seize,
    value_in_base,
};
use meshsim_math::{MathError, MathResult, Protocol, U256};
use meshsim_scenario::{AgentId, MarketId, ReserveSpec, TokenId, VaultId};
use smallvec::SmallVec;

use crate::ledger::AccountId;
use crate::tx::PositionId;

/// An Aave revert.
pub(crate) fn revert(reason: &'static str) -> MathError {
    MathError::Revert { protocol: Protocol::Aave, reason }
}

/// Who holds a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Owner {
    /// A borrower placed at genesis by the world file (the `k`-th of the market).
    Genesis(u32),
    /// An agent.
    Agent(AgentId),
    /// The `k`-th position of an agent standing for a population of borrowers.
    Cohort(AgentId, u32),
    /// A vault.
    Vault(VaultId),
}

/// One position: its lines, one per reserve of the market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// Holder.
    pub owner: Owner,
    /// Scaled supply and debt per reserve, in reserve order.
    pub lines: SmallVec<[PositionLine; 4]>,
}

/// Liquidations and losses of one reserve so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReserveStats {
    /// Liquidations that repaid this reserve's debt.
    pub liquidations: u64,
    /// Debt repaid by liquidators, base units.
    pub debt_liquidated: u128,
    /// Collateral seized from this reserve, the protocol's fee included, base units.
    pub collateral_seized: u128,
    /// Of that, the protocol's fee, base units.
    pub protocol_fees: u128,
    /// Of the seized collateral, the bonus part (above the debt's value), base units.
    pub bonus: u128,
    /// Lowest oracle price relative to the external price so far, less 1 (-0.05: the market
    /// saw the token 5 % below the external price at worst).
    pub oracle_gap_min: f64,
    /// Lowest price of the token on any pool against the numeraire relative to the external
    /// price so far, less 1 (how far selling pushed the pools below the market).
    pub pool_gap_min: f64,
}

/// One reserve in the run: its parameters, state, price and history.
#[derive(Debug, Clone)]
pub struct ReserveState {
    /// As the world file set it.
    pub spec: ReserveSpec,
    /// Indexes, rates and totals.
    pub reserve: Reserve,
    /// The passive suppliers' scaled deposits.
    pub passive_scaled_supply: U256,
    /// The treasury's scaled deposits from liquidation fees.
    pub treasury_scaled: U256,
    /// Token decimals.
    pub decimals: u8,
    /// Oracle price this block, base currency with 8 decimals.
    pub price: U256,
    /// Liquidations and losses.
    pub stats: ReserveStats,
}

impl ReserveState {
    /// `amount` base units in the numeraire at the market's oracle price (for reports).
    pub fn value(&self, amount: u128) -> f64 {
        meshsim_math::u128_to_f64(amount) * meshsim_math::u256_to_f64(self.price)
            / 1e8
            / libm::pow(10.0, f64::from(self.decimals))
    }

    /// As an account's valuation sees it.
    pub fn view(&self) -> ReserveView<'_> {
        ReserveView {
            reserve: &self.reserve,
            price: self.price,
            decimals: self.decimals,
            ltv_bps: self.spec.ltv_bps,
            liquidation_threshold_bps: self.spec.liquidation_threshold_bps,
        }
    }
}

/// One market in the run.
#[derive(Debug, Clone)]
pub struct MarketState {
    /// Id.
    pub id: MarketId,
    /// Name.
    pub name: String,
    /// Custody account.
    pub account: AccountId,
    /// The chain it lives on: it accrues and is assessed in that chain's blocks.
    pub chain: crate::chain::ChainId,
    /// Reserves, in file order.
    pub reserves: Vec<ReserveState>,
    /// Positions by id.
    pub positions: Vec<Position>,
    /// Position of each owner.
    pub owners: BTreeMap<Owner, PositionId>,
    /// Share of an account's debt one liquidation may repay, bps (Aave: 5,000).
    pub close_factor_bps: u32,
    /// Each borrower's account data as of the start of this block's decisions (derived state,
    /// shared by every agent that reads it; positions without debt are `None`).
    pub assessed: Vec<Option<AccountData>>,
    /// The block `assessed` belongs to.
    pub assessed_at: u64,
}

/// The health of a market's borrowers at this block's prices.
#[derive(Debug, Clone, PartialEq)]
pub struct Census {
    /// Positions that owe something.
    pub borrowers: u32,
    /// Of those, with a health factor below 1.
    pub under_water: u32,
    /// Positions under water owing each reserve, in reserve order.
    pub under_water_by_reserve: SmallVec<[u64; 4]>,
    /// Lowest health factor among borrowers (infinite without any).
    pub lowest_health: f64,
}

/// What a liquidation of one position would do, in token amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiquidationTerms {
    /// Collateral reserve index.
    pub collateral: usize,
    /// Debt reserve index.
    pub debt: usize,
    /// Collateral and debt moved.
    pub seizure: Seizure,
    /// Health factor before, a wad.
    pub health: U256,
}

impl MarketState {
    /// Index of `token`'s reserve.
    pub fn reserve_of(&self, token: TokenId) -> Option<usize> {
        self.reserves.iter().position(|r| r.spec.token == token)
    }

    /// The position `owner` holds, if any.
    pub fn position_of(&self, owner: Owner) -> Option<PositionId> {
        self.owners.get(&owner).copied()
    }

    /// What `owner` has supplied of `token` (its aToken balance: scaled x supply index).
    pub fn supplied(&self, owner: Owner, token: TokenId) -> u128 {
        let (Some(k), Some(id)) = (self.reserve_of(token), self.position_of(owner)) else { return 0 };
        let line = &self.positions[id.0 as usize].lines[k];
        meshsim_math::lending::ray_mul(line.scaled_supply, self.reserves[k].reserve.liquidity_index)
            .ok()
            .and_then(|x| u128::try_from(x).ok())
            .unwrap_or(0)
    }

    /// What `owner` owes of `token` (its variable debt: scaled x borrow index).
    pub fn borrowed(&self, owner: Owner, token: TokenId) -> u128 {
        let (Some(k), Some(id)) = (self.reserve_of(token), self.position_of(owner)) else { return 0 };
        let line = &self.positions[id.0 as usize].lines[k];
        meshsim_math::lending::ray_mul(line.scaled_debt, self.reserves[k].reserve.variable_borrow_index)
            .ok()
            .and_then(|x| u128::try_from(x).ok())
            .unwrap_or(0)
    }

    /// Opens an empty position for `owner` (or returns the one it has).
    pub fn open(&mut self, owner: Owner) -> PositionId {
        if let Some(p) = self.position_of(owner) {
            return p;
        }
        let id = PositionId(self.positions.len() as u32);
        let lines = self.reserves.iter().map(|_| PositionLine::default()).collect();
        self.positions.push(Position { owner, lines });
        self.owners.insert(owner, id);
        id
    }

    /// Values `lines` against `reserves` (the market's own, or accrued copies of them).
    pub fn value(reserves: &[ReserveState], lines: &[PositionLine]) -> MathResult<AccountData> {
        meshsim_math::lending::account_data_of(reserves.iter().zip(lines).map(|(r, l)| (r.view(), l)))
    }

    /// Every borrower's health at this block's prices (for tables and screens).
    pub fn census(&self) -> Census {
        let mut c = Census {
            borrowers: 0,
            under_water: 0,
            under_water_by_reserve: self.reserves.iter().map(|_| 0).collect(),
            lowest_health: f64::INFINITY,
        };
        for (k, p) in self.positions.iter().enumerate() {
            if p.lines.iter().all(|l| l.scaled_debt.is_zero()) {
                continue;
            }
            c.borrowers += 1;
            let Ok(d) = self.account(PositionId(k as u32)) else { continue };
            c.lowest_health = c.lowest_health.min(meshsim_math::lending::health_f64(d.health));
            if d.health < meshsim_math::lending::WAD {
                c.under_water += 1;
                for (n, l) in c.under_water_by_reserve.iter_mut().zip(&p.lines) {
                    *n += u64::from(!l.scaled_debt.is_zero());
                }
            }
        }
        c
    }

    /// Values every borrower once for this block's decisions.
    pub fn assess(&mut self, block: u64) {
        // the buffer is kept from block to block: steady state allocates nothing
        let mut data = std::mem::take(&mut self.assessed);
        data.clear();
        data.extend((0..self.positions.len()).map(|k| {
            let p = &self.positions[k];
            if p.lines.iter().all(|l| l.scaled_debt.is_zero()) { None } else { self.account(PositionId(k as u32)).ok() }
        }));
        self.assessed = data;
        self.assessed_at = block;
    }

    /// A position's account data for this block's decisions: as assessed at its start, or
    /// worked out now for a position it did not cover.
    pub fn account_at(&self, id: PositionId, block: u64) -> MathResult<AccountData> {
        match self.assessed.get(id.0 as usize) {
            Some(Some(d)) if self.assessed_at == block => Ok(*d),
            _ => self.account(id),
        }
    }

    /// A position's account data at this block's prices.
    pub fn account(&self, id: PositionId) -> MathResult<AccountData> {
        let p = self.positions.get(id.0 as usize).ok_or(revert("USER_NOT_FOUND"))?;
        Self::value(&self.reserves, &p.lines)
    }

    /// What liquidating up to `cover` of position `id`'s debt in reserve `d` against its
    /// collateral in reserve `c` does (`LiquidationLogic.executeLiquidationCall`): the health
    /// check, the close factor, the bonus, the protocol's fee and the dust rule. `reserves` are
    /// the market's reserves as of the liquidation (accrued).
    pub fn liquidation_terms(
        &self,
        reserves: &[ReserveState],
        lines: &[PositionLine],
        c: usize,
        d: usize,
        cover: U256,
    ) -> MathResult<LiquidationTerms> {
        let (Some(cr), Some(dr), Some(cl), Some(dl)) = (reserves.get(c), reserves.get(d), lines.get(c), lines.get(d))
        else {
            return Err(revert("ASSET_NOT_LISTED"));
        };
        if c == d {
            return Err(revert("INVALID_ASSETS"));
        }
        let data = Self::value(reserves, lines)?;
        if data.health >= meshsim_math::lending::WAD {
            return Err(revert("HEALTH_FACTOR_NOT_BELOW_THRESHOLD"));
        }
        let collateral_balance = meshsim_math::lending::ray_mul(cl.scaled_supply, cr.reserve.liquidity_index)?;
        if !cl.collateral || cr.spec.liquidation_threshold_bps == 0 || collateral_balance.is_zero() {
            return Err(revert("COLLATERAL_CANNOT_BE_LIQUIDATED"));
        }
        let user_debt = meshsim_math::lending::ray_mul(dl.scaled_debt, dr.reserve.variable_borrow_index)?;
        if user_debt.is_zero() {
            return Err(revert("SPECIFIED_CURRENCY_NOT_BORROWED_BY_USER"));
        }
        if cover.is_zero() {
            return Err(revert("INVALID_AMOUNT"));
        }
        let debt_base = value_in_base(user_debt, dr.price, dr.decimals)?;
        let collateral_base = value_in_base(collateral_balance, cr.price, cr.decimals)?;
        let max_base =
            max_liquidatable_debt(data.health, data.debt, debt_base, collateral_base, self.close_factor_bps)?;
        let unit = U256::from(10u8).pow(U256::from(dr.decimals));
        let max_debt = if max_base >= debt_base {
            user_debt
        } else {
            let overflow = MathError::Overflow { what: "maxLiquidatableDebt" };
            max_base.checked_mul(unit).ok_or(overflow)? / dr.price
        };
        let actual = cover.min(max_debt);
        let pair = Pair {
            debt_price: dr.price,
            debt_decimals: dr.decimals,
            collateral_price: cr.price,
            collateral_decimals: cr.decimals,
        };
        let seizure = seize(
            pair,
            actual,
            collateral_balance,
            cr.spec.liquidation_bonus_bps,
            cr.spec.liquidation_protocol_fee_bps,
        )?;
        // a partial liquidation may not leave dust behind in either reserve
        let taken = seizure.collateral_to_liquidator + seizure.protocol_fee;
        if seizure.debt_repaid < user_debt && taken < collateral_balance {
            let debt_left = value_in_base(user_debt - seizure.debt_repaid, dr.price, dr.decimals)?;
            let collateral_left = value_in_base(collateral_balance - taken, cr.price, cr.decimals)?;
            if !leftover_allowed(debt_left, collateral_left) {
                return Err(revert("MUST_NOT_LEAVE_DUST"));
            }
        }
        Ok(LiquidationTerms { collateral: c, debt: d, seizure, health: data.health })
    }
}
