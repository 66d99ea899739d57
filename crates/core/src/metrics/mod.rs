//! Running totals for the summary: per pool (arbitrage profit, fees, volume, the pathwise LVR
//! estimate), per agent (profit net of gas, MEV) and per vault (costs, failures, tracking). The
//! transaction totals come from receipts, read after execution; nothing decides from them.

use bevy_ecs::prelude::*;

use meshsim_scenario::{AgentId, VaultId};

pub mod gaps;
pub mod totals;

pub use totals::{AgentMetrics, Metrics, PoolMetrics, VaultMetrics};

use crate::SimConfig;
use crate::SimError;
use crate::engine::{App, Phase, Plugin, State, StateView, shared};
use crate::ledger::Ledger;
use crate::market::ExternalPrices;
use crate::pools::{Pools, pool_value};
use crate::snapshot::Snapshot;
use crate::tx::{
    Action, Cause, DropReason, Effect, Failure, HopFill, Lend, LendOp, Outcome, Receipt, Receipts, Sender, TxId, TxKind,
};

/// Totals from receipts, and the pools' holdings gain.
pub struct MetricsPlugin;

impl Plugin for MetricsPlugin {
    fn name(&self) -> &'static str {
        "metrics"
    }

    fn build(&self, app: &mut App<'_>) -> Result<(), SimError> {
        let s = app.scenario;
        let mut metrics = Metrics {
            pools: vec![PoolMetrics::default(); s.pools.len()],
            agents: vec![AgentMetrics::default(); s.agents.len()],
            book_quotes: s.books.iter().map(|b| b.quote).collect(),
            // sized once: the block loop never allocates for them
            vaults: vec![
                VaultMetrics { gas_by_chain: vec![0.0; s.chains.len()], ..VaultMetrics::default() };
                s.vaults.len()
            ],
            ..Default::default()
        };
        {
            let (pools, ledger, prices) = (app.state::<Pools>(), app.state::<Ledger>(), app.state::<ExternalPrices>());
            for (m, e) in metrics.pools.iter_mut().zip(&pools.entries) {
                m.initial_value = pool_value(e, ledger, prices);
            }
            let gain = HoldingsGain::new(pools, prices);
            app.insert_state(gain);
        }
        app.insert_state(metrics);
        if s.multi_chain() {
            let gaps = gaps::ChainGaps::new(s);
            if !gaps.pairs.is_empty() {
                app.insert_state(gaps);
                app.add_systems(Phase::Begin, gaps::measure_gaps);
            }
        }
        app.add_systems(Phase::Observe, observe_holdings);
        app.add_systems(Phase::Account, account_receipts);
        Ok(())
    }

    fn snapshot(&self, world: StateView<'_>, snap: &mut Snapshot) {
        snap.metrics = world.state::<Metrics>().clone();
        world.state::<HoldingsGain>().settle(&mut snap.metrics, world.state::<ExternalPrices>());
    }
}

/// Values of an included or reverted transaction at external prices, numeraire: what it put in,
/// what it got out, its gas, and its profit net of gas (a revert loses its gas).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TradeValues {
    /// Input value.
    pub value_in: f64,
    /// Output value (0 if reverted).
    pub value_out: f64,
    /// Gas paid.
    pub gas_value: f64,
    /// Profit net of gas.
    pub profit: f64,
}

