//! The facade the CLI, the sweeps and the GUI use: build from a scenario, step blocks, read
//! snapshots and a digest. Nothing outside this crate touches the World.

use bevy_ecs::prelude::*;
use meshsim_scenario::commands::Command;
use meshsim_scenario::{AgentId, Scenario, TokenId};
use sha2::{Digest as _, Sha256};

use crate::arbitrage::ArbitragePlugin;
use crate::block::BlockPlugin;
use crate::books::{BookRow, Books, BooksPlugin};
use crate::bridges::{BridgeRow, Bridges, BridgesPlugin};
use crate::cascade::{Cascade, CascadeSummary, CascadeTracker, CascadesPlugin};
use crate::chain::{ChainPlugin, Chains};
use crate::engine::{App, BlockSchedule, Plugin, StateView};
use crate::ledger::{Ledger, LedgerPlugin};
use crate::lending::LendingPlugin;
use crate::market::{ExternalMarket, MarketPlugin};
use crate::metrics::{Metrics, MetricsPlugin};
use crate::oracles::OraclesPlugin;
use crate::pools::PoolsPlugin;
use crate::record::{BlockRow, Records, RecordsPlugin, TradeRow, VaultRow};
use crate::searchers::SearchersPlugin;
use crate::snapshot::Snapshot;
use crate::vaults::{QuietScreens, VaultConfig, VaultIndex, VaultsPlugin};
use crate::{SimConfig, SimError, SimOptions, SimStatus};

/// Every domain, in order. The order is the order of genesis, of the state digest, and of
/// systems within each phase. A new domain is a new module and one line here.
pub static PLUGINS: &[&dyn Plugin] = &[
    &ChainPlugin,
    &MarketPlugin,
    &LedgerPlugin,
    &PoolsPlugin,
    &OraclesPlugin,
    &LendingPlugin,
    &ArbitragePlugin,
    &VaultsPlugin,
    &SearchersPlugin,
    &BridgesPlugin,
    &BooksPlugin,
    &BlockPlugin,
    &MetricsPlugin,
    &CascadesPlugin,
    &RecordsPlugin,
];

/// A canonical SHA-256 of the whole simulation state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateDigest(pub [u8; 32]);

impl std::fmt::Display for StateDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&meshsim_scenario::hex(&self.0))
    }
}

/// One simulation run.
pub struct Simulation {
    world: World,
    /// The entity holding the shared state.
    state: Entity,
    schedule: BlockSchedule,
    scenario: Scenario,
    plugins: Vec<&'static dyn Plugin>,
}

impl Simulation {
    /// Builds a run with default options.
    pub fn new(scenario: &Scenario) -> Result<Self, SimError> {
        Self::with_options(scenario, SimOptions::default())
    }

    /// Builds a run: genesis and systems of every plugin the world has.
    pub fn with_options(scenario: &Scenario, options: SimOptions) -> Result<Self, SimError> {
        let mut app = App::new(scenario, options);
        app.insert_state(SimConfig::new(scenario, options));
        app.insert_state(SimStatus::default());
        let plugins: Vec<&'static dyn Plugin> =
            PLUGINS.iter().copied().filter(|p| p.present(scenario, &options)).collect();
        for p in &plugins {
            p.build(&mut app)?;
        }
        let (world, state, schedule) = app.finish();
        Ok(Simulation { world, state, schedule, scenario: scenario.clone(), plugins })
    }

