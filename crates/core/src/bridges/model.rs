//! Bridges between chains, as a pure model: what a transfer costs, when it arrives, and what is
//! in flight meanwhile. No ECS here: the bridge plugin executes transfers as actions and moves the
//! tokens; this decides fees and timing, exactly and deterministically, and is unit-tested on
//! plain data.
//!
//! Three kinds, as measured on chain:
//! - **canonical** rollup bridges: a deposit arrives in minutes, a withdrawal after the challenge
//!   period (days); no fee beyond gas;
//! - **attestation** bridges (CCTP-like): standard transfers wait for finality (~15 min), fast
//!   ones arrive in seconds for a fee of a few bp;
//! - **intent** bridges: a relayer fronts the funds on the destination in seconds for a fee and
//!   is repaid later; its capital there is limited, so a transfer larger than what it has free
//!   waits for repayments to come back, first come first served, and fails (is refunded) past a
//!   deadline.

use std::collections::VecDeque;

/// Which way a transfer goes: from the bridge's first chain to its second, or back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// First chain to second (a rollup deposit).
    Out,
    /// Second chain to first (a rollup withdrawal).
    Back,
}

impl Direction {
    fn index(self) -> usize {
        match self {
            Direction::Out => 0,
            Direction::Back => 1,
        }
    }
}

/// A bridge's kind and parameters (times in seconds, fees in basis points of the amount): the
/// world file's, validated.
pub use meshsim_scenario::BridgeKind;

/// How fast a transfer is asked to go (attestation bridges only; others have one speed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speed {
    /// The standard path.
    Standard,
    /// The fast path, for its fee.
    Fast,
}

/// A transfer's id within its bridge, in the order sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransferId(pub u64);

/// A transfer in flight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transfer {
    /// Id.
    pub id: TransferId,
    /// Which way.
    pub direction: Direction,
    /// Amount sent, base units.
    pub amount: u128,
    /// Fee kept by the bridge or relayer, base units of the same token.
    pub fee: u128,
    /// When it was sent, seconds.
    pub sent_at: f64,
    /// When it arrives (intent bridges: when the relayer fills; unknown while it waits).
    pub arrives_at: Option<f64>,
}

impl Transfer {
    /// What the recipient gets.
    pub fn delivered(&self) -> u128 {
        self.amount - self.fee
    }
}

/// What happened to a transfer when the bridge was advanced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    /// It arrived: the recipient gets `delivered()` on the destination.
    Arrived(Transfer),
    /// No relayer capital freed in time: the sender gets `amount` back on the source.
    Refunded(Transfer),
    /// The relayer is repaid what it fronted plus its fee (intent bridges), on the side it
    /// fronts from (the model's simplification of the relayer's own rebalancing).
    Repaid {
        /// The direction of the transfers it fronted.
        direction: Direction,
        /// Amount repaid: the transfer's whole amount.
        amount: u128,
    },
}

/// Why a transfer cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BridgeError {
    /// Nothing to send.
    #[error("a transfer of zero")]
    Zero,
    /// The fee would take all of it.
    #[error("the fee of {fee} takes the whole transfer of {amount}")]
    FeeTakesAll {
        /// Amount.
        amount: u128,
        /// Fee.
        fee: u128,
    },
    /// The bridge is halted (a stress event).
    #[error("the bridge is halted")]
    Halted,
}

/// One bridge's state: its transfers in flight, waiting relayer fills and the relayer's free
/// capital on each side.
#[derive(Debug, Clone, PartialEq)]
pub struct Bridge {
    /// Kind and parameters.
    pub kind: BridgeKind,
    /// Relayer capital free on each destination side (intent bridges), by direction.
    pub relayer_free: [u128; 2],
    /// Transfers on their way, in arrival order (ties by id).
    in_flight: Vec<Transfer>,
    /// Intent transfers waiting for relayer capital, first come first served, by direction.
    waiting: [VecDeque<Transfer>; 2],
    /// Relayer capital coming back: (when, direction, amount).
    repaying: Vec<(f64, Direction, u128)>,
    /// Sends refused while halted.
    pub halted: bool,
    next_id: u64,
}