impl TradeValues {
    /// Values `r` at `prices`.
    pub fn of(r: &Receipt, prices: &ExternalPrices, config: &SimConfig) -> Self {
        let gas_value = prices.value(config.native(r.tx.chain), r.fee_wei);
        let (value_in, value_out) = match (&r.tx.action, &r.effect) {
            (Action::Swap(s), Effect::Swap(e)) => {
                (prices.value(s.token_in(), e.amount_in), prices.value(s.token_out(), e.amount_out))
            }
            // a flash liquidation pays back the loan and its premium out of the sale
            (Action::FlashLiquidate(f), Effect::FlashLiquidation(done)) => {
                let (l, sale) = &**done;
                let debt = match f.lend.op {
                    LendOp::Liquidate { debt, .. } => debt,
                    _ => f.sell.last().map_or(config.native(r.tx.chain), |x| x.token_out),
                };
                (prices.value(debt, l.amount.saturating_add(l.premium)), prices.value(debt, sale.amount_out))
            }
            // a liquidation pays the debt and receives the collateral
            (Action::Lend(Lend { op: LendOp::Liquidate { collateral, debt, .. }, .. }), Effect::Lend(e)) => {
                (prices.value(*debt, e.amount), prices.value(*collateral, e.seized))
            }
            // deposits and loans change what is held where, not what it is worth
            (Action::Lend(l), Effect::Lend(e)) => {
                let token = match l.op {
                    LendOp::Supply { token, .. }
                    | LendOp::Withdraw { token, .. }
                    | LendOp::Borrow { token, .. }
                    | LendOp::Repay { token, .. } => token,
                    LendOp::Liquidate { debt, .. } => debt,
                };
                let v = prices.value(token, e.amount);
                (v, v)
            }
            // a taker pays quote (fees included) for base, or base for quote; a hedged order's CEX leg
            // is counted in its output at the external price, which is what the hedge pays
            (Action::Book(_), Effect::Book(e)) => {
                let (mut vin, mut vout) = (0.0, 0.0);
                let (base, quote) = e
                    .book
                    .and_then(|b| config.books.get(b.index()).copied())
                    .unwrap_or((config.numeraire, config.numeraire));
                for f in &e.fills {
                    let (b, q) = (prices.value(base, f.base), prices.value(quote, f.quote));
                    let fee = prices.value(quote, f.taker_fee);
                    match f.taker_side {
                        meshsim_math::book::Side::Bid => (vin, vout) = (vin + q + fee, vout + b),
                        meshsim_math::book::Side::Ask => (vin, vout) = (vin + b, vout + q - fee),
                    }
                }
                (vin, vout)
            }
            // value moves to another chain, less the bridge's fee (one asset, one price)
            (Action::Bridge(_), Effect::Bridge(b)) => {
                (prices.value(b.token, b.amount), prices.value(b.token, b.amount - b.fee))
            }
            _ => (0.0, 0.0),
        };
        let profit = if r.succeeded() { value_out - value_in - gas_value } else { -gas_value };
        TradeValues { value_in, value_out, gas_value, profit }
    }
}

/// The pools' holdings gain `sum_k R_k . (P_k+1 - P_k)`, kept in closed form between trades: a
/// pool's balances change only when it trades (or its liquidity moves), so over a stretch of
/// blocks with the same balances `R` the sum telescopes to `R . (P_end - P_start)`. Each pool
/// remembers its balances and the prices they were read at; when its ledger version moves, the
/// stretch it closes goes into [`PoolMetrics::holdings_gain`]. What the open stretch has gained
/// so far is added wherever the totals are read ([`HoldingsGain::settle`]), so the block loop
/// pays a version check a pool, not a sum a pool and token. The telescoped form is also the
/// more accurate one: one rounding a stretch, not one a block.
#[derive(Component, Debug, Clone)]
pub struct HoldingsGain {
    pools: Vec<PoolHoldings>,
    /// Prices a base unit at the last observation (those the next stretch starts from).
    last: Vec<f64>,
}

/// One pool's open stretch: its account, the ledger version its balances were read at, and
/// each token's balance as a float with the price a base unit when it was read.
#[derive(Debug, Clone)]
struct PoolHoldings {
    account: crate::ledger::AccountId,
    seen: Option<u64>,
    held: smallvec::SmallVec<[Held; 4]>,
}

#[derive(Debug, Clone, Copy)]
struct Held {
    token: meshsim_scenario::TokenId,
    balance: f64,
    since: f64,
}

