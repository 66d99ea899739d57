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

/// Effective priority fee of a transaction at this base fee (the tip it pays per gas): its
/// priority fee, capped by what its max fee leaves above the base fee (EIP-1559).
pub fn tip(tx: &Tx, base_fee: u128) -> u128 {
    tx.priority_fee_wei.min(tx.max_fee_wei.saturating_sub(base_fee))
}

fn single_order(policy: Policy, base_fee: u128) -> impl Fn(&Tx, &Tx) -> std::cmp::Ordering {
    move |a, b| match policy {
        Policy::FirstComeFirstServed => a.arrival.total_cmp(&b.arrival).then(a.id.cmp(&b.id)),
        _ => tip(b, base_fee).cmp(&tip(a, base_fee)).then(a.sender.cmp(&b.sender)).then(a.id.cmp(&b.id)),
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
    bundles: Vec<Bundle>,
    gas_room: u64,
    base_fee: u128,
    gas_estimate: &dyn Fn(&Tx) -> u64,
) -> Vec<Item> {
    // a transaction whose max fee is below the base fee cannot be included: it waits (or expires)
    let (waiting, ready): (Vec<Tx>, Vec<Tx>) =
        std::mem::take(&mut mempool.pending).into_iter().partition(|t| t.max_fee_wei < base_fee);
    mempool.pending = ready;
    let items = plan_ready(policy, mempool, bundles, gas_room, base_fee, gas_estimate);
    mempool.pending.extend(waiting);
    mempool.pending.sort_by_key(|t| t.id);
    items
}

fn plan_ready(
    policy: Policy,
    mempool: &mut Mempool,
    mut bundles: Vec<Bundle>,
    gas_room: u64,
    base_fee: u128,
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
    let order = single_order(policy, base_fee);
    let mut singles: Vec<Tx> = mempool.pending.clone();
    singles.sort_by(&order);
    let mut by_victim: Vec<(TxId, Bundle)> = Vec::new();
    let mut free_bundles: Vec<Bundle> = Vec::new();
    for b in bundles {
        match b.victim {
            Some(v) => {
                // one bundle per victim: the highest front-run tip (PGA), the earliest back-run (FCFS)
                let score = |b: &Bundle| b.before.first().map_or(0, |t| tip(t, base_fee));
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
    plan.0 = plan_block(config.ordering, &mut mempool, bundles, room, gas.base_fee_wei, &estimate);
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

    use crate::tx::Sender;

    fn swap(sender: u32, id: u64, tip: u128, max_fee: u128) -> Tx {
        use meshsim_scenario::{AgentId, PoolId, TokenId};
        let leg = crate::tx::Leg { pool: PoolId(0), i: 0, j: 1, token_in: TokenId(0), token_out: TokenId(1) };
        let mut t =
            Tx::new(Sender::Agent(AgentId(sender)), 0, TxKind::Arbitrage, tip, smallvec::smallvec![leg], 1, 0, 99);
        t.id = TxId(id);
        t.max_fee_wei = max_fee;
        t
    }

    fn ids(items: &[Item]) -> Vec<u64> {
        items.iter().filter_map(|i| if let Item::Single(t) = i { Some(t.id.0) } else { None }).collect()
    }

    #[test]
    fn max_fee_caps_the_tip_and_a_max_fee_below_the_base_fee_waits() {
        let base = 100;
        // 1 bids 50 but its max fee leaves only 10 above the base fee; 2 bids 20 uncapped;
        // 3 cannot pay the base fee at all
        let mut pool = Mempool::default();
        pool.pending = vec![swap(0, 1, 50, 110), swap(1, 2, 20, u128::MAX), swap(2, 3, 90, 99)];
        assert_eq!(tip(&pool.pending[0], base), 10);
        let items = plan_block(Policy::PriorityGasAuction, &mut pool, Vec::new(), u64::MAX, base, &|_| 1);
        assert_eq!(ids(&items), vec![2, 1], "ordered by effective tip");
        assert_eq!(pool.pending.iter().map(|t| t.id.0).collect::<Vec<_>>(), vec![3], "3 waits");
        // once the base fee falls, it goes
        let items = plan_block(Policy::PriorityGasAuction, &mut pool, Vec::new(), u64::MAX, 90, &|_| 1);
        assert_eq!(ids(&items), vec![3]);
        assert!(pool.pending.is_empty());
    }

    #[test]
    fn what_does_not_fit_the_gas_limit_waits() {
        let mut pool = Mempool::default();
        pool.pending = vec![swap(0, 1, 5, u128::MAX), swap(1, 2, 9, u128::MAX), swap(2, 3, 1, u128::MAX)];
        let items = plan_block(Policy::PriorityGasAuction, &mut pool, Vec::new(), 250_000, 0, &|_| 100_000);
        assert_eq!(ids(&items), vec![2, 1]);
        assert_eq!(pool.pending.iter().map(|t| t.id.0).collect::<Vec<_>>(), vec![3]);
    }
}
