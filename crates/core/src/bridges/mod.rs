//! Bridges between chains, as venues: [`crate::tx::Action::Bridge`] takes value in on the source
//! chain (the sender's tokens are burned there), and the bridge delivers it on the other chain
//! when its [`model`] says it arrives (minted to the sender's own account there, less the fee), or
//! refunds it. An intent bridge's relayer fronts the delivery from its own capital on the
//! destination and is repaid later. Halts stop sends and deliveries for their interval; what fell
//! due meanwhile arrives when the bridge resumes.
//!
//! Nothing is lost: per asset, what bridges took in and have not yet paid back out (to a
//! recipient, a sender refunded, or a relayer repaid) is exactly what their models hold in flight,
//! and the asset's supply over all chains plus that equals its supply at genesis. Both are checked
//! every block in checked runs.
//!
//! Deliveries run at the start of every block of any chain, at that block's time: funds become
//! usable on the destination at the first block of any chain after they arrive (at most one
//! block of the fastest chain late).

pub mod model;

use std::collections::BTreeMap;

use bevy_ecs::prelude::*;
use meshsim_scenario::{BridgeId, BridgeSpec, ChainId, GasCosts, TokenId};
use sha2::{Digest as _, Sha256};

pub use model::{Bridge, BridgeError, BridgeKind, Direction, Event, Speed, Transfer, TransferId};

use crate::chain::Chains;
use crate::engine::venue::{ExecCtx, Venue};
use crate::engine::{App, Phase, Plugin, State, StateView, shared};
use crate::ledger::{AccountId, Ledger, LedgerError};
use crate::snapshot::{BridgeSnapshot, Snapshot, TransferSnapshot};
use crate::tx::{BridgeEffect, BridgeSend, Effect, RevertReason, Sender, Tx};
use crate::{SimConfig, SimError, SimStatus};

/// Bridges: genesis of relayer capital, deliveries every block, the in-flight check.
pub struct BridgesPlugin;

impl Plugin for BridgesPlugin {
    fn name(&self) -> &'static str {
        "bridges"
    }

    fn present(&self, s: &meshsim_scenario::Scenario, _: &crate::SimOptions) -> bool {
        !s.bridges.is_empty()
    }

    fn build(&self, app: &mut App<'_>) -> Result<(), SimError> {
        let config = app.state::<SimConfig>().clone();
        let mut list = Vec::new();
        for spec in &app.scenario.bridges {
            let state = BridgeState::new(spec, &config);
            let mut ledger = app.state_mut::<Ledger>();
            for (pair, (a, b)) in state.pairs.iter().zip(&spec.relayer_capital) {
                ledger.mint_genesis(state.relayer, pair.tokens.0, *a).map_err(SimError::Genesis)?;
                ledger.mint_genesis(state.relayer, pair.tokens.1, *b).map_err(SimError::Genesis)?;
            }
            list.push(state);
        }
        app.insert_state(Bridges { list, flows: BTreeMap::new(), genesis: None, rows: Vec::new() });
        app.add_systems(Phase::Begin, deliver);
        if app.options.check_conservation {
            app.add_systems(Phase::Settle, check_in_flight);
        }
        Ok(())
    }

    fn digest(&self, world: StateView<'_>, h: &mut Sha256) {
        let bridges = world.state::<Bridges>();
        for b in &bridges.list {
            h.update([u8::from(b.halted)]);
            for p in &b.pairs {
                p.model.hash_into(h);
                for (id, who) in &p.who {
                    h.update(id.0.to_le_bytes());
                    h.update(who.account.0.to_le_bytes());
                }
            }
        }
        for (asset, f) in &bridges.flows {
            h.update(asset.0.to_le_bytes());
            h.update(f.burned.to_le_bytes());
            h.update(f.minted.to_le_bytes());
        }
    }

    fn snapshot(&self, world: StateView<'_>, snap: &mut Snapshot) {
        let bridges = world.state::<Bridges>();
        snap.bridges = bridges
            .list
            .iter()
            .map(|b| BridgeSnapshot {
                id: b.id,
                name: b.name.clone(),
                chains: b.chains,
                halted: b.halted,
                in_flight: b
                    .pairs
                    .iter()
                    .flat_map(|p| {
                        p.model.transfers().map(|t| {
                            let (from, to) = p.ends(t.direction);
                            TransferSnapshot {
                                id: t.id.0,
                                from,
                                to,
                                amount: t.amount,
                                fee: t.fee,
                                sent_at: t.sent_at,
                                arrives_at: t.arrives_at,
                                sender: p.who.get(&t.id).map(|w| w.sender),
                            }
                        })
                    })
                    .collect(),
            })
            .collect();
    }
}

