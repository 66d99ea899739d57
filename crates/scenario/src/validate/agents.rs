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
) -> Vec<AgentSpec> {
    if raw.len() > limits::MAX_AGENTS {
        p.problems.push("agents", format!("expected at most {} agents, found {}", limits::MAX_AGENTS, raw.len()));
    }
    let mut agent_names = BTreeMap::new();
    let mut agents = Vec::new();
    for (k, ra) in raw.iter().enumerate().take(limits::MAX_AGENTS) {
        let path = format!("agents[{k}]");
        let (name, capital_raw, priority, latency_ms) = match ra {
            RawAgent::Arbitrageur(a) => (&a.name, &a.capital, a.priority_fee_gwei, a.latency_ms),
            RawAgent::CycleArbitrageur(a) => (&a.name, &a.capital, a.priority_fee_gwei, a.latency_ms),
            RawAgent::Searcher(a) => (&a.name, &a.capital, 0.0, a.latency_ms),
            RawAgent::Liquidator(a) => (&a.name, &a.capital, a.priority_fee_gwei, a.latency_ms),
        };
        p.finite(&format!("{path}.latency_ms"), latency_ms, 0.0, 1e6, "a latency in milliseconds");
        if agent_names.insert(name.as_str(), k).is_some() {
            p.problems.push(format!("{path}.name"), format!("agent name {name:?} is used twice"));
        }
        let capital = capital(p, &format!("{path}.capital"), capital_raw);
        let priority_fee_wei =
            p.gwei(&format!("{path}.priority_fee_gwei"), priority, "a priority fee in gwei").unwrap_or(0);
        let kind = match ra {
            RawAgent::Arbitrageur(a) => {
                p.finite(
                    &format!("{path}.min_profit"),
                    a.min_profit,
                    -limits::MAX_VALUE,
                    limits::MAX_VALUE,
                    "a profit",
                );
                let ids = pool_set(p, &path, &a.pools, pool_names, n_pools);
                AgentKind::Arbitrageur { pools: ids, min_profit: a.min_profit }
            }
            RawAgent::CycleArbitrageur(a) => {
                if !(2..=3).contains(&a.max_cycle_len) {
                    p.problems
                        .push(format!("{path}.max_cycle_len"), format!("expected 2 or 3, found {}", a.max_cycle_len));
                }
                p.finite(
                    &format!("{path}.min_profit"),
                    a.min_profit,
                    -limits::MAX_VALUE,
                    limits::MAX_VALUE,
                    "a profit",
                );
                AgentKind::CycleArbitrageur { max_cycle_len: a.max_cycle_len, min_profit: a.min_profit }
            }
            RawAgent::Searcher(a) => {
                p.finite(
                    &format!("{path}.min_profit"),
                    a.min_profit,
                    -limits::MAX_VALUE,
                    limits::MAX_VALUE,
                    "a profit",
                );
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
                p.finite(
                    &format!("{path}.min_profit"),
                    a.min_profit,
                    -limits::MAX_VALUE,
                    limits::MAX_VALUE,
                    "a profit",
                );
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
                AgentKind::Liquidator { market, min_profit: a.min_profit, sell }
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
    agents
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
