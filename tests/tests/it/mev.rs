//! The contested block: the sandwich against THEORY item 5, the private relay, batch-auction
//! netting, cascade links, and determinism under every ordering policy.

use meshsim_core::math::Pool;
use meshsim_core::math::v2::V2Pair;
use meshsim_core::record::TradeRow;
use meshsim_core::scenario::raw::RawOrdering;
use meshsim_core::searchers::sandwich::optimal_sandwich;
use meshsim_core::tx::{Cause, Sender, TxId, TxKind};
use meshsim_core::{SimOptions, Simulation};
use meshsim_scenario::{OracleKind, Scenario};
use meshsim_tests::{load, load_patched, run_recorded};

// ---------------------------------------------------------------------------------------------
// THEORY item 5, computed here from the v2 formula alone

/// Uniswap v2 getAmountOut at 30 bp, written out again so the test does not lean on the library.
fn out_v2(a: u128, r_in: u128, r_out: u128) -> u128 {
    let with_fee = a * 997;
    with_fee * r_out / (r_in * 1000 + with_fee)
}

/// What the victim receives after a front-run of `a`, on reserves (x of the input token, y).
fn victim_after(a: u128, dv: u128, x: u128, y: u128) -> u128 {
    let f = if a == 0 { 0 } else { out_v2(a, x, y) };
    out_v2(dv, x + a, y - f)
}

/// The largest front-run keeping the victim at `m`: a float bisection on the real-valued curve,
/// then the integer boundary found by stepping from there.
fn a_star(dv: u128, m: u128, x: u128, y: u128) -> u128 {
    let g = 0.997;
    let (xf, yf, dvf, mf) = (x as f64, y as f64, dv as f64, m as f64);
    let victim = |a: f64| {
        let y1 = yf - g * a * yf / (xf + g * a);
        g * dvf * y1 / (xf + a + g * dvf)
    };
    let (mut lo, mut hi) = (0.0f64, xf);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if victim(mid) >= mf { lo = mid } else { hi = mid }
    }
    let mut a = (lo as u128).saturating_sub(64);
    assert!(victim_after(a, dv, x, y) >= m, "the float estimate is close");
    while victim_after(a + 1, dv, x, y) >= m {
        a += 1;
    }
    a
}

#[test]
fn sandwich_on_a_cpmm_is_the_largest_front_run_the_victim_tolerates() {
    // 1000 ETH / 2,000,000 USDC at 30 bp; the victim sells 40,000 USDC for ETH with 1 % slippage
    let (x, y) = (2_000_000_000_000u128, 1_000_000_000_000_000_000_000u128); // USDC (6 dp), ETH (18 dp)
    let pool = Pool::ConstantProduct(V2Pair { reserve0: y, reserve1: x, total_supply: 1, fee_pips: 3000 });
    let dv = 40_000_000_000u128;
    let quote = out_v2(dv, x, y);
    let m = quote - quote / 100;
    let expected = a_star(dv, m, x, y);

    // token 1 (USDC) in, token 0 (ETH) out; plenty of capital
    let plan = optimal_sandwich(&pool, 1, 0, dv, m, u128::MAX / 4).expect("a 1 % slack is sandwichable");
    assert_eq!(plan.front_in, expected, "the optimal front-run");
    assert_eq!(plan.front_out, out_v2(expected, x, y));
    assert_eq!(plan.victim_out, victim_after(expected, dv, x, y));
    assert!(plan.victim_out >= m, "the victim still gets its minimum");
    assert!(victim_after(expected + 1, dv, x, y) < m, "a* + 1 would make the victim revert");
    // the back-run sells the front-run's output into the pool the victim left
    let (x1, y1) = (x + expected, y - plan.front_out);
    let (x2, y2) = (x1 + dv, y1 - plan.victim_out);
    let back = out_v2(plan.front_out, y2, x2);
    assert_eq!(plan.back_out, back);
    assert_eq!(plan.profit(), back as i128 - expected as i128);
    assert!(plan.profit() > 0, "large enough for (1+u)(1+gu) > 1/g^2");

    // capital binds: the front-run is capped, never larger
    let capped = optimal_sandwich(&pool, 1, 0, dv, m, expected / 2).unwrap();
    assert_eq!(capped.front_in, expected / 2);
    // no slack, no sandwich
    assert_eq!(optimal_sandwich(&pool, 1, 0, dv, quote, u128::MAX / 4), None);
}

