//! Lending markets (Aave v3 style), as a plugin: each market's reserves and genesis borrowers
//! from the world file, oracle prices read into the reserves every block, the venue that
//! executes supply, withdraw, borrow, repay and liquidation actions, liquidator agents, interest
//! accruing to every block's time, the books checked every block, and their state in the digest.

mod book;
pub mod borrowers;
mod flash;
pub mod liquidator;
pub mod supplier;
#[cfg(test)]
mod tests;
mod venue;

use bevy_ecs::prelude::*;
use meshsim_math::U256;
use meshsim_math::lending::{PositionLine, Reserve, percent_mul, value_in_base};
use meshsim_scenario::{AgentKind, LendingSpec, MarketId, PositionsSpec, TokenId};
use sha2::{Digest as _, Sha256};

pub use book::{Census, LiquidationTerms, MarketState, Owner, Position, ReserveState, ReserveStats};
pub use borrowers::Borrowers;
pub use flash::FlashVenue;
pub use liquidator::Liquidator;
pub use supplier::Supplier;

use crate::agents::snapshot_agents;
use crate::chain::Chains;
use crate::engine::{App, Phase, Plugin, State, StateView, shared};
use crate::ledger::Ledger;
use crate::market::ExternalPrices;
use crate::oracles::OracleBook;
use crate::pools::Pools;
use crate::snapshot::Snapshot;
use crate::{SimConfig, SimError, SimStatus};

/// The lending domain.
pub struct LendingPlugin;

/// Every lending market of the world.
#[derive(Component, Debug, Clone, Default)]
pub struct Lending {
    /// By id.
    pub markets: Vec<MarketState>,
}

impl Lending {
    /// What `owner` has supplied of `token` to `market` (its aToken balance), base units.
    pub fn supplied(&self, market: MarketId, owner: Owner, token: TokenId) -> u128 {
        self.markets.get(market.0 as usize).map_or(0, |m| m.supplied(owner, token))
    }
}

/// An oracle reading (numeraire per whole token) as Aave's oracle reports it: 8 decimals.
pub fn price_e8(p: f64) -> U256 {
    if p.is_finite() && p > 0.0 { U256::from((p * 1e8).round() as u128) } else { U256::ZERO }
}

fn genesis(
    spec: &LendingSpec,
    config: &SimConfig,
    oracle_price: &dyn Fn(usize) -> f64,
) -> Result<MarketState, SimError> {
    let fail = |reason: String| SimError::Lending { market: spec.name.clone(), reason };
    let math = |e: meshsim_math::MathError| fail(e.to_string());
    let mut reserves = Vec::new();
    for (k, r) in spec.reserves.iter().enumerate() {
        let mut reserve = Reserve::new(r.strategy, r.reserve_factor_bps, 0).map_err(math)?;
        let passive_scaled_supply =
            if r.supplied > 0 { reserve.supply(0, U256::from(r.supplied)).map_err(math)? } else { U256::ZERO };
        if r.borrowed > 0 {
            reserve.borrow(0, U256::from(r.borrowed)).map_err(math)?;
        }
        reserves.push(ReserveState {
            spec: r.clone(),
            reserve,
            passive_scaled_supply,
            treasury_scaled: U256::ZERO,
            decimals: config.decimals[r.token.index()],
            price: price_e8(oracle_price(k)),
            stats: ReserveStats::default(),
        });
    }
    let mut market = MarketState {
        id: spec.id,
        name: spec.name.clone(),
        account: config.layout.market(spec.id),
        chain: crate::chain::ChainId(0),
        reserves,
        positions: Vec::new(),
        owners: Default::default(),
        close_factor_bps: spec.close_factor_bps,
        assessed: Vec::new(),
        assessed_at: u64::MAX,
    };
    for group in &spec.positions {
        place_borrowers(&mut market, group).map_err(fail)?;
    }
    Ok(market)
}

