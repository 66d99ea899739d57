//! Build phase: one system turns the mempool and the searchers' bundles into the block's ordered
//! plan, by the chain's ordering policy. The rules are pure functions of the inputs and ties are
//! broken by ids, so the order never depends on a query's iteration order. Buffers are kept
//! between blocks: building allocates nothing in steady state.

use bevy_ecs::prelude::*;
use meshsim_scenario::{GasCosts, Ordering as Policy};

use super::mempool::{Bundle, Mempool, PendingBundles};
use crate::SimConfig;
use crate::chain::ChainState;
use crate::tx::{Action, Tx, TxKind, Visibility};

/// One entry of the block.
#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "lone transactions are the common item: boxing them would allocate per transaction"
)]
pub enum Item {
    /// A lone transaction.
    Single(Tx),
    /// A bundle, with its victim pulled from the mempool (boxed: bundles are rare, and a small
    /// item keeps every lone transaction's moves cheap).
    Bundle(Box<BundleItem>),
    /// Vault orders cleared together at uniform prices (batch auction).
    Batch(Vec<Tx>),
}

/// A bundle placed in the block.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleItem {
    /// The bundle.
    pub bundle: Bundle,
    /// Its victim.
    pub victim: Option<Tx>,
}

/// A chain's block being built, and the builder's reusable buffers.
#[derive(Debug, Default)]
pub struct BlockPlan {
    /// Lone transactions run first, in this order (the whole block when no bundle or batch is
    /// in it: the common case, built without wrapping each transaction in an item).
    pub txs: Vec<Tx>,
    /// Then the items, in order.
    pub items: Vec<Item>,
    waiting: Vec<Tx>,
    singles: Vec<Tx>,
    bundles: Vec<Bundle>,
}

/// The order of lone transactions. Ids are unique and break every tie, so it is total and an
/// unstable sort (which never allocates) gives the one answer.
fn single_order(policy: Policy, base_fee: u128) -> impl Fn(&Tx, &Tx) -> std::cmp::Ordering {
    move |a, b| match policy {
        Policy::FirstComeFirstServed => a.arrival.total_cmp(&b.arrival).then(a.id.cmp(&b.id)),
        Policy::CancelsFirst => book_class(a)
            .cmp(&book_class(b))
            .then(b.gas.tip(base_fee).cmp(&a.gas.tip(base_fee)))
            .then(a.sender.cmp(&b.sender))
            .then(a.id.cmp(&b.id)),
        _ => b.gas.tip(base_fee).cmp(&a.gas.tip(base_fee)).then(a.sender.cmp(&b.sender)).then(a.id.cmp(&b.id)),
    }
}

/// Sorts lone transactions by [`single_order`]. Where tips order them and every tip is alike
/// (one fee market for all: the usual block) the order is by sender and id, which compares far
/// more cheaply than two tips at each step.
fn sort_singles(txs: &mut [Tx], policy: Policy, base_fee: u128) {
    if !matches!(policy, Policy::FirstComeFirstServed | Policy::CancelsFirst)
        && let Some(first) = txs.first()
    {
        // the same bid gives the same tip: compared directly, as most blocks have one bid
        let (bid, tip) = (first.gas, first.gas.tip(base_fee));
        let same = |t: &Tx| {
            (t.gas.priority_fee_wei == bid.priority_fee_wei && t.gas.max_fee_wei == bid.max_fee_wei)
                || t.gas.tip(base_fee) == tip
        };
        if txs.iter().all(same) {
            // usually in that order already (the mempool numbers senders' transactions in order)
            if !txs.is_sorted_by_key(|t| (t.sender, t.id)) {
                txs.sort_unstable_by_key(|t| (t.sender, t.id));
            }
            return;
        }
    }
    txs.sort_unstable_by(single_order(policy, base_fee));
}

/// Where `CancelsFirst` puts a transaction: 0 if it only cancels book orders, 1 if it only adds
/// liquidity to a book (or cancels), 2 for the rest.
fn book_class(tx: &Tx) -> u8 {
    match &tx.action {
        Action::Book(b) if b.ops.iter().all(|o| o.is_cancel()) => 0,
        Action::Book(b) if b.ops.iter().all(|o| o.is_cancel() || o.is_maker()) => 1,
        _ => 2,
    }
}