#[test]
fn sandwich_profitability_follows_the_zhou_condition() {
    let (x, y) = (2_000_000_000_000u128, 1_000_000_000_000_000_000_000u128);
    let pool = Pool::ConstantProduct(V2Pair { reserve0: y, reserve1: x, total_supply: 1, fee_pips: 3000 });
    let g = 0.997f64;
    for dv in [500_000_000u128, 2_000_000_000, 5_000_000_000, 20_000_000_000, 100_000_000_000] {
        let u = dv as f64 / x as f64;
        let condition = (1.0 + u) * (1.0 + g * u) > 1.0 / (g * g);
        // a generous 30 % slack: only the condition should decide
        let m = out_v2(dv, x, y) * 7 / 10;
        let profit = optimal_sandwich(&pool, 1, 0, dv, m, u128::MAX / 4).map_or(0, |p| p.profit());
        assert_eq!(profit > 0, condition, "dv = {dv}, u = {u}: profit {profit}");
    }
}

// ---------------------------------------------------------------------------------------------
// mev.ron: private relay against the public mempool

fn run_metrics(s: &Scenario, blocks: u64) -> (meshsim_core::metrics::Metrics, Vec<TradeRow>) {
    let mut sim =
        Simulation::with_options(s, SimOptions { record: true, check_conservation: true, ..SimOptions::default() })
            .unwrap();
    let mut trades = Vec::new();
    for _ in 0..blocks / 500 {
        sim.run_blocks(500).unwrap();
        trades.extend(sim.drain_records().1);
    }
    (sim.metrics().clone(), trades)
}

/// Vault transaction ids a sandwich's front-run names as its victim.
fn sandwiched_vault_txs(trades: &[TradeRow]) -> Vec<TxId> {
    let vault_txs: Vec<TxId> =
        trades.iter().filter(|t| matches!(t.sender, Sender::Vault(_))).map(|t| t.tx_id).collect();
    trades
        .iter()
        .filter(|t| t.kind == TxKind::SandwichFront)
        .filter_map(|t| match t.cause {
            Cause::Victim(v) if vault_txs.contains(&v) => Some(v),
            _ => None,
        })
        .collect()
}

#[test]
fn private_relay_vaults_are_never_sandwiched_public_ones_are() {
    let blocks = 6000;
    let public = load("mev.ron");
    let (m, trades) = run_metrics(&public, blocks);
    let victims = sandwiched_vault_txs(&trades);
    assert!(!victims.is_empty(), "on the public mempool some vault transactions are sandwiched");
    let counted: u64 = m.vaults.iter().map(|v| v.sandwiched).sum();
    assert_eq!(counted, victims.len() as u64, "the metrics count each sandwiched vault transaction");
    let loss: f64 = m.vaults.iter().map(|v| v.mev_loss).sum();
    assert!(loss > 0.0, "and report what they lost");
    // each victim ran between its front- and back-run, in that order, in one block
    for v in &victims {
        let at = |k: TxKind| trades.iter().position(|t| t.kind == k && t.cause == Cause::Victim(*v)).unwrap();
        let victim = trades.iter().position(|t| t.tx_id == *v).unwrap();
        let (front, back) = (at(TxKind::SandwichFront), at(TxKind::SandwichBack));
        assert!(front < victim && victim < back, "front, victim, back");
        assert!(trades[front].block == trades[victim].block && trades[victim].block == trades[back].block);
        assert!(!trades[victim].reverted, "a sandwich never makes its victim revert");
    }

    let private = load_patched("mev.ron", |w| w.vaults.iter_mut().for_each(|v| v.private_relay = true));
    let (m, trades) = run_metrics(&private, blocks);
    assert!(trades.iter().any(|t| matches!(t.sender, Sender::Vault(_))), "the vaults still trade");
    assert_eq!(sandwiched_vault_txs(&trades), Vec::<TxId>::new());
    assert!(m.vaults.iter().all(|v| v.sandwiched == 0 && v.mev_loss == 0.0));
    // invisible to searchers: nothing names a vault transaction as its victim
    let vault_txs: Vec<TxId> =
        trades.iter().filter(|t| matches!(t.sender, Sender::Vault(_))).map(|t| t.tx_id).collect();
    assert!(trades.iter().all(|t| !matches!(t.cause, Cause::Victim(v) if vault_txs.contains(&v))));
}

// ---------------------------------------------------------------------------------------------
// batch auction

