//! CEX-DEX arbitrage: trade each watched pool back to the external price with the
//! profit-maximising size (the math crate's trade-to-price), hedge on the CEX, and only when the
//! profit net of fees and gas beats the agent's minimum. Capital limits apply per token.

use crate::engine::Fresh;
use bevy_ecs::prelude::*;
use meshsim_math::{SwapQuote, TradeEstimate};
use meshsim_scenario::{PoolId, TokenId};
use smallvec::SmallVec;

use crate::agents::{AgentMeta, MarketView, PendingTxs, SharedQuotes, ViewParams};
use crate::pools::{PairPrices, PoolBook, PoolEntry, SharedQuote};
use crate::tx::{Leg, Sender, Swap, Tx, TxKind};

/// A CEX-DEX arbitrageur's configuration.
#[derive(Component, Debug, Clone)]
pub struct CexDexArb {
    /// Pools it watches.
    pub pools: Vec<PoolId>,
    /// Minimum profit net of gas, numeraire.
    pub min_profit: f64,
    /// Priority fee bid, wei per gas.
    pub priority_fee_wei: u128,
}

/// The unconstrained optimal trade of one direction of one pool at this block's prices: a pure
/// function of the view, remembered so that several arbitrageurs watching the same pool size it
/// once per block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sizing {
    /// Profit-maximising input (trade-to-price at the external price).
    pub amount_in: u128,
    /// The quote for that input.
    pub quote: SwapQuote,
}

/// Memo of [`Sizing`]s and of their float estimates, by pool and token pair, for one block.
/// Each slot carries the block it was filled in, so a new block invalidates the memo without
/// touching it.
#[derive(Debug, Default)]
pub struct SizingMemo {
    offsets: Vec<usize>,
    slots: Vec<MemoSlot>,
}

#[derive(Debug, Clone, Copy)]
struct MemoSlot {
    estimate_block: u64,
    estimate: TradeEstimate,
    // the exact size when the model is exact (v2's closed form): sizing does not solve again
    exact_in: Option<u128>,
    sizing_block: u64,
    sizing: Option<Sizing>,
}

impl SizingMemo {
    #[inline]
    fn slot<B: PoolBook + ?Sized>(
        &mut self,
        view: &MarketView<'_, B>,
        entry: &PoolEntry,
        i: usize,
        j: usize,
    ) -> &mut MemoSlot {
        if self.offsets.len() != view.pools.len() + 1 {
            // lay out n x n slots per pool once
            self.offsets.clear();
            let mut at = 0;
            for k in 0..view.pools.len() {
                self.offsets.push(at);
                at += view.pools.pool(PoolId(k as u32)).map_or(0, |e| e.tokens.len() * e.tokens.len());
            }
            self.offsets.push(at);
            let empty = MemoSlot {
                estimate_block: u64::MAX,
                estimate: TradeEstimate { amount_in: f64::NAN, rate_convex: false },
                exact_in: None,
                sizing_block: u64::MAX,
                sizing: None,
            };
            self.slots = vec![empty; at];
        }
        let n = entry.tokens.len();
        &mut self.slots[self.offsets[entry.id.index()] + i * n + j]
    }

    /// The float model's trade to the external price (its size NaN if it has none).
    fn estimate<B: PoolBook + ?Sized>(
        &mut self,
        view: &MarketView<'_, B>,
        entry: &PoolEntry,
        i: usize,
        j: usize,
    ) -> TradeEstimate {
        let slot = self.slot(view, entry, i, j);
        if slot.estimate_block != view.block {
            let p_ext = view.prices.rate(entry.tokens[i], entry.tokens[j]);
            let (estimate, exact_in) = if matches!(entry.pool, meshsim_math::Pool::ConstantProduct(_)) {
                // v2's exact size is its closed form, as cheap as the model and the same number
                let exact = entry.input_to_price_above(i, j, p_ext).ok();
                let amount_in = exact.map_or(f64::NAN, meshsim_math::u128_to_f64);
                (TradeEstimate { amount_in, rate_convex: true }, exact)
            } else {
                (entry.pool.trade_to_price_estimate(i, j, p_ext), None)
            };
            *slot = MemoSlot { estimate_block: view.block, estimate, exact_in, ..*slot };
        }
        slot.estimate
    }

    fn get<B: PoolBook + ?Sized>(
        &mut self,
        view: &MarketView<'_, B>,
        entry: &PoolEntry,
        i: usize,
        j: usize,
    ) -> Option<Sizing> {
        let slot = self.slot(view, entry, i, j);
        if slot.sizing_block != view.block {
            let known = if slot.estimate_block == view.block { slot.exact_in } else { None };
            *slot = MemoSlot { sizing_block: view.block, sizing: size(view, entry, i, j, known), ..*slot };
        }
        slot.sizing
    }
}

