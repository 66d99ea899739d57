//! The window driven without a display (egui_kittest): open a world, play and pause, step,
//! select a pool, shock a price, and replay the session's command log headless.
#![expect(clippy::unwrap_used, reason = "tests: a panic with its message is a failing test")]

use std::path::{Path, PathBuf};
use std::time::Duration;

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use meshsim_core::Simulation;
use meshsim_gui::MeshsimApp;
use meshsim_gui::app::wait_idle;

const PATIENCE: Duration = Duration::from_secs(60);

fn world(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../worlds").join(name)
}

fn open(app: MeshsimApp) -> Harness<'static, MeshsimApp> {
    let mut h = Harness::builder()
        .with_size([1500.0, 1000.0])
        .build_ui_state(|ui: &mut egui::Ui, app: &mut MeshsimApp| app.show(ui), app);
    h.step();
    assert!(wait_idle(h.state(), PATIENCE), "the world opened");
    h.step();
    h
}

/// Frames until `check` holds (the worker publishes asynchronously).
fn until(h: &mut Harness<'static, MeshsimApp>, what: &str, check: impl Fn(&Harness<'static, MeshsimApp>) -> bool) {
    #[expect(clippy::disallowed_methods, reason = "a test's patience, not a result")]
    let start = std::time::Instant::now();
    while !check(h) {
        assert!(start.elapsed() < PATIENCE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
}

fn block(h: &Harness<'static, MeshsimApp>) -> u64 {
    h.state().session().unwrap().shared().block
}

fn settle(h: &mut Harness<'static, MeshsimApp>) {
    assert!(wait_idle(h.state(), PATIENCE), "the worker went idle");
    h.step();
    h.step();
}

#[test]
fn play_pause_step_select_and_shock() {
    let mut h = open(MeshsimApp::new(Some(world("vaults.ron")), None, Vec::new()));
    h.get_by_label("Block 0");
    h.check_accessibility();

    // step 10 blocks and read the counter
    h.get_by_label("Step N").click();
    h.step();
    settle(&mut h);
    h.get_by_label("Block 10");

    // play, then pause: the counter moved on and stays put
    h.get_by_label("Play").click();
    until(&mut h, "playing", |h| h.query_by_label("Pause").is_some());
    until(&mut h, "a few blocks", |h| block(h) >= 14);
    h.get_by_label("Pause").click();
    h.step();
    settle(&mut h);
    let paused_at = block(&h);
    assert!(paused_at >= 14);
    std::thread::sleep(Duration::from_millis(100));
    h.step();
    assert_eq!(block(&h), paused_at, "paused means paused");
    h.get_by_label(&format!("Block {paused_at}"));

    // select a pool and read its inspector
    // the side panel's entry (the chart legend names the pool too)
    h.get_all_by_label("v2-eth-usdc").next().unwrap().click();
    h.step();
    h.get_by_label("Pool v2-eth-usdc");
    let node = h.get_by_label_contains("USDC per ETH");
    let price_label = node.accesskit_node().label().or_else(|| node.value()).unwrap();
    let shown: f64 = price_label.split_whitespace().next().unwrap().parse().unwrap();
    let snap = h.state().session().unwrap().shared().snapshot.clone().unwrap();
    let pool = &snap.pools[0];
    assert_eq!(pool.name, "v2-eth-usdc");
    assert!((shown / pool.price - 1.0).abs() < 1e-3, "the inspector shows the pool's price: {shown} vs {}", pool.price);

    // shock ETH by -30 % (the form's default) and watch the prices move
    let eth = snap.tokens.iter().position(|t| t.symbol == "ETH").unwrap();
    let before = (snap.tokens[eth].price, pool.price);
    h.get_by_label("Apply shock").click();
    h.step();
    h.get_by_label("Step 1").click();
    h.step();
    settle(&mut h);
    let after = h.state().session().unwrap().shared().snapshot.clone().unwrap();
    assert!(
        after.tokens[eth].price < before.0 * 0.75,
        "external ETH fell: {} -> {}",
        before.0,
        after.tokens[eth].price
    );
    assert!(
        after.pools[0].price < before.1 * 0.8,
        "the arbitrageurs dragged the pool down: {} -> {}",
        before.1,
        after.pools[0].price
    );
    let log = h.state().session().unwrap().log();
    assert_eq!(log.commands.len(), 1);
    assert_eq!(log.commands[0].block, paused_at);
}

#[test]
fn a_saved_session_replays_headless_to_the_same_digest() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("session.ron");
    let app = MeshsimApp::new(Some(world("vaults.ron")), Some(77), Vec::new()).with_log_path(&log_path);
    let mut h = open(app);
    h.get_by_label("Step N").click();
    h.step();
    settle(&mut h);
    // a shock, more blocks, a what-if on a vault, more blocks
    h.get_by_label("Apply shock").click();
    h.step();
    h.get_by_label("Step N").click();
    h.step();
    settle(&mut h);
    h.get_by_label("private relay").click();
    h.step();
    h.get_by_label("Apply to vault").click();
    h.step();
    h.get_by_label("Step N").click();
    h.step();
    settle(&mut h);
    h.get_by_label("Save command log").click();
    h.step();
    h.step();
    let log = h.state().session().unwrap().log();
    assert_eq!(log.commands.len(), 2, "{log:?}");
    h.get_by_label_contains("saved 2 commands, 30 blocks");
    let gui_digest = h.state().session().unwrap().shared().digest.clone();

    // headless, from the file, as `meshsim run --commands` does
    let mut scenario = meshsim_scenario::load_file(&world("vaults.ron")).unwrap();
    let log = meshsim_scenario::commands::load_commands(&log_path, &scenario).unwrap();
    assert_eq!((log.seed, log.blocks), (77, 30));
    scenario.seed = log.seed;
    let mut sim = Simulation::new(&scenario).unwrap();
    for b in 0..=log.blocks {
        for c in log.at(b) {
            sim.apply(c).unwrap();
        }
        if b < log.blocks {
            sim.step_block().unwrap();
        }
    }
    assert_eq!(sim.digest().to_string(), gui_digest);
    // and without the commands it would not match
    let mut plain = Simulation::new(&scenario).unwrap();
    plain.run_blocks(30).unwrap();
    assert_ne!(plain.digest().to_string(), gui_digest);
}

#[test]
fn a_bad_world_file_is_a_message_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.ron");
    let text = std::fs::read_to_string(world("lvr.ron")).unwrap().replace("fee_bps: 0.0", "fee_bps: -3.0");
    std::fs::write(&bad, text).unwrap();
    let mut h = Harness::builder().with_size([1200.0, 800.0]).build_ui_state(
        |ui: &mut egui::Ui, app: &mut MeshsimApp| app.show(ui),
        MeshsimApp::new(Some(bad.clone()), None, vec![world("").parent().unwrap().join("worlds")]),
    );
    h.step();
    h.step();
    let e = h.state().load_error().expect("an error is shown").to_string();
    assert!(e.contains("bad.ron:") && e.contains("fee_bps"), "{e}");
    h.get_by_label_contains("fee_bps");
    // the picker still offers the bundled worlds
    h.get_by_label("lvr.ron");
}

