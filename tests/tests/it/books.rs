//! Order books: located errors for malformed books and book agents; the bundled book world
//! conserves every unit and makers earn the spread from uninformed flow; short-lived orders
//! expire with their escrow paid back; `CancelsFirst` spares makers from being picked off.

use meshsim_core::{SimOptions, Simulation};
use meshsim_scenario::Scenario;
use meshsim_tests::worlds_dir;

use crate::worlds::assert_located;

fn orderbook() -> String {
    std::fs::read_to_string(worlds_dir().join("orderbook.ron")).unwrap()
}

fn load(text: &str) -> Scenario {
    meshsim_scenario::parse_str(text, "orderbook.ron", &worlds_dir()).unwrap()
}

fn checked(s: &Scenario, record: bool) -> Simulation {
    Simulation::with_options(s, SimOptions { record, check_conservation: true, ..SimOptions::default() }).unwrap()
}

#[test]
fn malformed_book_parameters_get_located_errors() {
    let text = orderbook();
    let book = r#"tick_size: "0.01", lot_size: "0.001", maker_fee_bps: -0.2, taker_fee_bps: 2.5"#;
    let cases = [
        (
            book,
            r#"tick_size: "0", lot_size: "0.001", maker_fee_bps: -0.2, taker_fee_bps: 2.5"#,
            "books[0].tick_size",
            "above zero",
        ),
        (
            book,
            r#"tick_size: "0.01", lot_size: "0", maker_fee_bps: -0.2, taker_fee_bps: 2.5"#,
            "books[0].lot_size",
            "above zero",
        ),
        // a rebate larger than the taker fee would pay out more than the book takes
        (
            book,
            r#"tick_size: "0.01", lot_size: "0.001", maker_fee_bps: -3.0, taker_fee_bps: 2.5"#,
            "books[0].maker_fee_bps",
            "exceeds the taker fee",
        ),
        // one lot at one tick must be a whole number of quote base units: 0.00001 ETH x 0.01 USDC
        (
            book,
            r#"tick_size: "0.01", lot_size: "0.00001", maker_fee_bps: -0.2, taker_fee_bps: 2.5"#,
            "books[0].tick_size",
            "not a whole number",
        ),
        (
            book,
            r#"tick_size: "0.01", lot_size: "0.001", maker_fee_bps: -0.2, taker_fee_bps: 2.555"#,
            "books[0].taker_fee_bps",
            "hundredths",
        ),
        (r#"base: "ETH", quote: "USDC""#, r#"base: "ETH", quote: "ETH""#, "books[0].quote", "differ"),
        (r#"base: "ETH", quote: "USDC""#, r#"base: "ETH", quote: "USDT""#, "books[0].quote", "unknown token"),
        // agents: an unknown book, a size that is not whole lots
        (
            r#"book: "eth-usdc-book",
            size: "5","#,
            r#"book: "eth-usdc-bok",
            size: "5","#,
            "agents[0].book",
            "unknown book",
        ),
        (r#"size: "5","#, r#"size: "5.0005","#, "agents[0].size", "whole number of lots"),
        (r#"mean_size: "1.5","#, r#"mean_size: "0","#, "agents[2].mean_size", "whole number of lots"),
        (r#"order_ttl_blocks: 15,"#, r#"order_ttl_blocks: 0,"#, "agents[0].order_ttl_blocks", "expected 1 to"),
        (r#"books: ["eth-usdc-book"],"#, r#"books: ["nope"],"#, "agents[3].books[0]", "unknown book"),
    ];
    for (from, to, path, message) in cases {
        assert_located(&text, from, to, path, message, 1);
    }
}

#[test]
fn the_book_world_conserves_every_unit_and_makers_earn_the_spread_from_noise() {
    let s = load(&orderbook());
    let mut sim = checked(&s, true);
    // a checked run fails on any unit lost or created, and on escrow that disagrees with the book
    sim.run_blocks(1500).unwrap();
    let rows = sim.drain_book_rows();
    assert_eq!(rows.len(), 1500);
    // never crossed at the end of a block; both sides quoted most of the time
    let both = rows.iter().filter(|r| r.best_bid.is_some() && r.best_ask.is_some()).count();
    assert!(rows.iter().all(|r| match (r.best_bid, r.best_ask) {
        (Some(b), Some(a)) => b < a,
        _ => true,
    }));
    assert!(both > 1400, "both sides quoted in only {both} of 1500 blocks");
    let fills = sim.drain_fill_rows();
    let books = sim.books().unwrap();
    let b = &books.list[0];
    assert_eq!(b.stats.fills, fills.len() as u64);
    assert_eq!(b.stats.volume_base, fills.iter().map(|f| f.base).sum::<u128>());
    let name = |who: &meshsim_core::tx::Sender| match who {
        meshsim_core::tx::Sender::Agent(a) => s.agents[a.index()].name.as_str(),
        meshsim_core::tx::Sender::Vault(v) => s.vaults[v.index()].name.as_str(),
    };
    let maker = |n: &str| *b.makers.iter().find(|(w, _)| name(w) == n).unwrap().1;
    let taker = |n: &str| *b.takers.iter().find(|(w, _)| name(w) == n).unwrap().1;
    // the tight maker fills most and earns a positive spread against the external price; the noise
    // traders pay it; the arbitrageur gains what it takes from stale quotes
    let tight = maker("mm-tight");
    assert!(tight.fills > 100 && tight.edge > 0.0, "{tight:?}");
    assert!(tight.edge / tight.volume > 0.5e-4, "edge {} bps", tight.edge / tight.volume * 1e4);
    assert!(taker("noise").cost > 0.0);
    assert!(taker("arb").cost < 0.0);
    // every fill's fees: the taker's 2.5 bp and the maker's 0.2 bp rebate, to the unit's rounding
    for f in &fills {
        assert!(f.taker_fee * 1_000_000 >= f.quote * 250 && f.taker_fee * 1_000_000 < f.quote * 250 + 1_000_000);
        assert!(f.maker_fee <= 0 && f.maker_fee.unsigned_abs() * 1_000_000 <= f.quote * 20);
    }
}

/// One trader that only posts limit orders living two blocks, with nobody to trade against, on
/// a chain without gas: every order either rests or has expired, and its tokens are all back.
const LONELY: &str = r#"World(
    version: 1, name: "lonely", seed: 3, blocks: 200,
    chain: (block_time: Fixed(2.0), gas_limit: 60000000, base_fee_gwei: 0.0, native_token: "ETH"),
    numeraire: "USDC",
    tokens: [(symbol: "ETH", decimals: 18), (symbol: "USDC", decimals: 6)],
    market: (assets: [(token: "ETH", price: 2000.0, volatility: 0.6)]),
    books: [(name: "b", base: "ETH", quote: "USDC", tick_size: "0.01", lot_size: "0.001", maker_fee_bps: 1.0, taker_fee_bps: 2.0)],
    agents: [
        NoiseTrader(name: "lonely", capital: [("ETH", "100"), ("USDC", "200000")], book: "b",
            limit_orders_per_minute: 60.0, mean_size: "0.5", limit_offset_bps: 30.0, order_ttl_blocks: 2),
    ],
)"#;

#[test]
fn short_lived_orders_expire_and_their_escrow_comes_back() {
    let s = load(LONELY);
    let mut sim = checked(&s, false);
    sim.run_blocks(200).unwrap();
    let b = &sim.books().unwrap().list[0];
    assert!(b.stats.placed > 300, "{:?}", b.stats);
    assert!(b.stats.expired > 300, "{:?}", b.stats);
    // what rests was placed in the last two blocks (ttl 2)
    assert!(b.book.resting().all(|o| o.expires_at >= sim.block()));
    // the trader's own balance plus its escrow is its genesis capital, to the unit
    let snap = sim.snapshot();
    let held = &snap.agents[0].balances;
    let escrowed =
        |side| -> u128 { b.book.resting().filter(|o| o.side == side).map(|o| b.escrow[&o.id]).sum::<u128>() };
    assert_eq!(held[0] + escrowed(meshsim_math::book::Side::Ask), 100 * 10u128.pow(18));
    assert_eq!(held[1] + escrowed(meshsim_math::book::Side::Bid), 200_000 * 10u128.pow(6));
    assert_eq!(b.stats.fills, 0);
}

#[test]
fn cancels_first_spares_makers_from_stale_quotes_being_picked_off() {
    let text = orderbook();
    let picked = |text: &str| {
        let s = load(text);
        let mut sim = checked(&s, false);
        sim.run_blocks(3000).unwrap();
        let b = &sim.books().unwrap().list[0];
        let tight = b.makers.iter().find(|(w, _)| **w == meshsim_core::tx::Sender::Agent(meshsim_scenario::AgentId(0)));
        tight.map_or(0.0, |(_, m)| m.picked_off)
    };
    let pga = picked(&text);
    let first = picked(&text.replace(r#"native_token: "ETH")"#, r#"native_token: "ETH", ordering: CancelsFirst)"#));
    // the arbitrageur outbids the makers' requotes under a priority-gas auction and takes quotes
    // left behind by the external price; cancels and requotes that run first leave it nothing
    assert!(pga > 5.0, "picked off under PGA: {pga}");
    assert!(first < pga / 4.0, "picked off: {first} first-cancels vs {pga} PGA");
}

/// `orderbook.ron` with only the vault `keep`; `pools_only` drops its books.
fn one_vault(keep: &str, pools_only: bool) -> String {
    let text = orderbook();
    let block = |t: &str, name: &str| {
        let start = t.find(&format!("(\n            name: \"{name}\",")).unwrap();
        let end = start + t[start..].find("\n        ),\n").unwrap() + "\n        ),\n".len();
        (start, end)
    };
    let drop = if keep == "active" { "passive" } else { "active" };
    let (a, b) = block(&text, drop);
    let mut out = format!("{}{}", &text[..a], text[b..].trim_start_matches(' '));
    if pools_only {
        let (a, b) = block(&out, keep);
        let vault = out[a..b].replace("            books: [\"eth-usdc-book\"],\n", "");
        out = format!("{}{}{}", &out[..a], vault, &out[b..]);
    }
    out
}

#[test]
fn a_tight_book_beside_the_pools_cuts_a_vaults_cost_and_resting_orders_cut_it_further() {
    let cost = |text: &str| {
        let mut s = load(text);
        s.seed = 5;
        let mut sim = checked(&s, false);
        sim.run_blocks(10_000).unwrap();
        let m = sim.metrics().vaults[0].clone();
        (m.cost(), m.turnover_value, m.passive_turnover, m.rebalances)
    };
    let pools = cost(&one_vault("active", true));
    let book = cost(&one_vault("active", false));
    let passive = cost(&one_vault("passive", false));
    // same market path, same trigger: the same rebalances, each cheaper with the book
    assert!(pools.3 > 0 && pools.3 == book.3, "rebalances {} vs {}", pools.3, book.3);
    assert!(book.0 < 0.8 * pools.0, "cost with the book {} vs pools only {}", book.0, pools.0);
    // resting orders earn the spread instead of paying it: most of the volume fills passively
    assert!(passive.2 > 0.5 * passive.1, "filled passively {} of {}", passive.2, passive.1);
    assert!(passive.0 < book.0, "passive {} vs active {}", passive.0, book.0);
}

#[test]
fn a_passive_vault_counts_its_resting_orders_and_leaves_none_when_done() {
    let mut s = load(&one_vault("passive", false));
    s.seed = 5;
    let mut sim = checked(&s, false);
    let owner = meshsim_core::books::owner_of(meshsim_core::tx::Sender::Vault(meshsim_scenario::VaultId(0)));
    let (mut resting, mut idle_streak, mut longest_idle_streak, mut nav_before) = (0, 0, 0, None);
    for _ in 0..10_000 {
        sim.run_blocks(1).unwrap();
        let mine: Vec<_> = sim.books().unwrap().list[0].book.resting().filter(|o| o.owner == owner).copied().collect();
        let v = sim.snapshot().vaults[0].clone();
        // one order at a time
        assert!(mine.len() <= 1, "{} orders resting", mine.len());
        if !mine.is_empty() {
            resting += 1;
            // its NAV counts what the order holds in escrow: posting it moves NAV by no more
            // than the market does in a block (tens of dollars), never by the order's size (thousands)
            if let Some(before) = nav_before {
                let change: f64 = v.nav - before;
                assert!(change.abs() < 500.0, "NAV moved {change} with an order resting");
            }
        }
        // idle with an order resting: its cancel is on its way, one block at most
        if !v.in_progress && !mine.is_empty() {
            idle_streak += 1;
            longest_idle_streak = longest_idle_streak.max(idle_streak);
        } else {
            idle_streak = 0;
        }
        nav_before = Some(v.nav);
    }
    assert!(resting > 10, "its orders rested in {resting} blocks");
    assert!(longest_idle_streak <= 2, "idle with an order resting for {longest_idle_streak} blocks");
}

/// One Avellaneda-Stoikov maker alone with symmetric noise market orders, no fees, no
/// arbitrageur: risk aversion and horizon large enough that the inventory skew spans many ticks.
const AS_WORLD: &str = r#"World(
    version: 1, name: "as", seed: 21, blocks: 20000,
    chain: (block_time: Fixed(2.0), gas_limit: 60000000, base_fee_gwei: 0.0, native_token: "ETH"),
    numeraire: "USDC",
    tokens: [(symbol: "ETH", decimals: 18), (symbol: "USDC", decimals: 6)],
    market: (assets: [(token: "ETH", price: 2000.0, volatility: 0.6)]),
    books: [(name: "b", base: "ETH", quote: "USDC", tick_size: "0.01", lot_size: "0.001")],
    agents: [
        MarketMaker(name: "mm", capital: [("ETH", "1000"), ("USDC", "2000000")], book: "b", size: "2",
            risk_aversion: 0.05, depth_decay_bps: 2.0, horizon_s: 600.0, max_inventory: "900",
            order_ttl_blocks: 1000),
        NoiseTrader(name: "noise", capital: [("ETH", "5000"), ("USDC", "10000000")], book: "b",
            market_orders_per_minute: 20.0, mean_size: "1", max_slippage_bps: 500.0),
    ],
)"#;

/// Least-squares slope and intercept of y on x.
fn fit(xy: &[(f64, f64)]) -> (f64, f64) {
    let n = xy.len() as f64;
    let (mx, my) = (xy.iter().map(|p| p.0).sum::<f64>() / n, xy.iter().map(|p| p.1).sum::<f64>() / n);
    let sxy: f64 = xy.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xy.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    let slope = sxy / sxx;
    (slope, my - slope * mx)
}

#[test]
fn market_maker_spread_income_matches_the_avellaneda_stoikov_model() {
    let s = load(AS_WORLD);
    let mut sim = checked(&s, true);
    sim.run_blocks(20_000).unwrap();
    let fills = sim.drain_fill_rows();
    assert!(fills.len() > 2_000, "{} fills", fills.len());
    // the model at external price p: k = gamma sigma^2 tau (the skew per base token of
    // inventory) and half the total spread, gamma sigma^2 tau + (2 / gamma) ln(1 + gamma / kappa)
    let (gamma, tau): (f64, f64) = (0.05, 600.0);
    let k = |p: f64| gamma * (0.6 * p) * (0.6 * p) / (365.0 * 24.0 * 3600.0) * tau;
    let half = |p: f64| (k(p) + 2.0 / gamma * libm::log1p(gamma * 2e-4 * p)) / 2.0;
    // each fill: how far from the external price it filled on the maker's side, against what the
    // model says for the maker's inventory (ETH above its start) at that moment
    let (mut q, mut points, mut halves) = (0.0, Vec::new(), 0.0);
    for f in &fills {
        let (base, p) = (f.base as f64 / 1e18, f.external);
        let (got, model) =
            if f.taker_buys { (f.price - p, half(p) - k(p) * q) } else { (p - f.price, half(p) + k(p) * q) };
        points.push((model, got));
        halves += half(p);
        q += if f.taker_buys { -base } else { base };
    }
    let n = points.len() as f64;
    // the quotes lean against inventory as the model says: the fit of what was earned on what
    // the model predicts has slope one
    let (slope, _) = fit(&points);
    assert!((slope - 1.0).abs() < 0.05, "slope {slope}");
    // and on average they earn the model's half spread (ticks round each quote outward by half
    // a tick on average; the tolerance is a tenth of the half spread)
    let residual = points.iter().map(|(m, g)| g - m).sum::<f64>() / n;
    let mean_half = halves / n;
    assert!(residual.abs() < 0.1 * mean_half, "earned {residual} beyond the model's half spread {mean_half}");
    // the inventory skew spans many ticks: the test measures the lean, not the rounding
    let spread_of_model =
        points.iter().map(|p| p.0).fold(f64::MIN, f64::max) - points.iter().map(|p| p.0).fold(f64::MAX, f64::min);
    assert!(spread_of_model > 5.0, "model edges range over only {spread_of_model}");
}

/// A book quoted around 2000 by a maker, and a v2 pool of the same pair priced at 2030, with a
/// cyclic arbitrageur between them and no CEX arbitrageur.
const CYCLE_WORLD: &str = r#"World(
    version: 1, name: "cycle", seed: 4, blocks: 50,
    chain: (block_time: Fixed(2.0), gas_limit: 60000000, base_fee_gwei: 0.01, native_token: "ETH"),
    numeraire: "USDC",
    tokens: [(symbol: "ETH", decimals: 18), (symbol: "USDC", decimals: 6)],
    market: (assets: [(token: "ETH", price: 2000.0, volatility: 0.0)]),
    pools: [ConstantProduct(name: "v2", tokens: ("ETH", "USDC"), reserves: ("1000", "2030000"), fee_bps: 30.0)],
    books: [(name: "b", base: "ETH", quote: "USDC", tick_size: "0.01", lot_size: "0.001", taker_fee_bps: 2.5)],
    agents: [
        MarketMaker(name: "mm", capital: [("ETH", "100"), ("USDC", "200000")], book: "b", size: "2",
            risk_aversion: 0.0, depth_decay_bps: 2.0, max_inventory: "90"),
        CycleArbitrageur(name: "cycle", capital: [("ETH", "50"), ("USDC", "100000")], max_cycle_len: 2,
            books: ["b"], min_profit: 1.0),
    ],
)"#;

#[test]
fn a_cyclic_arbitrageur_buys_on_the_book_and_sells_on_a_dearer_pool() {
    let s = load(CYCLE_WORLD);
    let mut sim = checked(&s, true);
    sim.run_blocks(50).unwrap();
    let (blocks, trades) = sim.drain_records();
    let cycles: Vec<_> = trades.iter().filter(|t| t.kind == meshsim_core::tx::TxKind::CycleArbitrage).collect();
    // each round trip: a book order buying ETH, then a swap selling it on the pool, same block
    let books: Vec<_> = cycles.iter().filter(|t| t.pools.is_empty()).collect();
    let swaps: Vec<_> = cycles.iter().filter(|t| !t.pools.is_empty()).collect();
    assert!(!books.is_empty() && books.len() == swaps.len(), "{} book legs, {} pool legs", books.len(), swaps.len());
    for (b, w) in books.iter().zip(&swaps) {
        assert_eq!(b.block, w.block);
        assert!(b.index < w.index, "the book leg first");
        assert_eq!((b.token_in, b.token_out), (meshsim_scenario::TokenId(1), meshsim_scenario::TokenId(0)));
        assert_eq!(w.amount_in, b.amount_out, "the pool sells what the book bought");
        assert!(!w.reverted && !b.reverted);
    }
    // the round trips together gain, and pull the pool's price down toward the book's
    let profit: f64 = cycles.iter().map(|t| t.profit).sum();
    assert!(profit > 0.0, "round trips lost {profit}");
    let last = blocks.last().unwrap().pools[0].price;
    assert!(last < 2030.0 * 0.995 && last > 1990.0, "pool price {last}");
}
