//! The facade the CLI and the GUI use: build from a scenario, step blocks, read snapshots and a
//! digest. Nothing outside this crate touches the World.

use bevy_ecs::prelude::*;
use meshsim_math::Pool;
use meshsim_scenario::commands::{Command, VaultParam};
use meshsim_scenario::{AgentId, AgentKind, Scenario, Strategy, TokenId, Trigger};
use sha2::{Digest as _, Sha256};

use crate::SimError;
use crate::agents::AgentMeta;
use crate::agents::arbitrage::CexDexArb;
use crate::agents::cycle::CycleArb;
use crate::attribution::Provenance;
use crate::builder::BlockPlan;
use crate::chain::{BlockClock, GasMarket};
use crate::check::SimStatus;
use crate::ledger::{Ledger, Special};
use crate::market::{ExternalMarket, ExternalPrices};
use crate::mempool::{Latency, Mempool, PendingBundles};
use crate::metrics::{AgentMetrics, Metrics, PoolMetrics, VaultMetrics, pool_value};
use crate::oracles::{Oracle, OracleBook};
use crate::pools::{DirtyPools, PoolEntry, PoolIndex};
use crate::record::{BlockRow, Records, TradeRow, VaultRow, pool_price};
use crate::rng::{Purpose, stream};
use crate::schedule::block_schedule;
use crate::searchers::Searcher;
use crate::searchers::predictor::PredictorBook;
use crate::sim_config::SimConfig;
use crate::snapshot::{AgentSnapshot, PoolSnapshot, Snapshot, TokenSnapshot, VaultSnapshot};
use crate::tx::PendingTxs;
use crate::vaults::{self, VaultConfig, VaultMeta, routing::RouteTable};

/// Deep balance of every token the CEX starts with (it is a source and sink at external prices).
const CEX_DEPTH: u128 = 1u128 << 120;
/// Deposit-token stash of a vault's depositors (new money arriving from outside the mesh).
const DEPOSITOR_STASH: u128 = 1u128 << 110;

/// How to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimOptions {
    /// Keep per-block and per-trade rows for [`Simulation::drain_records`].
    pub record: bool,
    /// Check conservation every block (on by default in debug builds and tests).
    pub check_conservation: bool,
    /// Record vault rows every this many blocks.
    pub vault_every: u64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions { record: false, check_conservation: cfg!(debug_assertions), vault_every: 1 }
    }
}

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
    schedule: Schedule,
    scenario: Scenario,
}

impl Simulation {
    /// Builds a run with default options.
    pub fn new(scenario: &Scenario) -> Result<Self, SimError> {
        Self::with_options(scenario, SimOptions::default())
    }

