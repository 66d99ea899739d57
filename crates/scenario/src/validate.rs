//! Raw document -> typed [`Scenario`], collecting every problem with its field path.

use std::collections::BTreeMap;
use std::path::Path;

use meshsim_math::stableswap::{StableSwapPool, StableSwapVariant};
use meshsim_math::v2::V2Pair;
use meshsim_math::v3::tick_math::{MAX_TICK, MIN_TICK, get_sqrt_ratio_at_tick};
use meshsim_math::v3::{V3Pool, liquidity_for_amounts};
use meshsim_math::weighted::WeightedPool;
use meshsim_math::{Pool, U256, sqrt_x96_from_price};

use crate::amount::{exact_units, parse_amount};
use crate::limits;
use crate::model::*;
use crate::raw::*;

/// Problems found, by field path.
#[derive(Default)]
pub(crate) struct Problems(pub Vec<(String, String)>);

impl Problems {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push((path.into(), message.into()));
    }
}

struct Ctx<'a> {
    problems: Problems,
    tokens: BTreeMap<&'a str, TokenId>,
    decimals: Vec<u8>,
    base_dir: &'a Path,
}

impl<'a> Ctx<'a> {
    fn token(&mut self, path: &str, symbol: &str) -> Option<TokenId> {
        let found = self.tokens.get(symbol).copied();
        if found.is_none() {
            let known: Vec<&str> = self.tokens.keys().copied().collect();
            self.problems.push(path, format!("unknown token {symbol:?}; expected one of {known:?}"));
        }
        found
    }

    fn pool(&mut self, path: &str, name: &str, pool_names: &BTreeMap<&str, PoolId>) -> Option<PoolId> {
        let found = pool_names.get(name).copied();
        if found.is_none() {
            let known: Vec<&str> = pool_names.keys().copied().collect();
            self.problems.push(path, format!("unknown pool {name:?}; expected one of {known:?}"));
        }
        found
    }

    fn amount(&mut self, path: &str, token: Option<TokenId>, text: &str) -> Option<u128> {
        let decimals = self.decimals[token?.index()];
        match parse_amount(text, decimals) {
            Ok(v) => Some(v),
            Err(e) => {
                self.problems.push(path, e);
                None
            }
        }
    }

    fn finite(&mut self, path: &str, v: f64, min: f64, max: f64, what: &str) -> bool {
        if v.is_finite() && v >= min && v <= max {
            true
        } else {
            self.problems.push(path, format!("expected {what} in [{min}, {max}], found {v}"));
            false
        }
    }

    /// Fee in basis points within [0, 10000).
    fn fee_bps(&mut self, path: &str, bps: f64) -> bool {
        if bps.is_finite() && (0.0..10_000.0).contains(&bps) {
            true
        } else {
            self.problems
                .push(path, format!("expected a fee in basis points in [0, 10000) (0 % to below 100 %), found {bps}"));
            false
        }
    }

    fn units(&mut self, path: &str, value: f64, scale: f64, what: &str) -> Option<u128> {
        match exact_units(value, scale, what) {
            Ok(v) => Some(v),
            Err(e) => {
                self.problems.push(path, e);
                None
            }
        }
    }
}