/// The exact sizing; `known` is the exact trade-to-price size when already solved this block.
fn size<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    entry: &PoolEntry,
    i: usize,
    j: usize,
    known: Option<u128>,
) -> Option<Sizing> {
    let amount_in = match known {
        Some(a) => a,
        None => {
            let p_ext = view.prices.rate(entry.tokens[i], entry.tokens[j]);
            entry.input_to_price_above(i, j, p_ext).ok()?
        }
    };
    let amount_in = Some(amount_in).filter(|a| *a > 0)?;
    let quote = entry.pool.quote_exact_in(i, j, amount_in).ok()?;
    Some(Sizing { amount_in, quote })
}

/// Whether a direction cannot pay: the trade to the external price gains at most `(p0 - p*) a`
/// in the output token (the pool's rate falls from its net price `p0` to the target `p*` over
/// the trade; a capital-limited part of it gains less), and at most half that when the rate is
/// convex in the input (the chord lies above it). When even that, at the float model's size
/// with a margin far above its error, is no more than the gas of a swap that crosses no tick
/// plus the minimum profit, the exact solve is skipped: the same decision the exact numbers
/// would reach, for a fraction of the work.
fn cannot_pay(estimate: TradeEstimate, p0: f64, p_ext: f64, out_value: f64, gas_floor: f64, min_profit: f64) -> bool {
    let TradeEstimate { amount_in: estimate, rate_convex } = estimate;
    if !(estimate.is_finite() && estimate > 0.0) {
        return false; // no model answer (or a rounding-level one): solve exactly
    }
    let shape = if rate_convex { 0.5 } else { 1.0 };
    let bound = (p0 - p_ext) * estimate * shape * 1.01 * out_value;
    let best = bound - gas_floor;
    best <= min_profit || best <= 0.0
}

/// Pure policy: at most one transaction per watched pool, the most profitable direction, written
/// to `out`, and to `quotes` the exact quote each was sized with (for the executor to reuse while
/// the pool stands). `memo` only remembers pure results of the view.
pub fn plan_cex_dex<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    me: &AgentMeta,
    cfg: &CexDexArb,
    memo: &mut SizingMemo,
    out: &mut Vec<Tx>,
    quotes: &mut Vec<SharedQuote>,
) {
    let mut spent: SmallVec<[(TokenId, u128); 8]> = SmallVec::new();
    let spent_of =
        |spent: &SmallVec<[(TokenId, u128); 8]>, t: TokenId| spent.iter().find(|(x, _)| *x == t).map_or(0, |(_, v)| *v);
    let mut gas_reserved: u128 = 0;
    // no base fee and no tip: every fee below is zero wei, worth exactly zero (a finite price)
    let gas_free = view.gas_fee_wei(1, cfg.priority_fee_wei) == 0 && view.gas_fee_value(1, cfg.priority_fee_wei) == 0.0;
    for pool_id in &cfg.pools {
        let Some(entry) = view.pools.pool(*pool_id) else { continue };
        let n = entry.tokens.len();
        // most pools of most blocks sit inside their fee band both ways: for a two-token pool,
        // the same test as below for both directions, without the general loop's bookkeeping
        if let Some(&PairPrices { tokens: [t0, t1], net: [n01, n10] }) = entry.pair() {
            let per_unit = &view.prices.per_base_unit;
            let (u0, u1) = (per_unit[t0.index()], per_unit[t1.index()]);
            if n01 <= u0 / u1 && n10 <= u1 / u0 {
                continue;
            }
        }
        // the most profitable direction: its profit, leg, and quote with the input it was asked for
        let mut best: Option<(f64, Leg, SwapQuote, u128)> = None;
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                let (t_in, t_out) = (entry.tokens[i], entry.tokens[j]);
                // quick reject: the pool pays no more than the CEX for this direction
                let (p0, p_ext) = (entry.net_price(i, j), view.prices.rate(t_in, t_out));
                if p0 <= p_ext {
                    continue;
                }
                // with free gas and no minimum every trade that gains pays: nothing to screen
                if !gas_free || cfg.min_profit > 0.0 {
                    let gas_floor = view.gas_fee_value(view.gas.base_tx + view.hop_gas(entry, 0), cfg.priority_fee_wei);
                    if gas_floor > 0.0 || cfg.min_profit > 0.0 {
                        let estimate = memo.estimate(view, entry, i, j);
                        let out_value = view.prices.value(t_out, 1);
                        if cannot_pay(estimate, p0, p_ext, out_value, gas_floor, cfg.min_profit) {
                            continue;
                        }
                    }
                }
                let Some(sizing) = memo.get(view, entry, i, j) else { continue };
                let available = view.balance(me.account, t_in).saturating_sub(spent_of(&spent, t_in));
                let (q, asked) = if sizing.amount_in <= available {
                    (sizing.quote, sizing.amount_in)
                } else if available > 0 {
                    // capital limit: the largest trade it can afford
                    let Ok(q) = entry.pool.quote_exact_in(i, j, available) else { continue };
                    (q, available)
                } else {
                    continue;
                };
                if q.amount_out == 0 {
                    continue;
                }
                let gross = view.prices.value(t_out, q.amount_out) - view.prices.value(t_in, q.amount_in);
                let profit = if gas_free {
                    gross
                } else {
                    gross
                        - view.gas_fee_value(
                            view.gas.base_tx + view.hop_gas(entry, q.ticks_crossed),
                            cfg.priority_fee_wei,
                        )
                };
                if profit <= cfg.min_profit || profit <= 0.0 {
                    continue;
                }
                if best.as_ref().is_none_or(|(b, ..)| profit > *b) {
                    let leg = Leg { pool: *pool_id, i: i as u8, j: j as u8, token_in: t_in, token_out: t_out };
                    best = Some((profit, leg, q, asked));
                }
            }
        }
        if let Some((_, leg, q, asked)) = best {
            if !gas_free {
                let fee = view.gas_fee_wei(view.gas.base_tx + view.gas.swap_concentrated, cfg.priority_fee_wei);
                if view.balance(me.account, view.native) < gas_reserved.saturating_add(fee) {
                    continue; // cannot pay gas
                }
                gas_reserved += fee;
            }
            let (t_in, amount_in) = (leg.token_in, q.amount_in);
            match spent.iter_mut().find(|(x, _)| *x == t_in) {
                Some((_, v)) => *v += amount_in,
                None => spent.push((t_in, amount_in)),
            }
            // the contract reverts unless it gets what it priced (another arb may be first)
            let swap =
                Swap { legs: smallvec::smallvec![leg], amount_in: q.amount_in, min_out: q.amount_out, hedge: true };
            let mut tx =
                Tx::new(Sender::Agent(me.id), 0, TxKind::Arbitrage, cfg.priority_fee_wei, swap.into(), view.block);
            tx.cause = view.provenance.arbitrage_cause(*pool_id);
            tx.seq = out.len() as u32;
            out.push(tx);
            // the swap asks for the quote's input: where that is what the pool was asked (all
            // of it filled), the executor's own quote would be this one
            if q.amount_in == asked {
                quotes.push(SharedQuote::of(entry, leg.i, leg.j, asked, q));
            }
        }
    }
}