    /// Builds a run.
    pub fn with_options(scenario: &Scenario, options: SimOptions) -> Result<Self, SimError> {
        let mut world = World::new();
        let config = SimConfig::new(scenario, options.check_conservation);
        let layout = config.layout;
        let n_tokens = scenario.tokens.len();

        // genesis balances
        let mut ledger = Ledger::new(layout.len(), n_tokens);
        let genesis = |e: crate::ledger::LedgerError| SimError::Genesis(e.to_string());
        for p in &scenario.pools {
            for (t, b) in p.tokens.iter().zip(&p.balances) {
                ledger.mint_genesis(layout.pool(p.id), *t, *b).map_err(genesis)?;
            }
        }
        for a in &scenario.agents {
            for (t, b) in &a.capital {
                ledger.mint_genesis(layout.agent(a.id), *t, *b).map_err(genesis)?;
            }
        }
        for t in 0..n_tokens {
            ledger
                .mint_genesis(layout.special(Special::Cex), meshsim_scenario::TokenId(t as u16), CEX_DEPTH)
                .map_err(genesis)?;
        }
        for v in &scenario.vaults {
            for (t, b) in &v.holdings {
                ledger.mint_genesis(layout.vault(v.id), *t, *b).map_err(genesis)?;
            }
            ledger.mint_genesis(layout.keeper(v.id), scenario.chain.native, v.keeper_gas_wei).map_err(genesis)?;
            // the world outside: depositors bring new money from a deep stash of the deposit token
            ledger.mint_genesis(layout.depositors(v.id), v.deposit_token, DEPOSITOR_STASH).map_err(genesis)?;
        }

        let (market, prices) = ExternalMarket::new(scenario);
        let entries: Vec<PoolEntry> = scenario
            .pools
            .iter()
            .map(|p| PoolEntry {
                id: p.id,
                name: p.name.clone(),
                tokens: p.tokens.clone(),
                pool: p.pool.clone(),
                account: layout.pool(p.id),
            })
            .collect();
        let mut metrics = Metrics {
            pools: vec![PoolMetrics::default(); entries.len()],
            agents: vec![AgentMetrics::default(); scenario.agents.len()],
            vaults: vec![VaultMetrics::default(); scenario.vaults.len()],
            ..Default::default()
        };
        for (m, e) in metrics.pools.iter_mut().zip(&entries) {
            m.initial_value = pool_value(e, &ledger, &prices);
            m.value = m.initial_value;
        }

        for a in &scenario.agents {
            let meta = AgentMeta { id: a.id, name: a.name.clone(), account: layout.agent(a.id) };
            let mut agent = world.spawn((meta, PendingTxs::default(), Latency(a.latency_s)));
            match &a.kind {
                AgentKind::Arbitrageur { pools, min_profit } => {
                    agent.insert(CexDexArb {
                        pools: pools.clone(),
                        min_profit: *min_profit,
                        priority_fee_wei: a.priority_fee_wei,
                    });
                }
                AgentKind::CycleArbitrageur { max_cycle_len, min_profit } => {
                    agent.insert(CycleArb::new(&entries, *max_cycle_len, *min_profit, a.priority_fee_wei));
                }
                AgentKind::Searcher { strategy, pools, min_profit, solo_bid_share, competitive_margin } => {
                    let mut pools = pools.clone();
                    pools.sort();
                    pools.dedup();
                    // rivals: other searchers with the same strategy watching the same pool
                    let rivals = pools
                        .iter()
                        .map(|p| {
                            scenario
                                .agents
                                .iter()
                                .filter(|o| o.id != a.id)
                                .filter(|o| matches!(&o.kind, AgentKind::Searcher { strategy: s, pools: ps, .. } if s == strategy && ps.contains(p)))
                                .count() as u32
                        })
                        .collect();
                    agent.insert((
                        Searcher {
                            strategy: *strategy,
                            pools,
                            min_profit: *min_profit,
                            solo_bid_share: *solo_bid_share,
                            competitive_margin: *competitive_margin,
                            rivals,
                        },
                        PendingBundles::default(),
                        PredictorBook::default(),
                    ));
                }
            }
        }
        // oracles read the genesis external price until their first round
        let mut book = OracleBook { price: Vec::new() };
        for o in &scenario.oracles {
            let p = prices.per_token[o.token.index()];
            book.price.push(p);
            world.spawn(Oracle::new(o, p));
        }
        let mut vault_tokens: Vec<TokenId> = Vec::new();
        for v in &scenario.vaults {
            let mut universe: Vec<TokenId> = v.holdings.iter().map(|(t, _)| *t).collect();
            match &v.strategy {
                Strategy::ConstantMix { targets } => universe.extend(targets.iter().map(|(t, _)| *t)),
                Strategy::Cppi { risky, safe, .. } => universe.extend([*risky, *safe]),
            }
            universe.push(v.deposit_token);
            universe.sort();
            universe.dedup();
            vault_tokens.extend(&universe);
            let nav: f64 = v.holdings.iter().map(|(t, a)| prices.value(*t, *a)).sum();
            let decimals: Vec<u8> = scenario.tokens.iter().map(|t| t.decimals).collect();
            let (shares, state, flow, bench) =
                vaults::genesis(v, universe.clone(), nav, &prices.per_token, &decimals, scenario.seed);
            let meta = VaultMeta {
                id: v.id,
                name: v.name.clone(),
                account: layout.vault(v.id),
                keeper: layout.keeper(v.id),
                depositors: layout.depositors(v.id),
            };
            let twap_sources = v
                .oracles
                .iter()
                .filter_map(|(_, o)| match scenario.oracles[o.index()].kind {
                    meshsim_scenario::OracleKind::Twap { pool, window_blocks } => Some((pool, window_blocks)),
                    meshsim_scenario::OracleKind::Push { .. } => None,
                })
                .collect();
            let oracle_names = v.oracles.iter().map(|(t, o)| (*t, scenario.oracles[o.index()].name.clone())).collect();
            world.spawn((
                meta,
                VaultConfig { spec: v.clone(), universe, twap_sources, oracle_names },
                shares,
                state,
                flow,
                bench,
                PendingTxs::default(),
                Latency(v.latency_s),
            ));
        }
        vault_tokens.sort();
        vault_tokens.dedup();
        let max_hops = scenario.vaults.iter().map(|v| v.max_hops).max().unwrap_or(1);
        world.insert_resource(RouteTable::new(&entries, &vault_tokens, max_hops));
        world.insert_resource(book);
        let index = PoolIndex(entries.into_iter().map(|e| world.spawn(e).id()).collect());

        world.insert_resource(DirtyPools::all(index.0.len()));
        world.insert_resource(index);
        world.insert_resource(BlockClock::new(scenario.chain.block_time, stream(scenario.seed, Purpose::BlockTime, 0)));
        world.insert_resource(GasMarket::new(&scenario.chain));
        world.insert_resource(crate::StressEvents(scenario.events.clone()));
        world.insert_resource(market);
        world.insert_resource(prices);
        world.insert_resource(ledger);
        world.insert_resource(config);
        world.insert_resource(Mempool::default());
        world.insert_resource(BlockPlan::default());
        world.insert_resource(Provenance::new(scenario.pools.len()));
        world.insert_resource(crate::cascade::CascadeTracker::default());
        world.insert_resource(crate::cascade::BandHistory::default());
        world.insert_resource(Records {
            enabled: options.record,
            vault_every: options.vault_every.max(1),
            ..Default::default()
        });
        world.insert_resource(metrics);
        world.insert_resource(SimStatus::default());

        let mut schedule = block_schedule();
        schedule.initialize(&mut world).map_err(|e| SimError::Schedule(format!("{e:?}")))?;
        Ok(Simulation { world, schedule, scenario: scenario.clone() })
    }