pub(crate) fn validate(raw: &RawWorld, base_dir: &Path, world_hash: String) -> Result<Scenario, Problems> {
    let mut cx = Ctx { problems: Problems::default(), tokens: BTreeMap::new(), decimals: Vec::new(), base_dir };
    let p = &mut cx;

    if raw.version != SCHEMA_VERSION {
        p.problems.push("version", format!("expected schema version {SCHEMA_VERSION}, found {}", raw.version));
    }
    if raw.name.is_empty()
        || raw.name.len() > 64
        || !raw.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        p.problems.push("name", format!("expected 1 to 64 characters from [A-Za-z0-9-_.], found {:?}", raw.name));
    }
    if raw.blocks == 0 || raw.blocks > limits::MAX_BLOCKS {
        p.problems.push("blocks", format!("expected 1 to {} blocks, found {}", limits::MAX_BLOCKS, raw.blocks));
    }

    // tokens
    if raw.tokens.is_empty() || raw.tokens.len() > limits::MAX_TOKENS {
        p.problems.push("tokens", format!("expected 1 to {} tokens, found {}", limits::MAX_TOKENS, raw.tokens.len()));
    }
    let mut tokens = Vec::new();
    for (k, t) in raw.tokens.iter().enumerate().take(limits::MAX_TOKENS) {
        let path = format!("tokens[{k}]");
        if t.decimals > 36 {
            p.problems.push(format!("{path}.decimals"), format!("expected at most 36 decimals, found {}", t.decimals));
        }
        if t.symbol.is_empty()
            || t.symbol.len() > 16
            || !t.symbol.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            p.problems.push(
                format!("{path}.symbol"),
                format!("expected 1 to 16 characters from [A-Za-z0-9-_.], found {:?}", t.symbol),
            );
        }
        if p.tokens.insert(t.symbol.as_str(), TokenId(k as u16)).is_some() {
            p.problems.push(format!("{path}.symbol"), format!("token {:?} is declared twice", t.symbol));
        }
        p.decimals.push(t.decimals.min(36));
        tokens.push(Token { symbol: t.symbol.clone(), decimals: t.decimals.min(36) });
    }
    let numeraire = p.token("numeraire", &raw.numeraire);

    // chain
    let chain = chain(p, &raw.chain);
    // market
    let market = market(p, &raw.market, numeraire, raw.blocks);
    // pools
    if raw.pools.len() > limits::MAX_POOLS {
        p.problems.push("pools", format!("expected at most {} pools, found {}", limits::MAX_POOLS, raw.pools.len()));
    }
    let mut pool_names: BTreeMap<&str, PoolId> = BTreeMap::new();
    let mut pools = Vec::new();
    for (k, rp) in raw.pools.iter().enumerate().take(limits::MAX_POOLS) {
        let path = format!("pools[{k}]");
        let name = pool_name(rp);
        if pool_names.insert(name, PoolId(k as u32)).is_some() {
            p.problems.push(format!("{path}.name"), format!("pool name {name:?} is used twice"));
        }
        if let Some(spec) = pool(p, &path, k, rp) {
            pools.push(spec);
        }
    }
    // agents
    if raw.agents.len() > limits::MAX_AGENTS {
        p.problems
            .push("agents", format!("expected at most {} agents, found {}", limits::MAX_AGENTS, raw.agents.len()));
    }
    let mut agent_names = BTreeMap::new();
    let mut agents = Vec::new();
    for (k, ra) in raw.agents.iter().enumerate().take(limits::MAX_AGENTS) {
        let path = format!("agents[{k}]");
        let (name, capital_raw, priority, latency_ms) = match ra {
            RawAgent::Arbitrageur(a) => (&a.name, &a.capital, a.priority_fee_gwei, a.latency_ms),
            RawAgent::CycleArbitrageur(a) => (&a.name, &a.capital, a.priority_fee_gwei, a.latency_ms),
            RawAgent::Searcher(a) => (&a.name, &a.capital, 0.0, a.latency_ms),
        };
        p.finite(&format!("{path}.latency_ms"), latency_ms, 0.0, 1e6, "a latency in milliseconds");
        if agent_names.insert(name.as_str(), k).is_some() {
            p.problems.push(format!("{path}.name"), format!("agent name {name:?} is used twice"));
        }
        let capital = capital(p, &format!("{path}.capital"), capital_raw);
        let priority_fee_wei =
            p.units(&format!("{path}.priority_fee_gwei"), priority, 1e9, "priority fee in gwei").unwrap_or(0);
        let kind = match ra {
            RawAgent::Arbitrageur(a) => {
                p.finite(&format!("{path}.min_profit"), a.min_profit, f64::MIN, f64::MAX, "a finite profit");
                let ids = pool_set(p, &path, &a.pools, &pool_names, raw.pools.len());
                AgentKind::Arbitrageur { pools: ids, min_profit: a.min_profit }
            }
            RawAgent::CycleArbitrageur(a) => {
                if !(2..=3).contains(&a.max_cycle_len) {
                    p.problems
                        .push(format!("{path}.max_cycle_len"), format!("expected 2 or 3, found {}", a.max_cycle_len));
                }
                p.finite(&format!("{path}.min_profit"), a.min_profit, f64::MIN, f64::MAX, "a finite profit");
                AgentKind::CycleArbitrageur { max_cycle_len: a.max_cycle_len, min_profit: a.min_profit }
            }
            RawAgent::Searcher(a) => {
                p.finite(&format!("{path}.min_profit"), a.min_profit, f64::MIN, f64::MAX, "a finite profit");
                p.finite(&format!("{path}.solo_bid_share"), a.solo_bid_share, 0.0, 1.0, "a share of profit");
                p.finite(&format!("{path}.competitive_margin"), a.competitive_margin, 0.0, 1.0, "a share of profit");
                let pools = pool_set(p, &path, &a.pools, &pool_names, raw.pools.len());
                let strategy = match a.strategy {
                    RawStrategyKind::Sandwich => SearcherStrategy::Sandwich,
                    RawStrategyKind::Backrun => SearcherStrategy::Backrun,
                    RawStrategyKind::TriggerPrediction => SearcherStrategy::TriggerPrediction,
                };
                AgentKind::Searcher {
                    strategy,
                    pools,
                    min_profit: a.min_profit,
                    solo_bid_share: a.solo_bid_share,
                    competitive_margin: a.competitive_margin,
                }
            }
        };
        agents.push(AgentSpec {
            id: AgentId(k as u32),
            name: name.clone(),
            capital,
            priority_fee_wei,
            latency_s: latency_ms.max(0.0) / 1000.0,
            kind,
        });
    }
    let oracles = oracles(p, &raw.oracles, &pool_names, &raw.pools, numeraire);
    let vaults = vaults(p, &raw.vaults, &oracles, numeraire, chain.as_ref().map(|c| c.native), &pool_names);

    let gas = GasCosts {
        base_tx: raw.gas.base_tx,
        swap_constant_product: raw.gas.swap_constant_product,
        swap_concentrated: raw.gas.swap_concentrated,
        tick_cross: raw.gas.tick_cross,
        swap_stableswap: raw.gas.swap_stableswap,
        swap_weighted: raw.gas.swap_weighted,
    };

    let events = events(p, &raw.events, &pool_names, &oracles, chain.as_ref());

    if !cx.problems.0.is_empty() {
        return Err(cx.problems);
    }
    match (numeraire, chain, market) {
        (Some(numeraire), Some(chain), Some(market)) => Ok(Scenario {
            name: raw.name.clone(),
            world_hash,
            seed: raw.seed,
            blocks: raw.blocks,
            chain,
            numeraire,
            tokens,
            market,
            pools,
            agents,
            oracles,
            vaults,
            gas,
            events: Events(events),
            raw: raw.clone(),
        }),
        _ => Err(cx.problems),
    }
}

fn chain(p: &mut Ctx, raw: &RawChain) -> Option<Chain> {
    let block_time = match raw.block_time {
        RawBlockTime::Fixed(s) => p
            .finite("chain.block_time", s, 1e-3, 86_400.0, "seconds per block")
            .then_some(BlockTime::Fixed { seconds: s }),
        RawBlockTime::Poisson(s) => p
            .finite("chain.block_time", s, 1e-3, 86_400.0, "mean seconds per block")
            .then_some(BlockTime::Poisson { mean_seconds: s }),
    };
    if raw.gas_limit < 21_000 || raw.gas_limit > 1_000_000_000 {
        p.problems.push("chain.gas_limit", format!("expected 21000 to 1e9 gas, found {}", raw.gas_limit));
    }
    let base_fee_wei = p.units("chain.base_fee_gwei", raw.base_fee_gwei, 1e9, "base fee in gwei (whole wei)");
    let native = p.token("chain.native_token", &raw.native_token);
    if let Some(n) = native
        && p.decimals[n.index()] != 18
    {
        p.problems.push(
            "chain.native_token",
            format!("the native token pays gas in wei and needs 18 decimals, found {}", p.decimals[n.index()]),
        );
    }
    Some(Chain {
        block_time: block_time?,
        gas_limit: raw.gas_limit,
        base_fee_wei: base_fee_wei?,
        eip1559: raw.eip1559,
        native: native?,
        background_demand: raw.background_demand,
        ordering: match raw.ordering {
            RawOrdering::PriorityGasAuction => Ordering::PriorityGasAuction,
            RawOrdering::FirstComeFirstServed => Ordering::FirstComeFirstServed,
            RawOrdering::BatchAuction => Ordering::BatchAuction,
            RawOrdering::BuilderAuction => Ordering::BuilderAuction,
        },
    })
}