/// Decide phase: each CEX-DEX arbitrageur plans its transactions.
pub(super) fn decide_cex_dex(
    view: ViewParams,
    mut agents: Fresh<(&AgentMeta, &CexDexArb, &mut PendingTxs, &mut SharedQuotes)>,
    mut memo: Local<SizingMemo>,
) {
    view.with_view(|v| {
        for (meta, cfg, mut pending, mut quotes) in &mut agents {
            if meta.chain != v.chain {
                continue;
            }
            plan_cex_dex(v, meta, cfg, &mut memo, &mut pending.0, &mut quotes.0);
        }
    });
}

#[cfg(test)]
mod tests {
    use meshsim_scenario::{AgentId, PoolId, TokenId};

    use super::*;
    use crate::chain::ChainId;
    use crate::testkit::Market;

    const ETH: TokenId = TokenId(0);
    const USDC: TokenId = TokenId(1);

    /// S1: one ETH/USDC pool at 2,000 (0.30 %) and its arbitrageur.
    fn s1() -> (Market, AgentMeta, CexDexArb) {
        let m = Market::of("bench/s1.ron");
        let me = AgentMeta {
            id: AgentId(0),
            name: "arb".into(),
            account: m.layout.agent(AgentId(0)),
            chain: ChainId(0),
            label: "arbitrageur",
        };
        let cfg = CexDexArb { pools: vec![PoolId(0)], min_profit: 0.0, priority_fee_wei: 0 };
        (m, me, cfg)
    }

    fn plan(m: &Market, me: &AgentMeta, cfg: &CexDexArb) -> Vec<Tx> {
        let mut out = Vec::new();
        let mut quotes = Vec::new();
        plan_cex_dex(&m.view(1), me, cfg, &mut SizingMemo::default(), &mut out, &mut quotes);
        // every shared quote is the pool's own answer for its transaction's input
        assert_eq!(quotes.len(), out.len());
        for (tx, q) in out.iter().zip(&quotes) {
            let swap = tx.swap().expect("a swap");
            let entry = &m.pools[q.pool.index()];
            assert_eq!((q.amount_in, q.version), (swap.amount_in, entry.version()));
            assert_eq!(entry.pool.quote_exact_in(q.i.into(), q.j.into(), q.amount_in).ok(), Some(q.quote));
        }
        out
    }

