//! MEV searchers: entities with their own capital and costs that read the public mempool and
//! answer with bundles. How bids are set (the competition rule): a searcher alone on an
//! opportunity bids `solo_bid_share` of its expected profit; when other searchers of the same
//! strategy watch the same pool, bids rise until only `competitive_margin` of the profit is left
//! (a first-price auction among equals). Under a priority-gas auction the bid is paid as the
//! front transaction's priority fee; under the builder auction as a payment to the builder.

pub mod predictor;
pub mod sandwich;

use bevy_ecs::prelude::*;
use meshsim_math::Pool;
use meshsim_scenario::{AgentKind, Ordering as Policy, PoolId, SearcherStrategy};

use crate::SimError;
use crate::agents::{AgentMeta, MarketView, ViewParams, snapshot_agents, spawn_agent};
use crate::block::{Blocks, Bundle, Mempool, PendingBundles};
use crate::engine::{App, Fresh, Phase, Plugin, State, shared};
use crate::pools::{PoolBook, PoolEntry};
use crate::snapshot::Snapshot;
use crate::tx::{Cause, Leg, Sender, Swap, Tx, TxKind, Visibility};

/// MEV searchers: sandwichers, back-runners and trigger predictors.
pub struct SearchersPlugin;

impl Plugin for SearchersPlugin {
    fn name(&self) -> &'static str {
        "searchers"
    }

    fn present(&self, s: &meshsim_scenario::Scenario, _: &crate::SimOptions) -> bool {
        s.agents.iter().any(|a| matches!(a.kind, AgentKind::Searcher { .. }))
    }

    fn build(&self, app: &mut App<'_>) -> Result<(), SimError> {
        let s = app.scenario;
        let (mut hunters, mut predictors) = (false, false);
        for a in &s.agents {
            let AgentKind::Searcher { strategy, pools, min_profit, solo_bid_share, competitive_margin } = &a.kind
            else {
                continue;
            };
            let mut pools = pools.clone();
            pools.sort();
            pools.dedup();
            // rivals: other searchers with the same strategy watching the same pool
            let rivals = pools
                .iter()
                .map(|p| {
                    s.agents
                        .iter()
                        .filter(|o| o.id != a.id)
                        .filter(|o| matches!(&o.kind, AgentKind::Searcher { strategy: x, pools: ps, .. } if x == strategy && ps.contains(p)))
                        .count() as u32
                })
                .collect();
            let searcher = Searcher {
                strategy: *strategy,
                pools,
                min_profit: *min_profit,
                solo_bid_share: *solo_bid_share,
                competitive_margin: *competitive_margin,
                rivals,
            };
            match strategy {
                SearcherStrategy::TriggerPrediction => predictors = true,
                SearcherStrategy::Sandwich | SearcherStrategy::Backrun => hunters = true,
            }
            spawn_agent(app, a, "agent")?.insert((
                searcher,
                PendingBundles::default(),
                predictor::PredictorBook::default(),
            ));
        }
        if predictors {
            app.add_systems(Phase::Decide, predictor::open_predictions);
        }
        if hunters {
            app.add_systems(Phase::Search, search);
        }
        if predictors {
            app.add_systems(Phase::Search, predictor::unwind_predictions);
        }
        Ok(())
    }

    fn digest(&self, world: crate::engine::StateView<'_>, h: &mut sha2::Sha256) {
        use sha2::Digest as _;
        // a predictor's open positions decide its unwinds: state, in agent id order
        let Some(mut q) = world.world.try_query::<(&AgentMeta, &predictor::PredictorBook)>() else { return };
        let mut books: Vec<_> = q.iter(world.world).collect();
        books.sort_by_key(|(m, _)| m.id);
        for (m, book) in books {
            h.update(m.id.0.to_le_bytes());
            for p in &book.0 {
                h.update(p.vault.0.to_le_bytes());
                for l in &p.path {
                    h.update(l.pool.0.to_le_bytes());
                    h.update([l.i, l.j]);
                }
                h.update(p.amount.to_le_bytes());
                h.update(p.opened.to_le_bytes());
            }
        }
    }

    fn snapshot(&self, world: crate::engine::StateView<'_>, snap: &mut Snapshot) {
        snapshot_agents::<Searcher>(world, snap);
    }
}

/// Most opportunities a searcher bundles per block.
pub const MAX_BUNDLES: usize = 4;