/// A conservative gas estimate for packing: v3 hops with a few crossings.
pub fn estimate_gas(tx: &Tx, g: &GasCosts) -> u64 {
    match &tx.action {
        Action::Swap(s) => {
            g.base_tx + s.legs.len() as u64 * (g.swap_concentrated + 2 * g.tick_cross).max(g.swap_stableswap)
        }
        Action::FlashLiquidate(f) => {
            g.base_tx
                + g.liquidation
                + f.sell.len() as u64 * (g.swap_concentrated + 2 * g.tick_cross).max(g.swap_stableswap)
        }
        Action::Lend(l) => match l.op {
            crate::tx::LendOp::Liquidate { .. } => g.base_tx + g.liquidation,
            _ => g.base_tx + g.lending_action,
        },
        Action::Bridge(_) => g.base_tx + g.bridge_send,
        // a few fills per order
        Action::Book(b) => {
            g.base_tx
                + b.ops
                    .iter()
                    .map(|op| match op {
                        crate::tx::BookOp::Cancel(_) => g.book_cancel,
                        _ => g.book_order + 3 * g.book_fill,
                    })
                    .sum::<u64>()
        }
    }
}

/// Pools a bundle (and its victim) touch.
fn pools_of(bundle: &Bundle, victim: Option<&Tx>) -> Vec<u32> {
    let mut v: Vec<u32> = bundle.own().chain(victim).flat_map(|t| t.pools().map(|p| p.0)).collect();
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
    order.sort_unstable_by(|a, b| bids[*b].cmp(&bids[*a]).then(a.cmp(b)));
    let mut chosen: Vec<usize> = Vec::new();
    for i in order {
        if chosen.iter().all(|j| !conflicts(i, *j)) {
            chosen.push(i);
        }
    }
    chosen.sort_unstable();
    chosen
}

/// What a plan is built from besides the mempool.
#[derive(Debug, Clone, Copy)]
pub struct BuildParams<'a> {
    /// The ordering policy.
    pub policy: Policy,
    /// Gas left in the block for simulated transactions.
    pub gas_room: u64,
    /// Base fee of the block.
    pub base_fee: u128,
    /// Gas units per action, for the packing estimate.
    pub costs: &'a GasCosts,
}

impl BlockPlan {
    /// Builds the plan from pending transactions and `bundles` (taken). Taken transactions leave
    /// the mempool; the rest wait. Bundles that cannot be placed are dropped.
    pub fn build(&mut self, mempool: &mut Mempool, bundles: &mut Vec<Bundle>, p: BuildParams<'_>) {
        self.items.clear();
        self.txs.clear();
        if bundles.is_empty()
            && matches!(p.policy, Policy::PriorityGasAuction | Policy::FirstComeFirstServed | Policy::CancelsFirst)
            && mempool.pending.iter().all(|t| t.gas.max_fee_wei >= p.base_fee)
        {
            // nothing to attach or hold back: the block is the mempool in policy order, if it all
            // fits (what the general path below gives too, with no transaction moved twice)
            sort_singles(&mut mempool.pending, p.policy, p.base_fee);
            let gas: u64 = mempool.pending.iter().map(|t| estimate_gas(t, p.costs)).sum();
            if gas <= p.gas_room {
                std::mem::swap(&mut self.txs, &mut mempool.pending);
                return;
            }
        }
        // a transaction whose max fee is below the base fee cannot be included: it waits (or expires)
        self.waiting.extend(mempool.pending.extract_if(.., |t| t.gas.max_fee_wei < p.base_fee));
        std::mem::swap(&mut self.bundles, bundles);
        self.plan_ready(mempool, p);
        self.bundles.clear();
        mempool.pending.append(&mut self.waiting);
        // ids are unique
        mempool.pending.sort_unstable_by_key(|t| t.id);
    }

