//! Plain data for the pure policies' unit tests: a bundled world's pools, prices and genesis
//! balances, without an ECS world, and a [`MarketView`] over them.

use std::path::Path;

use meshsim_scenario::{GasCosts, Scenario, TokenId};

use crate::agents::MarketView;
use crate::ledger::{AccountLayout, Ledger};
use crate::market::ExternalPrices;
use crate::pools::{PoolEntry, Provenance};

/// A bundled world's market as plain data.
pub struct Market {
    pub scenario: Scenario,
    pub layout: AccountLayout,
    pub pools: Vec<PoolEntry>,
    pub prices: ExternalPrices,
    pub ledger: Ledger,
    pub provenance: Provenance,
    pub gas: GasCosts,
    pub dirty: Vec<bool>,
    pub assets: Vec<meshsim_scenario::TokenId>,
    pub units: Vec<f64>,
}

/// The bundled world `worlds/<name>`, loaded.
pub fn world(name: &str) -> meshsim_scenario::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../worlds").join(name);
    meshsim_scenario::load_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

impl Market {
    /// The world `worlds/<name>` at genesis: pools, external prices, and the genesis balances of
    /// pools, agents and vaults.
    pub fn of(name: &str) -> Market {
        let s = world(name);
        let layout = AccountLayout {
            pools: s.pools.len() as u32,
            agents: s.agents.len() as u32,
            vaults: s.vaults.len() as u32,
            markets: s.lending.len() as u32,
            bridges: s.bridges.len() as u32,
            books: s.books.len() as u32,
        };
        let decimals: Vec<u8> = s.tokens.iter().map(|t| t.decimals).collect();
        let mut per_token = vec![1.0; s.tokens.len()];
        for a in &s.market.assets {
            per_token[a.token.index()] = a.price;
        }
        let prices = ExternalPrices::new(per_token, &decimals);
        let mut ledger = Ledger::new(layout.len(), s.tokens.len());
        let mut pools = Vec::new();
        for p in &s.pools {
            let scale =
                libm::pow(10.0, f64::from(decimals[p.tokens[0].index()]) - f64::from(decimals[p.tokens[1].index()]));
            pools.push(PoolEntry::new(
                p.id,
                p.name.clone(),
                p.tokens.clone(),
                p.pool.clone(),
                layout.pool(p.id),
                scale,
            ));
            for (t, b) in p.tokens.iter().zip(&p.balances) {
                ledger.mint_genesis(layout.pool(p.id), *t, *b).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        for a in &s.agents {
            for (t, b) in &a.capital {
                ledger.mint_genesis(layout.agent(a.id), *t, *b).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        for v in &s.vaults {
            for (t, b) in &v.holdings {
                ledger.mint_genesis(layout.vault(v.id), *t, *b).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        let n = pools.len();
        Market {
            gas: s.gas,
            assets: s.tokens.iter().map(|t| t.asset).collect(),
            units: decimals.iter().map(|d| libm::pow(10.0, -f64::from(*d))).collect(),
            scenario: s,
            layout,
            pools,
            prices,
            ledger,
            provenance: Provenance::new(n),
            dirty: vec![false; n],
        }
    }

    /// Sets a token's external price (numeraire per whole token).
    pub fn set_price(&mut self, token: TokenId, price: f64) {
        self.prices.set(token, price);
    }

    /// The read-only view a policy decides on, at `block`.
    pub fn view(&self, block: u64) -> MarketView<'_, [PoolEntry]> {
        MarketView {
            chain: crate::chain::ChainId(0),
            block,
            timestamp: block as f64 * 12.0,
            prices: &self.prices,
            pools: &self.pools[..],
            base_fee_wei: 0,
            gas: &self.gas,
            native: self.scenario.hub().native,
            assets: &self.assets,
            dirty: &self.dirty,
            ledger: &self.ledger,
            provenance: &self.provenance,
            books: None,
            units: &self.units,
        }
    }
}
