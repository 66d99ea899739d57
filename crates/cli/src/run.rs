//! `meshsim run`: simulate a world and write `blocks`, `trades` and `summary.json`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use meshsim_core::{SimOptions, Simulation};
use meshsim_tables::{Format, OutputSet, Recorder, TableSet, TableWriter, Written, write_atomic};
use serde_json::json;

/// Arguments of `meshsim run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The world file (RON).
    pub world: PathBuf,
    /// Seed (default: the world's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Blocks to run (default: the world's).
    #[arg(long)]
    pub blocks: Option<u64>,
    /// Output directory (default: out/NAME, NAME being the world's name).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Table format.
    #[arg(long, default_value = "csv", value_parser = Format::parse)]
    pub format: Format,
    /// Tables to write: `all`, `none` (summary.json and timing.json only: the engine alone, as the
    /// benchmarks measure it), or a comma-separated list of blocks, trades, vaults, cascades, lending.
    #[arg(long, default_value = "all", value_parser = TableSet::parse)]
    pub tables: TableSet,
    /// Write a `vaults` row every K blocks.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub vault_every: u64,
    /// Replay a command log saved by the GUI (shocks and vault changes at their blocks); its
    /// seed and block count apply unless given here.
    #[arg(long, value_name = "FILE")]
    pub commands: Option<PathBuf>,
    /// No progress bar and no table of headline figures.
    #[arg(long)]
    pub quiet: bool,
}

/// Rows are drained from the simulation this often.
const DRAIN_EVERY: u64 = 512;

pub fn run(args: &RunArgs) -> Result<()> {
    let mut scenario = meshsim_scenario::load_file(&args.world)?;
    let log = match &args.commands {
        Some(path) => Some(meshsim_scenario::commands::load_commands(path, &scenario)?),
        None => None,
    };
    if let Some(log) = &log {
        if let Some(seed) = args.seed {
            anyhow::ensure!(seed == log.seed, "--seed {seed} differs from the command log's seed {}", log.seed);
        }
        scenario.seed = log.seed;
    }
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    let blocks = args.blocks.or(log.as_ref().map(|l| l.blocks)).unwrap_or(scenario.blocks);
    anyhow::ensure!(
        blocks <= meshsim_scenario::limits::MAX_BLOCKS,
        "at most {} blocks",
        meshsim_scenario::limits::MAX_BLOCKS
    );
    let target = args.out.clone().unwrap_or_else(|| Path::new("out").join(&scenario.name));
    // everything is written beside the target and swapped in whole at the end
    let set = OutputSet::begin(&target)?;
    let out_dir = set.dir().to_path_buf();

    let options = SimOptions { record: args.tables.any_rows(), vault_every: args.vault_every, ..SimOptions::default() };
    let mut sim = Simulation::with_options(&scenario, options)?;
    let mut tables = Recorder::new(&scenario, args.tables, |name, columns| {
        TableWriter::create(&out_dir, name, args.format, columns)
    })?;

    let progress = if args.quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(blocks) };
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} blocks ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    #[expect(clippy::disallowed_methods, reason = "wall-clock throughput of the front end, never part of results")]
    let started = std::time::Instant::now();
    let mut done = 0u64;
    while done < blocks {
        let mut n = DRAIN_EVERY.min(blocks - done);
        if let Some(log) = &log {
            for c in log.at(done) {
                sim.apply(c)?;
            }
            // stop at the next command's block
            if let Some(next) = log.next_after(done) {
                n = n.min(next - done);
            }
        }
        sim.run_blocks(n).with_context(|| format!("world {:?} seed {}", scenario.name, scenario.seed))?;
        done += n;
        tables.drain(&scenario, &mut sim)?;
        progress.set_position(done);
    }
    // transfers still on their way when the run ends get rows too, marked in flight
    let sinks = tables.finish(&scenario, &mut sim)?;
    // commands given after the last block still belong to the session
    if let Some(log) = &log {
        for c in log.at(done) {
            sim.apply(c)?;
        }
    }
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let mut written = sinks.into_iter().map(|(_, t)| t.finish()).collect::<Result<Vec<_>, _>>()?;
    if args.tables.cascades {
        let mut table = TableWriter::create(&out_dir, "cascades", args.format, meshsim_tables::cascade_columns())?;
        meshsim_tables::write_cascades(&scenario, &sim, &mut table)?;
        written.push(table.finish()?);
    }

    if !written.is_empty() {
        let schema = format!("{}\n", serde_json::to_string_pretty(&Written::schema(&written))?);
        write_atomic(&out_dir.join("schema.json"), schema.as_bytes())?;
    }
    let outputs: Vec<(String, String)> = written.iter().map(|w| (w.table(), w.file_name())).collect();
    let summary = meshsim_tables::summary(&scenario, &mut sim, blocks, &outputs);
    write_atomic(&out_dir.join("summary.json"), format!("{}\n", serde_json::to_string_pretty(&summary)?).as_bytes())?;
    // wall-clock figures live apart so that summary.json stays byte-identical across runs
    let timing =
        json!({ "blocks": blocks, "wall_seconds": seconds, "blocks_per_second": blocks as f64 / seconds.max(1e-9) });
    write_atomic(&out_dir.join("timing.json"), format!("{}\n", serde_json::to_string_pretty(&timing)?).as_bytes())?;

    say!(
        "ran {blocks} blocks of {:?} (seed {}) in {seconds:.2} s ({:.0} blocks/s)",
        scenario.name,
        scenario.seed,
        blocks as f64 / seconds.max(1e-9)
    );
    set.commit()?;
    if !args.quiet {
        for line in crate::report::render(&crate::report::headline(&summary), 12).lines() {
            say!("{line}");
        }
    }
    let mut files: Vec<String> = written.iter().map(Written::file_name).collect();
    if !written.is_empty() {
        files.push("schema.json".into());
    }
    files.extend(["summary.json".into(), "timing.json".into()]);
    say!("outputs in {}: {}", target.display(), files.join(", "));
    Ok(())
}