    fn plan_ready(&mut self, mempool: &mut Mempool, p: BuildParams<'_>) {
        let bundles = &mut self.bundles;
        bundles.sort_unstable_by_key(|b| (b.searcher, b.seq));
        // bundles may only wrap public transactions still pending
        bundles.retain(|b| b.victim.is_none_or(|v| mempool.get(v).is_some_and(|t| t.visibility == Visibility::Public)));
        let items = &mut self.items;
        let mut gas_left = p.gas_room;
        let take = |items: &mut Vec<Item>, item: Item, gas: u64, gas_left: &mut u64| {
            if gas <= *gas_left {
                *gas_left -= gas;
                items.push(item);
                true
            } else {
                false
            }
        };
        let bundle_gas =
            |b: &Bundle, victim: Option<&Tx>| b.own().chain(victim).map(|t| estimate_gas(t, p.costs)).sum::<u64>();

        match p.policy {
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
                chosen.sort_unstable_by(|a, b| bids[*b].cmp(&bids[*a]).then(a.cmp(b)));
                for i in chosen {
                    let victim = bundles[i].victim.and_then(|v| mempool.get(v).cloned());
                    let gas = bundle_gas(&bundles[i], victim.as_ref());
                    let item = Item::Bundle(Box::new(BundleItem { bundle: bundles[i].clone(), victim: None }));
                    if take(items, item, gas, &mut gas_left)
                        && let Some(v) = bundles[i].victim
                        && let (Some(Item::Bundle(placed)), Some(tx)) = (items.last_mut(), mempool.take(v))
                    {
                        placed.victim = Some(tx);
                    }
                }
                bundles.clear();
            }
            Policy::PriorityGasAuction | Policy::BatchAuction | Policy::CancelsFirst => {}
        }

        // the batch settles last in the block, after the arbitrageurs have brought the pools to the
        // external price, so the residual trades at fair prices; its gas is reserved first
        let mut batch_item = None;
        if p.policy == Policy::BatchAuction {
            let mut fits = Vec::new();
            let mut k = 0;
            while k < mempool.pending.len() {
                let tx = &mempool.pending[k];
                let gas = estimate_gas(tx, p.costs);
                if tx.kind == TxKind::Rebalance && gas <= gas_left {
                    gas_left -= gas;
                    fits.push(mempool.pending.remove(k));
                } else {
                    k += 1;
                }
            }
            if !fits.is_empty() {
                batch_item = Some(Item::Batch(fits));
            }
        }

        // the remaining transactions, and the remaining bundles placed at their victims
        let singles = &mut self.singles;
        singles.append(&mut mempool.pending);
        sort_singles(singles, p.policy, p.base_fee);
        // one bundle per victim: the highest front-run tip (PGA), the earliest back-run (FCFS)
        let score = |b: &Bundle| b.before.first().map_or(0, |t| t.gas.tip(p.base_fee));
        let mut k = 0;
        while k < bundles.len() {
            let Some(v) = bundles[k].victim else {
                k += 1;
                continue;
            };
            match bundles[..k].iter().position(|b| b.victim == Some(v)) {
                Some(j) => {
                    if score(&bundles[k]) > score(&bundles[j]) {
                        bundles.swap(j, k);
                    }
                    bundles.remove(k);
                }
                None => k += 1,
            }
        }
        for tx in singles.drain(..) {
            let id = tx.id;
            let (item, gas) = match bundles.iter().position(|b| b.victim == Some(id)) {
                Some(k) => {
                    let bundle = bundles.remove(k);
                    let gas = bundle_gas(&bundle, Some(&tx));
                    (Item::Bundle(Box::new(BundleItem { bundle, victim: Some(tx) })), gas)
                }
                None => {
                    let gas = estimate_gas(&tx, p.costs);
                    (Item::Single(tx), gas)
                }
            };
            if gas <= gas_left {
                gas_left -= gas;
                items.push(item);
            } else {
                // it waits; a bundle around it is dropped
                match item {
                    Item::Single(tx) => mempool.pending.push(tx),
                    Item::Bundle(b) => mempool.pending.extend(b.victim),
                    Item::Batch(_) => {}
                }
            }
        }
        // bundles without a victim, in (searcher, seq) order
        for b in bundles.drain(..) {
            if b.victim.is_some() {
                continue;
            }
            let gas = bundle_gas(&b, None);
            take(items, Item::Bundle(Box::new(BundleItem { bundle: b, victim: None })), gas, &mut gas_left);
        }
        items.extend(batch_item);
    }
}

