//! Per-block and per-transaction rows, buffered for a front end to drain; present only in runs
//! that record. Trade rows are written from receipts; notes are formatted here, never in the
//! block loop. Nothing here does I/O.

use bevy_ecs::prelude::*;
use meshsim_scenario::{PoolId, TokenId, Trigger};

use crate::chain::Chains;
use crate::engine::{App, Phase, Plugin, State, shared};
use crate::ledger::Ledger;
use crate::market::ExternalPrices;
use crate::metrics::TradeValues;
use crate::pools::Pools;
use crate::tx::{Action, Lend, LendEffect, LendOp, Note, Outcome, Receipt, Receipts, Sender, TriggerNote, TxKind};
use crate::{SimConfig, SimError};

/// Output rows.
pub struct RecordsPlugin;

impl Plugin for RecordsPlugin {
    fn name(&self) -> &'static str {
        "records"
    }

    fn present(&self, _: &meshsim_scenario::Scenario, options: &crate::SimOptions) -> bool {
        options.record
    }

    fn build(&self, app: &mut App<'_>) -> Result<(), SimError> {
        let s = app.scenario;
        app.insert_state(Records {
            oracle_names: s.oracles.iter().map(|o| o.name.clone()).collect(),
            vault_names: s.vaults.iter().map(|v| v.name.clone()).collect(),
            bridges: s.bridges.iter().map(|b| (b.name.clone(), b.tokens.clone())).collect(),
            books: s.books.clone(),
            ..Default::default()
        });
        app.add_systems(Phase::Record, record_block);
        app.add_systems(Phase::Record, record_trades);
        Ok(())
    }
}

/// Buffered rows since the last drain.
#[derive(Component, Debug, Clone, Default)]
pub struct Records {
    /// Block rows.
    pub blocks: Vec<BlockRow>,
    /// Trade rows.
    pub trades: Vec<TradeRow>,
    /// Vault rows.
    pub vaults: Vec<VaultRow>,
    /// Lending rows, one per reserve per block.
    pub lending: Vec<LendingRow>,
    oracle_names: Vec<String>,
    vault_names: Vec<String>,
    /// Each bridge's name and token pairs.
    bridges: Vec<(String, Vec<(TokenId, TokenId)>)>,
    /// The order books.
    books: Vec<meshsim_scenario::BookSpec>,
}

impl Records {
    /// A book action's row: what the taker side of its fills paid and got (fees included), and a
    /// note with the fills' price range and what rested, was cancelled or refused.
    fn book_row(
        &self,
        r: &Receipt,
        position: u32,
        action: &crate::tx::BookAction,
        prices: &ExternalPrices,
        config: &SimConfig,
    ) -> Option<TradeRow> {
        use meshsim_math::book::Side;
        let spec = self.books.get(action.book.index())?;
        let mut values = TradeValues::of(r, prices, config);
        let price = |tick: u64| tick as f64 * meshsim_math::u128_to_f64(spec.tick_size) * config.unit(spec.quote);
        let Some(e) = r.book() else {
            let row = TradeRow::of(r, position, values, (spec.quote, spec.base), (0, 0), format!("book {}", spec.name));
            return Some(row);
        };
        let side = e.fills.first().map_or(Side::Bid, |f| f.taker_side);
        let (mut paid, mut got) = (0u128, 0u128);
        for f in e.fills.iter().filter(|f| f.taker_side == side) {
            match side {
                Side::Bid => (paid, got) = (paid + f.quote + f.taker_fee, got + f.base),
                Side::Ask => (paid, got) = (paid + f.base, got + f.quote - f.taker_fee),
            }
        }
        let (token_in, token_out) = if side == Side::Bid { (spec.quote, spec.base) } else { (spec.base, spec.quote) };
        values.value_in = prices.value(token_in, paid);
        let mut note = format!("book {}", spec.name);
        if let (Some(lo), Some(hi)) = (e.fills.iter().map(|f| f.tick).min(), e.fills.iter().map(|f| f.tick).max()) {
            note.push_str(&format!("; {} fills at {:.6}..{:.6}", e.fills.len(), price(lo), price(hi)));
        }
        let rested: u64 = e.ops.iter().map(|o| o.rested).sum();
        let placed = e.ops.iter().filter(|o| o.order.is_some()).count();
        let refused = e.ops.iter().filter(|o| o.error.is_some()).count();
        let cancels = action.ops.iter().filter(|o| o.is_cancel()).count();
        if placed > 0 {
            note.push_str(&format!("; {placed} placed, {rested} lots resting"));
        }
        if cancels > 0 {
            note.push_str(&format!("; {cancels} cancels"));
        }
        if refused > 0 {
            note.push_str(&format!("; {refused} refused"));
        }
        Some(TradeRow::of(r, position, values, (token_in, token_out), (paid, got), note))
    }

