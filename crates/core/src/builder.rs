//! Build phase: one system turns the mempool and the searchers' bundles into the block's ordered
//! plan, by the chain's ordering policy. The rules are pure functions of the inputs and ties are
//! broken by ids, so the order never depends on a query's iteration order.

use bevy_ecs::prelude::*;
use meshsim_scenario::Ordering as Policy;

use crate::chain::GasMarket;
use crate::mempool::{Bundle, Mempool, PendingBundles};
use crate::sim_config::SimConfig;
use crate::tx::{Tx, TxId, TxKind, Visibility};

/// One entry of the block.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A lone transaction.
    Single(Tx),
    /// A bundle, with its victim pulled from the mempool.
    Bundle {
        /// The bundle.
        bundle: Bundle,
        /// Its victim.
        victim: Option<Tx>,
    },
    /// Vault orders cleared together at uniform prices (batch auction).
    Batch(Vec<Tx>),
}

/// The block being built.
#[derive(Resource, Debug, Clone, Default)]
pub struct BlockPlan(pub Vec<Item>);

/// Effective priority fee of a transaction at this base fee (the tip it pays per gas).
pub fn tip(tx: &Tx) -> u128 {
    tx.priority_fee_wei
}

fn single_order(policy: Policy) -> impl Fn(&Tx, &Tx) -> std::cmp::Ordering {
    move |a, b| match policy {
        Policy::FirstComeFirstServed => a.arrival.total_cmp(&b.arrival).then(a.id.cmp(&b.id)),
        _ => tip(b).cmp(&tip(a)).then(a.sender.cmp(&b.sender)).then(a.id.cmp(&b.id)),
    }
}