/// Builds `chain`'s block from its mempool and the searchers' bundles (taken from `searchers`
/// into the reused buffer `bundles`).
pub(super) fn build(
    searchers: Option<&mut Query<&mut PendingBundles>>,
    chain: &ChainState,
    config: &SimConfig,
    mempool: &mut Mempool,
    plan: &mut BlockPlan,
    bundles: &mut Vec<Bundle>,
) {
    for mut b in searchers.into_iter().flat_map(|q| q.iter_mut()) {
        bundles.append(&mut b.0);
    }
    // (searcher, seq) is unique: each searcher numbers its own bundles
    bundles.sort_unstable_by_key(|b| (b.searcher, b.seq));
    for b in bundles.iter_mut() {
        for tx in b.before.iter_mut().chain(b.after.iter_mut()) {
            mempool.assign_id(tx);
        }
    }
    let params = BuildParams {
        policy: chain.ordering,
        gas_room: chain.gas.gas_limit.saturating_sub(chain.gas.gas_used),
        base_fee: chain.gas.base_fee_wei,
        costs: &config.gas,
    };
    plan.build(mempool, bundles, params);
    bundles.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::{Sender, Swap, TxId};

    #[test]
    fn bundle_auction_takes_the_best_compatible_set() {
        // 1 conflicts with both others: alone (10) it is worth less than 0 + 2 (6 + 5)
        let bids = [6, 10, 5];
        let conflicts = |i: usize, j: usize| i.max(j) == 1 || i.min(j) == 1;
        assert_eq!(best_bundle_set(&bids, &conflicts), vec![0, 2]);
        let conflicts = |i: usize, j: usize| (i.min(j), i.max(j)) == (0, 2);
        assert_eq!(best_bundle_set(&bids, &conflicts), vec![0, 1]);
    }

    fn swap(sender: u32, id: u64, tip: u128, max_fee: u128) -> Tx {
        use meshsim_scenario::{AgentId, PoolId, TokenId};
        let leg = crate::tx::Leg { pool: PoolId(0), i: 0, j: 1, token_in: TokenId(0), token_out: TokenId(1) };
        let action = Swap::new(smallvec::smallvec![leg], 1, 0).into();
        let mut t = Tx::new(Sender::Agent(AgentId(sender)), 0, TxKind::Arbitrage, tip, action, 99);
        t.id = TxId(id);
        t.gas.max_fee_wei = max_fee;
        t
    }

    /// Ids of the lone transactions in execution order.
    fn ids(plan: &BlockPlan) -> Vec<u64> {
        let items = plan.items.iter().filter_map(|i| if let Item::Single(t) = i { Some(t.id.0) } else { None });
        plan.txs.iter().map(|t| t.id.0).chain(items).collect()
    }

    fn params(gas_room: u64, base_fee: u128, costs: &GasCosts) -> BuildParams<'_> {
        BuildParams { policy: Policy::PriorityGasAuction, gas_room, base_fee, costs }
    }

    const UNIT_GAS: GasCosts = GasCosts {
        base_tx: 0,
        swap_constant_product: 0,
        swap_concentrated: 1,
        tick_cross: 0,
        swap_stableswap: 0,
        swap_weighted: 0,
        lending_action: 0,
        liquidation: 0,
        bridge_send: 0,
        book_order: 0,
        book_cancel: 0,
        book_fill: 0,
    };

    #[test]
    fn max_fee_caps_the_tip_and_a_max_fee_below_the_base_fee_waits() {
        let base = 100;
        // 1 bids 50 but its max fee leaves only 10 above the base fee; 2 bids 20 uncapped;
        // 3 cannot pay the base fee at all
        let mut pool = Mempool::default();
        pool.pending = vec![swap(0, 1, 50, 110), swap(1, 2, 20, u128::MAX), swap(2, 3, 90, 99)];
        assert_eq!(pool.pending[0].gas.tip(base), 10);
        let mut plan = BlockPlan::default();
        plan.build(&mut pool, &mut Vec::new(), params(u64::MAX, base, &UNIT_GAS));
        assert_eq!(ids(&plan), vec![2, 1], "ordered by effective tip");
        assert_eq!(pool.pending.iter().map(|t| t.id.0).collect::<Vec<_>>(), vec![3], "3 waits");
        // once the base fee falls, it goes
        plan.build(&mut pool, &mut Vec::new(), params(u64::MAX, 90, &UNIT_GAS));
        assert_eq!(ids(&plan), vec![3]);
        assert!(pool.pending.is_empty());
    }

    #[test]
    fn what_does_not_fit_the_gas_limit_waits() {
        let mut pool = Mempool::default();
        pool.pending = vec![swap(0, 1, 5, u128::MAX), swap(1, 2, 9, u128::MAX), swap(2, 3, 1, u128::MAX)];
        let costs = GasCosts { swap_concentrated: 100_000, ..UNIT_GAS };
        let mut plan = BlockPlan::default();
        plan.build(&mut pool, &mut Vec::new(), params(250_000, 0, &costs));
        assert_eq!(ids(&plan), vec![2, 1]);
        assert_eq!(pool.pending.iter().map(|t| t.id.0).collect::<Vec<_>>(), vec![3]);
    }
}