fn market(p: &mut Ctx, raw: &RawMarket, numeraire: Option<TokenId>, blocks: u64) -> Option<Market> {
    let mut assets = Vec::new();
    let mut index_of = BTreeMap::new();
    if raw.assets.len() > limits::MAX_TOKENS {
        p.problems.push("market.assets", format!("expected at most {} assets", limits::MAX_TOKENS));
    }
    for (k, a) in raw.assets.iter().enumerate().take(limits::MAX_TOKENS) {
        let path = format!("market.assets[{k}]");
        let token = p.token(&format!("{path}.token"), &a.token);
        if token.is_some() && token == numeraire {
            p.problems.push(format!("{path}.token"), "the numeraire has price 1 by definition and is not an asset");
        }
        if let Some(t) = token
            && index_of.insert(t, assets.len()).is_some()
        {
            p.problems.push(format!("{path}.token"), format!("asset {:?} is listed twice", a.token));
        }
        p.finite(&format!("{path}.price"), a.price, f64::MIN_POSITIVE, 1e30, "a positive price");
        p.finite(
            &format!("{path}.volatility"),
            a.volatility,
            0.0,
            100.0,
            "an annualized volatility (non-negative, not NaN)",
        );
        p.finite(&format!("{path}.drift"), a.drift, -100.0, 100.0, "an annualized drift");
        if let Some(token) = token {
            assets.push(AssetSpec { token, price: a.price, volatility: a.volatility, drift: a.drift });
        }
    }
    // every token except the numeraire needs an external price
    for (symbol, id) in &p.tokens.clone() {
        if Some(*id) != numeraire && !index_of.contains_key(id) {
            p.problems.push("market.assets", format!("token {symbol:?} has no external price; add an asset for it"));
        }
    }
    let n = assets.len();
    let mut correlation = vec![vec![0.0; n]; n];
    for (k, row) in correlation.iter_mut().enumerate() {
        row[k] = 1.0;
    }
    for (k, c) in raw.correlations.iter().enumerate() {
        let path = format!("market.correlations[{k}]");
        let a = p.token(&format!("{path}.a"), &c.a).and_then(|t| index_of.get(&t).copied());
        let b = p.token(&format!("{path}.b"), &c.b).and_then(|t| index_of.get(&t).copied());
        if !p.finite(&format!("{path}.rho"), c.rho, -1.0, 1.0, "a correlation") {
            continue;
        }
        if let (Some(a), Some(b)) = (a, b) {
            if a == b {
                p.problems.push(path, "a correlation needs two different assets");
            } else {
                correlation[a][b] = c.rho;
                correlation[b][a] = c.rho;
            }
        }
    }
    if n > 0 && !positive_definite(&correlation) {
        p.problems
            .push("market.correlations", "the correlation matrix is not positive definite (no Cholesky factor exists)");
    }
    let jumps = raw.jumps.as_ref().map(|j| {
        p.finite("market.jumps.intensity_per_year", j.intensity_per_year, 0.0, 1e6, "jumps per year");
        p.finite("market.jumps.mean", j.mean, -10.0, 10.0, "a mean log jump");
        p.finite("market.jumps.stdev", j.stdev, 0.0, 10.0, "a log-jump stdev");
        Jumps { intensity_per_year: j.intensity_per_year, mean: j.mean, stdev: j.stdev }
    });
    let regimes = raw.regimes.as_ref().map(|r| {
        if r.multipliers.is_empty() || r.multipliers.len() > 16 || r.multipliers.len() != r.switches_per_year.len() {
            p.problems.push("market.regimes", "expected 1 to 16 regimes with one multiplier and one switch rate each");
        }
        for (k, m) in r.multipliers.iter().enumerate() {
            p.finite(&format!("market.regimes.multipliers[{k}]"), *m, 0.0, 100.0, "a volatility multiplier");
        }
        for (k, s) in r.switches_per_year.iter().enumerate() {
            p.finite(&format!("market.regimes.switches_per_year[{k}]"), *s, 0.0, 1e6, "switches per year");
        }
        Regimes { multipliers: r.multipliers.clone(), switches_per_year: r.switches_per_year.clone() }
    });
    let replay = raw.replay.as_ref().and_then(|file| {
        let symbols: Vec<String> = assets
            .iter()
            .map(|a| p.tokens.iter().find(|(_, id)| **id == a.token).map(|(s, _)| s.to_string()).unwrap_or_default())
            .collect();
        match crate::replay::load(&p.base_dir.join(file), &symbols) {
            Ok(r) => Some(r),
            Err(e) => {
                p.problems.push("market.replay", e);
                None
            }
        }
    });
    if raw.shocks.len() > limits::MAX_SHOCKS {
        p.problems.push("market.shocks", format!("expected at most {} shocks", limits::MAX_SHOCKS));
    }
    let mut shocks = Vec::new();
    for (k, s) in raw.shocks.iter().enumerate().take(limits::MAX_SHOCKS) {
        let path = format!("market.shocks[{k}]");
        let asset = p.token(&format!("{path}.token"), &s.token).and_then(|t| {
            let a = index_of.get(&t).copied();
            if a.is_none() {
                p.problems.push(format!("{path}.token"), "shocks apply to market assets, not the numeraire");
            }
            a
        });
        if s.blocks == 0 || s.blocks > blocks.max(1) {
            p.problems
                .push(format!("{path}.blocks"), format!("expected 1 to {} blocks, found {}", blocks.max(1), s.blocks));
        }
        if s.start_block > limits::MAX_BLOCKS {
            p.problems.push(format!("{path}.start_block"), "start block beyond the block limit");
        }
        if p.finite(&format!("{path}.change"), s.change, -0.999_999, 1e6, "a relative change above -100 %")
            && let Some(asset) = asset
        {
            let log_step = libm::log1p(s.change) / s.blocks.max(1) as f64;
            shocks.push(Shock { asset, start_block: s.start_block, blocks: s.blocks.max(1), log_step });
        }
    }
    Some(Market { assets, correlation, jumps, regimes, replay, shocks })
}

/// Cholesky succeeds (all pivots positive).
fn positive_definite(m: &[Vec<f64>]) -> bool {
    let n = m.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = m[i][i] - s;
                if d <= 1e-12 {
                    return false;
                }
                l[i][j] = d.sqrt();
            } else {
                l[i][j] = (m[i][j] - s) / l[j][j];
            }
        }
    }
    true
}

fn pool_name(p: &RawPool) -> &str {
    match p {
        RawPool::ConstantProduct { name, .. }
        | RawPool::Concentrated { name, .. }
        | RawPool::StableSwap { name, .. }
        | RawPool::Weighted { name, .. } => name,
    }
}

fn capital(p: &mut Ctx, path: &str, raw: &[(String, String)]) -> Vec<(TokenId, u128)> {
    let mut out: Vec<(TokenId, u128)> = Vec::new();
    for (k, (symbol, amount)) in raw.iter().enumerate() {
        let token = p.token(&format!("{path}[{k}][0]"), symbol);
        if let Some(v) = p.amount(&format!("{path}[{k}][1]"), token, amount)
            && let Some(t) = token
        {
            if out.iter().any(|(x, _)| *x == t) {
                p.problems.push(format!("{path}[{k}][0]"), format!("{symbol:?} listed twice"));
            } else {
                out.push((t, v));
            }
        }
    }
    out
}