/// A searcher's configuration.
#[derive(Component, Debug, Clone)]
pub struct Searcher {
    /// What it hunts.
    pub strategy: SearcherStrategy,
    /// Watched pools (sorted).
    pub pools: Vec<PoolId>,
    /// Minimum profit net of gas and bid, numeraire.
    pub min_profit: f64,
    /// Bid share when alone.
    pub solo_bid_share: f64,
    /// Margin kept when competing.
    pub competitive_margin: f64,
    /// Other searchers of the same strategy watching each watched pool (by position in `pools`).
    pub rivals: Vec<u32>,
}

impl Searcher {
    fn bid_share(&self, pool: PoolId) -> f64 {
        let k = self.pools.binary_search(&pool).unwrap_or(0);
        if self.rivals.get(k).copied().unwrap_or(0) > 0 { 1.0 - self.competitive_margin } else { self.solo_bid_share }
    }
}

/// A public single-hop swap with slack: what sandwiches and back-runs feed on.
fn victim_swap(tx: &Tx) -> Option<(Leg, &Swap)> {
    let swap = tx.swap()?;
    (tx.visibility == Visibility::Public
        && swap.legs.len() == 1
        && !matches!(tx.kind, TxKind::Arbitrage | TxKind::CycleArbitrage)
        && !tx.kind.is_mev())
    .then(|| (swap.legs[0], swap))
}

/// The public pending one-hop swaps on the searcher's pools that it may prey on, with their leg,
/// swap and pool.
fn victims<'a, B: PoolBook + ?Sized>(
    view: &'a MarketView<'_, B>,
    cfg: &'a Searcher,
    mempool: &'a Mempool,
) -> impl Iterator<Item = (&'a Tx, Leg, &'a Swap, &'a PoolEntry)> {
    mempool.public().filter_map(move |victim| {
        let (leg, swap) = victim_swap(victim)?;
        cfg.pools.binary_search(&leg.pool).ok()?;
        Some((victim, leg, swap, view.pools.pool(leg.pool)?))
    })
}

/// Pure policy of a sandwich searcher: the most profitable sandwiches of public pending swaps on
/// its pools, as bundles.
pub fn plan_sandwiches<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    me: &AgentMeta,
    cfg: &Searcher,
    mempool: &Mempool,
    policy: Policy,
) -> Vec<Bundle> {
    let mut found: Vec<(f64, Bundle)> = Vec::new();
    for (victim, leg, victim_swap, entry) in victims(view, cfg, mempool) {
        let (i, j) = (usize::from(leg.i), usize::from(leg.j));
        let cap = view.balance(me.account, leg.token_in);
        let Some(plan) = sandwich::optimal_sandwich(&entry.pool, i, j, victim_swap.amount_in, victim_swap.min_out, cap)
        else {
            continue;
        };
        if plan.profit() <= 0 {
            continue;
        }
        let gas_units = 2 * (view.gas.base_tx + view.hop_gas(entry, 2));
        let gross = view.prices.value(leg.token_in, plan.profit() as u128);
        let base_gas = view.gas_fee_value(gas_units, 0);
        let bid = (gross - base_gas) * cfg.bid_share(leg.pool);
        let net = gross - base_gas - bid;
        if net <= cfg.min_profit || bid <= 0.0 {
            continue;
        }
        let bid_wei = (bid / view.prices.per_base_unit[view.native.index()]) as u128;
        let (front_tip, bundle_bid) = match policy {
            Policy::BuilderAuction => (0, bid_wei),
            // the front-run outbids the victim by the bid spread over its gas
            _ => (victim.gas.priority_fee_wei + bid_wei / u128::from(gas_units / 2).max(1), 0),
        };
        let front_swap = Swap::new(smallvec::smallvec![leg], plan.front_in, plan.front_out);
        let back_swap = Swap::new(smallvec::smallvec![leg.reversed()], plan.front_out, plan.back_out);
        let mut front =
            Tx::new(Sender::Agent(me.id), 0, TxKind::SandwichFront, front_tip, front_swap.into(), view.block);
        let mut back = Tx::new(Sender::Agent(me.id), 1, TxKind::SandwichBack, 0, back_swap.into(), view.block);
        front.cause = Cause::Victim(victim.id);
        back.cause = Cause::Victim(victim.id);
        found.push((
            net,
            Bundle {
                searcher: me.id,
                seq: 0,
                before: vec![front],
                victim: Some(victim.id),
                after: vec![back],
                bid_wei: bundle_bid,
            },
        ));
    }
    best_bundles(found)
}

