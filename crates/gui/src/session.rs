//! The simulation runs on its own thread; the window reads what it publishes.
//!
//! The worker owns the [`Simulation`] and takes orders through a channel (play, pause, step,
//! speed, commands, reset). After each chunk of blocks it appends the new rows to the shared
//! history and, at most about 30 times a second (and whenever it stops), publishes a snapshot.
//! The window never touches the simulation: it locks [`Shared`] briefly to read. Commands
//! apply between blocks and are logged with the block count at which they applied, so a
//! session replays headless to the same digest.
//!
//! The timeline: a run stops at its end (the world's `blocks` unless the user sets another), and
//! keeps the history of its furthest block (the head). Going back to a past block rebuilds the
//! world from genesis and replays it, with the logged commands, to that block: the engine is
//! deterministic, so the state there is the state the run had there (tested against a fresh
//! run). Playing on from a past block walks the same path again without recording it twice; a
//! command given there changes the future, so the history after it is dropped.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use meshsim_core::cascade::Cascade;
use meshsim_core::{SimOptions, Simulation, Snapshot};
use meshsim_scenario::commands::{Command, CommandLog, TimedCommand};
use meshsim_scenario::{AgentKind, Scenario};

use crate::history::{Events, History};

/// How fast to play.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// At most this many blocks per second.
    BlocksPerSecond(f64),
    /// As fast as the engine goes.
    Max,
}

enum Control {
    Play,
    Pause,
    Step(u64),
    Speed(Speed),
    Apply(Command),
    Reset(u64),
    Seek(u64),
    Adopt(CommandLog, u64),
    SetEnd(u64),
    PauseOnCascade(bool),
    Shutdown,
}

/// What the worker publishes.
pub struct Shared {
    /// The world.
    pub scenario: Arc<Scenario>,
    /// Seed of this run.
    pub seed: u64,
    /// Playing (not paused).
    pub playing: bool,
    /// Blocks still to run of a step request.
    pub steps_left: u64,
    /// Blocks run: the state shown is after this many.
    pub block: u64,
    /// Where the run stops.
    pub end: u64,
    /// The furthest block of this run: history is kept up to it.
    pub head: u64,
    /// Pause when a new cascade starts.
    pub pause_on_cascade: bool,
    /// Why the run paused by itself, if it did.
    pub notice: Option<String>,
    /// State after the last published block.
    pub snapshot: Option<Arc<Snapshot>>,
    /// Digest of that state.
    pub digest: String,
    /// Per-block series for the charts.
    pub history: History,
    /// Recent transactions.
    pub events: Events,
    /// Cascades up to the head, with their recovery time.
    pub cascades: Vec<(Cascade, Option<u64>)>,
    /// The session's commands.
    pub log: CommandLog,
    /// The last error (a rejected command, or a failed block, which pauses the run).
    pub error: Option<String>,
    /// Blocks per second over the last chunks.
    pub rate: f64,
    /// Bumped on every reset, so that views drop stale selections.
    pub generation: u64,
    /// Orders the worker has taken so far (see [`Session::wait_idle`]).
    pub handled: u64,
}

/// A running world.
pub struct Session {
    shared: Arc<Mutex<Shared>>,
    control: Sender<Control>,
    worker: Option<JoinHandle<()>>,
    sent: std::sync::atomic::AtomicU64,
}

impl Session {
    /// Starts a session of `scenario` at `seed`, paused at block 0. `repaint` is called after
    /// each publication (the window's repaint request).
    pub fn start(scenario: Scenario, seed: u64, repaint: impl Fn() + Send + 'static) -> Result<Self, String> {
        let scenario = Arc::new(scenario);
        let sim = build(&scenario, seed)?;
        let end = scenario.blocks.max(1);
        // short worlds are built around an event; long ones have cascades all the time
        let pause_on_cascade = end <= PAUSE_ON_CASCADE_UP_TO;
        let shared = Arc::new(Mutex::new(Shared {
            scenario: scenario.clone(),
            seed,
            playing: false,
            steps_left: 0,
            block: 0,
            end,
            head: 0,
            pause_on_cascade,
            notice: None,
            snapshot: None,
            digest: String::new(),
            history: History::new(&scenario),
            events: Events::default(),
            cascades: Vec::new(),
            log: CommandLog::new(&scenario, seed),
            error: None,
            rate: 0.0,
            generation: 0,
            handled: 0,
        }));
        let (tx, rx) = mpsc::channel();
        let mut worker = Worker::new(sim, scenario, seed, shared.clone(), Box::new(repaint));
        worker.end = end;
        worker.pause_on_cascade = pause_on_cascade;
        worker.publish();
        let handle = std::thread::Builder::new()
            .name("meshsim-sim".into())
            .spawn(move || worker.run(rx))
            .map_err(|e| format!("cannot start the simulation thread: {e}"))?;
        Ok(Session { shared, control: tx, worker: Some(handle), sent: std::sync::atomic::AtomicU64::new(0) })
    }

