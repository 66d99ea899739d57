//! The lending venue on plain data: the spiral world's market at genesis, actions executed one
//! by one as the executor would, and the books checked after each.

use meshsim_math::U256;
use meshsim_math::lending::{WAD, ray_mul};
use meshsim_scenario::{AgentId, TokenId};
use proptest::prelude::*;

use super::*;
use crate::engine::venue::ExecCtx;
use crate::lending::FlashVenue;
use crate::testkit::Market;
use crate::tx::{LendEffect, LendOp, PositionId, RevertReason};

struct Bench {
    market: Market,
    config: SimConfig,
    lending: MarketState,
    now: u64,
}

const ETH: TokenId = TokenId(0);
const USDC: TokenId = TokenId(1);

impl Bench {
    fn new() -> Bench {
        let mut market = Market::of("stress/liquidation-spiral.ron");
        let config = SimConfig::new(&market.scenario, crate::SimOptions::default());
        let spec = market.scenario.lending[0].clone();
        let prices = market.prices.per_token.clone();
        let price = |k: usize| prices[spec.reserves[k].token.index()];
        let lending = genesis(&spec, &config, &price).unwrap();
        mint_market(&mut market.ledger, config.layout, &lending).unwrap();
        Bench { market, config, lending, now: 1_000 }
    }

    fn act(&mut self, agent: u32, op: LendOp) -> Result<LendEffect, RevertReason> {
        let account = self.config.layout.agent(AgentId(agent));
        let mut ctx = ExecCtx {
            ledger: &mut self.market.ledger,
            prices: &self.market.prices,
            config: &self.config,
            block: 1,
            now: self.now,
            native: self.config.natives[0],
            time: self.now as f64,
        };
        self.lending.execute(Owner::Agent(AgentId(agent)), op, account, &mut ctx)
    }

    fn balance(&self, agent: u32, token: TokenId) -> u128 {
        self.market.ledger.balance(self.config.layout.agent(AgentId(agent)), token)
    }

    /// The oracle price the market sees for `token`, numeraire per whole token.
    fn set_price(&mut self, token: TokenId, p: f64) {
        let k = self.lending.reserve_of(token).unwrap();
        self.lending.reserves[k].price = price_e8(p);
    }

    /// Custody holds what the reserves say; positions, passive suppliers and the treasury add up
    /// to each reserve's scaled supply.
    fn check_books(&self) {
        for (k, r) in self.lending.reserves.iter().enumerate() {
            assert_eq!(U256::from(self.market.ledger.balance(self.lending.account, r.spec.token)), r.reserve.available);
            let scaled = self
                .lending
                .positions
                .iter()
                .fold(r.passive_scaled_supply + r.treasury_scaled, |a, p| a + p.lines[k].scaled_supply);
            assert_eq!(scaled, r.reserve.scaled_supply);
        }
    }
}

fn reason(r: Result<LendEffect, RevertReason>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(e) => panic!("expected a revert, got {e:?}"),
    }
}

const E18: u128 = 1_000_000_000_000_000_000;

#[test]
fn borrowing_stops_at_the_loan_to_value_and_a_revert_changes_nothing() {
    let mut b = Bench::new();
    b.act(1, LendOp::Supply { token: ETH, amount: 10 * E18 }).unwrap();
    // 10 ETH at $2,000 with an 80.5 % LTV: $16,100 may be borrowed
    let before = (b.lending.clone().reserves[1].reserve.clone(), b.balance(1, USDC));
    assert!(
        reason(b.act(1, LendOp::Borrow { token: USDC, amount: 16_101_000_000 })).contains("COLLATERAL_CANNOT_COVER")
    );
    assert_eq!((b.lending.reserves[1].reserve.clone(), b.balance(1, USDC)), before);
    let got = b.act(1, LendOp::Borrow { token: USDC, amount: 16_000_000_000 }).unwrap();
    assert_eq!(got.amount, 16_000_000_000);
    assert_eq!(b.balance(1, USDC), before.1 + 16_000_000_000);
    // health = 20,000 x 0.83 / 16,000
    let health = meshsim_math::u128_to_f64(got.health_after) / 1e18;
    assert!((health - 20_000.0 * 0.83 / 16_000.0).abs() < 1e-9, "{health}");
    // withdrawing collateral that would leave it under water is refused
    assert!(
        reason(b.act(1, LendOp::Withdraw { token: ETH, amount: 5 * E18 }))
            .contains("HEALTH_FACTOR_LOWER_THAN_LIQUIDATION_THRESHOLD")
    );
    b.check_books();
}