/// Two vaults far from their 50/50 targets in opposite directions: one sells ETH, one buys it.
fn batch_world(dir: &std::path::Path, seller: (&str, &str), buyer: (&str, &str)) -> Scenario {
    let text = format!(
        r#"World(version: 1, name: "batch", seed: 3, blocks: 3,
    chain: (block_time: Fixed(12.0), gas_limit: 30000000, base_fee_gwei: 1.0, native_token: "ETH", ordering: BatchAuction),
    numeraire: "USDC",
    tokens: [(symbol: "ETH", decimals: 18), (symbol: "USDC", decimals: 6)],
    market: (assets: [(token: "ETH", price: 2000.0, volatility: 0.0)]),
    pools: [ConstantProduct(name: "pool", tokens: ("ETH", "USDC"), reserves: ("1000", "2000000"), fee_bps: 30.0)],
    oracles: [Push(name: "eth", token: "ETH", heartbeat_seconds: 12.0, deviation: 0.0)],
    vaults: [
        (name: "seller", deposit_token: "USDC", holdings: [("ETH", "{}"), ("USDC", "{}")], keeper_gas: "1",
         oracles: [("ETH", "eth")], strategy: ConstantMix(targets: [("ETH", 0.5), ("USDC", 0.5)]),
         trigger: Threshold(band: 0.05), slippage: 0.05),
        (name: "buyer", deposit_token: "USDC", holdings: [("ETH", "{}"), ("USDC", "{}")], keeper_gas: "1",
         oracles: [("ETH", "eth")], strategy: ConstantMix(targets: [("ETH", 0.5), ("USDC", 0.5)]),
         trigger: Threshold(band: 0.05), slippage: 0.05),
    ],
)"#,
        seller.0, seller.1, buyer.0, buyer.1
    );
    meshsim_scenario::parse_str(&text, "batch.ron", dir).unwrap_or_else(|e| panic!("{e}"))
}

/// The first block in which both vaults trade: the pool's balances before and after, and the two
/// rebalances (seller, buyer).
fn first_batch(s: &Scenario) -> (Vec<u128>, Vec<u128>, TradeRow, TradeRow) {
    let mut sim =
        Simulation::with_options(s, SimOptions { record: true, check_conservation: true, ..SimOptions::default() })
            .unwrap();
    let eth = meshsim_scenario::TokenId(s.tokens.iter().position(|t| t.symbol == "ETH").unwrap() as u16);
    for _ in 0..3 {
        let before = sim.snapshot().pools[0].balances.clone();
        sim.step_block().unwrap();
        let after = sim.snapshot().pools[0].balances.clone();
        let (_, trades) = sim.drain_records();
        let mut rebalances = trades.into_iter().filter(|t| t.kind == TxKind::Rebalance);
        let (Some(x), Some(y), None) = (rebalances.next(), rebalances.next(), rebalances.next()) else { continue };
        assert!(!x.reverted && !y.reverted);
        let (seller, buyer) = if x.token_in == eth { (x, y) } else { (y, x) };
        assert!(seller.token_in == eth && buyer.token_in != eth, "opposite directions");
        return (before, after, seller, buyer);
    }
    panic!("the two vaults never traded in one batch");
}

#[test]
fn batch_auction_nets_opposite_vault_orders_at_one_price() {
    let dir = tempfile::tempdir().unwrap();
    // the seller sells about 20 ETH, the buyer buys about 3: the excess goes to the pool
    let s = batch_world(dir.path(), ("40", "0"), ("2", "16000"));
    let (before, after, seller, buyer) = first_batch(&s);
    // the pool sees only the net: its ETH grows by what the seller sold less what the buyer got,
    // its USDC by what the buyer paid less what the seller got (one order per side, so no
    // rounding dust stays behind)
    let d_eth = after[0] as i128 - before[0] as i128;
    let d_usdc = after[1] as i128 - before[1] as i128;
    assert_eq!(d_eth, seller.amount_in as i128 - buyer.amount_out as i128);
    assert_eq!(d_usdc, buyer.amount_in as i128 - seller.amount_out as i128);
    assert!(d_eth > 0 && (d_eth as u128) < seller.amount_in, "the pool takes less than the seller sold");
    // one clearing price (USDC per ETH, base units) for both sides, and the residual traded at it
    let p_sell = seller.amount_out as f64 / seller.amount_in as f64;
    let p_buy = buyer.amount_in as f64 / buyer.amount_out as f64;
    assert!((p_sell / p_buy - 1.0).abs() < 1e-9, "uniform price: {p_sell} vs {p_buy}");
    let p_pool = -d_usdc as f64 / d_eth as f64;
    assert!((p_pool / p_sell - 1.0).abs() < 1e-9, "residual price {p_pool} vs {p_sell}");

    // mirror-image orders cross inside the pool's fee band: they fill each other and the pool is
    // not touched at all
    let s = batch_world(dir.path(), ("30", "20000"), ("10", "60000"));
    let (before, after, seller, buyer) = first_batch(&s);
    assert_eq!(before, after, "no residual");
    assert_eq!((seller.amount_out, buyer.amount_out), (buyer.amount_in, seller.amount_in));
}

