//! The window: world picker, controls, mesh, charts, event log, inspector, shocks and what-ifs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use egui::{Color32, Panel, RichText, ScrollArea, Ui};
use meshsim_core::tx::TxId;
use meshsim_scenario::commands::{Command, CommandLog};
use meshsim_scenario::{PoolId, Scenario, VaultId};

use crate::events::{Filter, cascade_of};
use crate::forms::{ShockForm, VaultForm};
use crate::frames::{FrameStats, FrameTimes};
use crate::mesh::{Layout, MeshInput, sender_selection};
use crate::session::{Session, Speed};
use crate::{Selection, charts, events, forms, inspector, mesh};

/// What the central area shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The mesh graph.
    Mesh,
    /// The charts.
    Charts,
    /// Both, side by side.
    Both,
}

/// Things the frame asks for, done once the shared state is released.
enum Action {
    Play,
    Pause,
    Step(u64),
    Speed(Speed),
    Apply(Command),
    Reset(u64),
    Seek(u64),
    SetEnd(u64),
    PauseOnCascade(bool),
    SaveLog,
    Close,
    Fork,
    CloseFork,
    SaveForkLog,
}

/// A second run of the world, forked from the first at `from`.
struct Fork {
    session: Session,
    from: u64,
}

/// What the bottom panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bottom {
    Transactions,
    Cascades,
}

struct Loaded {
    session: Session,
    scenario: Arc<Scenario>,
    layout: Layout,
    generation: u64,
}

/// The meshsim window's state.
pub struct MeshsimApp {
    world_dirs: Vec<PathBuf>,
    open_path: String,
    load_error: Option<String>,
    pending_open: Option<(PathBuf, Option<u64>)>,
    loaded: Option<Loaded>,
    selection: Option<Selection>,
    step_n: u64,
    max_speed: bool,
    speed: f64,
    seed: u64,
    filter: Filter,
    highlight: Vec<TxId>,
    highlight_pools: Vec<PoolId>,
    shock: ShockForm,
    vault_form: VaultForm,
    log_path: String,
    status: Option<String>,
    view: View,
    frames: FrameTimes,
    autoplay: Option<Speed>,
    run_seconds: f64,
    goto: u64,
    bottom: Bottom,
    /// The cascade whose links the mesh draws (index into the shared list).
    shown_cascade: Option<usize>,
    fork: Option<Fork>,
    chart_height: f32,
    log_frozen: Option<usize>,
    compare_all: bool,
    /// The charts' pool and vault: the last of each selected.
    focus_pool: PoolId,
    focus_vault: Option<VaultId>,
    /// Commands in the log when it was last saved (or the world opened).
    saved_commands: usize,
    /// An action waiting for "discard unsaved commands?".
    confirm: Option<Action>,
    /// Shocks and what-ifs go to the fork rather than the run.
    to_fork: bool,
    fork_log_path: String,
    ctx: Option<egui::Context>,
    /// A command log to fork the world with as soon as it opens.
    fork_on_open: Option<PathBuf>,
    /// A cascade (1-based) to show once the run has it and is paused.
    cascade_on_pause: Option<usize>,
    /// Where runs stop instead of the world's length.
    stop_at: Option<u64>,
    /// A recorded run to open on the first frame: its folder and its world file.
    pending_recorded: Option<(PathBuf, PathBuf)>,
    run_dir: String,
}