#[test]
fn a_fully_used_reserve_locks_withdrawals() {
    let mut b = Bench::new();
    // agent 2 supplies USDC; agent 1 borrows everything the reserve holds against ETH
    b.act(2, LendOp::Supply { token: USDC, amount: 1_000_000_000_000 }).unwrap();
    b.act(1, LendOp::Supply { token: ETH, amount: 50 * E18 }).unwrap();
    b.market.ledger.mint_genesis(b.config.layout.agent(AgentId(1)), ETH, 40_000 * E18).unwrap();
    b.act(1, LendOp::Supply { token: ETH, amount: 40_000 * E18 }).unwrap();
    let available = u128::try_from(b.lending.reserves[1].reserve.available).unwrap();
    b.act(1, LendOp::Borrow { token: USDC, amount: available }).unwrap();
    assert!(b.lending.reserves[1].reserve.available.is_zero());
    let u = meshsim_math::u256_to_f64(b.lending.reserves[1].reserve.utilization().unwrap()) / 1e27;
    assert!((u - 1.0).abs() < 1e-12, "{u}");
    assert!(reason(b.act(2, LendOp::Withdraw { token: USDC, amount: 1_000_000 })).contains("exceeds balance"));
    // a repayment frees liquidity, and the supplier can take that much out
    b.act(1, LendOp::Repay { token: USDC, amount: 500_000_000 }).unwrap();
    b.act(2, LendOp::Withdraw { token: USDC, amount: 500_000_000 }).unwrap();
    assert!(b.lending.reserves[1].reserve.available.is_zero());
    b.check_books();
}

#[test]
fn repaying_more_than_owed_repays_the_debt_exactly() {
    let mut b = Bench::new();
    b.act(1, LendOp::Supply { token: ETH, amount: 10 * E18 }).unwrap();
    b.act(1, LendOp::Borrow { token: USDC, amount: 5_000_000_000 }).unwrap();
    b.now += 86_400 * 30;
    let cash = b.balance(1, USDC);
    let paid = b.act(1, LendOp::Repay { token: USDC, amount: 6_000_000_000 }).unwrap().amount;
    // a month of interest at a few percent a year: more than borrowed, far less than offered
    assert!(paid > 5_000_000_000 && paid < 5_100_000_000, "{paid}");
    assert_eq!(b.balance(1, USDC), cash - paid);
    let id = b.lending.position_of(Owner::Agent(AgentId(1))).unwrap();
    assert!(b.lending.positions[id.0 as usize].lines[1].scaled_debt.is_zero());
    assert!(reason(b.act(1, LendOp::Repay { token: USDC, amount: 1 })).contains("NO_DEBT"));
    b.check_books();
}