    /// A bridge transfer's row: the token sent and the token it becomes, the amount sent and
    /// what will be delivered; the note names the bridge, the transfer and when it is due.
    fn bridge_row(
        &self,
        r: &Receipt,
        position: u32,
        send: &crate::tx::BridgeSend,
        prices: &ExternalPrices,
        config: &SimConfig,
    ) -> Option<TradeRow> {
        let (name, pairs) = self.bridges.get(send.bridge.index())?;
        let &(a, b) = pairs.get(usize::from(send.pair))?;
        let (from, to) = match send.direction {
            crate::bridges::Direction::Out => (a, b),
            crate::bridges::Direction::Back => (b, a),
        };
        let mut values = TradeValues::of(r, prices, config);
        let (out, note) = match r.bridge() {
            Some(e) => {
                let due = if e.arrives_at_ms == u64::MAX {
                    "waiting for a relayer".to_string()
                } else {
                    format!("due at {:.3} s", e.arrives_at_ms as f64 / 1000.0)
                };
                (e.amount - e.fee, format!("bridge {name} transfer {}; fee {}; {due}", e.transfer, e.fee))
            }
            None => (0, format!("bridge {name}")),
        };
        values.value_in = prices.value(from, send.amount);
        Some(TradeRow::of(r, position, values, (from, to), (send.amount, out), note))
    }

    /// A note as the tables print it.
    pub fn note_text(&self, note: &Note) -> String {
        match note {
            Note::None => String::new(),
            Note::Trigger(t) => self.trigger_text(t),
            Note::Predicts(v) => {
                format!("predicts {} next block", self.vault_names.get(v.index()).map_or("?", String::as_str))
            }
            Note::PredictionMissed => "prediction missed".into(),
        }
    }

    fn trigger_text(&self, t: &TriggerNote) -> String {
        let rule = match t.rule {
            Trigger::Threshold { relative, .. } => {
                format!("threshold{} band {:.4}", if relative { " (relative)" } else { "" }, t.band)
            }
            Trigger::VolatilityAdjusted { .. } => format!("volatility-adjusted band {:.4}", t.band),
            Trigger::CostAware { .. } => format!("cost-aware band {:.4}", t.band),
            Trigger::Predictive { .. } => format!("predictive band {:.4}", t.band),
            Trigger::PeriodicBlocks(n) => format!("every {n} blocks"),
            Trigger::PeriodicSeconds(s) => format!("every {s} s"),
        };
        let readings: Vec<String> = t
            .readings
            .iter()
            .map(|(o, p)| format!("{}={p:.6}", self.oracle_names.get(o.index()).map_or("?", String::as_str)))
            .collect();
        format!("{rule}; {}", readings.join(", "))
    }
}

/// One row of the `trades` table.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeRow {
    /// Block number (of its chain).
    pub block: u64,
    /// The chain it ran on.
    pub chain: crate::chain::ChainId,
    /// Position in the block.
    pub index: u32,
    /// Transaction id.
    pub tx_id: crate::tx::TxId,
    /// Sender.
    pub sender: Sender,
    /// Purpose.
    pub kind: TxKind,
    /// Pools of the path.
    pub pools: Vec<PoolId>,
    /// First hop's input token.
    pub token_in: TokenId,
    /// Last hop's output token.
    pub token_out: TokenId,
    /// Input, base units.
    pub amount_in: u128,
    /// Output, base units (0 if reverted).
    pub amount_out: u128,
    /// Gas used.
    pub gas_used: u64,
    /// Gas fee paid, wei.
    pub gas_fee_wei: u128,
    /// Reverted.
    pub reverted: bool,
    /// Why it reverted (empty otherwise).
    pub revert_reason: String,
    /// Profit net of gas, numeraire (for arbitrageurs).
    pub profit: f64,
    /// Why it was sent.
    pub cause: crate::tx::Cause,
    /// The rule that fired, for vault rebalances.
    pub note: String,
    /// Input value at external prices, numeraire.
    pub value_in: f64,
}

