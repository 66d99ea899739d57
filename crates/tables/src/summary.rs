//! `summary.json`: a run's headline figures, totals and per-domain sections, built from the
//! simulation's final state.

use meshsim_core::Simulation;
use meshsim_scenario::{AgentKind, Scenario};
use serde_json::json;

use crate::record::{genesis_price, sender_name};

/// The whole `summary.json` of a run of `blocks` blocks; `outputs` lists the tables written
/// as (table, file name).
pub fn summary(s: &Scenario, sim: &mut Simulation, blocks: u64, outputs: &[(String, String)]) -> serde_json::Value {
    let mut summary = summary_without_lending(s, sim, blocks, outputs);
    if let Some(map) = summary.as_object_mut() {
        if !sim.lending().is_empty() {
            map.insert("lending".into(), lending_summary(s, sim.lending()));
        }
        if let Some(b) = sim.bridges() {
            map.insert("bridges".into(), bridges_summary(s, b));
        }
        if let Some(g) = sim.chain_gaps() {
            map.insert("chain_gaps".into(), gaps_summary(s, g));
        }
        if let Some(b) = sim.books() {
            map.insert("books".into(), books_summary(s, b));
        }
    }
    summary
}

/// Per bridge and token pair: transfers sent, delivered, refunded, volume and fees (base units,
/// exact), mean and longest seconds to delivery, the most outstanding at once, what is still in
/// flight, and how long it was halted.
fn bridges_summary(s: &Scenario, bridges: &meshsim_core::bridges::Bridges) -> serde_json::Value {
    let list: Vec<serde_json::Value> = bridges
        .list
        .iter()
        .map(|b| {
            let pairs: Vec<serde_json::Value> = b
                .pairs
                .iter()
                .map(|p| {
                    let st = &p.stats;
                    json!({
                        "tokens": [s.tokens[p.tokens.0.index()].symbol, s.tokens[p.tokens.1.index()].symbol],
                        "sent": st.sent,
                        "delivered": st.delivered,
                        "refunded": st.refunded,
                        "volume": st.volume.to_string(),
                        "fees": st.fees.to_string(),
                        "mean_seconds_to_delivery": if st.delivered > 0 { st.latency_sum / st.delivered as f64 } else { 0.0 },
                        "max_seconds_to_delivery": st.latency_max,
                        "max_outstanding": st.max_outstanding.to_string(),
                        "in_flight": p.model.outstanding().to_string(),
                    })
                })
                .collect();
            json!({
                "name": b.name,
                "chains": [s.chains[b.chains.0.index()].name, s.chains[b.chains.1.index()].name],
                "halted_seconds": b.halted_seconds,
                "pairs": pairs,
            })
        })
        .collect();
    serde_json::Value::Array(list)
}

/// Per book: orders, fills, volume (base units, exact), fees; each maker's fills valued at the
/// external price (edge, fees, losses to arbitrageurs and searchers) and each taker's cost.
fn books_summary(s: &Scenario, books: &meshsim_core::books::Books) -> serde_json::Value {
    let list: Vec<serde_json::Value> = books
        .list
        .iter()
        .map(|b| {
            let st = &b.stats;
            let makers: Vec<serde_json::Value> = b
                .makers
                .iter()
                .map(|(who, m)| {
                    json!({
                        "name": sender_name(s, *who),
                        "fills": m.fills,
                        "volume": m.volume,
                        "edge": m.edge,
                        "fees": m.fees,
                        "pnl": m.edge - m.fees,
                        "picked_off": m.picked_off,
                    })
                })
                .collect();
            let takers: Vec<serde_json::Value> = b
                .takers
                .iter()
                .map(|(who, t)| {
                    json!({
                        "name": sender_name(s, *who),
                        "fills": t.fills,
                        "volume": t.volume,
                        "cost": t.cost,
                        "cost_bps": if t.volume > 0.0 { t.cost / t.volume * 1e4 } else { 0.0 },
                    })
                })
                .collect();
            json!({
                "name": b.spec.name,
                "orders_placed": st.placed,
                "orders_cancelled": st.cancelled,
                "orders_expired": st.expired,
                "orders_resting": b.book.len(),
                "fills": st.fills,
                "volume_base": st.volume_base.to_string(),
                "volume_quote": st.volume_quote.to_string(),
                "taker_fees": st.taker_fees.to_string(),
                "maker_fees_net": st.maker_fees.to_string(),
                "makers": makers,
                "takers": takers,
            })
        })
        .collect();
    serde_json::Value::Array(list)
}