/// Who sent a transfer, and the account it is delivered to (or refunded to): the sender's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Who {
    /// Sender.
    pub sender: Sender,
    /// Its account (the same on both chains: tokens of different chains are different tokens).
    pub account: AccountId,
}

/// One token pair a bridge carries.
#[derive(Debug, Clone)]
pub struct Pair {
    /// (token on the first chain, token on the second).
    pub tokens: (TokenId, TokenId),
    /// The asset both are.
    pub asset: TokenId,
    /// Fees and timing.
    pub model: Bridge,
    /// Senders of the transfers not yet delivered or refunded.
    pub who: BTreeMap<TransferId, Who>,
    /// Totals so far.
    pub stats: PairStats,
}

impl Pair {
    /// (token sent, token delivered) for a direction.
    pub fn ends(&self, direction: Direction) -> (TokenId, TokenId) {
        match direction {
            Direction::Out => self.tokens,
            Direction::Back => (self.tokens.1, self.tokens.0),
        }
    }
}

/// A pair's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PairStats {
    /// Transfers sent.
    pub sent: u64,
    /// Delivered.
    pub delivered: u64,
    /// Refunded.
    pub refunded: u64,
    /// Amount sent, base units.
    pub volume: u128,
    /// Fees kept (on delivery), base units.
    pub fees: u128,
    /// Sum of seconds from send to delivery.
    pub latency_sum: f64,
    /// Longest seconds from send to delivery.
    pub latency_max: f64,
    /// Largest amount outstanding at the end of a block, base units.
    pub max_outstanding: u128,
}

/// One bridge.
#[derive(Debug, Clone)]
pub struct BridgeState {
    /// Id.
    pub id: BridgeId,
    /// Name.
    pub name: String,
    /// (first chain, second chain).
    pub chains: (ChainId, ChainId),
    /// Halt intervals, seconds.
    pub halts: Vec<(f64, f64)>,
    /// Halted at the current block.
    pub halted: bool,
    /// Seconds halted so far (counted at block boundaries).
    pub halted_seconds: f64,
    /// Where fees go.
    pub fees: AccountId,
    /// The relayer's capital (intent bridges).
    pub relayer: AccountId,
    /// Whether a relayer fronts deliveries.
    pub intent: bool,
    /// Pairs by index.
    pub pairs: Vec<Pair>,
}

impl BridgeState {
    fn new(spec: &BridgeSpec, config: &SimConfig) -> Self {
        let kind = spec.kind;
        let pairs = spec
            .tokens
            .iter()
            .zip(&spec.relayer_capital)
            .map(|(&(a, b), &(on_first, on_second))| Pair {
                tokens: (a, b),
                asset: config.assets[a.index()],
                // out delivers on the second chain, back on the first
                model: Bridge::new(kind, [on_second, on_first]),
                who: BTreeMap::new(),
                stats: PairStats::default(),
            })
            .collect();
        BridgeState {
            id: spec.id,
            name: spec.name.clone(),
            chains: spec.chains,
            halts: spec.halts.clone(),
            halted: false,
            halted_seconds: 0.0,
            fees: config.layout.bridge_fees(spec.id),
            relayer: config.layout.bridge_relayer(spec.id),
            intent: matches!(kind, BridgeKind::Intent { .. }),
            pairs,
        }
    }

    /// The chain a direction leaves from.
    pub fn source(&self, direction: Direction) -> ChainId {
        match direction {
            Direction::Out => self.chains.0,
            Direction::Back => self.chains.1,
        }
    }

    /// Whether the bridge is halted at time `now`.
    pub fn halted_at(&self, now: f64) -> bool {
        self.halts.iter().any(|(from, to)| now >= *from && now < *to)
    }
}

/// What bridges took in and paid out of one asset, base units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssetFlows {
    /// Burned on sources.
    pub burned: u128,
    /// Minted on destinations, to recipients, fee accounts, refunded senders and relayers.
    pub minted: u128,
}