/// Pure policy of a back-running searcher: after each large public swap on its pools, trade the
/// pool back to the external price (hedged on the CEX), placed right behind the swap.
pub fn plan_backruns<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    me: &AgentMeta,
    cfg: &Searcher,
    mempool: &Mempool,
    policy: Policy,
) -> Vec<Bundle> {
    let mut found: Vec<(f64, Bundle)> = Vec::new();
    for (victim, leg, victim_swap, entry) in victims(view, cfg, mempool) {
        let mut after: Pool = entry.pool.clone();
        if after.swap_exact_in(leg.i.into(), leg.j.into(), victim_swap.amount_in).is_err() {
            continue;
        }
        // the swap pushed token_in's price down in the pool: buy it back with token_out
        let (i, j) = (usize::from(leg.j), usize::from(leg.i));
        let (t_in, t_out) = (entry.tokens[i], entry.tokens[j]);
        let p_ext = view.prices.rate(t_in, t_out);
        if after.net_price(i, j) <= p_ext {
            continue;
        }
        let Ok(size) = after.input_to_price(i, j, p_ext) else { continue };
        let size = size.min(view.balance(me.account, t_in));
        let Ok(q) = after.quote_exact_in(i, j, size) else { continue };
        if size == 0 || q.amount_out == 0 {
            continue;
        }
        let gas_units = view.gas.base_tx + view.hop_gas(entry, q.ticks_crossed);
        let gross =
            view.prices.value(t_out, q.amount_out) - view.prices.value(t_in, size) - view.gas_fee_value(gas_units, 0);
        let bid = gross * cfg.bid_share(leg.pool);
        let net = gross - bid;
        if net <= cfg.min_profit || bid <= 0.0 {
            continue;
        }
        let bid_wei = (bid / view.prices.per_base_unit[view.native.index()]) as u128;
        let (tip, bundle_bid) = match policy {
            Policy::BuilderAuction => (0, bid_wei),
            _ => (bid_wei / u128::from(gas_units).max(1), 0),
        };
        let back_leg = Leg { pool: leg.pool, i: i as u8, j: j as u8, token_in: t_in, token_out: t_out };
        let swap = Swap { legs: smallvec::smallvec![back_leg], amount_in: size, min_out: q.amount_out, hedge: true };
        let mut tx = Tx::new(Sender::Agent(me.id), 0, TxKind::Backrun, tip, swap.into(), view.block);
        tx.cause = Cause::Victim(victim.id);
        found.push((
            net,
            Bundle {
                searcher: me.id,
                seq: 0,
                before: Vec::new(),
                victim: Some(victim.id),
                after: vec![tx],
                bid_wei: bundle_bid,
            },
        ));
    }
    best_bundles(found)
}

/// The most profitable few bundles, one per victim, numbered.
fn best_bundles(mut found: Vec<(f64, Bundle)>) -> Vec<Bundle> {
    found.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.victim.cmp(&b.1.victim)));
    found.truncate(MAX_BUNDLES);
    found
        .into_iter()
        .enumerate()
        .map(|(k, (_, mut b))| {
            b.seq = k as u32;
            for (n, t) in b.before.iter_mut().chain(b.after.iter_mut()).enumerate() {
                t.seq = (k * 4 + n) as u32;
            }
            b
        })
        .collect()
}

/// Search phase: each searcher reads the public mempool and sends its bundles.
fn search(
    view: ViewParams,
    mut searchers: Fresh<(&AgentMeta, &Searcher, &mut PendingBundles)>,
    blocks: State<&Blocks>,
) {
    let chains = view.chains();
    let mempool = &shared(blocks).of(chains.active).mempool;
    view.with_view(|v| {
        for (meta, cfg, mut out) in &mut searchers {
            if meta.chain != v.chain {
                continue;
            }
            let bundles = match cfg.strategy {
                SearcherStrategy::Sandwich => plan_sandwiches(v, meta, cfg, mempool, chains.active().ordering),
                SearcherStrategy::Backrun => plan_backruns(v, meta, cfg, mempool, chains.active().ordering),
                // trigger prediction reads vault state: see `predictor`
                SearcherStrategy::TriggerPrediction => Vec::new(),
            };
            out.0.extend(bundles);
        }
    });
}