#[test]
fn a_liquidation_takes_half_the_debt_at_the_bonus_and_leaves_the_position_healthier() {
    let mut b = Bench::new();
    let victim = PositionId(0);
    let liquidate = |cover| LendOp::Liquidate { user: victim, collateral: ETH, debt: USDC, debt_to_cover: cover };
    // genesis position 0 sits at health 1.05; a healthy position cannot be liquidated
    assert!(reason(b.act(1, liquidate(u128::MAX))).contains("HEALTH_FACTOR_NOT_BELOW_THRESHOLD"));
    b.set_price(ETH, 2_000.0 * 0.94);
    // what the position owes at the liquidation's time
    for r in &mut b.lending.reserves {
        r.reserve.accrue(b.now).unwrap();
    }
    let before = b.lending.account(victim).unwrap();
    assert!(before.health < WAD && before.health > WAD * U256::from(95u8) / U256::from(100u8));
    let owed =
        ray_mul(b.lending.positions[0].lines[1].scaled_debt, b.lending.reserves[1].reserve.variable_borrow_index)
            .unwrap();
    let (usdc, eth) = (b.balance(1, USDC), b.balance(1, ETH));
    let done = b.act(1, liquidate(u128::MAX)).unwrap();
    // the close factor: half the debt
    let half = u128::try_from(owed).unwrap() / 2;
    assert!(done.amount.abs_diff(half) <= 1, "{} vs {half}", done.amount);
    // seized = debt x price ratio x 1.05, of which the protocol takes 10 % of the bonus part
    let expected = meshsim_math::u128_to_f64(done.amount) * 1e12 / 1_880.0 * 1.05;
    let seized = meshsim_math::u128_to_f64(done.seized + done.protocol_fee);
    assert!((seized / expected - 1.0).abs() < 1e-9, "{seized} vs {expected}");
    let bonus_part = seized - seized / 1.05;
    assert!((meshsim_math::u128_to_f64(done.protocol_fee) / (bonus_part * 0.1) - 1.0).abs() < 1e-6);
    assert_eq!(b.balance(1, USDC), usdc - done.amount);
    assert_eq!(b.balance(1, ETH), eth + done.seized);
    assert!(done.health_after > done.health_before);
    assert!(b.lending.reserves[0].treasury_scaled > U256::ZERO);
    assert_eq!(b.lending.reserves[1].stats.liquidations, 1);
    b.check_books();
}

#[test]
fn collateral_that_runs_out_leaves_bad_debt_in_the_deficit() {
    let mut b = Bench::new();
    // a 40 % fall puts position 0 (health 1.05) at 0.63: its collateral no longer covers
    // debt plus bonus
    b.set_price(ETH, 1_200.0);
    let done = b
        .act(1, LendOp::Liquidate { user: PositionId(0), collateral: ETH, debt: USDC, debt_to_cover: u128::MAX })
        .unwrap();
    assert!(done.bad_debt_base > 0);
    let p = &b.lending.positions[0];
    assert!(p.lines.iter().all(|l| l.scaled_supply.is_zero() && l.scaled_debt.is_zero()));
    let deficit = b.lending.reserves[1].reserve.deficit;
    // the deficit in USDC is the bad debt in base currency ($1 = 1e8, 6 decimals)
    assert_eq!(U256::from(done.bad_debt_base), deficit * U256::from(100u8));
    b.check_books();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever the sequence of actions and price moves: the custody balance equals the
    /// reserves' available liquidity, positions add up to the reserves, no token is created or
    /// destroyed, and a reverted action leaves market and balances as they were.
    #[test]
    fn the_books_balance_through_any_sequence(
        ops in prop::collection::vec((0u8..6, 1u32..3, 1u64..5_000, 0u8..3), 1..40),
    ) {
        let mut b = Bench::new();
        let totals = |b: &Bench| [b.market.ledger.supply(ETH), b.market.ledger.supply(USDC)];
        let start = totals(&b);
        for (kind, agent, size, token) in ops {
            let token = if token == 0 { ETH } else { USDC };
            let amount = if token == ETH { u128::from(size) * E18 / 100 } else { u128::from(size) * 1_000_000 };
            let op = match kind {
                0 => LendOp::Supply { token, amount },
                1 => LendOp::Withdraw { token, amount },
                2 => LendOp::Borrow { token, amount },
                3 => LendOp::Repay { token, amount },
                4 => LendOp::Liquidate { user: PositionId(size as u32 % 300), collateral: ETH, debt: USDC, debt_to_cover: amount },
                _ => {
                    b.set_price(ETH, 2_000.0 * (0.5 + f64::from(size as u32) / 5_000.0));
                    continue;
                }
            };
            let before = (b.lending.reserves.iter().map(|r| r.reserve.clone()).collect::<Vec<_>>(), b.balance(agent, token));
            b.now += 12;
            if b.act(agent, op).is_err() {
                let after = (b.lending.reserves.iter().map(|r| r.reserve.clone()).collect::<Vec<_>>(), b.balance(agent, token));
                prop_assert_eq!(after, before);
            }
            b.check_books();
            prop_assert_eq!(totals(&b), start);
        }
    }
}