/// Every bridge, and what they moved of each asset.
#[derive(Component, Debug, Clone)]
pub struct Bridges {
    /// By id.
    pub list: Vec<BridgeState>,
    /// Burned and minted, by asset.
    pub flows: BTreeMap<TokenId, AssetFlows>,
    /// Each asset's supply over all chains plus what is in flight, as first checked.
    genesis: Option<BTreeMap<TokenId, u128>>,
    /// Finished transfers since the last drain (recorded runs).
    pub rows: Vec<BridgeRow>,
}

/// One row of the `bridges` table: a transfer, once delivered or refunded (or still in flight
/// when the run ends).
#[derive(Debug, Clone, PartialEq)]
pub struct BridgeRow {
    /// Bridge.
    pub bridge: BridgeId,
    /// Transfer id within its pair.
    pub transfer: u64,
    /// Token sent.
    pub from: TokenId,
    /// Token delivered.
    pub to: TokenId,
    /// Sender.
    pub sender: Option<Sender>,
    /// Amount sent.
    pub amount: u128,
    /// Fee kept.
    pub fee: u128,
    /// Sent at, seconds.
    pub sent_at: f64,
    /// Delivered (or refunded) at, seconds; `None` while in flight.
    pub done_at: Option<f64>,
    /// `delivered`, `refunded` or `in_flight`.
    pub status: &'static str,
}

impl Bridges {
    /// Per asset, what the bridges' models hold in flight.
    pub fn outstanding(&self) -> BTreeMap<TokenId, u128> {
        let mut out = BTreeMap::new();
        for p in self.list.iter().flat_map(|b| &b.pairs) {
            *out.entry(p.asset).or_insert(0) += p.model.outstanding();
        }
        out
    }

    /// Rows for the transfers still in flight (for the end of a run).
    pub fn in_flight_rows(&self) -> Vec<BridgeRow> {
        let mut rows = Vec::new();
        for b in &self.list {
            for p in &b.pairs {
                for t in p.model.transfers() {
                    let (from, to) = p.ends(t.direction);
                    rows.push(BridgeRow {
                        bridge: b.id,
                        transfer: t.id.0,
                        from,
                        to,
                        sender: p.who.get(&t.id).map(|w| w.sender),
                        amount: t.amount,
                        fee: t.fee,
                        sent_at: t.sent_at,
                        done_at: None,
                        status: "in_flight",
                    });
                }
            }
        }
        rows
    }

    fn flow(&mut self, asset: TokenId) -> &mut AssetFlows {
        self.flows.entry(asset).or_default()
    }
}

/// The cheapest way among `bridges` to move `from` to `to` (tokens of one asset on two chains):
/// the send to make, and its cost in bps, the fee plus the time in transit at
/// `capital_bps_per_hour`. `None` if no bridge carries the pair.
pub fn cheapest(
    bridges: &[BridgeSpec],
    from: TokenId,
    to: TokenId,
    amount: u128,
    capital_bps_per_hour: f64,
) -> Option<(BridgeSend, f64)> {
    let mut best: Option<(BridgeSend, f64)> = None;
    for b in bridges {
        for (k, &(t0, t1)) in b.tokens.iter().enumerate() {
            let direction = match (from, to) {
                _ if (from, to) == (t0, t1) => Direction::Out,
                _ if (from, to) == (t1, t0) => Direction::Back,
                _ => continue,
            };
            let (speed, cost) = bridge_cost(b, direction, capital_bps_per_hour);
            if best.as_ref().is_none_or(|x| cost < x.1) {
                best = Some((BridgeSend { bridge: b.id, pair: k as u8, direction, speed, amount }, cost));
            }
        }
    }
    best
}

/// The speed to ask for and the cost of a transfer in bps: the fee, plus the time in transit at
/// the agent's cost of capital.
pub fn bridge_cost(b: &BridgeSpec, direction: Direction, capital_bps_per_hour: f64) -> (Speed, f64) {
    let time = |s: f64| s / 3600.0 * capital_bps_per_hour;
    match b.kind {
        meshsim_scenario::BridgeKind::Canonical { deposit_s, withdrawal_s } => {
            (Speed::Standard, time(if direction == Direction::Out { deposit_s } else { withdrawal_s }))
        }
        meshsim_scenario::BridgeKind::Attestation { standard_s, fast_s, fast_fee_bps } => {
            let (slow, fast) = (time(standard_s), f64::from(fast_fee_bps) + time(fast_s));
            if fast < slow { (Speed::Fast, fast) } else { (Speed::Standard, slow) }
        }
        meshsim_scenario::BridgeKind::Intent { fill_s, fee_bps, .. } => {
            (Speed::Standard, f64::from(fee_bps) + time(fill_s))
        }
    }
}

