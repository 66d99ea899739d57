//! Lending markets (Aave v3 style), as a plugin: each market's reserves from the world file, their
//! genesis deposits and passive debt in the ledger, interest accruing to every block's time, the
//! custody balance checked against the reserves every block, and their state in the digest.
//!
//! The actions (supply, withdraw, borrow, repay, liquidate, flash loans), the agents that take
//! them and the vault strategies that use them build on this (issue #14).

use bevy_ecs::prelude::*;
use meshsim_math::U256;
use meshsim_math::lending::Reserve;
use meshsim_scenario::{LendingSpec, MarketId, ReserveSpec};
use sha2::{Digest as _, Sha256};

use crate::chain::Chains;
use crate::engine::{App, Phase, Plugin, State, StateView, shared};
use crate::ledger::{AccountId, Ledger};
use crate::{SimConfig, SimError, SimStatus};

/// The lending domain.
pub struct LendingPlugin;

/// One reserve in the run: its parameters and its state.
#[derive(Debug, Clone)]
pub struct ReserveState {
    /// As the world file set it.
    pub spec: ReserveSpec,
    /// Indexes, rates and totals.
    pub reserve: Reserve,
    /// The passive suppliers' scaled deposits.
    pub passive_scaled_supply: U256,
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
    /// Reserves, in file order.
    pub reserves: Vec<ReserveState>,
}

/// Every lending market of the world.
#[derive(Component, Debug, Clone, Default)]
pub struct Lending {
    /// By id.
    pub markets: Vec<MarketState>,
}

fn genesis(spec: &LendingSpec, account: AccountId) -> Result<MarketState, SimError> {
    let math =
        |source: meshsim_math::MathError| SimError::Lending { market: spec.name.clone(), reason: source.to_string() };
    let reserves = spec
        .reserves
        .iter()
        .map(|r| {
            let mut reserve = Reserve::new(r.strategy, r.reserve_factor_bps, 0).map_err(math)?;
            let passive_scaled_supply =
                if r.supplied > 0 { reserve.supply(0, U256::from(r.supplied)).map_err(math)? } else { U256::ZERO };
            if r.borrowed > 0 {
                reserve.borrow(0, U256::from(r.borrowed)).map_err(math)?;
            }
            Ok(ReserveState { spec: r.clone(), reserve, passive_scaled_supply })
        })
        .collect::<Result<Vec<_>, SimError>>()?;
    Ok(MarketState { id: spec.id, name: spec.name.clone(), account, reserves })
}

impl Plugin for LendingPlugin {
    fn name(&self) -> &'static str {
        "lending"
    }

    fn present(&self, scenario: &meshsim_scenario::Scenario, _options: &crate::SimOptions) -> bool {
        !scenario.lending.is_empty()
    }

    fn build(&self, app: &mut App<'_>) -> Result<(), SimError> {
        let s = app.scenario;
        let layout = app.state::<SimConfig>().layout;
        let markets: Vec<MarketState> =
            s.lending.iter().map(|m| genesis(m, layout.market(m.id))).collect::<Result<_, _>>()?;
        let mut ledger = app.state_mut::<Ledger>();
        for m in &s.lending {
            for r in &m.reserves {
                // what was lent out sits with the passive borrowers; the rest in custody
                ledger
                    .mint_genesis(layout.market(m.id), r.token, r.supplied - r.borrowed)
                    .map_err(SimError::Genesis)?;
                ledger.mint_genesis(layout.market_borrowers(m.id), r.token, r.borrowed).map_err(SimError::Genesis)?;
            }
        }
        app.insert_state(Lending { markets });
        app.add_systems(Phase::Settle, accrue_and_check);
        Ok(())
    }

    fn digest(&self, world: StateView<'_>, h: &mut Sha256) {
        for m in &world.state::<Lending>().markets {
            h.update(m.id.0.to_le_bytes());
            for r in &m.reserves {
                let x = &r.reserve;
                h.update(r.spec.token.0.to_le_bytes());
                for v in [
                    x.liquidity_index,
                    x.variable_borrow_index,
                    x.rates.liquidity_rate,
                    x.rates.variable_borrow_rate,
                    x.scaled_supply,
                    x.scaled_debt,
                    x.accrued_to_treasury,
                    x.available,
                    r.passive_scaled_supply,
                ] {
                    h.update(v.to_le_bytes::<32>());
                }
                h.update(x.last_update.to_le_bytes());
            }
        }
    }
}

/// Settle phase: every reserve accrues interest to the block's time (whole seconds, as
/// `block.timestamp`), and each market's custody holds exactly what its reserves say.
fn accrue_and_check(state: State<(&Chains, &Ledger, &mut Lending, &mut SimStatus)>) {
    let (chains, ledger, mut lending, mut status) = shared(state);
    let clock = &chains.active().clock;
    let now = clock.timestamp as u64;
    for m in &mut lending.markets {
        for r in &mut m.reserves {
            if let Err(e) = r.reserve.accrue(now)
                && status.failure.is_none()
            {
                status.failure = Some(SimError::Lending { market: m.name.clone(), reason: e.to_string() });
            }
            let held = ledger.balance(m.account, r.spec.token);
            if U256::from(held) != r.reserve.available && status.failure.is_none() {
                status.failure = Some(SimError::Lending {
                    market: m.name.clone(),
                    reason: format!(
                        "block {}: custody holds {held} of token {:?}, the reserve says {}",
                        clock.number, r.spec.token, r.reserve.available
                    ),
                });
            }
        }
    }
}