/// Opens a group's genesis positions: each supplies its collateral and borrows what puts its
/// health factor at its place in the group's range, at genesis prices.
fn place_borrowers(market: &mut MarketState, group: &PositionsSpec) -> Result<(), String> {
    let (c, d) = (group.collateral, group.debt);
    let (lo, hi) = group.health_e4;
    let n = group.count.max(1);
    for i in 0..n {
        let health_e4 = if n == 1 { lo } else { lo + ((u64::from(hi - lo) * u64::from(i)) / u64::from(n - 1)) as u32 };
        let id = market.open(Owner::Genesis(market.positions.len() as u32));
        let text = |e: meshsim_math::MathError| e.to_string();
        let cr = &mut market.reserves[c];
        let scaled = cr.reserve.supply(0, U256::from(group.collateral_each)).map_err(text)?;
        let value = value_in_base(U256::from(group.collateral_each), cr.price, cr.decimals).map_err(text)?;
        // debt value = collateral x threshold / health
        let debt_base = percent_mul(value, U256::from(cr.spec.liquidation_threshold_bps)).map_err(text)?
            * U256::from(10_000u32)
            / U256::from(health_e4.max(1));
        let dr = &mut market.reserves[d];
        if dr.price.is_zero() {
            return Err(format!("the {:?} reserve has no price at genesis", dr.spec.token));
        }
        let debt = debt_base * U256::from(10u8).pow(U256::from(dr.decimals)) / dr.price;
        let debt_scaled = if debt.is_zero() {
            U256::ZERO
        } else {
            dr.reserve.borrow(0, debt).map_err(|e| {
                format!(
                    "genesis borrowers owe more of token {:?} than its reserve holds ({e}); supply more or borrow less",
                    dr.spec.token
                )
            })?
        };
        let p = &mut market.positions[id.0 as usize];
        p.lines[c] = PositionLine { scaled_supply: scaled, scaled_debt: U256::ZERO, collateral: true };
        p.lines[d].scaled_debt = debt_scaled;
    }
    Ok(())
}