#[test]
fn a_lending_market_shows_its_reserves_and_liquidations() {
    let mut h = open(MeshsimApp::new(Some(world("stress/liquidation-spiral.ron")), None, Vec::new()));
    // through the fall: liquidations happen from about block 190
    for _ in 0..30 {
        h.get_by_label("Step N").click();
        h.step();
        settle(&mut h);
    }
    assert!(block(&h) >= 250, "at block {}", block(&h));
    h.get_all_by_label("lend").next().unwrap().click();
    h.step();
    h.get_by_label("Lending market lend");
    let snap = h.state().session().unwrap().shared().snapshot.clone().unwrap();
    let market = &snap.lending[0];
    assert_eq!(market.borrowers, 300);
    let liquidations = market.reserves[1].liquidations;
    assert!(liquidations > 0, "no liquidations by block {}", block(&h));
    // the inspector shows the count the simulation holds
    let shown = h.get_all_by_label(&liquidations.to_string()).count();
    assert!(shown >= 1, "the inspector shows {liquidations} liquidations");
    // one block of rows per reserve
    assert_eq!(h.get_all_by_label("utilization").count(), 2);
    // the charts' series follow the market block by block
    let at = block(&h);
    let shared = h.state().session().unwrap().shared();
    let usdc = &shared.history.lending[0][1];
    assert_eq!(usdc.blocks.back().copied(), Some(at as f64));
    assert_eq!(usdc.liquidations.back().copied(), Some(liquidations as f64));
    assert!(usdc.utilization.iter().all(|u| (0.0..=1.0).contains(u)));
}

#[test]
fn an_order_book_shows_its_best_prices_and_depth() {
    let mut h = open(MeshsimApp::new(Some(world("orderbook.ron")), None, Vec::new()));
    for _ in 0..3 {
        h.get_by_label("Step N").click();
        h.step();
        settle(&mut h);
    }
    h.get_all_by_label("eth-usdc-book").next().unwrap().click();
    h.step();
    h.get_by_label("Order book eth-usdc-book");
    let snap = h.state().session().unwrap().shared().snapshot.clone().unwrap();
    let book = &snap.books[0];
    // both makers quote by now, and the book is not crossed
    let (bid, ask) = (book.bids[0].0, book.asks[0].0);
    assert!(bid < ask, "bid {bid} ask {ask}");
    // the inspector shows the best bid the simulation holds (ticks of 0.01 USDC)
    let shown = format!("{:.2}", bid as f64 / 100.0);
    assert!(h.query_all_by_label_contains(&shown).count() >= 1, "best bid {shown} not shown");
    h.get_by_label("spread");
}