/// `amount x bps / 10,000`, rounded up (the bridge never charges less than its rate).
fn fee_of(amount: u128, bps: u32) -> u128 {
    let bps = u128::from(bps);
    (amount / 10_000) * bps + ((amount % 10_000) * bps).div_ceil(10_000)
}

impl Bridge {
    /// A bridge with nothing in flight; `relayer_capital` is the relayer's capital on the second
    /// and on the first chain (intent bridges; ignored otherwise).
    pub fn new(kind: BridgeKind, relayer_capital: [u128; 2]) -> Self {
        Bridge {
            kind,
            relayer_free: relayer_capital,
            in_flight: Vec::new(),
            waiting: [VecDeque::new(), VecDeque::new()],
            repaying: Vec::new(),
            halted: false,
            next_id: 0,
        }
    }

    /// Sends `amount` at time `now`; returns the transfer as it stands (an intent transfer
    /// without free relayer capital waits, with no arrival time yet).
    pub fn send(
        &mut self,
        now: f64,
        direction: Direction,
        amount: u128,
        speed: Speed,
    ) -> Result<Transfer, BridgeError> {
        if self.halted {
            return Err(BridgeError::Halted);
        }
        if amount == 0 {
            return Err(BridgeError::Zero);
        }
        let (delay, fee_bps) = match self.kind {
            BridgeKind::Canonical { deposit_s, withdrawal_s } => {
                (if direction == Direction::Out { deposit_s } else { withdrawal_s }, 0)
            }
            BridgeKind::Attestation { standard_s, fast_s, fast_fee_bps } => match speed {
                Speed::Standard => (standard_s, 0),
                Speed::Fast => (fast_s, fast_fee_bps),
            },
            BridgeKind::Intent { fill_s, fee_bps, .. } => (fill_s, fee_bps),
        };
        let fee = fee_of(amount, fee_bps);
        if fee >= amount {
            return Err(BridgeError::FeeTakesAll { amount, fee });
        }
        let id = TransferId(self.next_id);
        self.next_id += 1;
        let mut t = Transfer { id, direction, amount, fee, sent_at: now, arrives_at: None };
        match self.kind {
            BridgeKind::Intent { .. } => {
                // first come, first served: nobody overtakes a waiting transfer
                let d = direction.index();
                if self.waiting[d].is_empty() && self.relayer_free[d] >= t.delivered() {
                    self.relayer_free[d] -= t.delivered();
                    t.arrives_at = Some(now + delay);
                    self.fill(t);
                } else {
                    self.waiting[d].push_back(t);
                }
            }
            _ => {
                t.arrives_at = Some(now + delay);
                self.enqueue(t);
            }
        }
        Ok(t)
    }

    fn enqueue(&mut self, t: Transfer) {
        let key = |x: &Transfer| (x.arrives_at.unwrap_or(f64::INFINITY), x.id);
        let at = self.in_flight.partition_point(|x| key(x) <= key(&t));
        self.in_flight.insert(at, t);
    }

    /// A relayer fill: the transfer arrives after the fill time, and the relayer is repaid what
    /// it fronted plus its fee after the repayment time.
    fn fill(&mut self, t: Transfer) {
        if let (BridgeKind::Intent { repay_s, .. }, Some(at)) = (self.kind, t.arrives_at) {
            self.repaying.push((at + repay_s, t.direction, t.amount));
        }
        self.enqueue(t);
    }