impl PoolHoldings {
    /// What the open stretch gained up to prices `now` (a base unit), summed in token order.
    fn open_gain(&self, now: &[f64]) -> f64 {
        self.held.iter().fold(-0.0, |g, h| g + h.balance * (now[h.token.index()] - h.since))
    }
}

impl HoldingsGain {
    /// Every pool's stretch opens at genesis prices.
    fn new(pools: &Pools, prices: &ExternalPrices) -> Self {
        let since = |t: &meshsim_scenario::TokenId| prices.per_base_unit[t.index()];
        HoldingsGain {
            pools: pools
                .entries
                .iter()
                .map(|e| PoolHoldings {
                    account: e.account,
                    seen: None,
                    held: e.tokens.iter().map(|t| Held { token: *t, balance: 0.0, since: since(t) }).collect(),
                })
                .collect(),
            last: prices.per_base_unit.clone(),
        }
    }

    /// Adds each pool's open stretch, up to `prices`, to the gain of `metrics` (a copy read out
    /// of the world: the world's own totals hold the closed stretches only).
    pub fn settle(&self, metrics: &mut Metrics, prices: &ExternalPrices) {
        for (m, h) in metrics.pools.iter_mut().zip(&self.pools) {
            m.holdings_gain += h.open_gain(&prices.per_base_unit);
        }
    }
}

/// Observe phase: a pool whose balances changed since the last observation closes its stretch
/// at the last observation's prices (it held the old balances through them) and opens a new one
/// with its balances now.
fn observe_holdings(state: State<(&Ledger, &ExternalPrices, &mut HoldingsGain, &mut Metrics)>) {
    let (ledger, prices, mut gain, mut metrics) = shared(state);
    let gain = &mut *gain;
    for (m, h) in metrics.pools.iter_mut().zip(gain.pools.iter_mut()) {
        let version = ledger.version(h.account);
        if h.seen == Some(version) {
            continue;
        }
        m.holdings_gain += h.open_gain(&gain.last);
        for held in &mut h.held {
            held.balance = meshsim_math::u128_to_f64(ledger.balance(h.account, held.token));
            held.since = gain.last[held.token.index()];
        }
        h.seen = Some(version);
    }
    gain.last.copy_from_slice(&prices.per_base_unit);
}

/// The sender of the block's transaction `tx`, from `senders` (every receipt's id and sender,
/// sorted by id), which it lists first if empty.
fn sender_of(senders: &mut Vec<(TxId, Sender)>, receipts: &Receipts, tx: TxId) -> Option<Sender> {
    if senders.is_empty() {
        // as much room as the receipts have: grows only when they do
        senders.reserve(receipts.items.capacity());
        senders.extend(receipts.items.iter().map(|r| (r.tx.id, r.tx.sender)));
        senders.sort_unstable_by_key(|x| x.0);
    }
    senders.binary_search_by_key(&tx, |x| x.0).ok().map(|k| senders[k].1)
}

/// Account phase: every receipt of the block, in order, into the totals.
fn account_receipts(
    state: State<(&Receipts, &ExternalPrices, &SimConfig, &Pools, &mut Metrics)>,
    mut senders: Local<Vec<(TxId, Sender)>>,
) {
    let (receipts, prices, config, pools, mut metrics) = shared(state);
    if receipts.items.is_empty() {
        return;
    }
    // who sent each transaction of the block, so that MEV can be charged to its victim: listed
    // the first time a block has MEV to charge (most blocks of most worlds have none)
    senders.clear();
    for r in &receipts.items {
        let tx = &r.tx;
        // a builder bid is charged with the first of its bundle's transactions
        let bid = match tx.sender {
            Sender::Agent(a) if r.builder_bid_wei > 0 => {
                Some((a, prices.value(config.native(tx.chain), r.builder_bid_wei)))
            }
            _ => None,
        };
        let reverted = match &r.outcome {
            Outcome::Included => false,
            Outcome::Reverted(_) => true,
            Outcome::Dropped(reason) => {
                metrics.on_dropped(tx.sender, *reason);
                if let Some((a, value)) = bid {
                    metrics.on_bid(a, value);
                }
                continue;
            }
        };
        let values = TradeValues::of(r, prices, config);
        metrics.on_trade(r, values, prices, &pools.dirty.vault_previous);
        if let Some((a, value)) = bid {
            metrics.on_bid(a, value);
        }
        if !reverted {
            if let (Some(lost), Some(s)) = (r.sandwich_shortfall, tx.swap()) {
                metrics.on_sandwiched(tx.sender, prices.value(s.token_out(), lost));
            }
            if tx.kind.is_mev()
                && let Cause::Victim(v) = tx.cause
                && let Some(victim) = sender_of(&mut senders, receipts, v)
            {
                metrics.on_mev(tx.sender, victim, values.profit, tx.kind);
            }
        }
    }
}