/// Genesis balances of a market: custody holds what the reserves have not lent, the market's
/// borrowers account what they have.
fn mint_market(ledger: &mut Ledger, layout: crate::ledger::AccountLayout, m: &MarketState) -> Result<(), SimError> {
    let fail = |reason: String| SimError::Lending { market: m.name.clone(), reason };
    for r in &m.reserves {
        let lent = r.reserve.total_debt().map_err(|e| fail(e.to_string()))?;
        let (Ok(held), Ok(lent)) = (u128::try_from(r.reserve.available), u128::try_from(lent)) else {
            return Err(fail("amounts over 2^128".into()));
        };
        ledger.mint_genesis(m.account, r.spec.token, held).map_err(SimError::Genesis)?;
        ledger.mint_genesis(layout.market_borrowers(m.id), r.spec.token, lent).map_err(SimError::Genesis)?;
    }
    Ok(())
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
        let config = app.state::<SimConfig>().clone();
        let book = app.world.get::<OracleBook>(app.state).cloned().unwrap_or_default();
        let mut markets = Vec::new();
        for m in &s.lending {
            let price = |k: usize| match m.reserves[k].oracle {
                Some(o) => book.price.get(o.index()).copied().unwrap_or(0.0),
                None => 1.0,
            };
            let mut market = genesis(m, &config, &price)?;
            market.chain = app.scenario.market_chain(m.id);
            markets.push(market);
        }
        let layout = config.layout;
        let mut ledger = app.state_mut::<Ledger>();
        for m in &markets {
            mint_market(&mut ledger, layout, m)?;
        }
        app.insert_state(Lending { markets });
        if !s.oracles.is_empty() {
            app.add_systems(Phase::Oracles, read_prices);
        }
        let agents = app
            .scenario
            .agents
            .iter()
            .any(|a| matches!(a.kind, AgentKind::Liquidator { .. } | AgentKind::Borrowers { .. }));
        if agents {
            let routes = liquidator::routes(app);
            app.insert_state(routes);
            // before any agent of the domain decides: every borrower valued once for all of them
            app.add_systems(Phase::Decide, assess_borrowers);
        }
        liquidator::build(app)?;
        borrowers::build(app)?;
        supplier::build(app)?;
        if app.options.record {
            app.add_systems(Phase::Record, record_lending);
        }
        app.add_systems(Phase::Settle, accrue_and_check);
        Ok(())
    }

    fn digest(&self, world: StateView<'_>, h: &mut Sha256) {
        // the agents' own state, in agent id order: what liquidators still have to sell, where
        // borrowers' random streams stand and what they have to supply
        let mut agents: Vec<(u32, Vec<u8>)> = Vec::new();
        if let Some(mut q) = world.world.try_query::<(&crate::agents::AgentMeta, &Liquidator)>() {
            for (meta, l) in q.iter(world.world) {
                let mut b = Vec::new();
                for s in &l.to_sell {
                    b.extend(s.token.0.to_le_bytes());
                    b.extend(s.amount.to_le_bytes());
                    b.extend(s.cause.0.to_le_bytes());
                }
                agents.push((meta.id.0, b));
            }
        }
        if let Some(mut q) = world.world.try_query::<(&crate::agents::AgentMeta, &Borrowers)>() {
            for (meta, x) in q.iter(world.world) {
                let mut b = Vec::new();
                b.extend(x.opened.to_le_bytes());
                b.extend(x.rng_word_pos().to_le_bytes());
                for (k, a) in &x.to_supply {
                    b.extend(k.to_le_bytes());
                    b.extend(a.to_le_bytes());
                }
                agents.push((meta.id.0, b));
            }
        }
        agents.sort_unstable_by_key(|(id, _)| *id);
        for (id, b) in agents {
            h.update(id.to_le_bytes());
            h.update(b);
        }
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
                    x.deficit,
                    r.passive_scaled_supply,
                    r.treasury_scaled,
                    r.price,
                ] {
                    h.update(v.to_le_bytes::<32>());
                }
                h.update(x.last_update.to_le_bytes());
            }
            h.update((m.positions.len() as u64).to_le_bytes());
            for p in &m.positions {
                for l in &p.lines {
                    h.update(l.scaled_supply.to_le_bytes::<32>());
                    h.update(l.scaled_debt.to_le_bytes::<32>());
                    h.update([u8::from(l.collateral)]);
                }
            }
        }
    }

    fn snapshot(&self, world: StateView<'_>, snap: &mut Snapshot) {
        snapshot_agents::<Liquidator>(world, snap);
        snapshot_agents::<Borrowers>(world, snap);
        snapshot_agents::<Supplier>(world, snap);
        let ray = |x: U256| meshsim_math::u256_to_f64(x) / 1e27;
        let whole = |x: U256| u128::try_from(x).unwrap_or(u128::MAX);
        for m in &world.state::<Lending>().markets {
            let census = m.census();
            let reserves = m
                .reserves
                .iter()
                .map(|r| crate::snapshot::ReserveSnapshot {
                    token: r.spec.token,
                    price: meshsim_math::u256_to_f64(r.price) / 1e8,
                    utilization: ray(r.reserve.utilization().unwrap_or_default()),
                    borrow_rate: ray(r.reserve.rates.variable_borrow_rate),
                    supply_rate: ray(r.reserve.rates.liquidity_rate),
                    available: whole(r.reserve.available),
                    borrowed: whole(r.reserve.total_debt().unwrap_or_default()),
                    deficit: whole(r.reserve.deficit),
                    liquidations: r.stats.liquidations,
                })
                .collect();
            snap.lending.push(crate::snapshot::MarketSnapshot {
                id: m.id,
                name: m.name.clone(),
                reserves,
                borrowers: census.borrowers,
                under_water: census.under_water,
                lowest_health: census.lowest_health,
            });
        }
    }
}

/// Oracles phase: each reserve reads its oracle (the numeraire is 1).
fn read_prices(state: State<(&OracleBook, &Chains, &mut Lending)>) {
    let (book, chains, mut lending) = shared(state);
    for m in lending.markets.iter_mut().filter(|m| m.chain == chains.active) {
        for r in &mut m.reserves {
            if let Some(o) = r.spec.oracle {
                r.price = price_e8(book.price.get(o.index()).copied().unwrap_or(0.0));
            }
        }
    }
}

/// Decide phase, first of the domain: each market values its borrowers for this block.
fn assess_borrowers(state: State<(&Chains, &mut Lending)>) {
    let (chains, mut lending) = shared(state);
    let block = chains.active().clock.number;
    for m in lending.markets.iter_mut().filter(|m| m.chain == chains.active) {
        m.assess(block);
    }
}