/// Per pair of pools of the same assets on different chains: the time-weighted distribution of
/// the gap between their prices, bps.
fn gaps_summary(s: &Scenario, gaps: &meshsim_core::metrics::gaps::ChainGaps) -> serde_json::Value {
    let list: Vec<serde_json::Value> = gaps
        .pairs
        .iter()
        .map(|g| {
            json!({
                "pools": [s.pools[g.pools.0.index()].name, s.pools[g.pools.1.index()].name],
                "seconds": g.total,
                "mean_bps": g.mean(),
                "p50_bps": g.quantile(0.5),
                "p90_bps": g.quantile(0.9),
                "p99_bps": g.quantile(0.99),
                "max_bps": g.max,
                "share_above_50_bps": g.share_above(50),
            })
        })
        .collect();
    serde_json::Value::Array(list)
}

fn summary_without_lending(
    s: &Scenario,
    sim: &mut Simulation,
    blocks: u64,
    outputs: &[(String, String)],
) -> serde_json::Value {
    let m = sim.metrics();
    let snapshot = sim.snapshot();
    // what each leveraged vault holds and owes in its market, at the market's prices
    let leverage: Vec<Option<serde_json::Value>> = s
        .vaults
        .iter()
        .zip(&m.vaults)
        .map(|(v, vm)| {
            let meshsim_scenario::Strategy::Leveraged { market, risky, debt, .. } = v.strategy else { return None };
            let mk = sim.lending().get(market.0 as usize)?;
            let owner = meshsim_core::lending::Owner::Vault(v.id);
            let (collateral, owed) = (mk.supplied(owner, risky), mk.borrowed(owner, debt));
            let health = mk
                .position_of(owner)
                .and_then(|id| mk.account(id).ok())
                .map(|d| meshsim_core::math::lending::health_f64(d.health))
                .filter(|h| h.is_finite());
            let interest = i128::try_from(owed).unwrap_or(i128::MAX).saturating_sub(vm.borrowed_principal);
            let debt_reserve = mk.reserve_of(debt).map(|k| &mk.reserves[k]);
            let mut out = json!({
                "market": mk.name,
                "collateral": collateral.to_string(),
                "debt": owed.to_string(),
                "net_borrowed": vm.borrowed_principal.to_string(),
                "interest_paid": interest.to_string(),
                "interest_paid_value": debt_reserve.map_or(0.0, |r| r.value(u128::try_from(interest.max(0)).unwrap_or(0))),
            });
            if let (Some(h), Some(map)) = (health, out.as_object_mut()) {
                map.insert("health_factor".into(), json!(h));
            }
            Some(out)
        })
        .collect();
    // what each vault's yield leg has supplied, base units
    let leg_deposits: Vec<u128> = s
        .vaults
        .iter()
        .map(|v| {
            v.yield_leg.map_or(0, |leg| {
                sim.lending()
                    .get(leg.market.0 as usize)
                    .map_or(0, |mk| mk.supplied(meshsim_core::lending::Owner::Vault(v.id), leg.token))
            })
        })
        .collect();
    let all = sim.cascade_summary();
    let cascades_summary = json!({
        "count": all.count,
        "deepest": all.deepest,
        "largest_amplification": all.largest_amplification,
    });
    let vaults: Vec<_> = s
        .vaults
        .iter()
        .zip(&m.vaults)
        .zip(&snapshot.vaults)
        .map(|((v, vm), vs)| {
            let initial_nav: f64 = v
                .holdings
                .iter()
                .map(|(t, a)| {
                    meshsim_core::math::u128_to_f64(*a)
                        * libm::pow(10.0, -f64::from(s.tokens[t.index()].decimals))
                        * genesis_price(s, *t)
                })
                .sum();
            // the gap to the costless continuous benchmark is the total cost; gas is paid by the keeper
            let total_cost = vs.continuous_nav - vs.nav + vm.gas_value;
            let strategy = match v.strategy {
                meshsim_scenario::Strategy::ConstantMix { .. } => "constant_mix",
                meshsim_scenario::Strategy::Cppi { .. } => "cppi",
                meshsim_scenario::Strategy::Leveraged { .. } => "leveraged",
            };
            let yield_leg = v.yield_leg.map(|leg| {
                let deposit = leg_deposits[v.id.index()];
                let earned = i128::try_from(deposit).unwrap_or(i128::MAX).saturating_sub(vm.leg_principal);
                let scale = libm::pow(10.0, -f64::from(s.tokens[leg.token.index()].decimals));
                json!({
                    "market": s.lending[leg.market.0 as usize].name,
                    "token": s.tokens[leg.token.index()].symbol,
                    "deposit": deposit.to_string(),
                    "net_supplied": vm.leg_principal.to_string(),
                    "interest_earned": earned.to_string(),
                    "interest_earned_value": earned as f64 * scale * token_price(&snapshot, leg.token),
                    "rebalances_deferred": vm.lending_deferred,
                    "redemptions_cut": vm.withdrawals_blocked,
                })
            });
            let mut out = json!({
                "name": v.name,
                "strategy": strategy,
                "rebalances": vm.rebalances,
                "transactions": vm.transactions,
                "failed_transactions": vm.failed,
                "no_route": vm.no_route,
                "last_failure": vm.last_failure.as_ref().map(ToString::to_string).unwrap_or_default(),
                "deposits": vm.deposits,
                "withdrawals": vm.withdrawals,
                "turnover": vm.turnover_value / ((initial_nav + vs.nav) / 2.0).max(f64::MIN_POSITIVE),
                "gas_paid": vm.gas_value,
                "fees_paid": vm.fees,
                "slippage_paid": vm.slippage,
                "arbitrage_after_its_trades": vm.arbitrage_after,
                "mev_loss": vm.mev_loss,
                "sandwiched_transactions": vm.sandwiched,
                "tracking_error_mean": vm.tracking_mean(),
                "tracking_error_max": vm.tracking_max,
                "max_drawdown": vm.max_drawdown,
                "execution_cost": vm.cost(),
                "final_nav": vs.nav,
                "final_share_price": vs.share_price,
                "buy_and_hold_nav": vs.hold_nav,
                "continuous_rebalanced_nav": vs.continuous_nav,
                "rebalancing_cost": {
                    "total": total_cost,
                    "fees": vm.fees,
                    "slippage": vm.slippage,
                    "gas": vm.gas_value,
                    "bridge_fees": vm.bridge_fees,
                    "tracking": total_cost - vm.fees - vm.slippage - vm.gas_value - vm.bridge_fees,
                },
            });
            // what it sold, and (with books) how much of it went through its resting orders
            if let Some(map) = out.as_object_mut() {
                map.insert("turnover_value".into(), json!(vm.turnover_value));
                map.insert(
                    "cost_bps_of_turnover".into(),
                    json!(if vm.turnover_value > 0.0 { vm.cost() / vm.turnover_value * 1e4 } else { 0.0 }),
                );
                if !v.books.is_empty() {
                    map.insert("passive_turnover_value".into(), json!(vm.passive_turnover));
                }
            }
            // with several chains: the keeper's gas on each
            if let (true, Some(map)) = (s.multi_chain(), out.as_object_mut()) {
                let by_chain: serde_json::Map<String, serde_json::Value> = s
                    .chains
                    .iter()
                    .enumerate()
                    .map(|(k, c)| (c.name.clone(), json!(vm.gas_by_chain.get(k).copied().unwrap_or(0.0))))
                    .collect();
                map.insert("gas_by_chain".into(), by_chain.into());
            }
            // only vaults with a yield leg or leverage report them (no nulls in summaries)
            if let (Some(leg), Some(map)) = (yield_leg, out.as_object_mut()) {
                map.insert("yield_leg".into(), leg);
            }
            if let (Some(lev), Some(map)) = (leverage[v.id.index()].clone(), out.as_object_mut()) {
                map.insert("leverage".into(), lev);
            }
            out
        })
        .collect();
    let pools: Vec<_> = s
        .pools
        .iter()
        .zip(&m.pools)
        .zip(&snapshot.pools)
        .map(|((p, pm), now)| {
            json!({
                "name": p.name,
                "kind": p.pool.kind().name(),
                "trades": pm.trades,
                "volume": pm.volume,
                "lp_fees": pm.fees,
                "arbitrage_profit": pm.arbitrage_profit,
                "lvr": pm.lvr(now.value),
                "lp_loss_vs_rebalancing": pm.loss_vs_rebalancing(now.value),
                "initial_value": pm.initial_value,
                "final_value": now.value,
            })
        })
        .collect();
    let agents: Vec<_> = s
        .agents
        .iter()
        .zip(&m.agents)
        .map(|(a, am)| {
            let kind = match a.kind {
                AgentKind::Arbitrageur { .. } => "arbitrageur",
                AgentKind::CycleArbitrageur { .. } => "cycle_arbitrageur",
                AgentKind::CrossChainArbitrageur { .. } => "cross_chain_arbitrageur",
                AgentKind::Searcher { strategy, .. } => match strategy {
                    meshsim_scenario::SearcherStrategy::Sandwich => "sandwich_searcher",
                    meshsim_scenario::SearcherStrategy::Backrun => "backrun_searcher",
                    meshsim_scenario::SearcherStrategy::TriggerPrediction => "trigger_predictor",
                },
                AgentKind::Liquidator { .. } => "liquidator",
                AgentKind::Borrowers { .. } => "borrowers",
                AgentKind::Supplier { .. } => "supplier",
                AgentKind::MarketMaker(_) => "market_maker",
                AgentKind::NoiseTrader(_) => "noise_trader",
            };
            json!({
                "name": a.name,
                "kind": kind,
                "profit": am.profit,
                "mev_profit": am.mev_profit,
                "gas_paid": am.gas_value,
                "builder_bids_paid": am.bids_value,
                "transactions": am.transactions,
            })
        })
        .collect();
    json!({
        "world": s.name,
        "world_hash": s.world_hash,
        "seed": s.seed,
        "blocks": blocks,
        "meshsim_version": env!("CARGO_PKG_VERSION"),
        "final_digest": sim.digest().to_string(),
        "totals": {
            "transactions": m.transactions,
            "reverted": m.reverted,
            "dropped": m.dropped,
            "gas_paid": m.gas_value,
            // takers of value from the venues; market makers and noise traders are the books' own
            "arbitrage_profit": m
                .agents
                .iter()
                .zip(&s.agents)
                .filter(|(_, a)| !matches!(a.kind, AgentKind::MarketMaker(_) | AgentKind::NoiseTrader(_)))
                .map(|(m, _)| m.profit)
                .sum::<f64>(),
            "expired": m.expired,
        },
        "mev": {
            "ordering": s.hub().ordering.name(),
            "searcher_profit": m.agents.iter().map(|a| a.mev_profit).sum::<f64>(),
            "builder_bids": m.agents.iter().map(|a| a.bids_value).sum::<f64>(),
            "vault_sandwich_loss": m.vaults.iter().map(|v| v.mev_loss).sum::<f64>(),
            "sandwiched_vault_transactions": m.vaults.iter().map(|v| v.sandwiched).sum::<u64>(),
            "per_searcher": s.agents.iter().zip(&m.agents)
                .filter(|(a, _)| matches!(a.kind, AgentKind::Searcher { .. }))
                .map(|(a, am)| (a.name.clone(), json!({ "mev_profit": am.mev_profit, "builder_bids_paid": am.bids_value, "gas_paid": am.gas_value })))
                .collect::<serde_json::Map<_, _>>(),
            "per_vault": s.vaults.iter().zip(&m.vaults)
                .map(|(v, vm)| (v.name.clone(), json!({ "sandwich_loss": vm.mev_loss, "sandwiched_transactions": vm.sandwiched, "arbitrage_after_its_trades": vm.arbitrage_after })))
                .collect::<serde_json::Map<_, _>>(),
        },
        "cascades": cascades_summary,
        "chains": s.chains.iter().zip(sim.chains()).map(|(c, st)| json!({
            "name": c.name,
            "native_token": s.tokens[c.native.index()].symbol,
            "ordering": c.ordering.name(),
            "mean_block_time": c.block_time.mean_seconds(),
            "blocks": st.clock.number,
            "seconds": st.clock.timestamp,
            "final_base_fee_gwei": meshsim_core::math::u128_to_f64(st.gas.base_fee_wei) / 1e9,
        })).collect::<Vec<_>>(),
        "pools": pools,
        "agents": agents,
        "vaults": vaults,
        "outputs": outputs.iter().map(|(t, f)| (t.clone(), json!(f))).collect::<serde_json::Map<_, _>>(),
        "units": "values in numeraire units of the world; amounts in token base units",
    })
}