/// Pools a bundle (and its victim) touch.
fn pools_of(bundle: &Bundle, victim: Option<&Tx>) -> Vec<u32> {
    let mut v: Vec<u32> = bundle.own().chain(victim).flat_map(|t| t.legs.iter().map(|l| l.pool.0)).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The revenue-maximising set of pairwise non-conflicting bundles (no shared victim, no shared
/// pool), exact for up to 16 candidates and greedy by bid beyond. Returns indices.
pub fn best_bundle_set(bids: &[u128], conflicts: &dyn Fn(usize, usize) -> bool) -> Vec<usize> {
    let n = bids.len();
    if n <= 16 {
        let mut best = (0u128, 0u32);
        'subsets: for mask in 1u32..(1 << n) {
            let mut total = 0u128;
            for (i, bid) in bids.iter().enumerate() {
                if mask & (1 << i) == 0 {
                    continue;
                }
                if (0..i).any(|j| mask & (1 << j) != 0 && conflicts(i, j)) {
                    continue 'subsets;
                }
                total += bid;
            }
            // ties: the lower mask, i.e. earlier bundles, for a fixed answer
            if total > best.0 {
                best = (total, mask);
            }
        }
        return (0..n).filter(|i| best.1 & (1 << i) != 0).collect();
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| bids[*b].cmp(&bids[*a]).then(a.cmp(b)));
    let mut chosen: Vec<usize> = Vec::new();
    for i in order {
        if chosen.iter().all(|j| !conflicts(i, *j)) {
            chosen.push(i);
        }
    }
    chosen.sort_unstable();
    chosen
}

/// Builds the block plan from pending transactions and bundles under `policy`. Taken
/// transactions leave the mempool; the rest wait. Bundles that cannot be placed are dropped.
pub fn plan_block(
    policy: Policy,
    mempool: &mut Mempool,
    mut bundles: Vec<Bundle>,
    gas_room: u64,
    gas_estimate: &dyn Fn(&Tx) -> u64,
) -> Vec<Item> {
    bundles.sort_by(|a, b| a.searcher.cmp(&b.searcher).then(a.seq.cmp(&b.seq)));
    // bundles may only wrap public transactions still pending
    bundles.retain(|b| b.victim.is_none_or(|v| mempool.get(v).is_some_and(|t| t.visibility == Visibility::Public)));
    let mut items: Vec<Item> = Vec::new();
    let mut gas_left = gas_room;
    let take = |items: &mut Vec<Item>, item: Item, gas: u64, gas_left: &mut u64| {
        if gas <= *gas_left {
            *gas_left -= gas;
            items.push(item);
            true
        } else {
            false
        }
    };
    let bundle_gas = |b: &Bundle, victim: Option<&Tx>| b.own().chain(victim).map(gas_estimate).sum::<u64>();

    match policy {
        Policy::FirstComeFirstServed => {
            // nobody is placed ahead of a transaction already seen: only back-runs survive, right
            // after their victim
            bundles.retain(|b| b.before.is_empty());
        }
        Policy::BuilderAuction => {
            let victims: Vec<Option<Tx>> =
                bundles.iter().map(|b| b.victim.and_then(|v| mempool.get(v).cloned())).collect();
            let pools: Vec<Vec<u32>> = bundles.iter().zip(&victims).map(|(b, v)| pools_of(b, v.as_ref())).collect();
            let conflicts = |i: usize, j: usize| {
                let (a, b) = (&bundles[i], &bundles[j]);
                (a.victim.is_some() && a.victim == b.victim)
                    || pools[i].iter().any(|p| pools[j].binary_search(p).is_ok())
            };
            let bids: Vec<u128> = bundles.iter().map(|b| b.bid_wei).collect();
            let mut chosen = best_bundle_set(&bids, &conflicts);
            chosen.sort_by(|a, b| bids[*b].cmp(&bids[*a]).then(a.cmp(b)));
            for i in chosen {
                let victim = bundles[i].victim.and_then(|v| mempool.get(v).cloned());
                let gas = bundle_gas(&bundles[i], victim.as_ref());
                if take(&mut items, Item::Bundle { bundle: bundles[i].clone(), victim: None }, gas, &mut gas_left)
                    && let Some(v) = bundles[i].victim
                    && let (Some(Item::Bundle { victim: slot, .. }), Some(tx)) = (items.last_mut(), mempool.take(v))
                {
                    *slot = Some(tx);
                }
            }
            bundles.clear();
        }
        Policy::PriorityGasAuction | Policy::BatchAuction => {}
    }

    // the batch settles last in the block, after the arbitrageurs have brought the pools to the
    // external price, so the residual trades at fair prices; its gas is reserved first
    let mut batch_item = None;
    if policy == Policy::BatchAuction {
        let (batch, rest): (Vec<Tx>, Vec<Tx>) =
            std::mem::take(&mut mempool.pending).into_iter().partition(|t| t.kind == TxKind::Rebalance);
        mempool.pending = rest;
        let mut fits = Vec::new();
        for tx in batch {
            let gas = gas_estimate(&tx);
            if gas <= gas_left {
                gas_left -= gas;
                fits.push(tx);
            } else {
                mempool.pending.push(tx);
            }
        }
        mempool.pending.sort_by_key(|t| t.id);
        if !fits.is_empty() {
            batch_item = Some(Item::Batch(fits));
        }
    }

    // the remaining transactions, and the remaining bundles placed at their victims
    let order = single_order(policy);
    let mut singles: Vec<Tx> = mempool.pending.clone();
    singles.sort_by(&order);
    let mut by_victim: Vec<(TxId, Bundle)> = Vec::new();
    let mut free_bundles: Vec<Bundle> = Vec::new();
    for b in bundles {
        match b.victim {
            Some(v) => {
                // one bundle per victim: the highest front-run tip (PGA), the earliest back-run (FCFS)
                let score = |b: &Bundle| b.before.first().map_or(0, tip);
                match by_victim.iter_mut().find(|(x, _)| *x == v) {
                    Some((_, cur)) if score(&b) > score(cur) => *cur = b,
                    Some(_) => {}
                    None => by_victim.push((v, b)),
                }
            }
            None => free_bundles.push(b),
        }
    }
    let mut placed: Vec<TxId> = Vec::new();
    for tx in singles {
        let id = tx.id;
        let item = match by_victim.iter().position(|(v, _)| *v == id) {
            Some(k) => {
                let (_, bundle) = by_victim.remove(k);
                Item::Bundle { bundle, victim: Some(tx) }
            }
            None => Item::Single(tx),
        };
        let gas = match &item {
            Item::Single(t) => gas_estimate(t),
            Item::Bundle { bundle, victim } => bundle_gas(bundle, victim.as_ref()),
            Item::Batch(_) => 0,
        };
        if take(&mut items, item, gas, &mut gas_left) {
            placed.push(id);
        }
    }
    for b in free_bundles {
        let gas = bundle_gas(&b, None);
        take(&mut items, Item::Bundle { bundle: b, victim: None }, gas, &mut gas_left);
    }
    items.extend(batch_item);
    placed.sort_unstable();
    mempool.pending.retain(|t| placed.binary_search(&t.id).is_err());
    items
}

/// Build phase.
pub fn build_block(
    mut mempool: ResMut<Mempool>,
    mut searchers: Query<&mut PendingBundles>,
    gas: Res<GasMarket>,
    config: Res<SimConfig>,
    mut plan: ResMut<BlockPlan>,
) {
    let mut bundles: Vec<Bundle> = Vec::new();
    for mut b in &mut searchers {
        bundles.append(&mut b.0);
    }
    bundles.sort_by(|a, b| a.searcher.cmp(&b.searcher).then(a.seq.cmp(&b.seq)));
    for b in &mut bundles {
        for tx in b.before.iter_mut().chain(b.after.iter_mut()) {
            mempool.assign_id(tx);
        }
    }
    let room = gas.gas_limit.saturating_sub(gas.gas_used);
    let g = &config.gas;
    // a conservative estimate for packing: v3 hops with a few crossings
    let estimate =
        |t: &Tx| g.base_tx + t.legs.len() as u64 * (g.swap_concentrated + 2 * g.tick_cross).max(g.swap_stableswap);
    plan.0 = plan_block(config.ordering, &mut mempool, bundles, room, &estimate);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_auction_takes_the_best_compatible_set() {
        // 1 conflicts with both others: alone (10) it is worth less than 0 + 2 (6 + 5)
        let bids = [6, 10, 5];
        let conflicts = |i: usize, j: usize| i.max(j) == 1 || i.min(j) == 1;
        assert_eq!(best_bundle_set(&bids, &conflicts), vec![0, 2]);
        let conflicts = |i: usize, j: usize| (i.min(j), i.max(j)) == (0, 2);
        assert_eq!(best_bundle_set(&bids, &conflicts), vec![0, 1]);
    }
}