/// A flash liquidation of genesis position 0 by agent 1 (which holds no USDC), selling on the
/// spiral world's v2 pool, with the market pricing ETH at `oracle`.
fn flash(b: &mut Bench, oracle: f64, min_profit: u128) -> (Result<(), RevertReason>, crate::tx::Effect) {
    use crate::engine::venue::Venue as _;
    use crate::pools::{DirtyPools, Pools, Provenance};
    use crate::tx::{Action, FlashLiquidate, Leg, Lend, Sender, Tx, TxKind};
    let me = b.config.layout.agent(AgentId(1));
    let usdc = b.balance(1, USDC);
    b.market.ledger.transfer(me, b.config.layout.agent(AgentId(0)), USDC, usdc).unwrap();
    b.set_price(ETH, oracle);
    let n = b.market.pools.len();
    let mut pools =
        Pools { entries: b.market.pools.clone(), dirty: DirtyPools::all(n), provenance: Provenance::new(n) };
    let mut lending = Lending { markets: vec![b.lending.clone()] };
    let op = LendOp::Liquidate { user: PositionId(0), collateral: ETH, debt: USDC, debt_to_cover: u128::MAX };
    let sell =
        smallvec::smallvec![Leg { pool: meshsim_scenario::PoolId(0), i: 0, j: 1, token_in: ETH, token_out: USDC }];
    let f = FlashLiquidate { lend: Lend::new(lending.markets[0].id, op), sell, min_profit };
    let tx =
        Tx::new(Sender::Agent(AgentId(1)), 0, TxKind::Liquidation, 0, Action::FlashLiquidate(Box::new(f.clone())), 10);
    let mut ctx = ExecCtx {
        ledger: &mut b.market.ledger,
        prices: &b.market.prices,
        config: &b.config,
        block: 1,
        now: b.now,
        native: b.config.natives[0],
        time: b.now as f64,
    };
    let mut venue = FlashVenue { pools: &mut pools, lending: &mut lending };
    let mut effect = crate::tx::Effect::None;
    let gas = venue.quote(&f, &b.config.gas).unwrap();
    let result = venue.apply(&tx, &f, &gas, me, &mut ctx, &mut effect);
    b.market.pools = pools.entries;
    b.lending = lending.markets.remove(0);
    (result, effect)
}

#[test]
fn a_flash_liquidation_needs_no_capital_and_pays_its_premium_to_the_suppliers() {
    let mut b = Bench::new();
    let index = b.lending.reserves[1].reserve.liquidity_index;
    // the market sees ETH 6 % down; the pool still pays about 2,000
    let (result, effect) = flash(&mut b, 1_880.0, 0);
    result.unwrap();
    let crate::tx::Effect::FlashLiquidation(done) = effect else { panic!("{effect:?}") };
    let (l, sale) = *done;
    assert!(l.amount > 0 && l.seized > 0);
    assert_eq!(l.premium, (l.amount * 5 + 5_000) / 10_000, "5 bp, rounded half up");
    assert_eq!(sale.amount_in, l.seized);
    // what it kept: the sale less the loan and its premium
    assert_eq!(b.balance(1, USDC), sale.amount_out - l.amount - l.premium);
    // suppliers earned the premium; the books still balance (the loan came back)
    assert!(b.lending.reserves[1].reserve.liquidity_index > index);
    b.check_books();
}

