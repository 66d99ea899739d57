//! The executor: what every transaction goes through whatever it does. Expired ones are dropped;
//! gas is charged first (base fee burned, priority fee to the proposer); a transaction the venue
//! reverts still pays gas. The action itself is quoted and applied by the venue that owns it, and
//! every transaction leaves a [`Receipt`].

use crate::chain::GasMarket;
use crate::engine::venue::{ExecCtx, Venue};
use crate::ledger::{AccountId, Special};
use crate::lending::{FlashVenue, Lending};
use crate::pools::venue::CachedPools;
use crate::pools::{Pools, QuoteCache};
use crate::tx::{Action, DropReason, Effect, Outcome, Receipt, RevertReason, Sender, Tx};

/// Everything executing the block needs, borrowed from the world.
pub(super) struct Executor<'a> {
    /// The AMM venue.
    pub pools: &'a mut Pools,
    /// Quotes the pools' senders already computed.
    pub quotes: &'a QuoteCache,
    /// The lending venue, in worlds that have one.
    pub lending: Option<&'a mut Lending>,
    /// The bridges, in worlds that have them.
    pub bridges: Option<&'a mut crate::bridges::Bridges>,
    /// The order books, in worlds that have them.
    pub books: Option<&'a mut crate::books::Books>,
    /// The execution context venues see.
    pub ctx: ExecCtx<'a>,
    /// The block's gas market.
    pub gas: &'a mut GasMarket,
    /// Receipts so far.
    pub receipts: &'a mut Vec<Receipt>,
    /// Position of the next included transaction.
    pub position: u32,
    /// Scratch for bundle simulation.
    pub simulated: Vec<bool>,
}

impl Executor<'_> {
    /// Accounts that pay the tokens and the gas.
    pub fn payers(&self, sender: Sender) -> (AccountId, AccountId) {
        payers_of(&self.ctx.config.layout, sender)
    }

    /// Charges gas for `gas_units` at the base fee plus `tip`; `None` if it does not fit the block
    /// or the payer cannot pay.
    pub fn charge_gas(&mut self, gas_payer: AccountId, gas_units: u64, tip: u128) -> Option<u128> {
        charge_gas(&mut self.ctx, self.gas, gas_payer, gas_units, tip)
    }

    /// Files a receipt; included ones (executed or reverted) get the next position.
    pub fn file(&mut self, mut receipt: Receipt) {
        if !matches!(receipt.outcome, Outcome::Dropped(_)) {
            receipt.position = Some(self.position);
            self.position += 1;
        }
        self.receipts.push(receipt);
    }

    /// A receipt for `tx`.
    pub fn receipt(&self, tx: Tx, outcome: Outcome, gas_used: u64, fee_wei: u128, effect: Effect) -> Receipt {
        Receipt {
            block: self.ctx.block,
            position: None,
            tx,
            outcome,
            gas_used,
            fee_wei,
            effect,
            sandwich_shortfall: None,
            builder_bid_wei: 0,
        }
    }

    /// Executes one transaction and files its receipt; returns the receipt's index. The receipt
    /// is filed first and filled in place (a receipt is large: it is written once, not moved).
    pub fn run(&mut self, tx: Tx) -> usize {
        let receipt = self.receipt(tx, Outcome::Included, 0, 0, Effect::None);
        self.receipts.push(receipt);
        let k = self.receipts.len() - 1;
        self.execute_filed(k);
        k
    }

    /// Executes `txs` in order, filing a receipt for each, and leaves `txs` empty. Every receipt
    /// is filed before the first runs, each transaction moved once from `txs` into its receipt.
    pub fn run_all(&mut self, txs: &mut Vec<Tx>) {
        let first = self.receipts.len();
        let block = self.ctx.block;
        self.receipts.extend(txs.drain(..).map(|tx| Receipt {
            block,
            position: None,
            tx,
            outcome: Outcome::Included,
            gas_used: 0,
            fee_wei: 0,
            effect: Effect::None,
            sandwich_shortfall: None,
            builder_bid_wei: 0,
        }));
        for k in first..self.receipts.len() {
            self.execute_filed(k);
        }
    }

    /// Executes the transaction of the filed receipt `k`, writing its results into the receipt.
    fn execute_filed(&mut self, k: usize) {
        let Receipt { tx, outcome, gas_used, fee_wei, effect, position, .. } = &mut self.receipts[k];
        let payers = payers_of(&self.ctx.config.layout, tx.sender);
        let out = Out { outcome, gas_used, fee_wei, effect };
        // the venue that owns the action executes it
        match &tx.action {
            Action::Swap(swap) => {
                let mut venue = CachedPools { pools: &mut *self.pools, cache: self.quotes };
                execute_on(&mut venue, tx, swap, &mut self.ctx, self.gas, payers, out)
            }
            Action::Lend(lend) => match self.lending.as_deref_mut() {
                Some(lending) => execute_on(lending, tx, lend, &mut self.ctx, self.gas, payers, out),
                // no such venue in this world: dropped, as a transaction to a missing contract
                // would be useless (meshsim's agents never send one)
                None => *out.outcome = Outcome::Reverted(RevertReason::UnknownVenue),
            },
            Action::FlashLiquidate(f) => match self.lending.as_deref_mut() {
                Some(lending) => {
                    let mut venue = FlashVenue { pools: &mut *self.pools, lending };
                    execute_on(&mut venue, tx, f, &mut self.ctx, self.gas, payers, out)
                }
                None => *out.outcome = Outcome::Reverted(RevertReason::UnknownVenue),
            },
            Action::Bridge(send) => match self.bridges.as_deref_mut() {
                Some(bridges) => execute_on(bridges, tx, send, &mut self.ctx, self.gas, payers, out),
                None => *out.outcome = Outcome::Reverted(RevertReason::UnknownVenue),
            },
            Action::Book(action) => match self.books.as_deref_mut() {
                Some(books) => execute_on(books, tx, action, &mut self.ctx, self.gas, payers, out),
                None => *out.outcome = Outcome::Reverted(RevertReason::UnknownVenue),
            },
        }
        if !matches!(outcome, Outcome::Dropped(_)) {
            *position = Some(self.position);
            self.position += 1;
        }
    }

    /// Whether each transaction of `order` would succeed in turn (on copies of the pools).
    pub fn simulate(&mut self, order: &[&Tx]) {
        self.simulated.clear();
        let block = self.ctx.block;
        let swaps = order.iter().map(|t| if block > t.deadline_block { None } else { t.swap() });
        self.pools.simulate(swaps, &self.ctx.config.gas, &mut self.simulated);
    }
}

