//! Conservation: every base unit is in some account, and every pool's ledger balance agrees with
//! its own state. Runs every block when enabled (tests and debug builds by default).

use bevy_ecs::prelude::*;
use meshsim_math::{Pool, U256};

use crate::SimError;
use crate::chain::BlockClock;
use crate::ledger::Ledger;
use crate::pools::PoolEntry;
use crate::sim_config::SimConfig;

/// The first failure, if any; the facade turns it into an error.
#[derive(Resource, Debug, Default)]
pub struct SimStatus {
    /// The failure.
    pub failure: Option<SimError>,
}

/// Settle phase.
pub fn check_conservation(
    config: Res<SimConfig>,
    ledger: Res<Ledger>,
    pools: Query<&PoolEntry>,
    clock: Res<BlockClock>,
    mut status: ResMut<SimStatus>,
) {
    if !config.check_conservation || status.failure.is_some() {
        return;
    }
    if let Err(source) = ledger.check(&config.symbols) {
        status.failure = Some(SimError::Conservation { block: clock.number, source });
        return;
    }
    let mut entries: Vec<&PoolEntry> = pools.iter().collect();
    entries.sort_by_key(|e| e.id);
    for e in entries {
        let held: Vec<u128> = e.tokens.iter().map(|t| ledger.balance(e.account, *t)).collect();
        let state: Option<Vec<u128>> = match &e.pool {
            Pool::ConstantProduct(p) => Some(vec![p.reserve0, p.reserve1]),
            Pool::StableSwap(p) => Some(p.balances().to_vec()),
            Pool::Weighted(p) => Some(p.balances().to_vec()),
            // v3 keeps fees outside its state: the ledger must cover at least the principal
            Pool::Concentrated(p) => {
                if let Ok((a0, a1)) = p.principal_amounts()
                    && (U256::from(held[0]) < a0 || U256::from(held[1]) < a1)
                {
                    status.failure = Some(SimError::PoolMismatch {
                        block: clock.number,
                        pool: e.name.clone(),
                        detail: format!("ledger holds {held:?}, positions need at least ({a0}, {a1})"),
                    });
                    return;
                }
                None
            }
        };
        if let Some(state) = state
            && state != held
        {
            status.failure = Some(SimError::PoolMismatch {
                block: clock.number,
                pool: e.name.clone(),
                detail: format!("ledger holds {held:?}, pool state says {state:?}"),
            });
            return;
        }
    }
}