fn pool(p: &mut Ctx, path: &str, k: usize, raw: &RawPool) -> Option<PoolSpec> {
    let id = PoolId(k as u32);
    let name = pool_name(raw).to_string();
    if name.is_empty() || name.len() > 64 {
        p.problems.push(format!("{path}.name"), "expected a name of 1 to 64 characters");
    }
    let build_error = |p: &mut Ctx, field: &str, e: meshsim_math::MathError| {
        p.problems.push(format!("{path}.{field}"), format!("the pool cannot be built: {e}"));
    };
    match raw {
        RawPool::ConstantProduct { tokens, reserves, fee_bps, .. } => {
            let t0 = p.token(&format!("{path}.tokens[0]"), &tokens.0);
            let t1 = p.token(&format!("{path}.tokens[1]"), &tokens.1);
            if t0.is_some() && t0 == t1 {
                p.problems.push(format!("{path}.tokens"), "a pool needs two different tokens");
            }
            let r0 = p.amount(&format!("{path}.reserves[0]"), t0, &reserves.0);
            let r1 = p.amount(&format!("{path}.reserves[1]"), t1, &reserves.1);
            for (i, r) in [r0, r1].iter().enumerate() {
                if *r == Some(0) {
                    p.problems.push(format!("{path}.reserves[{i}]"), "expected a positive reserve, found 0");
                }
            }
            let fee = if p.fee_bps(&format!("{path}.fee_bps"), *fee_bps) {
                p.units(&format!("{path}.fee_bps"), *fee_bps, 100.0, "fee (whole pips)")
            } else {
                None
            };
            let (r0, r1, fee) = (r0?, r1?, fee?);
            if r0 == 0 || r1 == 0 {
                return None;
            }
            match V2Pair::seeded(r0, r1, fee as u32) {
                Ok(pair) => Some(PoolSpec {
                    id,
                    name,
                    tokens: vec![t0?, t1?],
                    pool: Pool::ConstantProduct(pair),
                    balances: vec![r0, r1],
                }),
                Err(e) => {
                    build_error(p, "reserves", e);
                    None
                }
            }
        }
        RawPool::Concentrated { tokens, fee_bps, tick_spacing, price, positions, .. } => {
            let t0 = p.token(&format!("{path}.tokens[0]"), &tokens.0);
            let t1 = p.token(&format!("{path}.tokens[1]"), &tokens.1);
            if t0.is_some() && t0 == t1 {
                p.problems.push(format!("{path}.tokens"), "a pool needs two different tokens");
            }
            let fee = if p.fee_bps(&format!("{path}.fee_bps"), *fee_bps) {
                p.units(&format!("{path}.fee_bps"), *fee_bps, 100.0, "fee (whole pips)")
            } else {
                None
            };
            if !(1..16_384).contains(tick_spacing) {
                p.problems.push(
                    format!("{path}.tick_spacing"),
                    format!("expected a tick spacing in 1..16384, found {tick_spacing}"),
                );
            }
            p.finite(&format!("{path}.price"), *price, f64::MIN_POSITIVE, f64::MAX, "a positive price");
            if positions.is_empty() || positions.len() > limits::MAX_POSITIONS {
                p.problems
                    .push(format!("{path}.positions"), format!("expected 1 to {} positions", limits::MAX_POSITIONS));
            }
            let (t0, t1, fee) = (t0?, t1?, fee?);
            if !(1..16_384).contains(tick_spacing) {
                return None;
            }
            let (d0, d1) = (p.decimals[t0.index()], p.decimals[t1.index()]);
            let base_price = price * libm::pow(10.0, f64::from(d1) - f64::from(d0));
            let sqrt = sqrt_x96_from_price(base_price);
            let mut pool = match V3Pool::new(fee as u32, *tick_spacing, sqrt) {
                Ok(pool) => pool,
                Err(e) => {
                    build_error(p, "price", e);
                    return None;
                }
            };
            let mut balances = [0u128; 2];
            let mut ok = true;
            for (k, pos) in positions.iter().enumerate().take(limits::MAX_POSITIONS) {
                let pp = format!("{path}.positions[{k}]");
                for (field, tick) in [("lower_tick", pos.lower_tick), ("upper_tick", pos.upper_tick)] {
                    if tick % tick_spacing != 0 {
                        p.problems.push(
                            format!("{pp}.{field}"),
                            format!("tick {tick} is not a multiple of the tick spacing {tick_spacing}"),
                        );
                        ok = false;
                    }
                    if !(MIN_TICK..=MAX_TICK).contains(&tick) {
                        p.problems
                            .push(format!("{pp}.{field}"), format!("tick {tick} outside [{MIN_TICK}, {MAX_TICK}]"));
                        ok = false;
                    }
                }
                if pos.lower_tick >= pos.upper_tick {
                    p.problems.push(format!("{pp}.upper_tick"), "expected upper_tick above lower_tick");
                    ok = false;
                }
                let liquidity = match (&pos.liquidity, &pos.amounts) {
                    (Some(l), None) => match l.trim().parse::<u128>() {
                        Ok(l) if l > 0 => Some(l),
                        _ => {
                            p.problems.push(
                                format!("{pp}.liquidity"),
                                format!("expected a positive integer liquidity, found {l:?}"),
                            );
                            None
                        }
                    },
                    (None, Some((a0, a1))) => {
                        let a0 = p.amount(&format!("{pp}.amounts[0]"), Some(t0), a0);
                        let a1 = p.amount(&format!("{pp}.amounts[1]"), Some(t1), a1);
                        match (a0, a1, ok) {
                            (Some(a0), Some(a1), true) => {
                                let sa = get_sqrt_ratio_at_tick(pos.lower_tick).ok()?;
                                let sb = get_sqrt_ratio_at_tick(pos.upper_tick).ok()?;
                                match liquidity_for_amounts(pool.sqrt_price_x96(), sa, sb, a0, a1) {
                                    Ok(l) if l > 0 => Some(l),
                                    Ok(_) => {
                                        p.problems.push(format!("{pp}.amounts"), "these amounts mint no liquidity in this range at this price (the needed token is 0)");
                                        None
                                    }
                                    Err(e) => {
                                        build_error(p, &format!("positions[{k}].amounts"), e);
                                        None
                                    }
                                }
                            }
                            _ => None,
                        }
                    }
                    _ => {
                        p.problems.push(&pp, "expected exactly one of `liquidity` or `amounts`");
                        None
                    }
                };
                if let (Some(l), true) = (liquidity, ok) {
                    match pool.mint(u64::MAX, pos.lower_tick, pos.upper_tick, l) {
                        Ok((a0, a1)) => match (u128::try_from(a0), u128::try_from(a1)) {
                            (Ok(a0), Ok(a1))
                                if balances[0].checked_add(a0).is_some() && balances[1].checked_add(a1).is_some() =>
                            {
                                balances = [balances[0] + a0, balances[1] + a1];
                            }
                            _ => p.problems.push(&pp, "the position's token amounts overflow 128 bits"),
                        },
                        Err(e) => build_error(p, &format!("positions[{k}]"), e),
                    }
                }
            }
            if pool.liquidity() == 0 {
                p.problems.push(
                    format!("{path}.positions"),
                    "no position covers the initial price: the pool would have no liquidity in range",
                );
            }
            Some(PoolSpec {
                id,
                name,
                tokens: vec![t0, t1],
                pool: Pool::Concentrated(pool),
                balances: balances.to_vec(),
            })
        }
        RawPool::StableSwap { tokens, balances, amp, fee_bps, admin_fee, variant, offpeg_fee_multiplier, .. } => {
            if !(2..=4).contains(&tokens.len()) || tokens.len() != balances.len() {
                p.problems.push(
                    format!("{path}.tokens"),
                    format!(
                        "expected 2 to 4 tokens with one balance each, found {} tokens and {} balances",
                        tokens.len(),
                        balances.len()
                    ),
                );
                return None;
            }
            let ids: Vec<Option<TokenId>> =
                tokens.iter().enumerate().map(|(i, t)| p.token(&format!("{path}.tokens[{i}]"), t)).collect();
            let bal: Vec<Option<u128>> = balances
                .iter()
                .enumerate()
                .map(|(i, b)| p.amount(&format!("{path}.balances[{i}]"), ids[i], b))
                .collect();
            for (i, b) in bal.iter().enumerate() {
                if *b == Some(0) {
                    p.problems.push(format!("{path}.balances[{i}]"), "expected a positive balance, found 0");
                }
            }
            distinct(p, path, &ids);
            let fee = if p.fee_bps(&format!("{path}.fee_bps"), *fee_bps) {
                p.units(&format!("{path}.fee_bps"), *fee_bps, 1e6, "fee (1e-10 units)")
            } else {
                None
            };
            let admin = if p.finite(&format!("{path}.admin_fee"), *admin_fee, 0.0, 1.0, "an admin fee share") {
                p.units(&format!("{path}.admin_fee"), *admin_fee, 1e10, "admin fee (1e-10 units)")
            } else {
                None
            };
            let offpeg =
                if p.finite(&format!("{path}.offpeg_fee_multiplier"), *offpeg_fee_multiplier, 0.0, 1e3, "a multiplier")
                {
                    p.units(
                        &format!("{path}.offpeg_fee_multiplier"),
                        *offpeg_fee_multiplier,
                        1e10,
                        "off-peg multiplier (1e-10 units)",
                    )
                } else {
                    None
                };
            let variant = match variant {
                RawStableVariant::Classic => StableSwapVariant::Classic,
                RawStableVariant::Ng => StableSwapVariant::Ng,
            };
            let amp_scale = if variant == StableSwapVariant::Ng { 100.0 } else { 1.0 };
            let amp_units = if p.finite(&format!("{path}.amp"), *amp, 1.0, 1e6, "an amplification A") {
                p.units(&format!("{path}.amp"), *amp, amp_scale, "A (Classic: whole; Ng: hundredths)")
            } else {
                None
            };
            let ids: Option<Vec<TokenId>> = ids.into_iter().collect();
            let bal: Option<Vec<u128>> = bal.into_iter().collect();
            let (ids, bal, fee, admin, offpeg, amp_units) = (ids?, bal?, fee?, admin?, offpeg?, amp_units?);
            if bal.contains(&0) {
                return None;
            }
            let rates = ids.iter().map(|t| U256::from(10u8).pow(U256::from(36 - p.decimals[t.index()]))).collect();
            match StableSwapPool::try_new(
                bal.clone(),
                rates,
                amp_units as u64,
                fee as u64,
                admin as u64,
                offpeg as u64,
                variant,
            ) {
                Ok(pool) => {
                    if let Err(e) = pool.d() {
                        build_error(p, "balances", e);
                        return None;
                    }
                    Some(PoolSpec { id, name, tokens: ids, pool: Pool::StableSwap(pool), balances: bal })
                }
                Err(e) => {
                    build_error(p, "amp", e);
                    None
                }
            }
        }
        RawPool::Weighted { tokens, balances, weights, fee_bps, .. } => {
            if !(2..=8).contains(&tokens.len()) || tokens.len() != balances.len() || tokens.len() != weights.len() {
                p.problems.push(
                    format!("{path}.tokens"),
                    format!(
                        "expected 2 to 8 tokens with one balance and one weight each, found {}, {} and {}",
                        tokens.len(),
                        balances.len(),
                        weights.len()
                    ),
                );
                return None;
            }
            let ids: Vec<Option<TokenId>> =
                tokens.iter().enumerate().map(|(i, t)| p.token(&format!("{path}.tokens[{i}]"), t)).collect();
            let bal: Vec<Option<u128>> = balances
                .iter()
                .enumerate()
                .map(|(i, b)| p.amount(&format!("{path}.balances[{i}]"), ids[i], b))
                .collect();
            for (i, b) in bal.iter().enumerate() {
                if *b == Some(0) {
                    p.problems.push(format!("{path}.balances[{i}]"), "expected a positive balance, found 0");
                }
            }
            distinct(p, path, &ids);
            for (i, w) in weights.iter().enumerate() {
                p.finite(&format!("{path}.weights[{i}]"), *w, 0.01, 0.99, "a weight (Balancer's minimum is 1 %)");
            }
            let sum: f64 = weights.iter().sum();
            if (sum - 1.0).abs() > 1e-9 {
                p.problems.push(format!("{path}.weights"), format!("weights must sum to 1, they sum to {sum}"));
                return None;
            }
            let fee = if p.fee_bps(&format!("{path}.fee_bps"), *fee_bps) {
                p.units(&format!("{path}.fee_bps"), *fee_bps, 1e14, "fee (1e-18 units)")
            } else {
                None
            };
            let ids: Option<Vec<TokenId>> = ids.into_iter().collect();
            let bal: Option<Vec<u128>> = bal.into_iter().collect();
            let (ids, bal, fee) = (ids?, bal?, fee?);
            if bal.contains(&0) {
                return None;
            }
            // 1e18 fixed point; the last weight takes the rounding remainder so the sum is exact
            let mut w: Vec<U256> = weights.iter().map(|w| U256::from(libm::round(w * 1e18) as u128)).collect();
            let head = w[..w.len() - 1].iter().fold(U256::ZERO, |a, x| a + *x);
            let one = U256::from(10u128.pow(18));
            if let Some(last) = w.last_mut() {
                *last = one.saturating_sub(head);
            }
            let decimals: Vec<u8> = ids.iter().map(|t| p.decimals[t.index()]).collect();
            if let Some(d) = decimals.iter().find(|d| **d > 18) {
                p.problems.push(
                    format!("{path}.tokens"),
                    format!("Balancer scales tokens to 18 decimals; a token here has {d}"),
                );
                return None;
            }
            match WeightedPool::try_new(bal.clone(), w, &decimals, U256::from(fee)) {
                Ok(pool) => Some(PoolSpec { id, name, tokens: ids, pool: Pool::Weighted(pool), balances: bal }),
                Err(e) => {
                    build_error(p, "weights", e);
                    None
                }
            }
        }
    }
}

