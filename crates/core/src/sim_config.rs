//! Run-wide constants derived from the scenario once.

use bevy_ecs::prelude::*;
use meshsim_scenario::{GasCosts, Scenario, TokenId};

use crate::ledger::AccountLayout;

/// Constants every system may read.
#[derive(Resource, Debug, Clone)]
pub struct SimConfig {
    /// Gas units per action.
    pub gas: GasCosts,
    /// Gas token.
    pub native: TokenId,
    /// Valuation token.
    pub numeraire: TokenId,
    /// Token symbols by id.
    pub symbols: Vec<String>,
    /// Token decimals by id.
    pub decimals: Vec<u8>,
    /// Ledger account numbering.
    pub layout: AccountLayout,
    /// Check token conservation after every block.
    pub check_conservation: bool,
    /// Block ordering policy.
    pub ordering: meshsim_scenario::Ordering,
}

impl SimConfig {
    /// From a scenario.
    pub fn new(s: &Scenario, check_conservation: bool) -> Self {
        SimConfig {
            gas: s.gas,
            native: s.chain.native,
            numeraire: s.numeraire,
            symbols: s.tokens.iter().map(|t| t.symbol.clone()).collect(),
            decimals: s.tokens.iter().map(|t| t.decimals).collect(),
            layout: AccountLayout {
                pools: s.pools.len() as u32,
                agents: s.agents.len() as u32,
                vaults: s.vaults.len() as u32,
            },
            check_conservation,
            ordering: s.chain.ordering,
        }
    }
}