impl Metrics {
    fn on_dropped(&mut self, sender: Sender, reason: DropReason) {
        if reason == DropReason::ExpiredInMempool {
            self.expired += 1;
        } else {
            self.dropped += 1;
        }
        if let Sender::Vault(v) = sender
            && let Some(m) = self.vaults.get_mut(v.index())
        {
            m.failed += 1;
            m.last_failure = Some(Failure::Dropped(reason));
        }
    }

    /// A searcher's profit from a victim's transaction. A back-run does not hurt its victim: it
    /// takes the value the victim's price impact left in the pool, so for a vault it counts as
    /// arbitrage after its trades, like the plain arbitrageurs'.
    fn on_mev(&mut self, searcher: Sender, victim: Sender, profit: f64, kind: TxKind) {
        if let Sender::Agent(a) = searcher
            && let Some(m) = self.agents.get_mut(a.index())
        {
            m.mev_profit += profit;
        }
        if kind == TxKind::Backrun
            && let Sender::Vault(v) = victim
            && let Some(m) = self.vaults.get_mut(v.index())
        {
            m.arbitrage_after += profit.max(0.0);
        }
    }

    /// A searcher paid `value` to the builder for a bundle.
    fn on_bid(&mut self, agent: AgentId, value: f64) {
        if let Some(m) = self.agents.get_mut(agent.index()) {
            m.profit -= value;
            m.mev_profit -= value;
            m.bids_value += value;
        }
    }

    /// A vault's transaction ran inside a sandwich and lost `value` to the front-run.
    fn on_sandwiched(&mut self, victim: Sender, value: f64) {
        if let Sender::Vault(v) = victim
            && let Some(m) = self.vaults.get_mut(v.index())
        {
            m.mev_loss += value;
            m.sandwiched += 1;
        }
    }