impl MeshsimApp {
    /// A window that opens `world` (at `seed`, or the world's) on its first frame, or shows the
    /// bundled worlds found in `world_dirs` to pick from.
    pub fn new(world: Option<PathBuf>, seed: Option<u64>, world_dirs: Vec<PathBuf>) -> Self {
        MeshsimApp {
            world_dirs,
            open_path: String::new(),
            load_error: None,
            pending_open: world.map(|w| (w, seed)),
            loaded: None,
            selection: None,
            step_n: 10,
            max_speed: false,
            speed: 20.0,
            seed: 0,
            filter: Filter::default(),
            highlight: Vec::new(),
            highlight_pools: Vec::new(),
            shock: ShockForm::default(),
            vault_form: VaultForm::default(),
            log_path: "meshsim-session.ron".into(),
            status: None,
            view: View::Both,
            frames: FrameTimes::default(),
            autoplay: None,
            run_seconds: 30.0,
            goto: 0,
            bottom: Bottom::Transactions,
            shown_cascade: None,
            fork: None,
            chart_height: 180.0,
            log_frozen: None,
            compare_all: false,
            focus_pool: PoolId(0),
            focus_vault: None,
            saved_commands: 0,
            confirm: None,
            to_fork: true,
            fork_log_path: "meshsim-fork.ron".into(),
            ctx: None,
            fork_on_open: None,
            cascade_on_pause: None,
            stop_at: None,
            pending_recorded: None,
            run_dir: String::new(),
        }
    }

    /// Starts playing at `speed` as soon as a world is open.
    pub fn autoplay(mut self, speed: Speed) -> Self {
        self.autoplay = Some(speed);
        self
    }

    /// Opens the world with a fork B that replays the command log at `path` beside the plain run
    /// A; both run to the log's last block.
    pub fn fork_log(mut self, path: &Path) -> Self {
        self.fork_on_open = Some(path.to_path_buf());
        self
    }

    /// Opens the recorded run in `dir` (a `meshsim run` output folder with CSV tables), made from
    /// the world file `world`, on the first frame, instead of running a world.
    pub fn recorded(mut self, dir: &Path, world: &Path) -> Self {
        self.pending_open = None;
        self.pending_recorded = Some((dir.to_path_buf(), world.to_path_buf()));
        self
    }

    fn open_recorded(&mut self, dir: &Path, world: &Path, ctx: &egui::Context) {
        self.load_error = None;
        let rec = match crate::recorded::Recorded::load(dir, world) {
            Ok(r) => r,
            Err(e) => {
                self.load_error = Some(e);
                return;
            }
        };
        let scenario = rec.scenario.clone();
        let repaint = ctx.clone();
        match Session::recorded(rec, move || repaint.request_repaint()) {
            Ok(session) => {
                self.seed = session.shared().seed;
                self.layout_reset();
                self.loaded = Some(Loaded {
                    layout: Layout::new(&scenario),
                    scenario: Arc::new(scenario),
                    session,
                    generation: 0,
                });
            }
            Err(e) => self.load_error = Some(e),
        }
    }

    /// Stops runs at `block` instead of the world's length.
    pub fn stop_at(mut self, block: u64) -> Self {
        self.stop_at = Some(block);
        self
    }

    /// Shows cascade `k` (1-based) once the run has it and is paused.
    pub fn show_cascade(mut self, k: usize) -> Self {
        self.cascade_on_pause = Some(k);
        self
    }

    /// Saves command logs to `path` (default `meshsim-session.ron`).
    pub fn with_log_path(mut self, path: &Path) -> Self {
        self.log_path = path.display().to_string();
        self
    }

    /// The running session, if a world is open.
    pub fn session(&self) -> Option<&Session> {
        self.loaded.as_ref().map(|l| &l.session)
    }

    /// The fork's session, if there is one.
    pub fn fork_session(&self) -> Option<&Session> {
        self.fork.as_ref().map(|f| &f.session)
    }

    /// Saves fork logs to `path` (default `meshsim-fork.ron`).
    pub fn with_fork_log_path(mut self, path: &Path) -> Self {
        self.fork_log_path = path.display().to_string();
        self
    }

    /// The error shown instead of a world, if one failed to open.
    pub fn load_error(&self) -> Option<&str> {
        self.load_error.as_deref()
    }

    /// UI work per frame so far.
    pub fn frame_stats(&self) -> Option<FrameStats> {
        self.frames.stats()
    }