    /// Runs one block.
    pub fn step_block(&mut self) -> Result<(), SimError> {
        self.schedule.run(&mut self.world);
        match self.world.resource_mut::<SimStatus>().failure.take() {
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
                    self.world.resource_mut::<ExternalMarket>().add_shock(id, *change, block + 1, *blocks)
                });
                if !applied {
                    return Err(SimError::Command { block, reason: format!("token {token:?} has no price process") });
                }
            }
            Command::SetVault { vault, param } => {
                let mut q = self.world.query::<(&VaultMeta, &mut VaultConfig)>();
                let Some((_, mut cfg)) = q.iter_mut(&mut self.world).find(|(m, _)| m.name == *vault) else {
                    return Err(SimError::Command { block, reason: format!("unknown vault {vault:?}") });
                };
                let spec = &mut cfg.spec;
                match *param {
                    VaultParam::Band(b) => match &mut spec.trigger {
                        Trigger::Threshold { band, .. } => *band = b,
                        Trigger::VolatilityAdjusted { base_band, .. } => *base_band = b,
                        Trigger::PeriodicBlocks(_) | Trigger::PeriodicSeconds(_) => {}
                    },
                    VaultParam::Slippage(x) => spec.slippage = x,
                    VaultParam::MaxTradeValue(m) => spec.max_trade_value = m,
                    VaultParam::PrivateRelay(on) => spec.private_relay = on,
                    VaultParam::JitterBlocks(j) => spec.jitter_blocks = j,
                    VaultParam::PriorityFeeGwei(g) => spec.priority_fee_wei = (g * 1e9) as u128,
                }
            }
        }
        Ok(())
    }

    /// Current block number (0 before the first block).
    pub fn block(&self) -> u64 {
        self.world.resource::<BlockClock>().number
    }

    /// The scenario this run was built from.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Running totals.
    pub fn metrics(&self) -> &Metrics {
        self.world.resource::<Metrics>()
    }

    /// Rows recorded since the last call (requires `SimOptions::record`).
    pub fn drain_records(&mut self) -> (Vec<BlockRow>, Vec<TradeRow>) {
        let mut r = self.world.resource_mut::<Records>();
        (std::mem::take(&mut r.blocks), std::mem::take(&mut r.trades))
    }

    /// Vault rows recorded since the last call.
    pub fn drain_vault_records(&mut self) -> Vec<VaultRow> {
        std::mem::take(&mut self.world.resource_mut::<Records>().vaults)
    }

    fn pools_sorted(&self) -> Vec<&PoolEntry> {
        let index = self.world.resource::<PoolIndex>();
        index.0.iter().filter_map(|e| self.world.get::<PoolEntry>(*e)).collect()
    }

    fn agents_sorted(&mut self) -> Vec<(AgentMeta, &'static str)> {
        let mut q = self.world.query::<(&AgentMeta, Has<CexDexArb>, Has<CycleArb>)>();
        let mut v: Vec<(AgentMeta, &'static str)> = q
            .iter(&self.world)
            .map(|(m, cex, cyc)| {
                (
                    m.clone(),
                    if cex {
                        "arbitrageur"
                    } else if cyc {
                        "cycle_arbitrageur"
                    } else {
                        "agent"
                    },
                )
            })
            .collect();
        v.sort_by_key(|(m, _)| m.id);
        v
    }

    /// Plain data of the current state, for display.
    pub fn snapshot(&mut self) -> Snapshot {
        let agents = self.agents_sorted();
        let w = &self.world;
        let prices = w.resource::<ExternalPrices>();
        let ledger = w.resource::<Ledger>();
        let config = w.resource::<SimConfig>();
        let metrics = w.resource::<Metrics>();
        let tokens = self
            .scenario
            .tokens
            .iter()
            .enumerate()
            .map(|(k, t)| TokenSnapshot { symbol: t.symbol.clone(), decimals: t.decimals, price: prices.per_token[k] })
            .collect();
        let pools = self
            .pools_sorted()
            .into_iter()
            .map(|e| {
                let price = pool_price(e, &config.decimals);
                let external = prices.per_token[e.tokens[0].index()] / prices.per_token[e.tokens[1].index()];
                PoolSnapshot {
                    id: e.id,
                    name: e.name.clone(),
                    kind: e.pool.kind(),
                    tokens: e.tokens.clone(),
                    balances: e.tokens.iter().map(|t| ledger.balance(e.account, *t)).collect(),
                    price,
                    deviation: price / external - 1.0,
                    fee: e.pool.fee_fraction(),
                    value: pool_value(e, ledger, prices),
                }
            })
            .collect();
        let agents = agents
            .into_iter()
            .map(|(m, kind)| AgentSnapshot {
                id: m.id,
                name: m.name.clone(),
                kind,
                balances: ledger.account(m.account).to_vec(),
                profit: metrics.agents.get(m.id.index()).map_or(0.0, |a| a.profit),
            })
            .collect();
        let vaults = self.vault_snapshots();
        let w = &self.world;
        let clock = w.resource::<BlockClock>();
        Snapshot {
            vaults,
            oracle_prices: w.resource::<OracleBook>().price.clone(),
            pending: w.resource::<Mempool>().pending.clone(),
            block: clock.number,
            timestamp: clock.timestamp,
            base_fee_wei: w.resource::<GasMarket>().base_fee_wei,
            tokens,
            pools,
            agents,
            metrics: metrics.clone(),
        }
    }

    /// Canonical hash of the state, in id order: clock, gas, external prices and stream
    /// positions, every balance, every pool's exact state.
    pub fn digest(&self) -> StateDigest {
        let w = &self.world;
        let mut h = Sha256::new();
        let clock = w.resource::<BlockClock>();
        h.update(clock.number.to_le_bytes());
        h.update(clock.timestamp.to_bits().to_le_bytes());
        h.update(clock.rng_word_pos().to_le_bytes());
        let gas = w.resource::<GasMarket>();
        h.update(gas.base_fee_wei.to_le_bytes());
        h.update(gas.gas_used.to_le_bytes());
        for p in &w.resource::<ExternalPrices>().per_token {
            h.update(p.to_bits().to_le_bytes());
        }
        let market = w.resource::<ExternalMarket>();
        h.update((market.regime() as u64).to_le_bytes());
        for pos in market.rng_word_pos() {
            h.update(pos.to_le_bytes());
        }
        // shocks and vault parameters can change mid-run (commands): they are state too
        for s in market.shocks() {
            h.update((s.asset as u64).to_le_bytes());
            h.update(s.start_block.to_le_bytes());
            h.update(s.blocks.to_le_bytes());
            h.update(s.log_step.to_bits().to_le_bytes());
        }
        for b in w.resource::<Ledger>().raw() {
            h.update(b.to_le_bytes());
        }
        for e in self.pools_sorted() {
            h.update(e.id.0.to_le_bytes());
            hash_pool(&mut h, &e.pool);
        }
        for p in &w.resource::<OracleBook>().price {
            h.update(p.to_bits().to_le_bytes());
        }
        for (id, shares, state, bench, flow_pos) in self.vault_states() {
            h.update(id.to_le_bytes());
            h.update(shares.to_le_bytes());
            h.update([u8::from(state.in_progress)]);
            h.update(state.last_rebalance.map_or(u64::MAX, |(b, _)| b).to_le_bytes());
            h.update(state.ewma_var.to_bits().to_le_bytes());
            h.update(state.floor_per_share.to_bits().to_le_bytes());
            h.update(state.retry_at.to_le_bytes());
            h.update(bench.to_bits().to_le_bytes());
            h.update(flow_pos.to_le_bytes());
        }
        for spec in self.vault_specs() {
            let band = match spec.trigger {
                Trigger::Threshold { band, .. } => band,
                Trigger::VolatilityAdjusted { base_band, .. } => base_band,
                Trigger::PeriodicBlocks(_) | Trigger::PeriodicSeconds(_) => 0.0,
            };
            h.update(band.to_bits().to_le_bytes());
            h.update(spec.slippage.to_bits().to_le_bytes());
            h.update(spec.max_trade_value.unwrap_or(-1.0).to_bits().to_le_bytes());
            h.update([u8::from(spec.private_relay)]);
            h.update(spec.jitter_blocks.to_le_bytes());
            h.update(spec.priority_fee_wei.to_le_bytes());
        }
        StateDigest(h.finalize().into())
    }

    /// Each vault's current parameters, by id.
    fn vault_specs(&self) -> Vec<&meshsim_scenario::VaultSpec> {
        let w = &self.world;
        let mut v: Vec<(meshsim_scenario::VaultId, &meshsim_scenario::VaultSpec)> =
            w.iter_entities().filter_map(|e| Some((e.get::<VaultMeta>()?.id, &e.get::<VaultConfig>()?.spec))).collect();
        v.sort_by_key(|x| x.0);
        v.into_iter().map(|x| x.1).collect()
    }

    fn vault_snapshots(&self) -> Vec<VaultSnapshot> {
        let w = &self.world;
        let ledger = w.resource::<Ledger>();
        let prices = w.resource::<ExternalPrices>();
        let mut v: Vec<VaultSnapshot> = w
            .iter_entities()
            .filter_map(|e| {
                let meta = e.get::<VaultMeta>()?;
                let cfg = e.get::<VaultConfig>()?;
                let shares = e.get::<vaults::VaultShares>()?.total;
                let state = e.get::<vaults::VaultState>()?;
                let bench = e.get::<vaults::Benchmark>()?;
                let balances: Vec<u128> = cfg.universe.iter().map(|t| ledger.balance(meta.account, *t)).collect();
                let per_unit: Vec<f64> = cfg.universe.iter().map(|t| prices.per_base_unit[t.index()]).collect();
                let val = vaults::strategy::Valuation::new(&balances, &per_unit);
                let shares_f = meshsim_math::u128_to_f64(shares) / vaults::SHARE_UNIT;
                Some(VaultSnapshot {
                    id: meta.id,
                    name: meta.name.clone(),
                    tokens: cfg.universe.clone(),
                    balances,
                    nav: val.nav,
                    share_price: val.nav / shares_f,
                    shares,
                    weights: val.weights(),
                    targets: state.targets.clone(),
                    band: state.band,
                    in_progress: state.in_progress,
                    last_rebalance: state.last_rebalance.map(|(b, _)| b),
                    hold_nav: bench.hold_value(cfg, &prices.per_token) * shares_f,
                    continuous_nav: bench.continuous * shares_f,
                    spec: cfg.spec.clone(),
                })
            })
            .collect();
        v.sort_by_key(|x| x.id);
        v
    }

    fn vault_states(&self) -> Vec<(u32, u128, vaults::VaultState, f64, u128)> {
        let mut v: Vec<_> = self
            .world
            .iter_entities()
            .filter_map(|e| {
                let meta = e.get::<VaultMeta>()?;
                Some((
                    meta.id.0,
                    e.get::<vaults::VaultShares>()?.total,
                    e.get::<vaults::VaultState>()?.clone(),
                    e.get::<vaults::Benchmark>()?.continuous,
                    e.get::<vaults::FlowState>()?.rng_word_pos(),
                ))
            })
            .collect();
        v.sort_by_key(|x| x.0);
        v
    }

    /// Balances of a vault's depositors (all tokens, by id): what they hold outside the vault.
    pub fn depositor_balances(&self, vault: meshsim_scenario::VaultId) -> Vec<u128> {
        let layout = self.world.resource::<SimConfig>().layout;
        self.world.resource::<Ledger>().account(layout.depositors(vault)).to_vec()
    }

    /// Cascades so far (root events that set off at least one other transaction), with the
    /// blocks until their pools were back within their fee band (None: not yet).
    pub fn cascades(&self) -> Vec<(crate::cascade::Cascade, Option<u64>)> {
        let bands = self.world.resource::<crate::cascade::BandHistory>();
        let now = self.block();
        self.world
            .resource::<crate::cascade::CascadeTracker>()
            .cascades()
            .map(|c| (c.clone(), bands.all_inside_from(&c.pools, c.end_block, now).map(|b| b - c.end_block)))
            .collect()
    }

    /// Agent id by name.
    pub fn agent_id(&self, name: &str) -> Option<AgentId> {
        self.scenario.agents.iter().find(|a| a.name == name).map(|a| a.id)
    }
}