#[test]
fn a_flash_liquidation_whose_sale_cannot_repay_changes_nothing() {
    let mut b = Bench::new();
    let pool_before = b.market.pools[0].pool.clone();
    let reserves_before: Vec<_> = b.lending.reserves.iter().map(|r| r.reserve.clone()).collect();
    let position_before = b.lending.positions[0].clone();
    // asks for more profit than the sale can leave
    let (result, _) = flash(&mut b, 1_880.0, 10u128.pow(15));
    assert!(matches!(result, Err(RevertReason::BelowMinimum { .. })), "{result:?}");
    assert_eq!(b.market.pools[0].pool, pool_before);
    assert_eq!(b.lending.reserves.iter().map(|r| r.reserve.clone()).collect::<Vec<_>>(), reserves_before);
    assert_eq!(b.lending.positions[0], position_before);
    assert_eq!((b.balance(1, USDC), b.balance(1, ETH) > 0), (0, true));
    b.check_books();
}

/// The spiral world's market twice: `lend` as it is, and a copy whose USDC reserve has had
/// 10,000,000 more borrowed (a higher utilization, so a higher supply rate).
fn two_markets(b: &Bench) -> Lending {
    let mut busy = b.lending.clone();
    busy.id = meshsim_scenario::MarketId(1);
    busy.reserves[1].reserve.borrow(0, U256::from(10_000_000_000_000u64)).unwrap();
    Lending { markets: vec![b.lending.clone(), busy] }
}

fn supplier(min_spread_bps: u32) -> crate::lending::Supplier {
    crate::lending::Supplier {
        token: USDC,
        markets: vec![meshsim_scenario::MarketId(0), meshsim_scenario::MarketId(1)],
        min_spread_bps,
        every_blocks: 10,
        priority_fee_wei: 0,
    }
}

fn meta(b: &Bench, agent: u32) -> crate::agents::AgentMeta {
    crate::agents::AgentMeta {
        id: AgentId(agent),
        name: "supplier".into(),
        account: b.config.layout.agent(AgentId(agent)),
        chain: crate::chain::ChainId(0),
        label: "supplier",
    }
}

#[test]
fn a_supplier_puts_idle_money_where_the_rate_is_best_and_only_on_its_blocks() {
    use crate::tx::{Action, Lend};
    let b = Bench::new();
    let lending = two_markets(&b);
    let (me, cfg) = (meta(&b, 2), supplier(50));
    let mut out = Vec::new();
    crate::lending::supplier::plan_supplier(&b.market.view(7), &lending, &me, &cfg, &mut out);
    assert!(out.is_empty(), "block 7 is not one of its blocks");
    crate::lending::supplier::plan_supplier(&b.market.view(10), &lending, &me, &cfg, &mut out);
    let idle = b.balance(2, USDC);
    assert_eq!(out.len(), 1);
    let Action::Lend(Lend { market, op: LendOp::Supply { token, amount }, .. }) = out[0].action else { panic!() };
    assert_eq!((market.0, token, amount), (1, USDC, idle), "all of it, to the busier market");
}