    fn open(&mut self, path: &Path, seed: Option<u64>, ctx: &egui::Context) {
        self.load_error = None;
        let scenario = match meshsim_scenario::load_file(path) {
            Ok(s) => s,
            Err(e) => {
                self.load_error = Some(crate::fmt::error(&e));
                return;
            }
        };
        let seed = seed.unwrap_or(scenario.seed);
        let repaint = ctx.clone();
        match Session::start(scenario.clone(), seed, move || repaint.request_repaint()) {
            Ok(session) => {
                // the whole run in about `run_seconds`, unless told otherwise
                self.speed = (scenario.blocks.max(1) as f64 / self.run_seconds).clamp(1.0, 5000.0);
                self.max_speed = false;
                session.set_speed(Speed::BlocksPerSecond(self.speed));
                if let Some(b) = self.stop_at {
                    session.set_end(b);
                }
                if let Some(speed) = self.autoplay {
                    session.set_speed(speed);
                    session.play();
                    match speed {
                        Speed::Max => self.max_speed = true,
                        Speed::BlocksPerSecond(r) => self.speed = r,
                    }
                }
                self.seed = seed;
                self.layout_reset();
                let fork_log = match self.fork_on_open.take() {
                    Some(p) => match meshsim_scenario::commands::load_commands(&p, &scenario) {
                        Ok(log) => Some(log),
                        Err(e) => {
                            self.load_error = Some(crate::fmt::error(&e));
                            return;
                        }
                    },
                    None => None,
                };
                self.loaded = Some(Loaded {
                    layout: Layout::new(&scenario),
                    scenario: Arc::new(scenario),
                    session,
                    generation: 0,
                });
                if let Some(log) = fork_log {
                    // A plain, B with the log's commands, both to its last block
                    let blocks = log.blocks;
                    self.start_fork(log, 0);
                    self.act(Action::Step(blocks));
                }
            }
            Err(e) => self.load_error = Some(e),
        }
    }

    fn layout_reset(&mut self) {
        self.selection = None;
        self.highlight.clear();
        self.highlight_pools.clear();
        self.vault_form.new_world();
        self.shock.new_world();
        self.shown_cascade = None;
        self.focus_pool = PoolId(0);
        self.focus_vault = None;
        self.log_frozen = None;
    }

    /// Draws one frame.
    pub fn show(&mut self, ui: &mut Ui) {
        #[expect(clippy::disallowed_methods, reason = "frame-time figure of the front end")]
        let start = std::time::Instant::now();
        self.ctx = Some(ui.ctx().clone());
        if let Some((path, seed)) = self.pending_open.take() {
            self.open(&path, seed, &ui.ctx().clone());
        }
        if let Some((dir, world)) = self.pending_recorded.take() {
            self.open_recorded(&dir, &world, &ui.ctx().clone());
        }
        if self.loaded.is_some() {
            self.main(ui);
        } else {
            self.picker(ui);
        }
        let now = ui.input(|i| i.time);
        self.frames.push(start.elapsed().as_secs_f64() * 1e3, now);
    }

