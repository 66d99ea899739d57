//! Custody: every base unit of every token sits in exactly one account, and the only way to move
//! it is a [`Ledger::transfer`], which conserves totals by construction. [`Ledger::check`]
//! verifies that each token's total still equals its supply; [`LedgerPlugin`] runs it every block
//! when the run checks conservation.

use bevy_ecs::prelude::*;
use meshsim_scenario::TokenId;
use sha2::{Digest as _, Sha256};

pub mod book;

pub use book::{AccountId, AccountLayout, Ledger, LedgerError, Special};

use crate::engine::{App, Phase, Plugin, State, StateView, shared};
use crate::{SimConfig, SimError, SimStatus};

/// Deep balance of every token the CEX starts with (it is a source and sink at external prices).
const CEX_DEPTH: u128 = 1u128 << 120;

/// Custody: the ledger, the CEX's genesis depth, and the conservation check.
pub struct LedgerPlugin;

impl Plugin for LedgerPlugin {
    fn name(&self) -> &'static str {
        "ledger"
    }

    fn build(&self, app: &mut App<'_>) -> Result<(), SimError> {
        let config = app.state::<SimConfig>();
        let layout = config.layout;
        let n_tokens = app.scenario.tokens.len();
        let mut ledger = Ledger::new(layout.len(), n_tokens);
        for t in 0..n_tokens {
            ledger
                .mint_genesis(layout.special(Special::Cex), TokenId(t as u16), CEX_DEPTH)
                .map_err(SimError::Genesis)?;
        }
        app.insert_state(ledger);
        if app.options.check_conservation {
            app.add_systems(Phase::Settle, check_conservation);
        }
        Ok(())
    }

    fn digest(&self, world: StateView<'_>, h: &mut Sha256) {
        for b in world.state::<Ledger>().raw() {
            h.update(b.to_le_bytes());
        }
    }
}

/// Settle phase: every token's total still equals its supply.
fn check_conservation(state: State<(&SimConfig, &Ledger, &crate::chain::Chains, &mut SimStatus)>) {
    let (config, ledger, chains, mut status) = shared(state);
    if status.failure.is_some() {
        return;
    }
    if let Err(source) = ledger.check(&config.symbols) {
        status.failure = Some(SimError::Conservation { block: chains.active().clock.number, source });
    }
}