/// The reason a bridge refused a send, for the revert.
fn refusal(e: &BridgeError) -> &'static str {
    match e {
        BridgeError::Zero => "a transfer of zero",
        BridgeError::FeeTakesAll { .. } => "the fee takes the whole transfer",
        BridgeError::Halted => "halted",
    }
}

impl Venue for Bridges {
    type Action = BridgeSend;
    type Quote = u64;

    fn quote(&self, action: &BridgeSend, costs: &GasCosts) -> Result<u64, RevertReason> {
        self.list
            .get(action.bridge.index())
            .and_then(|b| b.pairs.get(usize::from(action.pair)))
            .ok_or(RevertReason::UnknownVenue)?;
        Ok(costs.base_tx + costs.bridge_send)
    }

    fn gas_used(&self, quote: &u64) -> u64 {
        *quote
    }

    fn failure_gas(&self, costs: &GasCosts) -> u64 {
        costs.base_tx + costs.bridge_send
    }

    fn attempted(&self, action: &BridgeSend, effect: &mut Effect) {
        let token = self
            .list
            .get(action.bridge.index())
            .and_then(|b| b.pairs.get(usize::from(action.pair)))
            .map_or(TokenId(0), |p| p.ends(action.direction).0);
        *effect =
            Effect::Bridge(BridgeEffect { token, transfer: 0, amount: action.amount, fee: 0, arrives_at_ms: u64::MAX });
    }

    fn apply(
        &mut self,
        tx: &Tx,
        action: &BridgeSend,
        _gas: &u64,
        payer: AccountId,
        ctx: &mut ExecCtx<'_>,
        effect: &mut Effect,
    ) -> Result<(), RevertReason> {
        let b = self.list.get_mut(action.bridge.index()).ok_or(RevertReason::UnknownVenue)?;
        if tx.chain != b.source(action.direction) {
            return Err(RevertReason::Bridge("sent on a chain the transfer does not leave from"));
        }
        let pair = b.pairs.get_mut(usize::from(action.pair)).ok_or(RevertReason::UnknownVenue)?;
        let (from, _) = pair.ends(action.direction);
        // checked before the model moves, so that the burn below cannot fail
        if ctx.ledger.balance(payer, from) < action.amount {
            return Err(RevertReason::InsufficientBalance);
        }
        let t = pair
            .model
            .send(ctx.time, action.direction, action.amount, action.speed)
            .map_err(|e| RevertReason::Bridge(refusal(&e)))?;
        ctx.ledger.burn(payer, from, action.amount).map_err(|e| RevertReason::Ledger(Box::new(e)))?;
        pair.who.insert(t.id, Who { sender: tx.sender, account: payer });
        pair.stats.sent += 1;
        pair.stats.volume += action.amount;
        let asset = pair.asset;
        self.flow(asset).burned += action.amount;
        let arrives_at_ms = t.arrives_at.map_or(u64::MAX, |a| (a * 1000.0).round() as u64);
        *effect =
            Effect::Bridge(BridgeEffect { token: from, transfer: t.id.0, amount: t.amount, fee: t.fee, arrives_at_ms });
        Ok(())
    }
}