// ---------------------------------------------------------------------------------------------
// cascades

#[test]
fn cascade_world_links_are_each_a_real_cause() {
    let s = load("cascade.ron");
    let mut sim =
        Simulation::with_options(&s, SimOptions { record: true, check_conservation: true, ..SimOptions::default() })
            .unwrap();
    sim.run_blocks(s.blocks).unwrap();
    let (_, trades) = sim.drain_records();
    let cascades = sim.cascades();
    let (deep, _) = cascades.iter().find(|(c, _)| c.depth >= 3).expect("a cascade of depth >= 3");
    let row = |id: TxId| trades.iter().find(|t| t.tx_id == id && !t.reverted).expect("a member is an included trade");

    // the roots answer to no other transaction
    for r in &deep.roots {
        assert!(row(*r).cause.parents().is_empty(), "root {r:?} has no cause link");
    }
    // each link: the effect names the cause and comes later; it is a vault whose TWAP oracle
    // reads a pool the cause traded, or an arbitrage that trades that pool back
    let mut depth_of: Vec<(TxId, u32)> = deep.roots.iter().map(|r| (*r, 1)).collect();
    for (cause, effect) in &deep.links {
        let (c, e) = (row(*cause), row(*effect));
        assert!(matches!(&e.cause, Cause::Moves(p) if p.contains(cause)), "{effect:?} names {cause:?}");
        assert!(e.block > c.block, "an effect lands after its cause");
        match e.sender {
            Sender::Vault(v) => {
                assert_eq!(e.kind, TxKind::Rebalance);
                let read: Vec<_> = s.vaults[v.index()]
                    .oracles
                    .iter()
                    .filter_map(|(_, o)| match s.oracles[o.index()].kind {
                        OracleKind::Twap { pool, .. } => Some(pool),
                        OracleKind::Push { .. } => None,
                    })
                    .collect();
                assert!(c.pools.iter().any(|p| read.contains(p)), "{cause:?} moved a pool {effect:?}'s oracle reads");
            }
            Sender::Agent(_) => {
                assert_eq!(e.kind, TxKind::Arbitrage, "{effect:?}");
                assert!(c.pools.iter().any(|p| e.pools.contains(p)), "{effect:?} trades back the pool {cause:?} moved");
            }
        }
        let d = depth_of.iter().find(|(t, _)| t == cause).map(|x| x.1).expect("causes come first");
        match depth_of.iter_mut().find(|(t, _)| t == effect) {
            Some(x) => x.1 = x.1.max(d + 1),
            None => depth_of.push((*effect, d + 1)),
        }
    }
    let longest = depth_of.iter().map(|x| x.1).max().unwrap();
    assert_eq!(longest, deep.depth, "the reported depth is the longest chain of links");
    assert!(deep.depth >= 3);
    assert!(deep.members.len() > deep.roots.len() && deep.amplification() > 0.0);
}

// ---------------------------------------------------------------------------------------------
// determinism

#[test]
fn every_ordering_policy_is_deterministic() {
    for policy in [
        RawOrdering::PriorityGasAuction,
        RawOrdering::FirstComeFirstServed,
        RawOrdering::BatchAuction,
        RawOrdering::BuilderAuction,
    ] {
        let s = load_patched("mev.ron", |w| {
            if let Some(c) = w.chain.as_mut() {
                c.ordering = policy;
            }
            w.blocks = 1500;
        });
        let digest = |record: bool| {
            let mut sim =
                Simulation::with_options(&s, SimOptions { record, check_conservation: true, ..SimOptions::default() })
                    .unwrap();
            sim.run_blocks(1500).unwrap();
            sim.digest()
        };
        let (a, b) = (run_recorded(&s, 1500), run_recorded(&s, 1500));
        assert_eq!(a.1, b.1, "{policy:?}: the same trades");
        assert_eq!(a.0, b.0, "{policy:?}: the same blocks");
        assert_eq!(digest(true), digest(false), "{policy:?}: recording does not change the run");
        assert!(!a.1.is_empty());
    }
}