    /// Advances to `now`: what arrived, what was refunded, in time order (ties by id), with
    /// relayer repayments returning capital to waiting transfers along the way.
    pub fn advance(&mut self, now: f64) -> Vec<Event> {
        let mut events = Vec::new();
        loop {
            // the next thing to happen: an arrival, a repayment, or a waiting transfer's deadline
            let arrival = self.in_flight.first().and_then(|t| t.arrives_at).filter(|a| *a <= now);
            let repayment = self
                .repaying
                .iter()
                .map(|r| r.0)
                .filter(|a| *a <= now)
                .fold(None, |m: Option<f64>, a| Some(m.map_or(a, |m| m.min(a))));
            let deadline = match self.kind {
                BridgeKind::Intent { max_wait_s, .. } => self
                    .waiting
                    .iter()
                    .filter_map(|q| q.front().map(|t| t.sent_at + max_wait_s))
                    .filter(|a| *a <= now)
                    .fold(None, |m: Option<f64>, a| Some(m.map_or(a, |m| m.min(a)))),
                _ => None,
            };
            let next = [arrival, repayment, deadline]
                .into_iter()
                .flatten()
                .fold(None, |m: Option<f64>, a| Some(m.map_or(a, |m| m.min(a))));
            let Some(at) = next else { break };
            if repayment == Some(at) {
                // capital first: a repayment at the same instant can serve a waiting transfer
                let k = self.repaying.iter().position(|r| r.0 == at).unwrap_or(0);
                let (_, direction, amount) = self.repaying.remove(k);
                self.relayer_free[direction.index()] += amount;
                events.push(Event::Repaid { direction, amount });
                self.serve_waiting(direction.index(), at);
            } else if arrival == Some(at) {
                events.push(Event::Arrived(self.in_flight.remove(0)));
            } else if let Some(d) =
                (0..2).find(|d| self.waiting[*d].front().is_some_and(|t| Some(t.sent_at + self.max_wait()) == Some(at)))
                && let Some(t) = self.waiting[d].pop_front()
            {
                events.push(Event::Refunded(t));
                self.serve_waiting(d, at);
            } else {
                break;
            }
        }
        events
    }

    fn max_wait(&self) -> f64 {
        match self.kind {
            BridgeKind::Intent { max_wait_s, .. } => max_wait_s,
            _ => f64::INFINITY,
        }
    }

    /// Fills waiting transfers in order while the relayer has the capital.
    fn serve_waiting(&mut self, d: usize, now: f64) {
        let BridgeKind::Intent { fill_s, .. } = self.kind else { return };
        while let Some(t) = self.waiting[d].front().copied() {
            if self.relayer_free[d] < t.delivered() {
                break;
            }
            self.waiting[d].pop_front();
            self.relayer_free[d] -= t.delivered();
            self.fill(Transfer { arrives_at: Some(now + fill_s), ..t });
        }
    }

    /// Everything sent and not yet delivered or refunded, base units (what conservation counts
    /// as in flight): transfers on their way and transfers waiting for a relayer.
    pub fn in_flight(&self) -> u128 {
        self.in_flight.iter().map(|t| t.amount).sum::<u128>()
            + self.waiting.iter().flatten().map(|t| t.amount).sum::<u128>()
    }

    /// What the sender has given up and nobody has yet been paid back for, base units: transfers
    /// on their way (canonical, attestation); for an intent bridge, transfers waiting for a
    /// relayer and the relayer's repayments still due (a filled transfer is the relayer's to be
    /// repaid, whether or not it has arrived). Conservation counts this as in flight.
    pub fn outstanding(&self) -> u128 {
        match self.kind {
            BridgeKind::Intent { .. } => {
                self.waiting.iter().flatten().map(|t| t.amount).sum::<u128>()
                    + self.repaying.iter().map(|r| r.2).sum::<u128>()
            }
            _ => self.in_flight.iter().map(|t| t.amount).sum(),
        }
    }

    /// Writes the whole state into a digest.
    pub fn hash_into(&self, h: &mut sha2::Sha256) {
        use sha2::Digest as _;
        h.update(self.next_id.to_le_bytes());
        h.update([u8::from(self.halted)]);
        for f in self.relayer_free {
            h.update(f.to_le_bytes());
        }
        for t in self.transfers() {
            h.update(t.id.0.to_le_bytes());
            h.update([t.direction as u8]);
            h.update(t.amount.to_le_bytes());
            h.update(t.fee.to_le_bytes());
            h.update(t.sent_at.to_bits().to_le_bytes());
            h.update(t.arrives_at.unwrap_or(f64::NAN).to_bits().to_le_bytes());
        }
        for (at, d, amount) in &self.repaying {
            h.update(at.to_bits().to_le_bytes());
            h.update([*d as u8]);
            h.update(amount.to_le_bytes());
        }
    }