    fn picker(&mut self, ui: &mut Ui) {
        egui::CentralPanel::default().show(ui, |ui| {
            ui.heading("meshsim");
            ui.label("Open a world: a bundled one, or any world file by path.");
            if let Some(e) = &self.load_error {
                ui.colored_label(Color32::from_rgb(230, 80, 80), RichText::new(e).monospace());
            }
            let mut chosen: Option<PathBuf> = None;
            ScrollArea::vertical().max_height(ui.available_height() - 60.0).show(ui, |ui| {
                for dir in &self.world_dirs {
                    for (folder, worlds) in crate::worlds::bundled(dir) {
                        ui.separator();
                        ui.strong(folder.display().to_string());
                        egui::Grid::new(("worlds", folder.display().to_string())).num_columns(2).striped(true).show(
                            ui,
                            |ui| {
                                for (path, description) in worlds {
                                    let name =
                                        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                                    if ui.button(name).clicked() {
                                        chosen = Some(path.clone());
                                    }
                                    ui.label(RichText::new(description).weak());
                                    ui.end_row();
                                }
                            },
                        );
                    }
                }
            });
            ui.separator();
            ui.horizontal(|ui| {
                let label = ui.label("world file:");
                ui.add(egui::TextEdit::singleline(&mut self.open_path).desired_width(400.0)).labelled_by(label.id);
                if ui.button("Open").clicked() && !self.open_path.is_empty() {
                    chosen = Some(PathBuf::from(self.open_path.trim()));
                }
            });
            ui.horizontal(|ui| {
                let label = ui.label("or a finished run's folder:");
                ui.add(egui::TextEdit::singleline(&mut self.run_dir).desired_width(300.0)).labelled_by(label.id);
                if ui
                    .button("Browse run")
                    .on_hover_text(
                        "a `meshsim run` output folder (CSV tables), with the world file above it was made from",
                    )
                    .clicked()
                    && !self.run_dir.is_empty()
                {
                    let (dir, world) = (PathBuf::from(self.run_dir.trim()), PathBuf::from(self.open_path.trim()));
                    self.open_recorded(&dir, &world, &ui.ctx().clone());
                }
            });
            if let Some(p) = chosen {
                self.open(&p, None, &ui.ctx().clone());
            }
        });
    }