    pub(crate) fn view(&self) -> StateView<'_> {
        StateView { world: &self.world, state: self.state }
    }

    /// The plugins this world runs, in order.
    pub fn plugin_names(&self) -> Vec<&'static str> {
        self.plugins.iter().map(|p| p.name()).collect()
    }

    /// Systems run per block.
    pub fn system_count(&self) -> usize {
        self.schedule.len()
    }

    /// Runs one block of the hub, and every other chain's blocks that come before it.
    pub fn step_block(&mut self) -> Result<(), SimError> {
        if !self.scenario.multi_chain() {
            return self.step_chain_block();
        }
        let target = self.block() + 1;
        while self.block() < target {
            self.step_chain_block()?;
        }
        Ok(())
    }

    /// Runs one block of whichever chain comes next.
    pub fn step_chain_block(&mut self) -> Result<(), SimError> {
        self.schedule.run(&mut self.world);
        match self.world.get_mut::<SimStatus>(self.state).and_then(|mut s| s.failure.take()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Runs `n` blocks, stopping at the first error.
    pub fn run_blocks(&mut self, n: u64) -> Result<(), SimError> {
        for _ in 0..n {
            self.step_block()?;
        }
        Ok(())
    }

    /// Applies an explorer's command after the blocks run so far, before the next one. Checked
    /// against the world first: a command that does not fit changes nothing.
    pub fn apply(&mut self, command: &Command) -> Result<(), SimError> {
        let block = self.block();
        command.check(&self.scenario).map_err(|reason| SimError::Command { block, reason })?;
        match command {
            Command::Shock { token, change, blocks } => {
                let id = self.scenario.tokens.iter().position(|t| t.symbol == *token).map(|k| TokenId(k as u16));
                let applied = id.is_some_and(|id| {
                    self.world
                        .get_mut::<ExternalMarket>(self.state)
                        .is_some_and(|mut m| m.add_shock(id, *change, block + 1, *blocks))
                });
                if !applied {
                    return Err(SimError::Command { block, reason: format!("token {token:?} has no price process") });
                }
            }
            Command::SetVault { vault, param } => {
                let entity = self
                    .scenario
                    .vaults
                    .iter()
                    .position(|v| v.name == *vault)
                    .and_then(|k| self.view().get::<VaultIndex>().and_then(|i| i.0.get(k).copied()));
                let Some(mut cfg) = entity.and_then(|e| self.world.get_mut::<VaultConfig>(e)) else {
                    return Err(SimError::Command { block, reason: format!("unknown vault {vault:?}") });
                };
                cfg.set_param(param);
                let id = cfg.spec.id;
                // a screen armed under the old band proves nothing under the new one
                if let Some(mut screens) = self.world.get_mut::<QuietScreens>(self.state) {
                    screens.forget(id);
                }
            }
        }
        Ok(())
    }

    /// Current block number of the hub, the first chain (0 before the first block).
    pub fn block(&self) -> u64 {
        self.view().state::<Chains>().hub_number()
    }

    /// Each chain's block number, by chain id.
    pub fn chain_blocks(&self) -> Vec<u64> {
        self.chains().iter().map(|c| c.clock.number).collect()
    }

    /// Each chain's clock and gas market, by chain id.
    pub fn chains(&self) -> &[crate::chain::ChainState] {
        &self.view().state::<Chains>().list
    }

    /// The scenario this run was built from.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Running totals as of the last block (a copy: the pools' holdings gain is brought up to
    /// the last block's prices as it is read, see [`crate::metrics::HoldingsGain`]).
    pub fn metrics(&self) -> Metrics {
        let view = self.view();
        let mut m = view.state::<Metrics>().clone();
        view.state::<crate::metrics::HoldingsGain>().settle(&mut m, view.state::<crate::market::ExternalPrices>());
        m
    }

    /// The running totals as the world holds them, borrowed (no copy): every total is up to
    /// date except the pools' holdings gain, which lacks the stretch still open (read LVR
    /// through [`Simulation::metrics`]). For a front end that reads other totals every block.
    pub fn unsettled_metrics(&self) -> &Metrics {
        self.view().state::<Metrics>()
    }

    /// The lending markets (empty for a world without them).
    pub fn lending(&self) -> &[crate::lending::MarketState] {
        self.world.get::<crate::lending::Lending>(self.state).map_or(&[], |l| &l.markets)
    }

    /// Rows recorded since the last call (empty unless `SimOptions::record`).
    pub fn drain_records(&mut self) -> (Vec<BlockRow>, Vec<TradeRow>) {
        match self.world.get_mut::<Records>(self.state) {
            Some(mut r) => (std::mem::take(&mut r.blocks), std::mem::take(&mut r.trades)),
            None => (Vec::new(), Vec::new()),
        }
    }

    /// Vault rows recorded since the last call.
    pub fn drain_vault_records(&mut self) -> Vec<VaultRow> {
        self.world.get_mut::<Records>(self.state).map(|mut r| std::mem::take(&mut r.vaults)).unwrap_or_default()
    }

    /// Lending rows recorded since the last call.
    pub fn drain_lending_records(&mut self) -> Vec<crate::record::LendingRow> {
        self.world.get_mut::<Records>(self.state).map(|mut r| std::mem::take(&mut r.lending)).unwrap_or_default()
    }

    /// Rows of the `book` table since the last call; empty unless recording, or without books.
    pub fn drain_book_rows(&mut self) -> Vec<BookRow> {
        self.world.get_mut::<Books>(self.state).map(|mut b| std::mem::take(&mut b.rows)).unwrap_or_default()
    }

    /// Rows of the `fills` table since the last call; empty unless recording, or without books.
    pub fn drain_fill_rows(&mut self) -> Vec<crate::books::FillRow> {
        self.world.get_mut::<Books>(self.state).map(|mut b| std::mem::take(&mut b.fills)).unwrap_or_default()
    }

    /// Bridge rows (transfers delivered or refunded) since the last call; empty unless
    /// `SimOptions::record`.
    pub fn drain_bridge_records(&mut self) -> Vec<BridgeRow> {
        self.world.get_mut::<Bridges>(self.state).map(|mut b| std::mem::take(&mut b.rows)).unwrap_or_default()
    }

    /// Price gaps between chains' pools of the same pair (`None` with one chain).
    pub fn chain_gaps(&self) -> Option<&crate::metrics::gaps::ChainGaps> {
        self.view().get::<crate::metrics::gaps::ChainGaps>()
    }

    /// The bridges (`None` in a world without them).
    pub fn bridges(&self) -> Option<&Bridges> {
        self.view().get::<Bridges>()
    }

    /// The order books, in worlds that have them.
    pub fn books(&self) -> Option<&Books> {
        self.view().get::<Books>()
    }

    /// Plain data of the current state, for display.
    pub fn snapshot(&self) -> Snapshot {
        let mut snap = Snapshot::default();
        for p in &self.plugins {
            p.snapshot(self.view(), &mut snap);
        }
        // agents come from several domains
        snap.agents.sort_by_key(|a| a.id);
        snap
    }

    /// Canonical hash of the state: each plugin's part in plugin order (clock and gas, external
    /// prices and stream positions, every balance, every pool's exact state, oracle readings,
    /// vault states and parameters).
    pub fn digest(&self) -> StateDigest {
        let mut h = Sha256::new();
        for p in &self.plugins {
            p.digest(self.view(), &mut h);
        }
        StateDigest(h.finalize().into())
    }

    /// Balances of a vault's depositors (all tokens, by id): what they hold outside the vault.
    pub fn depositor_balances(&self, vault: meshsim_scenario::VaultId) -> Vec<u128> {
        let layout = self.view().state::<SimConfig>().layout;
        self.view().state::<Ledger>().account(layout.depositors(vault)).to_vec()
    }

    /// Cascades so far (root events that set off at least one other transaction), by root block,
    /// with the blocks until their pools were back within their fee band (None: not yet). Runs
    /// that do not record rows keep only the scalars of finished cascades: see
    /// [`Simulation::cascade_summary`].
    pub fn cascades(&self) -> Vec<(Cascade, Option<u64>)> {
        self.view().state::<CascadeTracker>().cascades()
    }

    /// Count, deepest and largest amplification of the cascades so far.
    pub fn cascade_summary(&self) -> CascadeSummary {
        self.view().state::<CascadeTracker>().summary()
    }

    /// Agent id by name.
    pub fn agent_id(&self, name: &str) -> Option<AgentId> {
        self.scenario.agents.iter().find(|a| a.name == name).map(|a| a.id)
    }
}