/// Per market and reserve: utilization and rates (fractions a year), indexes (rays) and totals
/// (base units) as exact decimal strings.
fn lending_summary(s: &Scenario, markets: &[meshsim_core::lending::MarketState]) -> serde_json::Value {
    let ray = |x: meshsim_core::math::U256| meshsim_core::math::u256_to_f64(x) / 1e27;
    let markets: Vec<serde_json::Value> = markets
        .iter()
        .map(|m| {
            let reserves: Vec<serde_json::Value> = m
                .reserves
                .iter()
                .map(|r| {
                    let x = &r.reserve;
                    let debt = x.total_debt().unwrap_or_default();
                    let supplied = x.available + debt;
                    json!({
                        "token": s.tokens[r.spec.token.index()].symbol,
                        "utilization": ray(x.utilization().unwrap_or_default()),
                        "borrow_rate": ray(x.rates.variable_borrow_rate),
                        "supply_rate": ray(x.rates.liquidity_rate),
                        "liquidity_index": x.liquidity_index.to_string(),
                        "variable_borrow_index": x.variable_borrow_index.to_string(),
                        "available": x.available.to_string(),
                        "borrowed": debt.to_string(),
                        "supplied_and_lent": supplied.to_string(),
                        "treasury_accrued_scaled": x.accrued_to_treasury.to_string(),
                        "interest": x.interest.to_string(),
                        "deficit": x.deficit.to_string(),
                        "liquidations": r.stats.liquidations,
                        "debt_liquidated": r.stats.debt_liquidated.to_string(),
                        "collateral_seized": r.stats.collateral_seized.to_string(),
                        "protocol_fees": r.stats.protocol_fees.to_string(),
                        "bonus": r.stats.bonus.to_string(),
                        "oracle_gap_min": r.stats.oracle_gap_min,
                        "pool_gap_min": r.stats.pool_gap_min,
                    })
                })
                .collect();
            // totals in the numeraire, at the market's final oracle prices
            let whole = |x: meshsim_core::math::U256| u128::try_from(x).unwrap_or(u128::MAX);
            let sum = |f: &dyn Fn(&meshsim_core::lending::ReserveState) -> u128| -> f64 {
                m.reserves.iter().map(|r| r.value(f(r))).sum()
            };
            json!({
                "name": m.name,
                "positions": m.positions.len(),
                "liquidations": m.reserves.iter().map(|r| r.stats.liquidations).sum::<u64>(),
                "debt_liquidated_value": sum(&|r| r.stats.debt_liquidated),
                "bonus_value": sum(&|r| r.stats.bonus),
                "protocol_fees_value": sum(&|r| r.stats.protocol_fees),
                "bad_debt_value": sum(&|r| whole(r.reserve.deficit)),
                "interest_value": sum(&|r| whole(r.reserve.interest)),
                "reserves": reserves,
            })
        })
        .collect();
    serde_json::Value::Array(markets)
}

/// A token's external price now, numeraire per whole token.
fn token_price(snapshot: &meshsim_core::Snapshot, token: meshsim_scenario::TokenId) -> f64 {
    snapshot.tokens.get(token.index()).map_or(0.0, |t| t.price)
}