    fn main(&mut self, ui: &mut Ui) {
        let Some(loaded) = self.loaded.take() else { return };
        let fork = self.fork.take();
        let mut actions = Vec::new();
        {
            let shared = loaded.session.shared();
            if shared.generation != loaded.generation {
                self.layout_reset();
            }
            let scenario = loaded.scenario.clone();
            let snapshot = shared.snapshot.clone();
            let fork_shared = fork.as_ref().map(|f| (f.session.shared(), f.from));
            if let Some(k) = self.cascade_on_pause
                && !shared.playing
                && shared.steps_left == 0
                && let Some((c, _)) = shared.cascades.get(k.saturating_sub(1))
            {
                self.cascade_on_pause = None;
                self.show_cascade_now(k - 1, c, shared.head, &mut actions);
            }
            Panel::top("controls").show(ui, |ui| {
                let fork_at = fork_shared.as_ref().map(|(f, from)| (*from, f.block));
                self.controls(ui, &scenario, &shared, fork_at, &mut actions);
                let marks = crate::timeline::marks(&scenario, &shared.log, &shared.cascades);
                if let Some(b) = crate::timeline::show(ui, shared.block, shared.head, shared.end, &marks) {
                    actions.push(Action::Seek(b));
                }
            });
            Panel::left("side").resizable(true).default_size(360.0).size_range(260.0..=520.0).show(ui, |ui| {
                ScrollArea::vertical().show(ui, |ui| {
                    forms::entities(&mut self.selection, ui, &scenario);
                    ui.separator();
                    // the actions first, then the (long) inspector
                    actions.extend(self.shock.show(ui, &scenario).map(Action::Apply));
                    ui.separator();
                    let changes = self.vault_form.show(ui, &scenario, snapshot.as_deref());
                    actions.extend(changes.into_iter().map(Action::Apply));
                    ui.separator();
                    if let (Some(sel), Some(snap)) = (self.selection, snapshot.as_deref()) {
                        inspector::show(ui, &scenario, snap, sel);
                    } else {
                        ui.label("Select a pool, vault, agent or token (here or in the mesh).");
                    }
                });
            });
            Panel::bottom("events").resizable(true).default_size(220.0).show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut self.bottom, Bottom::Transactions, "Transactions");
                    ui.selectable_value(
                        &mut self.bottom,
                        Bottom::Cascades,
                        format!("Cascades ({})", shared.cascades.len()),
                    );
                });
                match self.bottom {
                    Bottom::Transactions => {
                        let upto = shared.events.upto(shared.block);
                        if let Some(c) = events::show(
                            ui,
                            &scenario,
                            &shared.events,
                            upto,
                            &mut self.log_frozen,
                            &mut self.filter,
                            &self.highlight,
                        ) {
                            self.selection = Some(sender_selection(c.row.sender));
                            match cascade_of(&shared.cascades, c.row.tx_id) {
                                Some(cascade) => {
                                    self.highlight = cascade.members.clone();
                                    self.highlight_pools = cascade.pools.clone();
                                    self.shown_cascade =
                                        shared.cascades.iter().position(|(x, _)| x.roots == cascade.roots);
                                }
                                None => {
                                    self.highlight = vec![c.row.tx_id];
                                    self.highlight_pools = c.row.pools.clone();
                                    self.shown_cascade = None;
                                }
                            }
                            if let Some(p) = c.row.pools.first() {
                                self.selection = self.selection.or(Some(Selection::Pool(*p)));
                            }
                        }
                    }
                    Bottom::Cascades => {
                        if let Some(k) = crate::cascades::show(ui, &scenario, &shared.cascades, self.shown_cascade) {
                            self.show_cascade_now(k, &shared.cascades[k].0, shared.head, &mut actions);
                        }
                    }
                }
            });
            egui::CentralPanel::default().show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut self.view, View::Both, "Mesh and charts");
                    ui.selectable_value(&mut self.view, View::Mesh, "Mesh");
                    ui.selectable_value(&mut self.view, View::Charts, "Charts");
                });
                let Some(snap) = snapshot.as_deref() else {
                    ui.label("starting...");
                    return;
                };
                // the flows of the last few blocks up to the timeline's block
                let upto = shared.events.upto(shared.block);
                let recent: Vec<&meshsim_core::record::TradeRow> = shared
                    .events
                    .rows
                    .iter()
                    .zip(&shared.events.hub)
                    .take(upto)
                    .rev()
                    .take_while(|(_, b)| **b + 6 > shared.block)
                    .take(200)
                    .map(|(r, _)| r)
                    .collect();
                let arrows = self
                    .shown_cascade
                    .and_then(|k| shared.cascades.get(k))
                    .map(|(c, _)| crate::cascades::arrows(c, &shared.events))
                    .unwrap_or_default();
                let input = MeshInput {
                    scenario: &scenario,
                    layout: &loaded.layout,
                    snapshot: snap,
                    recent: &recent,
                    highlighted: &self.highlight_pools,
                    arrows: &arrows,
                };
                // the charts follow the last pool and the last vault selected
                match self.selection {
                    Some(Selection::Pool(p)) => self.focus_pool = p,
                    Some(Selection::Vault(v)) => {
                        self.focus_vault = Some(v);
                        // and so does the what-if form
                        self.vault_form.vault = v.index();
                    }
                    _ => {}
                }
                let focus = charts::Focus {
                    pool: self.focus_pool,
                    vault: self.focus_vault.or((!scenario.vaults.is_empty()).then_some(VaultId(0))),
                    cursor: (shared.block < shared.head).then_some(shared.block as f64),
                    height: self.chart_height,
                };
                let fork_history = fork_shared.as_ref().map(|(f, _)| &f.history);
                let mut exported = None;
                let chart_height = &mut self.chart_height;
                let compare_all = &mut self.compare_all;
                let focus_names: Vec<&str> = [
                    scenario.pools.get(focus.pool.index()).map(|p| p.name.as_str()),
                    focus.vault.and_then(|v| scenario.vaults.get(v.index())).map(|v| v.name.as_str()),
                ]
                .into_iter()
                .flatten()
                .collect();
                let mut charts = |ui: &mut Ui| {
                    ui.horizontal(|ui| {
                        let l = ui.label("chart height");
                        ui.add(egui::Slider::new(chart_height, 100.0..=600.0)).labelled_by(l.id);
                    });
                    if let Some((f, from)) = &fork_shared
                        && let Some(b) = f.snapshot.as_deref()
                    {
                        egui::CollapsingHeader::new("Fork comparison").default_open(true).show(ui, |ui| {
                            crate::compare::show(ui, snap, b, *from, &focus_names, compare_all);
                        });
                    }
                    if let Some(m) = charts::show(ui, &scenario, &shared.history, fork_history, &focus) {
                        exported = Some(m);
                    }
                };
                match self.view {
                    View::Mesh => mesh::show(ui, &input, &mut self.selection),
                    View::Charts => {
                        ScrollArea::vertical().show(ui, &mut charts);
                    }
                    View::Both => {
                        ui.columns(2, |cols| {
                            mesh::show(&mut cols[0], &input, &mut self.selection);
                            ScrollArea::vertical().id_salt("charts").show(&mut cols[1], &mut charts);
                        });
                    }
                }
                if let Some(m) = exported {
                    self.status = Some(m);
                }
            });
        }
        if self.confirm.is_some() {
            let unsaved = loaded.session.shared().log.commands.len().saturating_sub(self.saved_commands);
            let m = egui::Modal::new(egui::Id::unique("discard?")).show(ui.ctx(), |ui| {
                ui.label(format!("This session has {unsaved} command(s) not saved to a log. Discard them?"));
                ui.horizontal(|ui| {
                    if ui.button("Discard").clicked() {
                        return Some(true);
                    }
                    if ui.button("Cancel").clicked() {
                        return Some(false);
                    }
                    None
                })
                .inner
            });
            match m.inner {
                Some(true) => actions.extend(self.confirm.take()),
                Some(false) => self.confirm = None,
                None if m.should_close() => self.confirm = None,
                None => {}
            }
        }
        let generation = loaded.session.shared().generation;
        self.loaded = Some(Loaded { generation, ..loaded });
        self.fork = fork;
        for a in actions {
            self.act(a);
        }
    }

    fn act(&mut self, a: Action) {
        let Some(l) = &self.loaded else { return };
        // what drives the run drives its fork too
        let both = |f: &dyn Fn(&Session)| {
            f(&l.session);
            if let Some(k) = &self.fork {
                f(&k.session);
            }
        };
        match a {
            Action::Play => both(&|s| s.play()),
            Action::Pause => both(&|s| s.pause()),
            Action::Step(n) => both(&|s| s.step(n)),
            Action::Speed(v) => both(&|s| s.set_speed(v)),
            Action::Seek(b) => both(&|s| s.seek(b)),
            Action::SetEnd(b) => both(&|s| s.set_end(b)),
            Action::PauseOnCascade(on) => l.session.pause_on_cascade(on),
            Action::Apply(c) => match &self.fork {
                Some(f) if self.to_fork => f.session.apply(c),
                _ => l.session.apply(c),
            },
            Action::Reset(seed) => {
                l.session.reset(seed);
                self.fork = None;
                self.saved_commands = 0;
            }
            Action::SaveLog => {
                let log = l.session.log();
                self.status = Some(save_and_say(&self.log_path, &log));
                self.saved_commands = log.commands.len();
            }
            Action::Fork => {
                let (mut log, from) = {
                    let s = l.session.shared();
                    let mut log = s.log.clone();
                    log.blocks = s.block;
                    (log, s.block)
                };
                // what the run did after this block (when it stands in its past) is not the fork's
                log.commands.retain(|c| c.block <= from);
                self.start_fork(log, from);
            }
            Action::CloseFork => self.fork = None,
            Action::SaveForkLog => {
                if let Some(f) = &self.fork {
                    let log = f.session.log();
                    self.status = Some(save_and_say(&self.fork_log_path, &log));
                }
            }
            Action::Close => {
                self.loaded = None;
                self.fork = None;
                self.saved_commands = 0;
                self.layout_reset();
            }
        }
    }

    fn controls(
        &mut self,
        ui: &mut Ui,
        s: &Scenario,
        shared: &crate::session::Shared,
        fork: Option<(u64, u64)>,
        actions: &mut Vec<Action>,
    ) {
        ui.horizontal_wrapped(|ui| {
            ui.strong(format!("{} ", s.name));
            if shared.playing {
                if ui.button("Pause").clicked() {
                    actions.push(Action::Pause);
                }
            } else if ui.button("Play").clicked() {
                actions.push(Action::Play);
            }
            if ui.button("Step 1").clicked() {
                actions.push(Action::Step(1));
            }
            if ui.button("Step N").clicked() {
                actions.push(Action::Step(self.step_n));
            }
            let n = ui.label("N");
            ui.add(egui::DragValue::new(&mut self.step_n).range(1..=1_000_000)).labelled_by(n.id);
            ui.separator();
            if ui.checkbox(&mut self.max_speed, "max speed").changed() {
                actions.push(Action::Speed(if self.max_speed {
                    Speed::Max
                } else {
                    Speed::BlocksPerSecond(self.speed)
                }));
            }
            ui.add_enabled_ui(!self.max_speed, |ui| {
                let l = ui.label("blocks/s");
                let r = ui.add(egui::Slider::new(&mut self.speed, 1.0..=5000.0).logarithmic(true)).labelled_by(l.id);
                if r.changed() {
                    self.run_seconds = shared.end as f64 / self.speed;
                    actions.push(Action::Speed(Speed::BlocksPerSecond(self.speed)));
                }
                let l = ui.label("whole run in s");
                let r = ui
                    .add(egui::DragValue::new(&mut self.run_seconds).range(1.0..=36_000.0).speed(1.0))
                    .labelled_by(l.id);
                if r.changed() {
                    self.speed = (shared.end as f64 / self.run_seconds).clamp(1.0, 5000.0);
                    actions.push(Action::Speed(Speed::BlocksPerSecond(self.speed)));
                }
            });
            let mut pause = shared.pause_on_cascade;
            if ui.checkbox(&mut pause, "pause on cascade").changed() {
                actions.push(Action::PauseOnCascade(pause));
            }
            ui.separator();
            let l = ui.label("seed");
            ui.add(egui::DragValue::new(&mut self.seed)).labelled_by(l.id);
            let unsaved = shared.log.commands.len() != self.saved_commands;
            if ui.button("Reset").clicked() {
                if unsaved {
                    self.confirm = Some(Action::Reset(self.seed))
                } else {
                    actions.push(Action::Reset(self.seed))
                }
            }
            ui.separator();
            ui.strong(format!("Block {} / {}", shared.block, shared.end));
            let l = ui.label("stop at");
            let mut end = shared.end;
            if ui.add(egui::DragValue::new(&mut end).range(1..=u64::MAX)).labelled_by(l.id).changed() {
                actions.push(Action::SetEnd(end));
            }
            let l = ui.label("go to block");
            ui.add(egui::DragValue::new(&mut self.goto).range(0..=shared.head)).labelled_by(l.id);
            if ui.button("Go").clicked() {
                actions.push(Action::Seek(self.goto));
            }
            ui.label(format!("{:.0} blocks/s", shared.rate));
            if let Some(f) = self.frames.stats() {
                ui.label(format!("UI {:.1} ms, {:.0} fps", f.p50_ms, f.fps));
            }
            ui.separator();
            let l = ui.label("log file");
            ui.add(egui::TextEdit::singleline(&mut self.log_path).desired_width(160.0)).labelled_by(l.id);
            if ui.button("Save command log").clicked() {
                actions.push(Action::SaveLog);
            }
            if ui.button("Close world").clicked() {
                if unsaved { self.confirm = Some(Action::Close) } else { actions.push(Action::Close) }
            }
            // the toolkit's own theme buttons draw emoji the bundled font lacks
            let dark = ui.ctx().theme() == egui::Theme::Dark;
            if ui.selectable_label(!dark, "Light").clicked() {
                ui.ctx().set_theme(egui::Theme::Light);
            }
            if ui.selectable_label(dark, "Dark").clicked() {
                ui.ctx().set_theme(egui::Theme::Dark);
            }
        });
        ui.horizontal_wrapped(|ui| match fork {
            None => {
                if ui.button("Fork here").on_hover_text("a second run from this block, for a what-if").clicked() {
                    actions.push(Action::Fork);
                }
            }
            Some((from, b)) => {
                ui.label(format!("fork B from block {from}, at block {b}"));
                ui.checkbox(&mut self.to_fork, "shocks and what-ifs go to the fork");
                let l = ui.label("fork log file");
                ui.add(egui::TextEdit::singleline(&mut self.fork_log_path).desired_width(160.0)).labelled_by(l.id);
                if ui.button("Save fork log").clicked() {
                    actions.push(Action::SaveForkLog);
                }
                if ui.button("Close fork").clicked() {
                    actions.push(Action::CloseFork);
                }
            }
        });
        if let Some(e) = &shared.error {
            ui.colored_label(Color32::from_rgb(230, 80, 80), e);
        }
        if let Some(n) = &shared.notice {
            ui.colored_label(crate::timeline::MarkKind::Cascade.color(), n);
        }
        if let Some(m) = &self.status {
            ui.label(m);
        }
    }

    /// Shows cascade `k`: its transactions and pools highlighted, the timeline at its end (the
    /// state once it has played out), its links drawn on the mesh.
    fn show_cascade_now(&mut self, k: usize, c: &meshsim_core::cascade::Cascade, head: u64, actions: &mut Vec<Action>) {
        self.shown_cascade = Some(k);
        self.bottom = Bottom::Cascades;
        self.highlight = c.members.clone();
        self.highlight_pools = c.pools.clone();
        if let Some(p) = c.pools.first() {
            self.selection = Some(Selection::Pool(*p));
        }
        actions.push(Action::Seek(c.end_block.min(head)));
    }

    /// Starts a fork B of the open world on `log` (its seed and commands), run to block `from`.
    fn start_fork(&mut self, log: CommandLog, from: u64) {
        let Some(l) = &self.loaded else { return };
        let scenario = (*l.scenario).clone();
        let ctx = self.ctx.clone();
        let repaint = move || {
            if let Some(c) = &ctx {
                c.request_repaint();
            }
        };
        match Session::start(scenario, log.seed, repaint) {
            Ok(session) => {
                session.set_speed(if self.max_speed { Speed::Max } else { Speed::BlocksPerSecond(self.speed) });
                session.pause_on_cascade(false);
                session.adopt(log, from);
                self.fork = Some(Fork { session, from });
                self.to_fork = true;
                self.status = Some(format!("forked at block {from}: shocks and what-ifs now go to the fork (B)"));
            }
            Err(e) => self.status = Some(format!("cannot fork: {e}")),
        }
    }
}

fn save_and_say(path: &str, log: &CommandLog) -> String {
    match save_log(Path::new(path.trim()), log) {
        Ok(()) => format!("saved {} commands, {} blocks, to {path}", log.commands.len(), log.blocks),
        Err(e) => format!("cannot save: {e}"),
    }
}

/// Writes a command log atomically (a temporary file, then a rename).
pub fn save_log(path: &Path, log: &CommandLog) -> std::io::Result<()> {
    let tmp = path.with_extension("ron.partial");
    std::fs::write(&tmp, log.to_ron())?;
    std::fs::rename(&tmp, path)
}

impl eframe::App for MeshsimApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}

/// Waits for the session to be idle, for tests and scripts (true if it became idle).
pub fn wait_idle(app: &MeshsimApp, timeout: Duration) -> bool {
    app.session().is_some_and(|s| s.wait_idle(timeout))
}