#[test]
fn a_supplier_moves_its_deposit_only_for_a_spread_above_its_minimum() {
    use crate::tx::{Action, Lend};
    let mut b = Bench::new();
    // agent 2 has supplied to the quiet market
    b.act(2, LendOp::Supply { token: USDC, amount: b.balance(2, USDC) }).unwrap();
    let lending = two_markets(&b);
    let rate = |m: usize| meshsim_math::u256_to_f64(lending.markets[m].reserves[1].reserve.rates.liquidity_rate) / 1e27;
    let gap_bps = (rate(1) - rate(0)) * 1e4;
    assert!(gap_bps > 10.0, "the busier market pays {gap_bps} bps more");
    let me = meta(&b, 2);
    let mut out = Vec::new();
    crate::lending::supplier::plan_supplier(&b.market.view(10), &lending, &me, &supplier(gap_bps as u32 + 1), &mut out);
    assert!(out.is_empty(), "a spread below its minimum moves nothing");
    crate::lending::supplier::plan_supplier(&b.market.view(10), &lending, &me, &supplier(gap_bps as u32 - 1), &mut out);
    let ops: Vec<(u32, LendOp)> = out
        .iter()
        .map(|t| match t.action {
            Action::Lend(Lend { market, op, .. }) => (market.0, op),
            _ => panic!("not a lending action"),
        })
        .collect();
    let deposit = lending.supplied(meshsim_scenario::MarketId(0), Owner::Agent(AgentId(2)), USDC);
    assert_eq!(
        ops,
        vec![
            (0, LendOp::Withdraw { token: USDC, amount: deposit }),
            (1, LendOp::Supply { token: USDC, amount: deposit })
        ]
    );
}

fn routes(b: &Bench) -> crate::lending::liquidator::LendingRoutes {
    crate::lending::liquidator::LendingRoutes {
        table: crate::pools::routing::RouteTable::new(&b.market.pools, &[ETH, USDC], 2),
        venues: b.market.pools.iter().map(|e| e.id).collect(),
    }
}

fn liquidator(flash: bool, min_profit: f64) -> crate::lending::Liquidator {
    crate::lending::Liquidator {
        market: meshsim_scenario::MarketId(0),
        min_profit,
        sell: meshsim_scenario::Sale::Pools,
        flash,
        priority_fee_wei: 0,
        to_sell: Vec::new(),
        twap_sources: Vec::new(),
    }
}

/// The positions a liquidator plan names, in order.
fn targets(out: &[crate::tx::Tx]) -> Vec<(u32, bool)> {
    use crate::tx::Action;
    out.iter()
        .filter_map(|t| match &t.action {
            Action::Lend(l) => match l.op {
                LendOp::Liquidate { user, .. } => Some((user.0, false)),
                _ => None,
            },
            Action::FlashLiquidate(f) => match f.lend.op {
                LendOp::Liquidate { user, .. } => Some((user.0, true)),
                _ => None,
            },
            Action::Swap(_) | Action::Bridge(_) | Action::Book(_) => None,
        })
        .collect()
}

#[test]
fn a_liquidator_plans_every_position_under_water_that_pays_and_no_other() {
    let mut b = Bench::new();
    let me = meta(&b, 1);
    // what the liquidator (agent 1) plans at block 5
    let plan = |b: &Bench, flash: bool, min_profit: f64| {
        let mut out = Vec::new();
        let cfg = liquidator(flash, min_profit);
        crate::lending::liquidator::plan_liquidations(&b.market.view(5), &b.lending, &routes(b), &me, &cfg, &mut out);
        out
    };
    let mut out = plan(&b, false, 0.0);
    assert!(out.is_empty(), "at genesis every position is healthy");
    // a 6 % fall: the positions with health below 1 / 0.94 = 1.064 go under water
    b.set_price(ETH, 1_880.0);
    let under: Vec<u32> = (0..300u32).filter(|k| b.lending.account(PositionId(*k)).unwrap().health < WAD).collect();
    assert!(!under.is_empty() && under.len() < 300);
    out = plan(&b, false, 0.0);
    assert_eq!(targets(&out), under.iter().map(|k| (*k, false)).collect::<Vec<_>>());
    // none pays a million
    out = plan(&b, false, 1e6);
    assert!(out.is_empty());
    // without USDC it can only liquidate with flash loans
    let usdc = b.balance(1, USDC);
    b.market.ledger.transfer(me.account, b.config.layout.agent(AgentId(0)), USDC, usdc).unwrap();
    out = plan(&b, false, 0.0);
    assert!(out.is_empty(), "no capital, no flash: nothing");
    out = plan(&b, true, 0.0);
    assert_eq!(targets(&out), under.iter().map(|k| (*k, true)).collect::<Vec<_>>());
}