    fn on_trade(&mut self, r: &Receipt, v: TradeValues, prices: &ExternalPrices, vault_previous: &[Option<VaultId>]) {
        let tx = &r.tx;
        let reverted = !r.succeeded();
        let hops: &[HopFill] = r.swap().map_or(&[], |e| &e.hops);
        let legs = tx.path();
        self.transactions += 1;
        self.gas_value += v.gas_value;
        match tx.sender {
            Sender::Agent(a) => {
                if let Some(agent) = self.agents.get_mut(a.index()) {
                    agent.profit += v.profit;
                    agent.gas_value += v.gas_value;
                    agent.transactions += 1;
                }
            }
            Sender::Vault(id) => {
                if let Some(m) = self.vaults.get_mut(id.index()) {
                    m.gas_value += v.gas_value;
                    m.transactions += 1;
                    let c = tx.chain.index();
                    if m.gas_by_chain.len() <= c {
                        m.gas_by_chain.resize(c + 1, 0.0);
                    }
                    m.gas_by_chain[c] += v.gas_value;
                    if let Outcome::Reverted(reason) = &r.outcome {
                        m.failed += 1;
                        m.last_failure = Some(Failure::Reverted(reason.clone()));
                    } else if let Some(b) = r.bridge() {
                        // moving value between chains costs the bridge's fee, no pool's
                        m.bridge_fees += prices.value(b.token, b.fee);
                    } else if let Some(e) = r.book() {
                        // taking from a book: its taker fees, and the spread paid beyond them
                        let quote = e.book.and_then(|b| self.book_quotes.get(b.index()).copied());
                        let fees: f64 = match quote {
                            Some(q) => e.fills.iter().map(|f| prices.value(q, f.taker_fee)).sum(),
                            None => 0.0,
                        };
                        let cost = -(v.profit + v.gas_value);
                        m.turnover_value += v.value_in;
                        m.fees += fees;
                        m.slippage += cost - fees;
                    } else {
                        // execution cost at external prices, split into LP fees and price impact
                        let fees: f64 = legs
                            .iter()
                            .zip(hops)
                            .map(|(l, q)| {
                                prices.value(if q.fee_in_output { l.token_out } else { l.token_in }, q.lp_fee)
                            })
                            .sum();
                        let cost = -(v.profit + v.gas_value);
                        if let Some(s) = tx.swap() {
                            m.turnover_value += prices.value(s.token_in(), s.amount_in);
                        }
                        m.fees += fees;
                        m.slippage += cost - fees;
                    }
                }
            }
        }
        if reverted {
            self.reverted += 1;
            return;
        }
        let arbitrage = tx.kind.is_arbitrage();
        // a multi-hop profit is shared evenly among its pools
        let per_pool = v.profit / legs.len() as f64;
        for (leg, q) in legs.iter().zip(hops) {
            let k = leg.pool.index();
            if let Some(p) = self.pools.get_mut(k) {
                p.trades += 1;
                if arbitrage {
                    p.arbitrage_profit += per_pool;
                }
                p.volume += prices.value(leg.token_in, q.amount_in);
                let fee_token = if q.fee_in_output { leg.token_out } else { leg.token_in };
                p.fees += prices.value(fee_token, q.lp_fee);
            }
            // arbitrage right after a vault moved this pool is value the vault's trade leaked
            if arbitrage
                && let Some(Some(vault)) = vault_previous.get(k)
                && let Some(m) = self.vaults.get_mut(vault.index())
            {
                m.arbitrage_after += per_pool.max(0.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn with_only_arbitrageurs_the_lps_loss_is_their_gross_profit_whenever_read() {
        // the pathwise identity: an LP's loss against rebalancing (holdings gain less the change
        // in pool value) is what the arbitrageurs took, gas included, at every block; read
        // mid-run, the holdings gain must include the stretches still open (S1's arbitrageur
        // skips blocks inside the fee band, so its stretches span many blocks)
        for name in ["lvr.ron", "bench/s1.ron"] {
            let s = crate::testkit::world(name);
            let mut sim = crate::Simulation::new(&s).expect("builds");
            let mut open = 0;
            for k in 1..=40 {
                for _ in 0..(97 + k) {
                    sim.step_block().expect("steps");
                }
                let (m, snap) = (sim.metrics(), sim.snapshot());
                let gross: f64 = m.agents.iter().map(|a| a.profit + a.gas_value).sum();
                let pool = &m.pools[0];
                let loss = pool.loss_vs_rebalancing(snap.pools[0].value);
                assert!(
                    (loss - gross).abs() <= 1e-9 * pool.initial_value,
                    "{name}, read {k}: LP loss {loss} vs arbitrage {gross}"
                );
                assert_eq!(
                    snap.metrics.pools[0].holdings_gain, pool.holdings_gain,
                    "{name}: snapshot and metrics agree"
                );
                // how often the read fell inside a stretch that began before this block
                let world = sim.view();
                let gain = world.state::<super::HoldingsGain>();
                open += usize::from(gain.pools[0].held.iter().any(|h| h.since != gain.last[h.token.index()]));
            }
            if name == "bench/s1.ron" {
                assert!(open > 10, "{name}: only {open} reads inside a stretch of several blocks");
            }
        }
    }
}