/// Record phase: a row per reserve.
fn record_lending(state: State<(&Chains, &Lending, &mut crate::record::Records)>) {
    let (chains, lending, mut records) = shared(state);
    let block = chains.active().clock.number;
    let ray = |x: U256| meshsim_math::u256_to_f64(x) / 1e27;
    let whole = |x: U256| u128::try_from(x).unwrap_or(u128::MAX);
    for m in lending.markets.iter().filter(|m| m.chain == chains.active) {
        // each position's health once, at this block's prices
        let census = m.census();
        for (r, under) in m.reserves.iter().zip(census.under_water_by_reserve) {
            let x = &r.reserve;
            records.lending.push(crate::record::LendingRow {
                block,
                market: m.id,
                token: r.spec.token,
                price: meshsim_math::u256_to_f64(r.price) / 1e8,
                utilization: ray(x.utilization().unwrap_or_default()),
                borrow_rate: ray(x.rates.variable_borrow_rate),
                supply_rate: ray(x.rates.liquidity_rate),
                liquidity_index: ray(x.liquidity_index),
                borrow_index: ray(x.variable_borrow_index),
                available: whole(x.available),
                borrowed: whole(x.total_debt().unwrap_or_default()),
                deficit: whole(x.deficit),
                liquidations: r.stats.liquidations,
                debt_liquidated: r.stats.debt_liquidated,
                collateral_seized: r.stats.collateral_seized,
                under_water: under,
            });
        }
    }
}

/// Settle phase: every reserve accrues interest to the block's time (whole seconds, as
/// `block.timestamp`), each market's custody holds exactly what its reserves say, and (in
/// checked runs) the positions add up to the reserves' scaled totals.
fn accrue_and_check(
    state: State<(&Chains, &Ledger, &SimConfig, &ExternalPrices, &Pools, &mut Lending, &mut SimStatus)>,
) {
    let (chains, ledger, config, prices, pools, mut lending, mut status) = shared(state);
    let clock = &chains.active().clock;
    let now = clock.timestamp as u64;
    for m in lending.markets.iter_mut().filter(|m| m.chain == chains.active) {
        let mut problem = None;
        for r in &mut m.reserves {
            // how far below the market the oracle and the pools put the token this block
            let truth = prices.per_token[r.spec.token.index()];
            let seen = meshsim_math::u256_to_f64(r.price) / 1e8;
            r.stats.oracle_gap_min = r.stats.oracle_gap_min.min(seen / truth - 1.0);
            let scale = libm::pow(10.0, f64::from(r.decimals) - f64::from(config.decimals[config.numeraire.index()]));
            for e in &pools.entries {
                if let (Some(i), Some(j)) =
                    (e.index_of(r.spec.token), e.tokens.iter().position(|t| config.is_numeraire(*t)))
                {
                    let gap = e.marginal_price(i, j) * scale / truth - 1.0;
                    if gap.is_finite() {
                        r.stats.pool_gap_min = r.stats.pool_gap_min.min(gap);
                    }
                }
            }
            if let Err(e) = r.reserve.accrue(now) {
                problem.get_or_insert(e.to_string());
            }
            let held = ledger.balance(m.account, r.spec.token);
            if U256::from(held) != r.reserve.available {
                problem.get_or_insert(format!(
                    "block {}: custody holds {held} of token {:?}, the reserve says {}",
                    clock.number, r.spec.token, r.reserve.available
                ));
            }
        }
        if config.options.check_conservation {
            for (k, r) in m.reserves.iter().enumerate() {
                let supply: U256 = m.positions.iter().fold(r.passive_scaled_supply + r.treasury_scaled, |a, p| {
                    a + p.lines.get(k).map_or(U256::ZERO, |l| l.scaled_supply)
                });
                if supply != r.reserve.scaled_supply {
                    problem.get_or_insert(format!(
                        "block {}: the positions of token {:?} hold {supply} scaled, the reserve says {}",
                        clock.number, r.spec.token, r.reserve.scaled_supply
                    ));
                }
            }
        }
        if let Some(reason) = problem
            && status.failure.is_none()
        {
            status.failure = Some(SimError::Lending { market: m.name.clone(), reason });
        }
    }
}

/// The scenario's liquidators of one market (for plugins deciding what to build).
pub fn has_liquidators(s: &meshsim_scenario::Scenario) -> bool {
    s.agents.iter().any(|a| matches!(a.kind, AgentKind::Liquidator { .. }))
}
