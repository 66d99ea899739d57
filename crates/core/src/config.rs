//! Run-wide constants derived from the scenario once.

use bevy_ecs::prelude::*;
use meshsim_scenario::{GasCosts, Scenario, TokenId};

use crate::ledger::book::AccountLayout;

/// Constants every system may read.
#[derive(Component, Debug, Clone)]
pub struct SimConfig {
    /// Gas units per action.
    pub gas: GasCosts,
    /// Gas token of each chain, by chain id.
    pub natives: Vec<TokenId>,
    /// Valuation token.
    pub numeraire: TokenId,
    /// The token each token takes its external price from (itself, or the same asset on
    /// another chain), by id.
    pub assets: Vec<TokenId>,
    /// Token symbols by id.
    pub symbols: Vec<String>,
    /// Token decimals by id.
    pub decimals: Vec<u8>,
    /// Whole tokens per base unit, `10^-decimals`, by id (computed once; the same `libm::pow` the
    /// formulas would call).
    pub unit: Vec<f64>,
    /// Ledger account numbering.
    pub layout: AccountLayout,
    /// How the run records and checks.
    pub options: crate::SimOptions,
    /// Each order book's (base, quote) tokens, by book id.
    pub books: Vec<(TokenId, TokenId)>,
    /// The world's scheduled stress events (volatility and gas spikes, oracle freezes, liquidity
    /// withdrawals).
    pub events: meshsim_scenario::Events,
}

impl SimConfig {
    /// From a scenario and the run's options.
    pub fn new(s: &Scenario, options: crate::SimOptions) -> Self {
        let decimals: Vec<u8> = s.tokens.iter().map(|t| t.decimals).collect();
        SimConfig {
            gas: s.gas,
            natives: s.chains.iter().map(|c| c.native).collect(),
            numeraire: s.numeraire,
            assets: s.tokens.iter().map(|t| t.asset).collect(),
            symbols: s.tokens.iter().map(|t| t.symbol.clone()).collect(),
            unit: decimals.iter().map(|d| libm::pow(10.0, -f64::from(*d))).collect(),
            decimals,
            layout: AccountLayout {
                pools: s.pools.len() as u32,
                agents: s.agents.len() as u32,
                vaults: s.vaults.len() as u32,
                markets: s.lending.len() as u32,
                bridges: s.bridges.len() as u32,
                books: s.books.len() as u32,
            },
            options,
            books: s.books.iter().map(|b| (b.base, b.quote)).collect(),
            events: s.events.clone(),
        }
    }

    /// The gas token of `chain`.
    #[inline]
    pub fn native(&self, chain: meshsim_scenario::ChainId) -> TokenId {
        self.natives[chain.index()]
    }

    /// Whether `token` is the numeraire or the numeraire's token on another chain.
    #[inline]
    pub fn is_numeraire(&self, token: TokenId) -> bool {
        self.assets[token.index()] == self.numeraire
    }

    /// Whole-token units per base unit of `token`.
    pub fn unit(&self, token: TokenId) -> f64 {
        self.unit[token.index()]
    }
}