    /// A recorded run (a `meshsim run` output folder), browsed: the same views, no simulation.
    /// Play, step and the timeline move through the recorded blocks; commands are refused.
    pub fn recorded(rec: crate::recorded::Recorded, repaint: impl Fn() + Send + 'static) -> Result<Self, String> {
        let scenario = Arc::new(rec.scenario.clone());
        let end = rec.blocks.max(1);
        let shared = Arc::new(Mutex::new(Shared {
            scenario: scenario.clone(),
            seed: rec.seed,
            playing: false,
            steps_left: 0,
            block: rec.blocks,
            end,
            head: rec.blocks,
            pause_on_cascade: false,
            notice: Some(format!(
                "a recorded run: {} blocks of {:?}, seed {} (prices, reserves and weights as recorded; the rest of the inspector is the world's genesis)",
                rec.blocks, rec.scenario.name, rec.seed
            )),
            snapshot: Some(Arc::new(rec.snapshot_at(rec.blocks))),
            digest: rec.digest.clone(),
            history: rec.history.clone(),
            events: rec.events.clone(),
            cascades: rec.cascades.clone(),
            log: CommandLog::new(&scenario, rec.seed),
            error: None,
            rate: 0.0,
            generation: 0,
            handled: 0,
        }));
        let (tx, rx) = mpsc::channel();
        let worker_shared = shared.clone();
        let handle = std::thread::Builder::new()
            .name("meshsim-recorded".into())
            .spawn(move || browse(rec, worker_shared, rx, Box::new(repaint)))
            .map_err(|e| format!("cannot start the browsing thread: {e}"))?;
        Ok(Session { shared, control: tx, worker: Some(handle), sent: std::sync::atomic::AtomicU64::new(0) })
    }