impl TradeRow {
    /// A receipt's row: what it traded (tokens and amounts in and out) and its note, the rest
    /// from the receipt itself.
    fn of(
        r: &Receipt,
        position: u32,
        values: TradeValues,
        (token_in, token_out): (TokenId, TokenId),
        (amount_in, amount_out): (u128, u128),
        note: String,
    ) -> Self {
        TradeRow {
            block: r.block,
            chain: r.tx.chain,
            index: position,
            tx_id: r.tx.id,
            sender: r.tx.sender,
            kind: r.tx.kind,
            pools: r.tx.pools().collect(),
            token_in,
            token_out,
            amount_in,
            amount_out,
            gas_used: r.gas_used,
            gas_fee_wei: r.fee_wei,
            reverted: matches!(r.outcome, Outcome::Reverted(_)),
            revert_reason: revert_text(&r.outcome),
            profit: values.profit,
            cause: r.tx.cause.clone(),
            note,
            value_in: values.value_in,
        }
    }
}

/// One pool's state in a block row.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolRow {
    /// Marginal price of token0 in token1, whole-token units.
    pub price: f64,
    /// Balances held, base units, in the pool's token order.
    pub balances: Vec<u128>,
}

/// One row of the `blocks` table.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockRow {
    /// Block number (of its chain).
    pub block: u64,
    /// The chain whose block it is.
    pub chain: crate::chain::ChainId,
    /// Seconds since genesis.
    pub timestamp: f64,
    /// Base fee of the block, wei.
    pub base_fee_wei: u128,
    /// Gas used in the block.
    pub gas_used: u64,
    /// External price of every token, numeraire per whole token.
    pub prices: Vec<f64>,
    /// Pools by id.
    pub pools: Vec<PoolRow>,
}

/// One row of the `vaults` table.
#[derive(Debug, Clone, PartialEq)]
pub struct VaultRow {
    /// Block number.
    pub block: u64,
    /// Vault.
    pub vault: meshsim_scenario::VaultId,
    /// NAV at external prices, numeraire.
    pub nav: f64,
    /// NAV per share (1.0 at genesis).
    pub share_price: f64,
    /// Shares outstanding, 18 decimals.
    pub shares: u128,
    /// The vault's tokens (its universe), by id.
    pub tokens: Vec<TokenId>,
    /// Weights at external prices, per universe token.
    pub weights: Vec<f64>,
    /// Targets, per universe token.
    pub targets: Vec<f64>,
    /// L2 distance of the weights (at external prices) from the targets.
    pub tracking_error: f64,
    /// The trigger's band this block.
    pub band: f64,
    /// It sent rebalancing transactions this block.
    pub rebalancing: bool,
    /// Buy-and-hold benchmark NAV.
    pub hold_nav: f64,
    /// Costless continuously rebalanced benchmark NAV.
    pub continuous_nav: f64,
}

/// One row of the `lending` table: one reserve of one market at the end of a block.
#[derive(Debug, Clone, PartialEq)]
pub struct LendingRow {
    /// Block number.
    pub block: u64,
    /// Market.
    pub market: meshsim_scenario::MarketId,
    /// Reserve token.
    pub token: TokenId,
    /// Oracle price the market uses, numeraire per whole token.
    pub price: f64,
    /// Utilization, 0 to 1.
    pub utilization: f64,
    /// Variable borrow rate, a year (0.05 = 5 %).
    pub borrow_rate: f64,
    /// Supply rate, a year.
    pub supply_rate: f64,
    /// Supply index (1 at genesis).
    pub liquidity_index: f64,
    /// Variable borrow index (1 at genesis).
    pub borrow_index: f64,
    /// Underlying held by the reserve, base units.
    pub available: u128,
    /// Owed by borrowers, base units.
    pub borrowed: u128,
    /// Debt written off without collateral so far, base units.
    pub deficit: u128,
    /// Liquidations that repaid this reserve's debt so far.
    pub liquidations: u64,
    /// Debt repaid by liquidators so far, base units.
    pub debt_liquidated: u128,
    /// Collateral seized from this reserve so far, base units.
    pub collateral_seized: u128,
    /// Positions owing this reserve whose health factor is below 1.
    pub under_water: u64,
}