fn hash_pool(h: &mut Sha256, pool: &Pool) {
    let u = |h: &mut Sha256, v: meshsim_math::U256| h.update(v.to_le_bytes::<32>());
    match pool {
        Pool::ConstantProduct(p) => {
            h.update([0u8]);
            h.update(p.reserve0.to_le_bytes());
            h.update(p.reserve1.to_le_bytes());
            h.update(p.total_supply.to_le_bytes());
        }
        Pool::Concentrated(p) => {
            h.update([1u8]);
            u(h, p.sqrt_price_x96());
            h.update(p.tick().to_le_bytes());
            h.update(p.liquidity().to_le_bytes());
            let (g0, g1) = p.fee_growth_global_x128();
            u(h, g0);
            u(h, g1);
            for (t, info) in p.ticks() {
                h.update(t.to_le_bytes());
                h.update(info.liquidity_gross.to_le_bytes());
                h.update(info.liquidity_net.to_le_bytes());
                u(h, info.fee_growth_outside0_x128);
                u(h, info.fee_growth_outside1_x128);
            }
            for (k, pos) in p.positions() {
                h.update(k.owner.to_le_bytes());
                h.update(k.tick_lower.to_le_bytes());
                h.update(k.tick_upper.to_le_bytes());
                h.update(pos.liquidity.to_le_bytes());
                h.update(pos.tokens_owed0.to_le_bytes());
                h.update(pos.tokens_owed1.to_le_bytes());
            }
        }
        Pool::StableSwap(p) => {
            h.update([2u8]);
            for b in p.balances() {
                h.update(b.to_le_bytes());
            }
        }
        Pool::Weighted(p) => {
            h.update([3u8]);
            for b in p.balances() {
                h.update(b.to_le_bytes());
            }
        }
    }
}
