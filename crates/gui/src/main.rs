//! `meshsim-gui [WORLD]`: the meshsim window.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use clap::Parser;
use meshsim_gui::MeshsimApp;
use meshsim_gui::session::Speed;

/// Watch a meshsim world run, block by block.
#[derive(Parser, Debug)]
#[command(name = "meshsim-gui", version)]
struct Args {
    /// World file to open (default: pick one of the bundled worlds).
    world: Option<PathBuf>,
    /// Seed (default: the world's).
    #[arg(long)]
    seed: Option<u64>,
    /// Start playing at once, at this many blocks per second, or "max".
    #[arg(long, value_name = "SPEED")]
    play: Option<String>,
    /// Save a screenshot of the window to this PNG file, then exit.
    #[arg(long, value_name = "PNG")]
    screenshot: Option<PathBuf>,
    /// Seconds to run before the screenshot.
    #[arg(long, default_value_t = 5.0)]
    after: f64,
    /// Window size, WIDTHxHEIGHT.
    #[arg(long, default_value = "1600x1000")]
    size: String,
    /// Print UI frame-time statistics when the window closes.
    #[arg(long)]
    stats: bool,
    /// Fork the world at block 0 into a run B that replays this command log beside the plain run
    /// A; both run to the log's last block and are compared.
    #[arg(long, value_name = "LOG")]
    fork: Option<PathBuf>,
    /// Browse a finished `meshsim run` output folder (CSV tables) instead of running: the world
    /// file given is the one the run was made from.
    #[arg(long, value_name = "DIR", requires = "world")]
    run: Option<PathBuf>,
    /// Stop the run at this block instead of the world's length.
    #[arg(long, value_name = "BLOCK")]
    stop_at: Option<u64>,
    /// Once the run pauses with this cascade (1 = the first), show it: the timeline goes there and
    /// the mesh draws its links.
    #[arg(long, value_name = "K")]
    cascade: Option<usize>,
}

/// Where bundled worlds may be: ./worlds, next to the executable's workspace, and
/// $MESHSIM_WORLDS (each with its `stress/` subfolder), without duplicates.
fn world_dirs() -> Vec<PathBuf> {
    let mut v = vec![PathBuf::from("worlds")];
    if let Ok(exe) = std::env::current_exe()
        && let Some(root) = exe.parent().and_then(|p| p.parent()).and_then(|p| p.parent())
    {
        v.push(root.join("worlds"));
    }
    if let Some(d) = std::env::var_os("MESHSIM_WORLDS") {
        v.push(PathBuf::from(d));
    }
    // a folder reached twice is listed once (the picker lists each one's subfolders itself)
    let (mut out, mut seen) = (Vec::new(), Vec::new());
    for d in v {
        match d.canonicalize() {
            Ok(c) if seen.contains(&c) => {}
            Ok(c) => {
                seen.push(c);
                out.push(d);
            }
            // not there (yet): the picker skips empty folders
            Err(_) => out.push(d),
        }
    }
    out
}

/// The window plus what only the native front end does: the timed screenshot.
struct Native {
    app: MeshsimApp,
    screenshot: Option<(PathBuf, f64)>,
    requested: bool,
    shot: Arc<Mutex<Option<Arc<egui::ColorImage>>>>,
    stats: bool,
    result: Arc<Mutex<Option<Result<(), String>>>>,
}

impl eframe::App for Native {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.app.show(ui);
        let ctx = ui.ctx().clone();
        let Some((path, after)) = &self.screenshot else { return };
        let elapsed = ctx.input(|i| i.time);
        if !self.requested && elapsed >= *after {
            self.requested = true;
            let slot = self.shot.clone();
            let waker = ctx.clone();
            ctx.request_screenshot(move |image| {
                if let Ok(mut s) = slot.lock() {
                    *s = Some(image);
                }
                waker.request_repaint();
            });
        }
        let image = self.shot.lock().ok().and_then(|mut s| s.take());
        if let Some(image) = image {
            let saved = meshsim_gui::export::save_png(path, &image);
            if let Ok(mut r) = self.result.lock() {
                *r = Some(saved);
            }
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        ctx.request_repaint();
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if self.stats
            && let Some(s) = self.app.frame_stats()
        {
            println!(
                "ui frame time over {} frames: mean {:.2} ms, median {:.2} ms, p95 {:.2} ms, max {:.2} ms; {:.1} frames/s achieved",
                s.frames, s.mean_ms, s.p50_ms, s.p95_ms, s.max_ms, s.fps
            );
        }
        if let Some(session) = self.app.session() {
            let s = session.shared();
            println!("block {}, digest {}", s.block, s.digest);
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let (w, h) = args
        .size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<f32>().ok()?, h.parse::<f32>().ok()?)))
        .context("--size must be WIDTHxHEIGHT, e.g. 1600x1000")?;
    let speed = match args.play.as_deref() {
        None => None,
        Some("max") => Some(Speed::Max),
        Some(x) => Some(Speed::BlocksPerSecond(
            x.parse::<f64>()
                .ok()
                .filter(|v| *v > 0.0)
                .context("--play takes a positive number of blocks/s or \"max\"")?,
        )),
    };
    let mut app = MeshsimApp::new(args.world.clone(), args.seed, world_dirs());
    if let Some(s) = speed {
        app = app.autoplay(s);
    }
    if let Some(log) = &args.fork {
        app = app.fork_log(log);
    }
    if let (Some(dir), Some(world)) = (&args.run, &args.world) {
        app = app.recorded(dir, world);
    }
    if let Some(b) = args.stop_at {
        app = app.stop_at(b);
    }
    if let Some(k) = args.cascade {
        app = app.show_cascade(k);
    }
    let result = Arc::new(Mutex::new(None));
    let native = Native {
        app,
        screenshot: args.screenshot.clone().map(|p| (p, args.after)),
        requested: false,
        shot: Arc::new(Mutex::new(None)),
        stats: args.stats,
        result: result.clone(),
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_inner_size([w, h]).with_title("meshsim"),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_native("meshsim", options, Box::new(|_cc| Ok(Box::new(native))))
        .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))?;
    if let Some(path) = &args.screenshot {
        match result.lock().ok().and_then(|mut r| r.take()) {
            Some(Ok(())) => println!("screenshot saved to {}", path.display()),
            Some(Err(e)) => anyhow::bail!("screenshot: {e}"),
            None => anyhow::bail!("the window closed before the screenshot was taken"),
        }
    }
    Ok(())
}