/// The accounts that pay `sender`'s tokens and its gas.
fn payers_of(l: &crate::ledger::AccountLayout, sender: Sender) -> (AccountId, AccountId) {
    match sender {
        Sender::Agent(a) => (l.agent(a), l.agent(a)),
        Sender::Vault(v) => (l.vault(v), l.keeper(v)),
    }
}

/// Charges gas for `gas_units` at the base fee plus `tip` (base fee burned, tip to the proposer);
/// `None` if it does not fit the block or the payer cannot pay.
#[inline]
fn charge_gas(
    ctx: &mut ExecCtx<'_>,
    gas: &mut GasMarket,
    gas_payer: AccountId,
    gas_units: u64,
    tip: u128,
) -> Option<u128> {
    if gas.gas_used + gas_units > gas.gas_limit {
        return None;
    }
    let fee = u128::from(gas_units).saturating_mul(gas.base_fee_wei.saturating_add(tip));
    if fee == 0 {
        // free gas (a zero base fee and no tip): nothing to check or move
        gas.gas_used += gas_units;
        return Some(0);
    }
    let native = ctx.native;
    let burn = u128::from(gas_units) * gas.base_fee_wei;
    let layout = ctx.config.layout;
    if ctx.ledger.balance(gas_payer, native) < fee {
        return None;
    }
    ctx.ledger.transfer(gas_payer, layout.special(Special::Burn), native, burn).ok()?;
    ctx.ledger.transfer(gas_payer, layout.special(Special::Proposer), native, fee - burn).ok()?;
    gas.gas_used += gas_units;
    Some(fee)
}

/// Where [`execute_on`] writes its results: the fields of the transaction's receipt.
struct Out<'r> {
    outcome: &'r mut Outcome,
    gas_used: &'r mut u64,
    fee_wei: &'r mut u128,
    effect: &'r mut Effect,
}

/// What is common to every action: deadline, quote, fee cap, gas limit, gas payment; then the
/// venue applies it, and the outcome, gas used, fee paid and effect go into the receipt.
fn execute_on<V: Venue>(
    venue: &mut V,
    tx: &Tx,
    action: &V::Action,
    ctx: &mut ExecCtx<'_>,
    gas: &mut GasMarket,
    (payer, gas_payer): (AccountId, AccountId),
    out: Out<'_>,
) {
    // a dropped transaction keeps the receipt's zero gas and no effect
    if ctx.block > tx.deadline_block {
        *out.outcome = Outcome::Dropped(DropReason::Expired);
        return;
    }
    let costs = ctx.config.gas;
    let quote = venue.quote(action, &costs);
    let gas_units = match &quote {
        Ok(q) => venue.gas_used(q),
        Err(_) => venue.failure_gas(&costs),
    };
    if tx.gas.max_fee_wei < gas.base_fee_wei {
        *out.outcome = Outcome::Dropped(DropReason::MaxFeeBelowBaseFee);
        return;
    }
    // past its gas limit it reverts, having burnt all of it
    let out_of_gas = gas_units > tx.gas.gas_limit;
    let gas_units = if out_of_gas { tx.gas.gas_limit } else { gas_units };
    let tip = tx.gas.tip(gas.base_fee_wei);
    let Some(fee) = charge_gas(ctx, gas, gas_payer, gas_units, tip) else {
        *out.outcome = Outcome::Dropped(if gas.gas_used + gas_units > gas.gas_limit {
            DropReason::BlockGasLimit
        } else {
            DropReason::CannotPayGas
        });
        return;
    };
    (*out.gas_used, *out.fee_wei) = (gas_units, fee);
    let applied = match quote {
        _ if out_of_gas => Err(RevertReason::OutOfGas),
        Ok(ref q) => venue.apply(tx, action, q, payer, ctx, out.effect),
        Err(reason) => Err(reason),
    };
    if let Err(reason) = applied {
        *out.outcome = Outcome::Reverted(reason);
        venue.attempted(action, out.effect);
    }
}