    #[test]
    fn inside_the_fee_band_it_sends_nothing() {
        let (mut m, me, cfg) = s1();
        for price in [2000.0, 2004.0, 1996.0] {
            m.set_price(ETH, price);
            assert!(plan(&m, &me, &cfg).is_empty(), "traded at {price} inside a 0.3 % band");
        }
    }

    #[test]
    fn it_trades_the_pool_to_the_external_price_and_no_further() {
        let (mut m, me, cfg) = s1();
        for (price, sells) in [(2100.0, USDC), (1900.0, ETH)] {
            let (mut m2, _, _) = s1();
            m2.set_price(ETH, price);
            m.set_price(ETH, price);
            let txs = plan(&m, &me, &cfg);
            assert_eq!(txs.len(), 1, "at {price}");
            let swap = txs[0].swap().expect("a swap");
            assert_eq!((swap.legs.len(), swap.token_in(), swap.hedge), (1, sells, true));
            // the minimum is the exact quote: another trade ahead of it makes it revert
            let leg = swap.legs[0];
            let q = m.pools[0].pool.quote_exact_in(leg.i.into(), leg.j.into(), swap.amount_in).expect("quotes");
            assert_eq!(q.amount_out, swap.min_out);
            // after its own trade the pool sits at the external price: nothing more to take (the
            // next unit's rate, with the fee left in the pool, is a hair below it)
            m2.pools[0].apply_quote(leg.i.into(), leg.j.into(), &q).expect("applies");
            assert!(plan(&m2, &me, &cfg).is_empty(), "still profitable after trading to {price}");
            let rate = m2.prices.rate(leg.token_in, leg.token_out);
            let net = m2.pools[0].net_price(leg.i.into(), leg.j.into());
            assert!(net <= rate && net / rate > 1.0 - 1e-4, "net price {net} against {rate}");
        }
    }

    #[test]
    fn the_screen_bounds_what_the_exact_trade_gains() {
        // every pool kind of the mesh world, its prices moved both ways by up to 3 %
        let mut m = Market::of("mesh.ron");
        let base = m.prices.per_token.clone();
        let (mut checked, mut convex) = (0, 0);
        for shock in [-0.03, -0.004, 0.001, 0.02] {
            for (k, price) in base.iter().enumerate() {
                let token = TokenId(k as u16);
                if token != m.scenario.numeraire {
                    m.set_price(token, price * (1.0 + shock * if k % 2 == 0 { 1.0 } else { -0.5 }));
                }
            }
            let view = m.view(1);
            for entry in &m.pools {
                for (i, j) in [(0, 1), (1, 0)] {
                    let (p0, p_ext) = (entry.net_price(i, j), view.prices.rate(entry.tokens[i], entry.tokens[j]));
                    let Some(sizing) = (p0 > p_ext).then(|| size(&view, entry, i, j, None)).flatten() else { continue };
                    let estimate = entry.pool.trade_to_price_estimate(i, j, p_ext);
                    let out_value = view.prices.value(entry.tokens[j], 1);
                    let gain = view.prices.value(entry.tokens[j], sizing.quote.amount_out)
                        - view.prices.value(entry.tokens[i], sizing.quote.amount_in);
                    // the screen skips exactly when this bound, less gas and the minimum, is not positive
                    let shape = if estimate.rate_convex { 0.5 } else { 1.0 };
                    let bound = (p0 - p_ext) * estimate.amount_in * shape * 1.01 * out_value;
                    convex += usize::from(estimate.rate_convex);
                    assert!(gain <= bound, "{}: gains {gain} above the bound {bound}", entry.name);
                    assert!(!cannot_pay(estimate, p0, p_ext, out_value, 0.0, gain * 0.99), "{}", entry.name);
                    assert!(cannot_pay(estimate, p0, p_ext, out_value, bound, 0.0), "{}", entry.name);
                    checked += 1;
                }
            }
        }
        assert!(checked > 40 && convex > 20, "only {checked} directions to check, {convex} of them convex");
    }

    #[test]
    fn capital_and_minimum_profit_bound_the_trade() {
        let (mut m, me, mut cfg) = s1();
        m.set_price(ETH, 2100.0);
        let unbounded = plan(&m, &me, &cfg)[0].swap().expect("a swap").amount_in;
        // with 1,000 USDC it can only spend that
        let usdc = m.ledger.balance(me.account, USDC);
        m.ledger.transfer(me.account, m.layout.pool(PoolId(0)), USDC, usdc - 1_000_000_000).expect("moves");
        let bounded = plan(&m, &me, &cfg)[0].swap().expect("a swap").amount_in;
        assert!(bounded == 1_000_000_000 && bounded < unbounded, "{bounded} of {unbounded}");
        // a minimum profit above what the trade makes stops it
        cfg.min_profit = 1e9;
        assert!(plan(&m, &me, &cfg).is_empty());
    }
}