/// Begin phase, every block of any chain: halts start and end, and what has arrived by now is
/// delivered, refunded or repaid.
fn deliver(state: State<(&Chains, &SimConfig, &mut Bridges, &mut Ledger, &mut SimStatus)>) {
    let (chains, config, mut bridges, mut ledger, mut status) = shared(state);
    let now = chains.now;
    let record = config.options.record;
    let bridges = &mut *bridges;
    let mut failure: Option<LedgerError> = None;
    let mut minted: Vec<(TokenId, u128)> = Vec::new();
    for b in &mut bridges.list {
        let halted = b.halted_at(now);
        if b.halted {
            b.halted_seconds += chains.elapsed;
        }
        b.halted = halted;
        for p in &mut b.pairs {
            p.model.halted = halted;
        }
        if halted {
            continue;
        }
        for p in &mut b.pairs {
            for e in p.model.advance(now) {
                let result = match e {
                    Event::Arrived(t) => {
                        let (_, to) = p.ends(t.direction);
                        let who = p.who.remove(&t.id);
                        let account = who.map_or(b.fees, |w| w.account);
                        p.stats.delivered += 1;
                        p.stats.fees += t.fee;
                        let latency = now - t.sent_at;
                        p.stats.latency_sum += latency;
                        p.stats.latency_max = p.stats.latency_max.max(latency);
                        if record {
                            bridges.rows.push(row(b.id, p, &t, who, Some(now), "delivered"));
                        }
                        if b.intent {
                            // the relayer fronts it; its repayment comes later
                            ledger.transfer(b.relayer, account, to, t.delivered())
                        } else {
                            minted.push((p.asset, t.amount));
                            ledger.mint(account, to, t.delivered()).and_then(|()| ledger.mint(b.fees, to, t.fee))
                        }
                    }
                    Event::Refunded(t) => {
                        let (from, _) = p.ends(t.direction);
                        let who = p.who.remove(&t.id);
                        p.stats.refunded += 1;
                        if record {
                            bridges.rows.push(row(b.id, p, &t, who, Some(now), "refunded"));
                        }
                        minted.push((p.asset, t.amount));
                        ledger.mint(who.map_or(b.fees, |w| w.account), from, t.amount)
                    }
                    Event::Repaid { direction, amount } => {
                        let (_, to) = p.ends(direction);
                        minted.push((p.asset, amount));
                        ledger.mint(b.relayer, to, amount)
                    }
                };
                if let Err(e) = result {
                    failure.get_or_insert(e);
                }
            }
            p.stats.max_outstanding = p.stats.max_outstanding.max(p.model.outstanding());
        }
    }
    for (asset, amount) in minted {
        bridges.flow(asset).minted += amount;
    }
    if let Some(source) = failure
        && status.failure.is_none()
    {
        status.failure = Some(SimError::Conservation { block: chains.hub_number(), source });
    }
}

fn row(
    bridge: BridgeId,
    p: &Pair,
    t: &Transfer,
    who: Option<Who>,
    done_at: Option<f64>,
    status: &'static str,
) -> BridgeRow {
    let (from, to) = p.ends(t.direction);
    BridgeRow {
        bridge,
        transfer: t.id.0,
        from,
        to,
        sender: who.map(|w| w.sender),
        amount: t.amount,
        fee: t.fee,
        sent_at: t.sent_at,
        done_at,
        status,
    }
}

/// Settle phase (checked runs): per asset, what bridges burned and have not minted back is what
/// their models hold in flight, and the asset's supply over every chain plus that is what it
/// was at genesis.
fn check_in_flight(state: State<(&Chains, &SimConfig, &mut Bridges, &Ledger, &mut SimStatus)>) {
    let (chains, config, mut bridges, ledger, mut status) = shared(state);
    if status.failure.is_some() {
        return;
    }
    let outstanding = bridges.outstanding();
    let mut totals: BTreeMap<TokenId, u128> = BTreeMap::new();
    for (k, asset) in config.assets.iter().enumerate() {
        *totals.entry(*asset).or_insert(0) += ledger.supply(TokenId(k as u16));
    }
    for (asset, held) in &outstanding {
        *totals.entry(*asset).or_insert(0) += held;
    }
    let problem = outstanding.iter().find_map(|(asset, held)| {
        let f = bridges.flows.get(asset).copied().unwrap_or_default();
        (f.burned.checked_sub(f.minted) != Some(*held)).then(|| {
            format!(
                "{}: bridges burned {} and minted {}, but hold {held} in flight",
                config.symbols[asset.index()],
                f.burned,
                f.minted
            )
        })
    });
    let genesis = bridges.genesis.get_or_insert_with(|| totals.clone());
    let problem = problem.or_else(|| {
        totals.iter().find(|(a, v)| genesis.get(a) != Some(v)).map(|(a, v)| {
            format!(
                "{}: supply over every chain plus in flight is {v}, was {}",
                config.symbols[a.index()],
                genesis.get(a).copied().unwrap_or(0)
            )
        })
    });
    if let Some(reason) = problem {
        status.failure = Some(SimError::Bridge { block: chains.hub_number(), reason });
    }
}