    /// Reads what the worker published. Hold it briefly: the worker waits for it.
    pub fn shared(&self) -> MutexGuard<'_, Shared> {
        // a worker that panicked while holding the lock left data that is still readable
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send(&self, c: Control) {
        // a closed channel means the worker has gone; the window shows its last state
        if self.control.send(c).is_ok() {
            self.sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Plays.
    pub fn play(&self) {
        self.send(Control::Play);
    }
    /// Pauses.
    pub fn pause(&self) {
        self.send(Control::Pause);
    }
    /// Runs `n` more blocks, then pauses.
    pub fn step(&self, n: u64) {
        self.send(Control::Step(n));
    }
    /// Sets the speed.
    pub fn set_speed(&self, s: Speed) {
        self.send(Control::Speed(s));
    }
    /// Applies a command before the next block (and logs it).
    pub fn apply(&self, c: Command) {
        self.send(Control::Apply(c));
    }
    /// Restarts the world at `seed`, paused at block 0, with an empty log.
    pub fn reset(&self, seed: u64) {
        self.send(Control::Reset(seed));
    }
    /// Goes to block `block` of this run (at most its head), paused.
    pub fn seek(&self, block: u64) {
        self.send(Control::Seek(block));
    }
    /// Starts over on `log`'s seed with its commands, and runs to `block`, recording: the start
    /// of a fork, which then goes its own way (commands after `block` apply as it gets there).
    pub fn adopt(&self, log: CommandLog, block: u64) {
        self.send(Control::Adopt(log, block));
    }
    /// Stops the run at `block` instead of the world's length.
    pub fn set_end(&self, block: u64) {
        self.send(Control::SetEnd(block));
    }
    /// Pauses (or not) when a new cascade starts.
    pub fn pause_on_cascade(&self, on: bool) {
        self.send(Control::PauseOnCascade(on));
    }

    /// The session's command log, ready to save.
    pub fn log(&self) -> CommandLog {
        let s = self.shared();
        let mut log = s.log.clone();
        log.blocks = s.block;
        log
    }

    /// Waits until the worker has taken every order sent so far and is idle (paused, no steps
    /// left, its state published), or `timeout` passes; true if idle.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        #[expect(clippy::disallowed_methods, reason = "wall clock of the front end only")]
        let start = std::time::Instant::now();
        while start.elapsed() < timeout {
            {
                let sent = self.sent.load(std::sync::atomic::Ordering::SeqCst);
                let s = self.shared();
                if s.handled >= sent
                    && !s.playing
                    && s.steps_left == 0
                    && s.snapshot.as_ref().is_some_and(|x| x.block == s.block)
                {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        false
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.send(Control::Shutdown);
        if let Some(h) = self.worker.take() {
            let _ = h.join();
        }
    }
}

/// The browsing thread of a recorded run: a cursor over its blocks, moved by the controls.
fn browse(
    rec: crate::recorded::Recorded,
    shared: Arc<Mutex<Shared>>,
    rx: Receiver<Control>,
    repaint: Box<dyn Fn() + Send>,
) {
    let lock = || shared.lock().unwrap_or_else(|p| p.into_inner());
    let (mut block, mut playing, mut steps, mut speed, mut end) =
        (rec.blocks, false, 0u64, Speed::BlocksPerSecond(20.0), rec.blocks);
    let mut handled = 0;
    loop {
        let running = playing || steps > 0;
        let c = if running {
            match rx.recv_timeout(Duration::from_millis(33)) {
                Ok(c) => Some(c),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        } else {
            match rx.recv() {
                Ok(c) => Some(c),
                Err(_) => return,
            }
        };
        if let Some(c) = c {
            handled += 1;
            match c {
                Control::Shutdown => return,
                Control::Play => playing = block < end.min(rec.blocks),
                Control::Pause => (playing, steps) = (false, 0),
                Control::Step(n) => (playing, steps) = (false, n),
                Control::Speed(s) => speed = s,
                Control::Seek(b) => (block, playing, steps) = (b.min(rec.blocks), false, 0),
                Control::SetEnd(b) => end = b.max(1),
                Control::Apply(_) | Control::Adopt(..) => {
                    lock().error = Some("a recorded run takes no commands: run the world to try a what-if".into());
                }
                Control::Reset(_) => (block, playing, steps) = (0, false, 0),
                Control::PauseOnCascade(_) => {}
            }
        } else {
            // a frame's worth of blocks at the set speed
            let per_tick = match speed {
                Speed::Max => 1_000,
                Speed::BlocksPerSecond(r) => ((r * 0.033).round() as u64).max(1),
            };
            let n = if steps > 0 { steps } else { per_tick };
            let last = end.min(rec.blocks);
            let next = (block + n).min(last);
            steps = steps.saturating_sub(next - block);
            block = next;
            if block >= last {
                playing = false;
                steps = 0;
            }
        }
        let snapshot = Arc::new(rec.snapshot_at(block));
        {
            let mut s = lock();
            s.block = block;
            s.end = end;
            s.playing = playing;
            s.steps_left = steps;
            s.snapshot = Some(snapshot);
            s.handled = handled;
        }
        repaint();
    }
}

/// Worlds up to this long pause on a new cascade by default.
pub const PAUSE_ON_CASCADE_UP_TO: u64 = 2_000;

fn build(scenario: &Scenario, seed: u64) -> Result<Simulation, String> {
    let mut s = scenario.clone();
    s.seed = seed;
    let options = SimOptions { record: true, check_conservation: cfg!(debug_assertions), vault_every: 1 };
    Simulation::with_options(&s, options).map_err(|e| crate::fmt::error(&e))
}

/// Running totals the charts follow, from the engine's metrics.
struct Totals {
    arbitrageurs: Vec<usize>,
    searchers: Vec<usize>,
}

impl Totals {
    fn new(s: &Scenario) -> Self {
        let mut t = Totals { arbitrageurs: Vec::new(), searchers: Vec::new() };
        for (k, a) in s.agents.iter().enumerate() {
            match a.kind {
                AgentKind::Searcher { .. } => t.searchers.push(k),
                AgentKind::Arbitrageur { .. }
                | AgentKind::CycleArbitrageur { .. }
                | AgentKind::CrossChainArbitrageur { .. } => t.arbitrageurs.push(k),
                AgentKind::Liquidator { .. }
                | AgentKind::Borrowers { .. }
                | AgentKind::Supplier { .. }
                | AgentKind::MarketMaker(_)
                | AgentKind::NoiseTrader(_) => {}
            }
        }
        t
    }

    /// Gas paid, arbitrage profit, searcher profit, vaults' sandwich loss.
    fn read(&self, sim: &Simulation) -> [f64; 4] {
        // every block: borrowed, not copied (none of these is the pools' holdings gain)
        let m = sim.unsettled_metrics();
        let sum = |ids: &[usize], f: fn(&meshsim_core::metrics::AgentMetrics) -> f64| {
            ids.iter().filter_map(|k| m.agents.get(*k)).map(f).sum::<f64>()
        };
        [
            m.gas_value,
            sum(&self.arbitrageurs, |a| a.profit),
            sum(&self.searchers, |a| a.mev_profit),
            m.vaults.iter().map(|v| v.mev_loss).sum(),
        ]
    }
}

struct Worker {
    sim: Simulation,
    scenario: Arc<Scenario>,
    seed: u64,
    shared: Arc<Mutex<Shared>>,
    repaint: Box<dyn Fn() + Send>,
    totals: Totals,
    playing: bool,
    steps_left: u64,
    speed: Speed,
    log: CommandLog,
    // pacing of rate-limited play: blocks run since `paced_from`
    paced_from: Option<std::time::Instant>,
    paced_blocks: u64,
    last_publish: Option<std::time::Instant>,
    rate: f64,
    handled: u64,
    end: u64,
    head: u64,
    pause_on_cascade: bool,
    // cascades the simulation had counted when last looked at
    cascade_count: u64,
    // the block whose logged commands have been applied to the simulation
    applied_through: Option<u64>,
    cascades: Vec<(Cascade, Option<u64>)>,
    notice: Option<String>,
}

/// Longest stretch of simulation between looks at the channel.
const CHUNK: Duration = Duration::from_millis(8);
/// Publications per second at most while running.
const PUBLISH_EVERY: Duration = Duration::from_millis(33);

#[expect(clippy::disallowed_methods, reason = "wall-clock pacing of the front end; never reaches results")]
fn now() -> std::time::Instant {
    std::time::Instant::now()
}

impl Worker {
    fn new(
        sim: Simulation,
        scenario: Arc<Scenario>,
        seed: u64,
        shared: Arc<Mutex<Shared>>,
        repaint: Box<dyn Fn() + Send>,
    ) -> Self {
        Worker {
            totals: Totals::new(&scenario),
            log: CommandLog::new(&scenario, seed),
            sim,
            scenario,
            seed,
            shared,
            repaint,
            playing: false,
            steps_left: 0,
            speed: Speed::BlocksPerSecond(20.0),
            paced_from: None,
            paced_blocks: 0,
            last_publish: None,
            rate: 0.0,
            handled: 0,
            end: u64::MAX,
            head: 0,
            pause_on_cascade: false,
            cascade_count: 0,
            applied_through: None,
            cascades: Vec::new(),
            notice: None,
        }
    }

    /// Applies the logged commands of the current block, once.
    fn catch_up(&mut self) {
        let k = self.sim.block();
        if self.applied_through == Some(k) {
            return;
        }
        self.applied_through = Some(k);
        for c in self.log.at(k) {
            if let Err(e) = self.sim.apply(c) {
                self.shared.lock().unwrap_or_else(|p| p.into_inner()).error = Some(crate::fmt::error(&e));
            }
        }
    }

    /// One block, after the commands logged before it.
    fn step_one(&mut self) -> Result<(), String> {
        self.catch_up();
        self.sim.step_block().map_err(|e| crate::fmt::error(&e))
    }

    fn discard_records(&mut self) {
        let _ = self.sim.drain_records();
        let _ = self.sim.drain_vault_records();
        let _ = self.sim.drain_lending_records();
        let _ = self.sim.drain_book_rows();
        let _ = self.sim.drain_fill_rows();
        let _ = self.sim.drain_bridge_records();
    }

    /// Goes to `block` (at most the head): forward by stepping, back by rebuilding from genesis
    /// and replaying.
    fn seek(&mut self, block: u64) {
        let block = block.min(self.head);
        if block < self.sim.block() {
            match build(&self.scenario, self.seed) {
                Ok(sim) => {
                    self.sim = sim;
                    self.applied_through = None;
                }
                Err(e) => {
                    self.lock().error = Some(e);
                    return;
                }
            }
        }
        while self.sim.block() < block {
            if let Err(e) = self.step_one() {
                self.lock().error = Some(format!("stopped: {e}"));
                break;
            }
            self.discard_records();
        }
        self.catch_up();
        self.cascade_count = self.sim.cascade_summary().count;
        self.playing = false;
        self.steps_left = 0;
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn run(mut self, rx: Receiver<Control>) {
        loop {
            let idle = !self.playing && self.steps_left == 0;
            // idle: sleep until told something; running: only look
            let first = if idle {
                match rx.recv() {
                    Ok(c) => Some(c),
                    Err(_) => return,
                }
            } else {
                match rx.recv_timeout(Duration::ZERO) {
                    Ok(c) => Some(c),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            };
            let mut changed = false;
            for c in first.into_iter().chain(std::iter::from_fn(|| rx.try_recv().ok())) {
                match c {
                    Control::Shutdown => return,
                    other => {
                        self.handle(other);
                        self.handled += 1;
                        changed = true;
                    }
                }
            }
            if self.playing || self.steps_left > 0 {
                self.run_chunk();
            } else if changed {
                self.publish();
            }
        }
    }

    fn handle(&mut self, c: Control) {
        match c {
            Control::Play => {
                self.playing = self.sim.block() < self.end;
                self.steps_left = 0;
                self.paced_from = None;
                self.notice = None;
            }
            Control::Pause => {
                self.playing = false;
                self.steps_left = 0;
            }
            Control::Step(n) => {
                self.playing = false;
                self.steps_left = self.steps_left.saturating_add(n).min(self.end.saturating_sub(self.sim.block()));
                self.notice = None;
            }
            Control::Speed(s) => {
                self.speed = s;
                self.paced_from = None;
            }
            Control::Apply(command) => {
                self.catch_up();
                let block = self.sim.block();
                match self.sim.apply(&command) {
                    Ok(()) => {
                        if block < self.head {
                            // a new future from here: what the run did after it is gone
                            self.log.commands.retain(|c| c.block <= block);
                            self.head = block;
                            self.cascades = self.sim.cascades();
                            let mut s = self.lock();
                            s.history.truncate_after(block);
                            s.events.truncate_after(block);
                        }
                        self.log.commands.push(TimedCommand { block, command });
                    }
                    Err(e) => self.lock().error = Some(crate::fmt::error(&e)),
                }
            }
            Control::Seek(block) => self.seek(block),
            Control::Adopt(log, block) => {
                self.handle(Control::Reset(log.seed));
                self.log = log;
                self.end = self.end.max(block);
                self.steps_left = block;
            }
            Control::SetEnd(block) => {
                self.end = block.max(1);
                if self.sim.block() >= self.end {
                    self.playing = false;
                    self.steps_left = 0;
                }
            }
            Control::PauseOnCascade(on) => self.pause_on_cascade = on,
            Control::Reset(seed) => match build(&self.scenario, seed) {
                Ok(sim) => {
                    self.sim = sim;
                    self.seed = seed;
                    self.playing = false;
                    self.steps_left = 0;
                    self.log = CommandLog::new(&self.scenario, seed);
                    self.head = 0;
                    self.applied_through = None;
                    self.cascade_count = 0;
                    self.cascades.clear();
                    self.notice = None;
                    let mut s = self.lock();
                    s.history = History::new(&self.scenario);
                    s.events = Events::default();
                    s.cascades.clear();
                    s.seed = seed;
                    s.error = None;
                    s.generation += 1;
                }
                Err(e) => self.lock().error = Some(e),
            },
            Control::Shutdown => {}
        }
    }

    /// Blocks allowed now under the speed setting.
    fn due(&mut self) -> u64 {
        if self.steps_left > 0 {
            return self.steps_left;
        }
        match self.speed {
            Speed::Max => u64::MAX,
            Speed::BlocksPerSecond(r) => {
                let from = *self.paced_from.get_or_insert_with(|| {
                    self.paced_blocks = 0;
                    now()
                });
                let allowed = (from.elapsed().as_secs_f64() * r.max(0.01)) as u64 + 1;
                allowed.saturating_sub(self.paced_blocks)
            }
        }
    }

    fn run_chunk(&mut self) {
        let due = self.due().min(self.end.saturating_sub(self.sim.block()));
        if self.sim.block() >= self.end {
            self.playing = false;
            self.steps_left = 0;
            self.publish();
            return;
        }
        if due == 0 {
            // ahead of the requested speed: wait a little, but stay responsive
            if let Speed::BlocksPerSecond(r) = self.speed {
                std::thread::sleep(Duration::from_secs_f64((0.5 / r.max(0.01)).min(0.01)));
            }
            self.publish_if_due();
            return;
        }
        let start = now();
        let (mut rows, mut block_rows, mut vault_rows, mut lending_rows, mut trades) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut ran = 0u64;
        while ran < due && start.elapsed() < CHUNK {
            // ground this run has covered already is walked again, not recorded again
            let known = self.sim.block() < self.head;
            if let Err(e) = self.step_one() {
                self.playing = false;
                self.steps_left = 0;
                self.lock().error = Some(format!("stopped: {e}"));
                break;
            }
            ran += 1;
            let block = self.sim.block();
            if known {
                self.discard_records();
            } else {
                rows.push((block, self.totals.read(&self.sim)));
                let (b, t) = self.sim.drain_records();
                block_rows.extend(b);
                trades.push((block, t));
                vault_rows.extend(self.sim.drain_vault_records());
                lending_rows.extend(self.sim.drain_lending_records());
                self.head = block;
            }
            if self.pause_on_cascade {
                let count = self.sim.cascade_summary().count;
                // while playing; a step asked for its blocks
                if count > self.cascade_count && self.playing {
                    self.cascade_count = count;
                    self.playing = false;
                    self.steps_left = 0;
                    self.notice = Some(format!("paused: a cascade began to spread at block {block}"));
                    break;
                }
                self.cascade_count = count;
            }
            if block >= self.end {
                self.playing = false;
                self.steps_left = 0;
                break;
            }
        }
        self.paced_blocks += ran;
        self.steps_left = self.steps_left.saturating_sub(ran);
        let secs = start.elapsed().as_secs_f64();
        if ran > 0 && secs > 0.0 {
            let r = ran as f64 / secs;
            self.rate = if self.rate == 0.0 { r } else { 0.8 * self.rate + 0.2 * r };
        }
        {
            let mut s = self.lock();
            s.history.extend(&block_rows, &vault_rows, &rows);
            s.history.extend_lending(&lending_rows);
            for (block, t) in trades {
                s.events.extend(block, t);
            }
            s.block = self.sim.block();
        }
        if self.steps_left == 0 && !self.playing {
            self.publish();
        } else {
            self.publish_if_due();
        }
    }

    fn publish_if_due(&mut self) {
        if self.last_publish.is_none_or(|t| t.elapsed() >= PUBLISH_EVERY) {
            self.publish();
        }
    }

    fn publish(&mut self) {
        self.last_publish = Some(now());
        let snapshot = Arc::new(self.sim.snapshot());
        let digest = self.sim.digest().to_string();
        if self.sim.block() >= self.head {
            self.cascades = self.sim.cascades();
        }
        let cascades = self.cascades.clone();
        {
            let mut s = self.lock();
            s.block = self.sim.block();
            s.end = self.end;
            s.head = self.head;
            s.pause_on_cascade = self.pause_on_cascade;
            s.notice.clone_from(&self.notice);
            s.snapshot = Some(snapshot);
            s.digest = digest;
            s.cascades = cascades;
            s.playing = self.playing;
            s.steps_left = self.steps_left;
            s.log = self.log.clone();
            s.seed = self.seed;
            s.rate = self.rate;
            s.handled = self.handled;
        }
        (self.repaint)();
    }
}