/// Record phase: one block row.
fn record_block(state: State<(&Chains, &ExternalPrices, &Pools, &Ledger, &mut Records)>) {
    let (chains, prices, pools, ledger, mut records) = shared(state);
    let chain = chains.active();
    let pools = pools
        .entries
        .iter()
        .map(|e| PoolRow {
            price: e.whole_price(),
            balances: e.tokens.iter().map(|t| ledger.balance(e.account, *t)).collect(),
        })
        .collect();
    records.blocks.push(BlockRow {
        block: chain.clock.number,
        chain: chain.id,
        timestamp: chain.clock.timestamp,
        base_fee_wei: chain.gas.base_fee_wei,
        gas_used: chain.gas.gas_used,
        prices: prices.per_token.clone(),
        pools,
    });
}

/// Record phase: a trade row per included transaction, from its receipt.
fn record_trades(state: State<(&Receipts, &ExternalPrices, &SimConfig, &mut Records)>) {
    let (receipts, prices, config, mut records) = shared(state);
    for r in &receipts.items {
        let lend = match &r.tx.action {
            Action::Lend(l) => Some(l),
            Action::FlashLiquidate(f) => Some(&f.lend),
            Action::Swap(_) => None,
            Action::Book(action) => {
                if let Some(row) = r.position.and_then(|position| records.book_row(r, position, action, prices, config))
                {
                    records.trades.push(row);
                }
                continue;
            }
            Action::Bridge(send) => {
                if let Some(row) = r.position.and_then(|position| records.bridge_row(r, position, send, prices, config))
                {
                    records.trades.push(row);
                }
                continue;
            }
        };
        if let (Some(position), Some(lend), Some(effect)) = (r.position, lend, r.lend()) {
            let row = lend_row(r, position, lend, effect, TradeValues::of(r, prices, config));
            records.trades.push(row);
            continue;
        }
        let (Some(position), Some(swap), Some(effect)) = (r.position, r.tx.swap(), r.swap()) else { continue };
        let values = TradeValues::of(r, prices, config);
        let note = records.note_text(&r.tx.note);
        let row = TradeRow::of(
            r,
            position,
            values,
            (swap.token_in(), swap.token_out()),
            (effect.amount_in, effect.amount_out),
            note,
        );
        records.trades.push(row);
    }
}

/// A lending action's row: no pools; what the sender paid in and got out (a liquidation pays
/// the debt token and gets the collateral); the note names the position and its health.
fn lend_row(r: &Receipt, position: u32, lend: &Lend, e: &LendEffect, values: TradeValues) -> TradeRow {
    let (token_in, token_out, amount_in, amount_out) = match lend.op {
        LendOp::Liquidate { collateral, debt, .. } => (debt, collateral, e.amount, e.seized),
        LendOp::Supply { token, .. } | LendOp::Repay { token, .. } => (token, token, e.amount, 0),
        LendOp::Withdraw { token, .. } | LendOp::Borrow { token, .. } => (token, token, 0, e.amount),
    };
    let health = |h: u128| {
        if h == u128::MAX { "none".to_string() } else { format!("{:.4}", meshsim_math::u128_to_f64(h) / 1e18) }
    };
    let flash = matches!(r.tx.action, Action::FlashLiquidate(_));
    let mut note = if flash { format!("flash {}", lend.op.name()) } else { lend.op.name().to_string() };
    if e.position != u32::MAX {
        note.push_str(&format!(" position {}", e.position));
    }
    if !r.succeeded() {
        // a revert did nothing to the position
    } else if matches!(lend.op, LendOp::Liquidate { .. }) {
        note.push_str(&format!("; health {} -> {}", health(e.health_before), health(e.health_after)));
        if let (true, Some(sale)) = (flash, r.swap()) {
            note.push_str(&format!("; collateral sold for {}, premium {}", sale.amount_out, e.premium));
        }
        if e.bad_debt_base > 0 {
            note.push_str(&format!("; bad debt {:.2}", meshsim_math::u128_to_f64(e.bad_debt_base) / 1e8));
        }
    } else {
        note.push_str(&format!("; health {}", health(e.health_after)));
    }
    TradeRow::of(r, position, values, (token_in, token_out), (amount_in, amount_out), note)
}

/// Why a transaction reverted, for its row (empty if it did not).
fn revert_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Reverted(reason) => reason.to_string(),
        Outcome::Included | Outcome::Dropped(_) => String::new(),
    }
}