    /// Transfers on their way and waiting, for snapshots and tables.
    pub fn transfers(&self) -> impl Iterator<Item = &Transfer> {
        self.in_flight.iter().chain(self.waiting.iter().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const E6: u128 = 1_000_000;

    #[test]
    fn a_rollup_deposit_takes_minutes_and_a_withdrawal_the_challenge_period() {
        let mut b = Bridge::new(BridgeKind::Canonical { deposit_s: 600.0, withdrawal_s: 7.0 * 86_400.0 }, [0, 0]);
        let dep = b.send(0.0, Direction::Out, 1_000 * E6, Speed::Standard).unwrap();
        let wd = b.send(0.0, Direction::Back, 500 * E6, Speed::Standard).unwrap();
        assert_eq!((dep.fee, dep.arrives_at, wd.arrives_at), (0, Some(600.0), Some(604_800.0)));
        assert_eq!(b.in_flight(), 1_500 * E6);
        assert!(b.advance(599.0).is_empty());
        assert_eq!(b.advance(600.0), vec![Event::Arrived(dep)]);
        assert_eq!(b.in_flight(), 500 * E6);
        assert_eq!(b.advance(1e9), vec![Event::Arrived(wd)]);
        assert_eq!(b.in_flight(), 0);
    }

    #[test]
    fn a_fast_attestation_costs_its_fee_rounded_up_and_overtakes_standard_ones() {
        let mut b = Bridge::new(BridgeKind::Attestation { standard_s: 900.0, fast_s: 12.0, fast_fee_bps: 3 }, [0, 0]);
        let slow = b.send(0.0, Direction::Out, 10_000 * E6, Speed::Standard).unwrap();
        let fast = b.send(1.0, Direction::Out, 10_000 * E6 + 1, Speed::Fast).unwrap();
        // 3 bp of 10,000.000001 USDC: 3.0000003, rounded up to the base unit
        assert_eq!((slow.fee, fast.fee), (0, 3_000_001));
        assert_eq!(fast.delivered(), 10_000 * E6 + 1 - 3_000_001);
        assert_eq!(b.advance(1_000.0), vec![Event::Arrived(fast), Event::Arrived(slow)]);
    }

    #[test]
    fn a_relayer_fronts_what_it_has_and_the_rest_waits_for_repayment_or_is_refunded() {
        let kind = BridgeKind::Intent { fill_s: 10.0, fee_bps: 5, repay_s: 3_600.0, max_wait_s: 1_800.0 };
        // 1,000,000 free on the destination
        let mut b = Bridge::new(kind, [1_000_000 * E6, 0]);
        let a = b.send(0.0, Direction::Out, 600_000 * E6, Speed::Standard).unwrap();
        assert_eq!(a.arrives_at, Some(10.0));
        // not enough left for the second: it waits, and so does a small one behind it (no overtaking)
        let big = b.send(1.0, Direction::Out, 600_000 * E6, Speed::Standard).unwrap();
        let small = b.send(2.0, Direction::Out, 1_000 * E6, Speed::Standard).unwrap();
        assert_eq!((big.arrives_at, small.arrives_at), (None, None));
        assert_eq!(b.in_flight(), 1_201_000 * E6);
        assert_eq!(b.advance(10.0), vec![Event::Arrived(a)]);
        // the first repayment (at 3,610 s) comes after the waiting ones' deadline (1,801 s)
        let events = b.advance(4_000.0);
        assert_eq!(
            events,
            vec![
                Event::Refunded(big),
                Event::Arrived(Transfer { arrives_at: Some(1_811.0), ..small }),
                Event::Repaid { direction: Direction::Out, amount: a.amount },
            ]
        );
        // the relayer got back what it fronted plus its fee
        assert_eq!(b.relayer_free[0], 1_000_000 * E6 - small.delivered() + a.fee);
    }

    #[test]
    fn a_repayment_in_time_serves_the_waiting_transfer() {
        let kind = BridgeKind::Intent { fill_s: 10.0, fee_bps: 0, repay_s: 100.0, max_wait_s: 1_000.0 };
        let mut b = Bridge::new(kind, [100 * E6, 0]);
        let first = b.send(0.0, Direction::Out, 100 * E6, Speed::Standard).unwrap();
        let second = b.send(0.0, Direction::Out, 100 * E6, Speed::Standard).unwrap();
        // repaid at 110 s, the second fills then and arrives at 120 s
        let events = b.advance(200.0);
        let repaid = Event::Repaid { direction: Direction::Out, amount: 100 * E6 };
        assert_eq!(
            events,
            vec![Event::Arrived(first), repaid, Event::Arrived(Transfer { arrives_at: Some(120.0), ..second })]
        );
        assert_eq!(b.in_flight(), 0);
    }

    #[test]
    fn halted_zero_and_all_fee_transfers_are_refused() {
        let mut b =
            Bridge::new(BridgeKind::Attestation { standard_s: 900.0, fast_s: 12.0, fast_fee_bps: 10_000 }, [0, 0]);
        assert_eq!(b.send(0.0, Direction::Out, 0, Speed::Standard), Err(BridgeError::Zero));
        assert!(matches!(b.send(0.0, Direction::Out, 5, Speed::Fast), Err(BridgeError::FeeTakesAll { .. })));
        b.halted = true;
        assert_eq!(b.send(0.0, Direction::Out, 5, Speed::Standard), Err(BridgeError::Halted));
        assert_eq!(b.in_flight(), 0);
    }

    proptest::proptest! {
        /// Whatever is sent and whenever the bridge is advanced: every unit sent is delivered,
        /// kept as a fee, refunded or still in flight; arrivals come in time order; the relayer
        /// never holds more than its capital and the fees it earned.
        #[test]
        fn nothing_is_lost_in_flight(
            sends in proptest::collection::vec((0u8..2, 1u128..1_000_000_000, 0u32..600), 1..60),
            capital in 0u128..3_000_000_000,
        ) {
            let kind = BridgeKind::Intent { fill_s: 10.0, fee_bps: 5, repay_s: 300.0, max_wait_s: 900.0 };
            let mut b = Bridge::new(kind, [capital, capital]);
            let (mut sent, mut delivered, mut fees, mut refunded, mut fee_sent) = (0u128, 0u128, 0u128, 0u128, 0u128);
            let mut repaid = 0u128;
            let mut now = 0.0;
            let mut last = 0.0;
            for (dir, amount, gap) in sends {
                now += f64::from(gap);
                for e in b.advance(now) {
                    match e {
                        Event::Arrived(t) => {
                            let at = t.arrives_at.unwrap_or(f64::NAN);
                            proptest::prop_assert!(at >= last && at <= now);
                            last = at;
                            delivered += t.delivered();
                            fees += t.fee;
                        }
                        Event::Refunded(t) => refunded += t.amount,
                        Event::Repaid { amount, .. } => repaid += amount,
                    }
                }
                let direction = if dir == 0 { Direction::Out } else { Direction::Back };
                if let Ok(t) = b.send(now, direction, amount, Speed::Standard) {
                    sent += amount;
                    fee_sent += t.fee;
                }
                proptest::prop_assert_eq!(sent, delivered + fees + refunded + b.in_flight());
                // what the ledger sees: burned at the send, minted back at a refund or to the
                // relayer at its repayment
                proptest::prop_assert_eq!(sent, refunded + repaid + b.outstanding());
                // the relayer's free capital only ever grows by fees
                proptest::prop_assert!(b.relayer_free[0] <= capital + fee_sent && b.relayer_free[1] <= capital + fee_sent);
            }
        }
    }
}