fn distinct(p: &mut Ctx, path: &str, ids: &[Option<TokenId>]) {
    for i in 0..ids.len() {
        for j in 0..i {
            if ids[i].is_some() && ids[i] == ids[j] {
                p.problems.push(format!("{path}.tokens[{i}]"), "a token appears twice in the pool");
            }
        }
    }
}

fn oracles(
    p: &mut Ctx,
    raw: &[RawOracle],
    pool_names: &BTreeMap<&str, PoolId>,
    raw_pools: &[RawPool],
    numeraire: Option<TokenId>,
) -> Vec<OracleSpec> {
    if raw.len() > limits::MAX_ORACLES {
        p.problems.push("oracles", format!("expected at most {} oracles", limits::MAX_ORACLES));
    }
    let mut names = BTreeMap::new();
    let mut out = Vec::new();
    for (k, o) in raw.iter().enumerate().take(limits::MAX_ORACLES) {
        let path = format!("oracles[{k}]");
        let (name, token) = match o {
            RawOracle::Push { name, token, .. } | RawOracle::Twap { name, token, .. } => (name, token),
        };
        if names.insert(name.as_str(), k).is_some() {
            p.problems.push(format!("{path}.name"), format!("oracle name {name:?} is used twice"));
        }
        let token_id = p.token(&format!("{path}.token"), token);
        if token_id.is_some() && token_id == numeraire {
            p.problems.push(format!("{path}.token"), "the numeraire is priced at 1 and needs no oracle");
        }
        let kind = match o {
            RawOracle::Push { heartbeat_seconds, deviation, latency_blocks, .. } => {
                p.finite(&format!("{path}.heartbeat_seconds"), *heartbeat_seconds, 1e-3, 1e9, "a heartbeat in seconds");
                p.finite(&format!("{path}.deviation"), *deviation, 0.0, 1.0, "a relative deviation");
                if *latency_blocks > 10_000 {
                    p.problems.push(format!("{path}.latency_blocks"), "expected at most 10000 blocks of latency");
                }
                Some(OracleKind::Push {
                    heartbeat_seconds: *heartbeat_seconds,
                    deviation: *deviation,
                    latency_blocks: *latency_blocks,
                })
            }
            RawOracle::Twap { pool, window_blocks, .. } => {
                if *window_blocks == 0 || *window_blocks > limits::MAX_TWAP_WINDOW {
                    p.problems.push(
                        format!("{path}.window_blocks"),
                        format!("expected 1 to {} blocks", limits::MAX_TWAP_WINDOW),
                    );
                }
                match p.pool(&format!("{path}.pool"), pool, pool_names) {
                    None => None,
                    Some(id) => {
                        // the pool must trade the token against the numeraire
                        let pool_tokens: Vec<&String> = match &raw_pools[id.index()] {
                            RawPool::ConstantProduct { tokens, .. } | RawPool::Concentrated { tokens, .. } => {
                                vec![&tokens.0, &tokens.1]
                            }
                            RawPool::StableSwap { tokens, .. } | RawPool::Weighted { tokens, .. } => {
                                tokens.iter().collect()
                            }
                        };
                        let numeraire_symbol = numeraire
                            .and_then(|n| p.tokens.iter().find(|(_, id)| **id == n).map(|(s, _)| s.to_string()));
                        let has = |sym: &str| pool_tokens.iter().any(|t| t.as_str() == sym);
                        if !has(token) || !numeraire_symbol.as_deref().is_some_and(has) {
                            p.problems.push(
                                format!("{path}.pool"),
                                format!("a TWAP oracle needs a pool trading {token:?} against the numeraire"),
                            );
                        }
                        Some(OracleKind::Twap { pool: id, window_blocks: (*window_blocks).max(1) })
                    }
                }
            }
        };
        if let (Some(token), Some(kind)) = (token_id, kind) {
            out.push(OracleSpec { id: OracleId(k as u32), name: name.clone(), token, kind });
        }
    }
    out
}

