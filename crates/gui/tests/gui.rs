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

/// The digest of `scenario` driven by `log` headless, as `meshsim run --commands` does: the
/// commands of each block before it, and those given after the last block at the end.
fn replayed(scenario: &meshsim_scenario::Scenario, log: &meshsim_scenario::commands::CommandLog) -> String {
    let mut sim = Simulation::new(scenario).unwrap();
    for b in 0..=log.blocks {
        for c in log.at(b) {
            sim.apply(c).unwrap();
        }
        if b < log.blocks {
            sim.step_block().unwrap();
        }
    }
    sim.digest().to_string()
}

fn settle(h: &mut Harness<'static, MeshsimApp>) {
    assert!(wait_idle(h.state(), PATIENCE), "the worker went idle");
    h.step();
    h.step();
}

#[test]
fn play_pause_step_select_and_shock() {
    let mut h = open(MeshsimApp::new(Some(world("vaults.ron")), None, Vec::new()));
    h.get_by_label("Block 0 / 20000");
    h.check_accessibility();

    // step 10 blocks and read the counter
    h.get_by_label("Step N").click();
    h.step();
    settle(&mut h);
    h.get_by_label("Block 10 / 20000");

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
    h.get_by_label(&format!("Block {paused_at} / 20000"));

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
    assert_eq!(replayed(&scenario, &log), gui_digest);
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

/// Clicks the timeline at block `b` (of a run of `end` blocks).
fn click_timeline(h: &mut Harness<'static, MeshsimApp>, b: u64, end: u64) {
    let r = h.get_by_label("timeline").rect();
    // the bar spans the widget's width
    let x = r.min.x + (r.max.x - r.min.x) * (b as f32 / end as f32);
    let y = (r.min.y + r.max.y) / 2.0;
    let pos = egui::pos2(x, y);
    h.input_mut().events.push(egui::Event::PointerMoved(pos));
    h.step();
    for pressed in [true, false] {
        h.input_mut().events.push(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
        h.step();
    }
    h.input_mut().events.push(egui::Event::PointerGone);
    h.step();
}

/// The price the inspector shows for the selected pool (USDC per ETH).
fn shown_price(h: &Harness<'static, MeshsimApp>) -> f64 {
    let node = h.get_by_label_contains("USDC per ETH");
    let label = node.accesskit_node().label().or_else(|| node.value()).unwrap();
    label.split_whitespace().next().unwrap().parse().unwrap()
}

fn fresh(name: &str, blocks: u64) -> Simulation {
    let s = meshsim_scenario::load_file(&world(name)).unwrap();
    let mut sim = Simulation::new(&s).unwrap();
    sim.run_blocks(blocks).unwrap();
    sim
}

#[test]
fn the_timeline_goes_back_to_a_past_block_and_shows_the_state_a_fresh_run_has_there() {
    let mut h = open(MeshsimApp::new(Some(world("cascade.ron")), None, Vec::new()));
    h.get_by_label("Block 0 / 150");
    // run 60 blocks (past the shock at block 40), then look at the first pool
    for _ in 0..6 {
        h.get_by_label("Step N").click();
        h.step();
        settle(&mut h);
    }
    assert_eq!(block(&h), 60);
    h.get_all_by_label("pool-a").next().unwrap().click();
    h.step();
    for target in [40, 10, 55] {
        click_timeline(&mut h, target, 150);
        settle(&mut h);
        let at = block(&h);
        // a click lands within a block of its target (the bar is ~1,500 px for 150 blocks)
        assert!(at.abs_diff(target) <= 1, "went to {at} for {target}");
        h.get_by_label(&format!("Block {at} / 150"));
        let sim = fresh("cascade.ron", at);
        let shared = h.state().session().unwrap().shared();
        assert_eq!(shared.digest, sim.digest().to_string(), "state at block {at}");
        assert_eq!(shared.head, 60, "going back keeps the run's history");
        drop(shared);
        let expected = sim.snapshot().pools[0].price;
        let shown = shown_price(&h);
        assert!((shown / expected - 1.0).abs() < 1e-3, "block {at}: shown {shown}, a fresh run has {expected}");
    }
    // playing on from a past block walks the same path: at the head, the same state as before
    h.get_by_label("Step N").click();
    h.step();
    settle(&mut h);
    assert_eq!(block(&h), 65);
    assert_eq!(h.state().session().unwrap().shared().digest, fresh("cascade.ron", 65).digest().to_string());
    // the rows of the first pass are not recorded twice
    let shared = h.state().session().unwrap().shared();
    let blocks: Vec<f64> = shared.history.blocks.iter().copied().collect();
    assert_eq!(blocks, (1..=65).map(|b| b as f64).collect::<Vec<_>>());
}

#[test]
fn a_run_stops_at_the_world_s_length_and_pauses_on_a_cascade() {
    // pause on cascade is on in a short world: playing stops where the first cascade spreads
    let mut h = open(MeshsimApp::new(Some(world("cascade.ron")), None, Vec::new()));
    h.state().session().unwrap().set_speed(meshsim_gui::session::Speed::Max);
    h.get_by_label("Play").click();
    h.step();
    until(&mut h, "the pause", |h| {
        let s = h.state().session().unwrap().shared();
        !s.playing && s.block > 0
    });
    settle(&mut h);
    let at = block(&h);
    let cascades = h.state().session().unwrap().shared().cascades.clone();
    assert!(at < 150 && !cascades.is_empty(), "paused at {at} with {} cascades", cascades.len());
    assert!(cascades.iter().all(|(c, _)| c.root_block <= at));
    h.get_by_label_contains("paused: a cascade began to spread");
    // the cascades panel lists it; choosing it jumps the timeline to where it ended
    h.get_by_label(&format!("Cascades ({})", cascades.len())).click();
    h.step();
    h.get_by_label(&format!("cascade 1 at block {}", cascades[0].0.root_block)).click();
    h.step();
    settle(&mut h);
    assert_eq!(block(&h), cascades[0].0.end_block.min(at));
    // without the pause, the run goes on to the world's end and stops there
    h.get_by_label("pause on cascade").click();
    h.step();
    h.get_by_label("Play").click();
    h.step();
    until(&mut h, "the end", |h| !h.state().session().unwrap().shared().playing && block(h) == 150);
    settle(&mut h);
    h.get_by_label("Block 150 / 150");
    std::thread::sleep(Duration::from_millis(100));
    h.get_by_label("Play").click();
    h.step();
    settle(&mut h);
    assert_eq!(block(&h), 150, "nothing runs past the end");
}

#[test]
fn a_fork_runs_its_what_if_beside_the_run_and_its_log_replays_headless_to_its_digest() {
    let dir = tempfile::tempdir().unwrap();
    let fork_log = dir.path().join("fork.ron");
    let app = MeshsimApp::new(Some(world("vaults.ron")), Some(77), Vec::new()).with_fork_log_path(&fork_log);
    let mut h = open(app);
    h.get_by_label("Step N").click();
    h.step();
    settle(&mut h);
    h.get_by_label("Fork here").click();
    h.step();
    let fork_idle = |h: &Harness<'static, MeshsimApp>| h.state().fork_session().unwrap().wait_idle(PATIENCE);
    assert!(fork_idle(&h));
    // a frame with the fork's row and message laid out, so clicks land where they are drawn
    h.step();
    h.step();
    assert_eq!(h.state().fork_session().unwrap().shared().block, 10);
    assert_eq!(h.state().fork_session().unwrap().shared().digest, h.state().session().unwrap().shared().digest);
    // the shock goes to the fork; both run on
    h.get_by_label("Apply shock").click();
    h.step();
    h.get_by_label("Step N").click();
    h.step();
    settle(&mut h);
    assert!(fork_idle(&h));
    h.step();
    let (a, b) = (
        h.state().session().unwrap().shared().digest.clone(),
        h.state().fork_session().unwrap().shared().digest.clone(),
    );
    assert_eq!(block(&h), 20);
    assert_eq!(
        a,
        {
            let mut s = meshsim_scenario::load_file(&world("vaults.ron")).unwrap();
            s.seed = 77;
            let mut sim = Simulation::new(&s).unwrap();
            sim.run_blocks(20).unwrap();
            sim.digest().to_string()
        },
        "the run itself is untouched by the fork's shock"
    );
    assert_ne!(a, b);
    // the comparison table is there, with the pools' prices apart
    h.get_by_label("B - A");
    // the fork's log, replayed headless as `meshsim run --commands` does, ends on the fork's digest
    h.get_by_label("Save fork log").click();
    h.step();
    let mut scenario = meshsim_scenario::load_file(&world("vaults.ron")).unwrap();
    let log = meshsim_scenario::commands::load_commands(&fork_log, &scenario).unwrap();
    assert_eq!((log.seed, log.blocks, log.commands.len()), (77, 20, 1));
    assert_eq!(log.commands[0].block, 10);
    scenario.seed = log.seed;
    assert_eq!(replayed(&scenario, &log), b);
}

#[test]
fn a_world_opened_with_a_fork_log_runs_plain_beside_the_log_s_what_if() {
    let log_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/sessions/vaults-eth-crash.ron");
    let mut h = open(MeshsimApp::new(Some(world("vaults.ron")), None, Vec::new()).fork_log(&log_path));
    assert!(h.state().fork_session().unwrap().wait_idle(PATIENCE));
    settle(&mut h);
    let mut scenario = meshsim_scenario::load_file(&world("vaults.ron")).unwrap();
    let log = meshsim_scenario::commands::load_commands(&log_path, &scenario).unwrap();
    scenario.seed = log.seed;
    // A: the world as it is
    let mut plain = Simulation::new(&scenario).unwrap();
    plain.run_blocks(log.blocks).unwrap();
    assert_eq!(block(&h), log.blocks);
    assert_eq!(h.state().session().unwrap().shared().digest, plain.digest().to_string());
    // B: the log replayed
    assert_eq!(h.state().fork_session().unwrap().shared().digest, replayed(&scenario, &log));
    h.get_by_label("B - A");
}

/// A finished run's folder, browsed without running: `tests/data/cascade-run` is what
/// `meshsim run worlds/cascade.ron --out crates/gui/tests/data/cascade-run` writes (regenerate it
/// when a change to the engine or the world moves the run on purpose).
#[test]
fn a_finished_run_s_folder_is_browsed_with_the_states_the_run_had() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cascade-run");
    let mut h = open(MeshsimApp::new(None, None, Vec::new()).recorded(&dir, &world("cascade.ron")));
    h.get_by_label("Block 150 / 150");
    h.get_by_label_contains("a recorded run: 150 blocks");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    {
        let shared = h.state().session().unwrap().shared();
        let trades = std::fs::read_to_string(dir.join("trades.csv")).unwrap().lines().count() - 1;
        assert_eq!(shared.events.rows.len(), trades);
        assert_eq!(shared.cascades.len() as u64, summary["cascades"]["count"].as_u64().unwrap());
        assert_eq!(shared.history.blocks.len(), 150);
    }
    h.get_all_by_label("pool-a").next().unwrap().click();
    h.step();
    for target in [40, 10, 120] {
        click_timeline(&mut h, target, 150);
        settle(&mut h);
        let at = block(&h);
        assert!(at.abs_diff(target) <= 1, "went to {at} for {target}");
        // the pool's price as the run had it there
        let expected = fresh("cascade.ron", at).snapshot().pools[0].price;
        let shown = shown_price(&h);
        assert!((shown / expected - 1.0).abs() < 1e-3, "block {at}: shown {shown}, the run had {expected}");
    }
    // a recorded run takes no commands
    h.get_by_label("Apply shock").click();
    h.step();
    settle(&mut h);
    assert!(h.state().session().unwrap().shared().error.as_deref().unwrap_or("").contains("takes no commands"));
}

#[test]
fn a_run_folder_from_another_world_file_is_refused_with_a_message() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cascade-run");
    let mut h = Harness::builder().with_size([1200.0, 800.0]).build_ui_state(
        |ui: &mut egui::Ui, app: &mut MeshsimApp| app.show(ui),
        MeshsimApp::new(None, None, Vec::new()).recorded(&dir, &world("vaults.ron")),
    );
    h.step();
    h.step();
    let e = h.state().load_error().expect("an error is shown").to_string();
    assert!(e.contains("another world file"), "{e}");
}

#[test]
fn a_parquet_run_folder_reads_the_same_as_its_csv_twin() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let csv = meshsim_gui::recorded::Recorded::load(&data.join("cascade-run"), &world("cascade.ron")).unwrap();
    let pq = meshsim_gui::recorded::Recorded::load(&data.join("cascade-run-parquet"), &world("cascade.ron")).unwrap();
    assert_eq!(pq.events.rows, csv.events.rows);
    assert!(!pq.events.rows.is_empty());
    assert_eq!(pq.history.blocks, csv.history.blocks);
    assert_eq!(pq.history.pools, csv.history.pools);
    assert_eq!(pq.history.vaults[0].nav, csv.history.vaults[0].nav);
    assert_eq!(pq.cascades, csv.cascades);
    for b in [1, 40, 41, 150] {
        assert_eq!(pq.snapshot_at(b).pools[0].balances, csv.snapshot_at(b).pools[0].balances, "block {b}");
    }
}
