//! Agents: arbitrageurs, cyclic arbitrageurs, searchers and liquidators.

use std::collections::BTreeMap;

use super::Ctx;
use crate::limits;
use crate::model::*;
use crate::raw::*;

/// The agents: identity, capital, fees, latency and what each does.
pub(super) fn agents(
    p: &mut Ctx,
    raw: &[RawAgent],
    pool_names: &BTreeMap<&str, PoolId>,
    n_pools: usize,
    markets: &[RawLending],
    (raw_books, books): (&[RawBook], &[BookSpec]),
) -> Vec<AgentSpec> {
    if raw.len() > limits::MAX_AGENTS {
        p.problems.push("agents", format!("expected at most {} agents, found {}", limits::MAX_AGENTS, raw.len()));
    }
    let mut agent_names = BTreeMap::new();
    let mut agents = Vec::new();
    for (k, ra) in raw.iter().enumerate().take(limits::MAX_AGENTS) {
        let path = format!("agents[{k}]");
        let (name, capital_raw, priority, latency_ms, by_chain) = match ra {
            RawAgent::Arbitrageur(a) => (&a.name, &a.capital, a.priority_fee_gwei, a.latency_ms, &a.chain_latency_ms),
            RawAgent::CycleArbitrageur(a) => {
                (&a.name, &a.capital, a.priority_fee_gwei, a.latency_ms, &a.chain_latency_ms)
            }
            RawAgent::CrossChainArbitrageur(a) => {
                (&a.name, &a.capital, a.priority_fee_gwei, a.latency_ms, &a.chain_latency_ms)
            }
            RawAgent::Searcher(a) => (&a.name, &a.capital, 0.0, a.latency_ms, &a.chain_latency_ms),
            RawAgent::Liquidator(a) => (&a.name, &a.capital, a.priority_fee_gwei, a.latency_ms, &a.chain_latency_ms),
            RawAgent::Borrowers(a) => (&a.name, &a.capital, a.priority_fee_gwei, a.latency_ms, &a.chain_latency_ms),
            RawAgent::Supplier(a) => (&a.name, &a.capital, a.priority_fee_gwei, a.latency_ms, &a.chain_latency_ms),
            RawAgent::MarketMaker(a) => (&a.name, &a.capital, a.priority_fee_gwei, a.latency_ms, &a.chain_latency_ms),
            RawAgent::NoiseTrader(a) => (&a.name, &a.capital, a.priority_fee_gwei, a.latency_ms, &a.chain_latency_ms),
        };
        p.finite(&format!("{path}.latency_ms"), latency_ms, 0.0, 1e6, "a latency in milliseconds");
        let chain_latency_s = chain_latencies(p, &path, by_chain);
        if agent_names.insert(name.as_str(), k).is_some() {
            p.problems.push(format!("{path}.name"), format!("agent name {name:?} is used twice"));
        }
        let capital = capital(p, &format!("{path}.capital"), capital_raw);
        let priority_fee_wei =
            p.gwei(&format!("{path}.priority_fee_gwei"), priority, "a priority fee in gwei").unwrap_or(0);
        let kind = match ra {
            RawAgent::Arbitrageur(a) => {
                min_profit(p, &path, a.min_profit);
                let ids = pool_set(p, &path, &a.pools, pool_names, n_pools);
                let books = a
                    .books
                    .iter()
                    .enumerate()
                    .filter_map(|(i, n)| super::books::book_named(p, &format!("{path}.books[{i}]"), n, raw_books))
                    .collect();
                AgentKind::Arbitrageur { pools: ids, books, min_profit: a.min_profit }
            }
            RawAgent::CrossChainArbitrageur(a) => {
                min_profit(p, &path, a.min_profit);
                p.finite(&format!("{path}.refill_below"), a.refill_below, 0.0, 1.0, "a share of the starting balance");
                p.finite(
                    &format!("{path}.capital_cost_bps_per_hour"),
                    a.capital_cost_bps_per_hour,
                    0.0,
                    10_000.0,
                    "bps an hour",
                );
                let pools = pool_set(p, &path, &RawPoolSet::Only(a.pools.clone()), pool_names, n_pools);
                if a.pools.len() < 2 {
                    p.problems.push(format!("{path}.pools"), "expected at least two pools, on different chains");
                }
                AgentKind::CrossChainArbitrageur {
                    pools,
                    // resolved with the chains (placement)
                    bridges: Vec::new(),
                    refill_below: a.refill_below,
                    capital_cost_bps_per_hour: a.capital_cost_bps_per_hour,
                    min_profit: a.min_profit,
                    bridged: a.style == RawArbStyle::Bridge,
                }
            }
            RawAgent::CycleArbitrageur(a) => {
                if !(2..=3).contains(&a.max_cycle_len) {
                    p.problems
                        .push(format!("{path}.max_cycle_len"), format!("expected 2 or 3, found {}", a.max_cycle_len));
                }
                min_profit(p, &path, a.min_profit);
                let books = a
                    .books
                    .iter()
                    .enumerate()
                    .filter_map(|(i, n)| super::books::book_named(p, &format!("{path}.books[{i}]"), n, raw_books))
                    .collect();
                AgentKind::CycleArbitrageur { max_cycle_len: a.max_cycle_len, books, min_profit: a.min_profit }
            }
            RawAgent::Searcher(a) => {
                min_profit(p, &path, a.min_profit);
                p.finite(&format!("{path}.solo_bid_share"), a.solo_bid_share, 0.0, 1.0, "a share of profit");
                p.finite(&format!("{path}.competitive_margin"), a.competitive_margin, 0.0, 1.0, "a share of profit");
                let pools = pool_set(p, &path, &a.pools, pool_names, n_pools);
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
            RawAgent::Liquidator(a) => {
                min_profit(p, &path, a.min_profit);
                let market = match markets.iter().position(|m| m.name == a.market) {
                    Some(m) => MarketId(m as u32),
                    None => {
                        let message =
                            crate::unknown("lending market", &a.market, markets.iter().map(|m| m.name.as_str()));
                        p.problems.push(format!("{path}.market"), message);
                        MarketId(0)
                    }
                };
                let sell = match a.sell {
                    RawSale::Pools => Sale::Pools,
                    RawSale::Cex => Sale::Cex,
                };
                if a.flash && sell == Sale::Cex {
                    p.problems.push(
                        format!("{path}.sell"),
                        "a flash liquidation sells on the pools in its own transaction: `sell: Cex` cannot apply",
                    );
                }
                AgentKind::Liquidator { market, min_profit: a.min_profit, sell, flash: a.flash }
            }
            RawAgent::Borrowers(a) => borrowers(p, &path, a, markets),
            RawAgent::Supplier(a) => supplier(p, &path, a, markets),
            RawAgent::MarketMaker(a) => super::books::maker(p, &path, a, raw_books, books),
            RawAgent::NoiseTrader(a) => super::books::noise(p, &path, a, raw_books, books),
        };
        agents.push(AgentSpec {
            id: AgentId(k as u32),
            name: name.clone(),
            capital,
            priority_fee_wei,
            latency_s: latency_ms.max(0.0) / 1000.0,
            chain_latency_s,
            chain: ChainId(0),
            kind,
        });
    }
    agents
}

/// Per-chain latencies, (chain, seconds), each chain named once.
pub(super) fn chain_latencies(p: &mut Ctx, path: &str, raw: &[(String, f64)]) -> Vec<(ChainId, f64)> {
    let mut out: Vec<(ChainId, f64)> = Vec::new();
    for (k, (name, ms)) in raw.iter().enumerate() {
        let at = format!("{path}.chain_latency_ms[{k}]");
        let chain = p.chain(&format!("{at}[0]"), name);
        if !p.finite(&format!("{at}[1]"), *ms, 0.0, 1e6, "a latency in milliseconds") {
            continue;
        }
        if let Some(c) = chain {
            if out.iter().any(|(x, _)| *x == c) {
                p.problems.push(format!("{at}[0]"), format!("chain {name:?} listed twice"));
            } else {
                out.push((c, ms / 1000.0));
            }
        }
    }
    out
}

pub(super) fn capital(p: &mut Ctx, path: &str, raw: &[(String, String)]) -> Vec<(TokenId, u128)> {
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

pub(super) fn pool_set(
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

/// The market an agent names, by position; an unknown name is a problem (and market 0 stands in).
fn market_named(p: &mut Ctx, path: &str, name: &str, markets: &[RawLending]) -> MarketId {
    match markets.iter().position(|m| m.name == name) {
        Some(m) => MarketId(m as u32),
        None => {
            let message = crate::unknown("lending market", name, markets.iter().map(|m| m.name.as_str()));
            p.problems.push(format!("{path}.market"), message);
            MarketId(0)
        }
    }
}

/// Leveraged borrowers: a known market lending both tokens, the collateral usable as such, and
/// rates and shares in range.
fn borrowers(p: &mut Ctx, path: &str, a: &RawBorrowers, markets: &[RawLending]) -> AgentKind {
    let market = market_named(p, path, &a.market, markets);
    let reserve_of = |p: &mut Ctx, field: &str, symbol: &str| -> Option<TokenId> {
        let t = p.token(&format!("{path}.{field}"), symbol)?;
        let listed = markets.get(market.0 as usize).is_none_or(|m| m.reserves.iter().any(|r| r.token == symbol));
        if !listed {
            p.problems.push(format!("{path}.{field}"), format!("market {:?} has no {symbol:?} reserve", a.market));
        }
        Some(t)
    };
    let collateral = reserve_of(p, "collateral", &a.collateral);
    let debt = reserve_of(p, "debt", &a.debt);
    if collateral.is_some() && collateral == debt {
        p.problems.push(format!("{path}.debt"), "the debt token must differ from the collateral token");
    }
    if let Some(r) = markets.get(market.0 as usize).and_then(|m| m.reserves.iter().find(|r| r.token == a.collateral))
        && r.ltv_bps == 0
    {
        p.problems.push(
            format!("{path}.collateral"),
            format!("{:?} has a loan-to-value of 0: nothing can be borrowed against it", a.collateral),
        );
    }
    p.finite(&format!("{path}.arrivals_per_day"), a.arrivals_per_day, 0.0, 1e6, "arrivals a day");
    p.finite(&format!("{path}.target_ltv"), a.target_ltv, 0.0001, 1.0, "a share of the loan-to-value in (0, 1]");
    p.finite(&format!("{path}.deleverage_below"), a.deleverage_below, 1.0001, 100.0, "a health factor above 1");
    p.finite(&format!("{path}.slippage"), a.slippage, 0.0, 0.5, "a slippage tolerance");
    let mean_collateral = p.amount(&format!("{path}.mean_collateral"), collateral, &a.mean_collateral).unwrap_or(0);
    AgentKind::Borrowers {
        market,
        collateral: collateral.unwrap_or(TokenId(0)),
        debt: debt.unwrap_or(TokenId(0)),
        arrivals_per_day: a.arrivals_per_day,
        mean_collateral,
        target_ltv: a.target_ltv,
        deleverage_below: a.deleverage_below,
        slippage: a.slippage,
    }
}

/// A rate-sensitive supplier: known markets, each lending its token, and a look-back of a block
/// or more.
fn supplier(p: &mut Ctx, path: &str, a: &RawSupplier, markets: &[RawLending]) -> AgentKind {
    let token = p.token(&format!("{path}.token"), &a.token);
    if a.markets.is_empty() || a.markets.len() > limits::MAX_MARKETS {
        p.problems.push(format!("{path}.markets"), format!("expected 1 to {} markets", limits::MAX_MARKETS));
    }
    let mut ids: Vec<MarketId> = Vec::new();
    for (k, name) in a.markets.iter().enumerate().take(limits::MAX_MARKETS) {
        let at = format!("{path}.markets[{k}]");
        let Some(m) = markets.iter().position(|m| m.name == *name) else {
            let message = crate::unknown("lending market", name, markets.iter().map(|m| m.name.as_str()));
            p.problems.push(at, message);
            continue;
        };
        if token.is_some() && !markets[m].reserves.iter().any(|r| r.token == a.token) {
            p.problems.push(at, format!("market {name:?} has no {:?} reserve", a.token));
        }
        if ids.contains(&MarketId(m as u32)) {
            p.problems.push(format!("{path}.markets[{k}]"), format!("market {name:?} is listed twice"));
        }
        ids.push(MarketId(m as u32));
    }
    if a.every_blocks == 0 {
        p.problems.push(format!("{path}.every_blocks"), "expected at least 1 block");
    }
    if a.min_spread_bps > 100_000 {
        p.problems
            .push(format!("{path}.min_spread_bps"), format!("expected at most 100000 bps, found {}", a.min_spread_bps));
    }
    AgentKind::Supplier {
        token: token.unwrap_or(TokenId(0)),
        markets: ids,
        min_spread_bps: a.min_spread_bps,
        every_blocks: a.every_blocks.max(1),
    }
}

/// A minimum profit: finite, within the physical range of values.
fn min_profit(p: &mut Ctx, path: &str, value: f64) {
    p.finite(&format!("{path}.min_profit"), value, -limits::MAX_VALUE, limits::MAX_VALUE, "a profit");
}