fn vaults(
    p: &mut Ctx,
    raw: &[RawVault],
    oracles: &[OracleSpec],
    numeraire: Option<TokenId>,
    native: Option<TokenId>,
    pool_names: &BTreeMap<&str, PoolId>,
) -> Vec<VaultSpec> {
    if raw.len() > limits::MAX_VAULTS {
        p.problems.push("vaults", format!("expected at most {} vaults", limits::MAX_VAULTS));
    }
    let mut names = BTreeMap::new();
    let mut out = Vec::new();
    for (k, v) in raw.iter().enumerate().take(limits::MAX_VAULTS) {
        let path = format!("vaults[{k}]");
        if names.insert(v.name.as_str(), k).is_some() {
            p.problems.push(format!("{path}.name"), format!("vault name {:?} is used twice", v.name));
        }
        if v.name.is_empty() || v.name.len() > 64 {
            p.problems.push(format!("{path}.name"), "expected a name of 1 to 64 characters");
        }
        let deposit_token = p.token(&format!("{path}.deposit_token"), &v.deposit_token);
        let holdings = capital(p, &format!("{path}.holdings"), &v.holdings);
        if holdings.iter().all(|(_, a)| *a == 0) {
            p.problems.push(
                format!("{path}.holdings"),
                "a vault needs some genesis holdings (they set the first share price)",
            );
        }
        let keeper_gas_wei = if v.keeper_gas.is_empty() {
            Some(0)
        } else {
            p.amount(&format!("{path}.keeper_gas"), native, &v.keeper_gas)
        };
        let mut vault_oracles = Vec::new();
        for (i, (symbol, oracle)) in v.oracles.iter().enumerate() {
            let token = p.token(&format!("{path}.oracles[{i}][0]"), symbol);
            match oracles.iter().find(|o| &o.name == oracle) {
                None => p.problems.push(format!("{path}.oracles[{i}][1]"), format!("unknown oracle {oracle:?}")),
                Some(o) => {
                    if token.is_some_and(|t| t != o.token) {
                        p.problems
                            .push(format!("{path}.oracles[{i}][1]"), format!("oracle {oracle:?} prices another token"));
                    }
                    if let Some(t) = token {
                        vault_oracles.push((t, o.id));
                    }
                }
            }
        }
        let strategy = match &v.strategy {
            RawStrategy::ConstantMix { targets } => {
                if !(2..=8).contains(&targets.len()) {
                    p.problems.push(
                        format!("{path}.strategy.targets"),
                        format!("expected 2 to 8 targets, found {}", targets.len()),
                    );
                }
                let mut t = Vec::new();
                for (i, (symbol, w)) in targets.iter().enumerate() {
                    let token = p.token(&format!("{path}.strategy.targets[{i}][0]"), symbol);
                    p.finite(&format!("{path}.strategy.targets[{i}][1]"), *w, 0.0, 1.0, "a target weight");
                    if let Some(token) = token {
                        if t.iter().any(|(x, _): &(TokenId, f64)| *x == token) {
                            p.problems
                                .push(format!("{path}.strategy.targets[{i}][0]"), format!("{symbol:?} listed twice"));
                        }
                        t.push((token, *w));
                    }
                }
                let sum: f64 = targets.iter().map(|(_, w)| w).sum();
                if (sum - 1.0).abs() > 1e-9 {
                    p.problems.push(
                        format!("{path}.strategy.targets"),
                        format!("target weights must sum to 1, they sum to {sum}"),
                    );
                }
                Some(Strategy::ConstantMix { targets: t })
            }
            RawStrategy::Cppi { risky, safe, floor, multiplier, ratchet } => {
                let r = p.token(&format!("{path}.strategy.risky"), risky);
                let s = p.token(&format!("{path}.strategy.safe"), safe);
                if r.is_some() && r == s {
                    p.problems.push(format!("{path}.strategy.safe"), "CPPI needs two different tokens");
                }
                p.finite(&format!("{path}.strategy.floor"), *floor, 0.0, 0.999, "a floor fraction of genesis NAV");
                p.finite(&format!("{path}.strategy.multiplier"), *multiplier, 1.0, 100.0, "a multiplier");
                if let Some(r) = ratchet {
                    p.finite(&format!("{path}.strategy.ratchet"), *r, 0.0, 0.999, "a ratchet fraction of peak NAV");
                }
                match (r, s) {
                    (Some(risky), Some(safe)) => {
                        Some(Strategy::Cppi { risky, safe, floor: *floor, multiplier: *multiplier, ratchet: *ratchet })
                    }
                    _ => None,
                }
            }
        };
        // every priced token the vault holds or targets needs an oracle
        let mut priced: Vec<TokenId> = holdings.iter().map(|(t, _)| *t).collect();
        match &strategy {
            Some(Strategy::ConstantMix { targets }) => priced.extend(targets.iter().map(|(t, _)| *t)),
            Some(Strategy::Cppi { risky, safe, .. }) => priced.extend([*risky, *safe]),
            None => {}
        }
        priced.extend(deposit_token);
        let mut universe = priced.clone();
        universe.sort();
        universe.dedup();
        if universe.len() > MAX_VAULT_TOKENS {
            p.problems.push(
                format!("{path}.holdings"),
                format!(
                    "a vault handles at most {MAX_VAULT_TOKENS} tokens (holdings, targets and deposit token together), found {}",
                    universe.len()
                ),
            );
        }
        for t in priced {
            if Some(t) != numeraire && !vault_oracles.iter().any(|(x, _)| *x == t) {
                let symbol = p.tokens.iter().find(|(_, id)| **id == t).map(|(s, _)| s.to_string()).unwrap_or_default();
                p.problems.push(
                    format!("{path}.oracles"),
                    format!("no oracle for {symbol:?}, which the vault holds or targets"),
                );
            }
        }
        let trigger = match v.trigger {
            RawTrigger::Threshold { band, relative } => {
                p.finite(&format!("{path}.trigger.band"), band, 0.0, 1.0, "a band");
                Trigger::Threshold { band, relative }
            }
            RawTrigger::PeriodicBlocks(n) => {
                if n == 0 {
                    p.problems.push(format!("{path}.trigger"), "expected a period of at least 1 block");
                }
                Trigger::PeriodicBlocks(n.max(1))
            }
            RawTrigger::PeriodicSeconds(s) => {
                p.finite(&format!("{path}.trigger"), s, 1e-3, 1e9, "a period in seconds");
                Trigger::PeriodicSeconds(s)
            }
            RawTrigger::VolatilityAdjusted { base_band, reference_volatility, halflife_blocks, min_band, max_band } => {
                p.finite(&format!("{path}.trigger.base_band"), base_band, 0.0, 1.0, "a band");
                p.finite(
                    &format!("{path}.trigger.reference_volatility"),
                    reference_volatility,
                    1e-6,
                    100.0,
                    "an annualized volatility",
                );
                p.finite(
                    &format!("{path}.trigger.halflife_blocks"),
                    halflife_blocks,
                    1.0,
                    1e9,
                    "a half-life in blocks",
                );
                p.finite(&format!("{path}.trigger.min_band"), min_band, 0.0, 1.0, "a band");
                p.finite(
                    &format!("{path}.trigger.max_band"),
                    max_band,
                    min_band.max(0.0),
                    1.0,
                    "a band at least min_band",
                );
                Trigger::VolatilityAdjusted { base_band, reference_volatility, halflife_blocks, min_band, max_band }
            }
        };
        if let Some(m) = v.max_trade_value {
            p.finite(&format!("{path}.max_trade_value"), m, f64::MIN_POSITIVE, f64::MAX, "a positive value");
        }
        p.finite(&format!("{path}.slippage"), v.slippage, 0.0, 0.999, "a slippage tolerance");
        if !(1..=2).contains(&v.max_hops) {
            p.problems.push(format!("{path}.max_hops"), format!("expected 1 or 2, found {}", v.max_hops));
        }
        if v.deadline_blocks == 0 {
            p.problems.push(format!("{path}.deadline_blocks"), "expected at least 1 block");
        }
        let priority_fee_wei = p
            .units(&format!("{path}.priority_fee_gwei"), v.priority_fee_gwei, 1e9, "priority fee in gwei")
            .unwrap_or(0);
        let max_fee_wei = match v.max_fee_gwei {
            Some(g) if g > 0.0 => p.units(&format!("{path}.max_fee_gwei"), g, 1e9, "max fee in gwei"),
            Some(g) => {
                p.problems
                    .push(format!("{path}.max_fee_gwei"), format!("expected a positive max fee in gwei, found {g}"));
                None
            }
            None => None,
        };
        if let Some(m) = max_fee_wei
            && m < priority_fee_wei
        {
            p.problems.push(format!("{path}.max_fee_gwei"), "expected a max fee at least the priority fee");
        }
        if v.flows.len() > limits::MAX_FLOWS {
            p.problems.push(format!("{path}.flows"), format!("expected at most {} flows", limits::MAX_FLOWS));
        }
        let mut flows = Vec::new();
        for (i, f) in v.flows.iter().enumerate().take(limits::MAX_FLOWS) {
            let fp = format!("{path}.flows[{i}]");
            match f {
                RawFlow::Poisson { deposits_per_day, mean_deposit, withdrawals_per_day, mean_withdraw_fraction } => {
                    p.finite(&format!("{fp}.deposits_per_day"), *deposits_per_day, 0.0, 1e6, "a rate");
                    p.finite(&format!("{fp}.withdrawals_per_day"), *withdrawals_per_day, 0.0, 1e6, "a rate");
                    p.finite(&format!("{fp}.mean_withdraw_fraction"), *mean_withdraw_fraction, 0.0, 1.0, "a fraction");
                    if let Some(m) = p.amount(&format!("{fp}.mean_deposit"), deposit_token, mean_deposit) {
                        flows.push(Flow::Poisson {
                            deposits_per_day: *deposits_per_day,
                            mean_deposit: m,
                            withdrawals_per_day: *withdrawals_per_day,
                            mean_withdraw_fraction: *mean_withdraw_fraction,
                        });
                    }
                }
                RawFlow::Deposit { block, amount } => {
                    if let Some(a) = p.amount(&format!("{fp}.amount"), deposit_token, amount) {
                        flows.push(Flow::Deposit { block: *block, amount: a });
                    }
                }
                RawFlow::Withdraw { block, fraction } => {
                    if p.finite(&format!("{fp}.fraction"), *fraction, f64::MIN_POSITIVE, 1.0, "a fraction in (0, 1]") {
                        flows.push(Flow::Withdraw { block: *block, fraction: *fraction });
                    }
                }
                RawFlow::WithdrawShares { block, shares } => match parse_amount(shares, 18) {
                    Ok(sh) => flows.push(Flow::WithdrawShares { block: *block, shares: sh }),
                    Err(e) => p.problems.push(format!("{fp}.shares"), e),
                },
                RawFlow::BankRun { start_block, blocks, fraction } => {
                    if *blocks == 0 {
                        p.problems.push(format!("{fp}.blocks"), "expected at least 1 block");
                    }
                    if p.finite(&format!("{fp}.fraction"), *fraction, 0.0, 1.0, "a fraction") {
                        flows.push(Flow::BankRun {
                            start_block: *start_block,
                            blocks: (*blocks).max(1),
                            fraction: *fraction,
                        });
                    }
                }
            }
        }
        let venues = match &v.venues {
            RawPoolSet::All => {
                pool_names.values().copied().collect::<std::collections::BTreeSet<_>>().into_iter().collect()
            }
            RawPoolSet::Only(names) => names
                .iter()
                .enumerate()
                .filter_map(|(i, n)| p.pool(&format!("{path}.venues[{i}]"), n, pool_names))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
        };
        let sizing = match v.sizing {
            RawSizing::Full => Sizing::Full,
            RawSizing::ToBandEdge => Sizing::ToBandEdge,
        };
        if let (Some(deposit_token), Some(strategy), Some(keeper_gas_wei)) = (deposit_token, strategy, keeper_gas_wei) {
            out.push(VaultSpec {
                id: VaultId(k as u32),
                name: v.name.clone(),
                deposit_token,
                holdings,
                keeper_gas_wei,
                oracles: vault_oracles,
                strategy,
                trigger,
                min_interval_blocks: v.min_interval_blocks,
                sizing,
                max_trade_value: v.max_trade_value,
                slippage: v.slippage,
                deadline_blocks: v.deadline_blocks,
                max_hops: v.max_hops,
                split: v.split,
                venues,
                priority_fee_wei,
                max_fee_wei,
                flows,
                private_relay: v.private_relay,
                jitter_blocks: v.jitter_blocks,
                latency_s: v.latency_ms.max(0.0) / 1000.0,
            });
        }
    }
    out
}

fn pool_set(
    p: &mut Ctx,
    path: &str,
    set: &RawPoolSet,
    pool_names: &BTreeMap<&str, PoolId>,
    n_pools: usize,
) -> Vec<PoolId> {
    match set {
        RawPoolSet::All => (0..n_pools.min(limits::MAX_POOLS)).map(|i| PoolId(i as u32)).collect(),
        RawPoolSet::Only(names) => {
            names.iter().enumerate().filter_map(|(i, n)| p.pool(&format!("{path}.pools[{i}]"), n, pool_names)).collect()
        }
    }
}

fn events(
    p: &mut Ctx,
    raw: &[RawEvent],
    pool_names: &BTreeMap<&str, PoolId>,
    oracles: &[OracleSpec],
    chain: Option<&Chain>,
) -> Vec<Event> {
    if raw.len() > limits::MAX_SHOCKS {
        p.problems.push("events", format!("expected at most {} events", limits::MAX_SHOCKS));
    }
    let mut out = Vec::new();
    for (k, e) in raw.iter().enumerate().take(limits::MAX_SHOCKS) {
        let path = format!("events[{k}]");
        let window = |p: &mut Ctx, blocks: u64| {
            if blocks == 0 {
                p.problems.push(format!("{path}.blocks"), "expected at least 1 block");
            }
        };
        match e {
            RawEvent::VolatilitySpike { start_block, blocks, multiplier } => {
                window(p, *blocks);
                if p.finite(&format!("{path}.multiplier"), *multiplier, 1e-3, 1e3, "a volatility multiplier") {
                    out.push(Event::VolatilitySpike {
                        start_block: *start_block,
                        blocks: *blocks,
                        multiplier: *multiplier,
                    });
                }
            }
            RawEvent::LiquidityWithdrawal { pool, block, fraction } => {
                let id = p.pool(&format!("{path}.pool"), pool, pool_names);
                if *block == 0 {
                    // block 0 is genesis: nothing runs there, so the event would never happen
                    p.problems.push(format!("{path}.block"), "expected a block from 1 (the first block run)");
                }
                let ok = fraction.is_finite() && *fraction > 0.0 && *fraction <= 1.0;
                if !ok {
                    p.problems.push(
                        format!("{path}.fraction"),
                        format!("expected a share of liquidity in (0, 1], found {fraction}"),
                    );
                }
                if let (Some(pool), true, true) = (id, ok, *block > 0) {
                    let share_ppm = (fraction * 1e6).round().clamp(1.0, 1e6) as u32;
                    out.push(Event::LiquidityWithdrawal { pool, block: *block, share_ppm });
                }
            }
            RawEvent::OracleFreeze { oracle, start_block, blocks } => {
                window(p, *blocks);
                match oracles.iter().find(|o| o.name == *oracle) {
                    Some(o) => {
                        out.push(Event::OracleFreeze { oracle: o.id, start_block: *start_block, blocks: *blocks })
                    }
                    None => {
                        let known: Vec<&str> = oracles.iter().map(|o| o.name.as_str()).collect();
                        p.problems.push(
                            format!("{path}.oracle"),
                            format!("unknown oracle {oracle:?}; expected one of {known:?}"),
                        );
                    }
                }
            }
            RawEvent::GasSpike { start_block, blocks, multiplier } => {
                window(p, *blocks);
                if let Some(c) = chain
                    && !(c.background_demand && c.eip1559)
                {
                    p.problems.push(
                        path.clone(),
                        "a gas spike is outside demand: expected chain.background_demand and chain.eip1559 on",
                    );
                }
                if p.finite(&format!("{path}.multiplier"), *multiplier, 1e-3, 1e3, "a demand multiplier") {
                    out.push(Event::GasSpike { start_block: *start_block, blocks: *blocks, multiplier: *multiplier });
                }
            }
        }
    }
    out
}
