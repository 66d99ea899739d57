//! `meshsim sweep` and `meshsim merge`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use meshsim_sweep::{Options, Plan, Shard};

/// Arguments of `meshsim sweep`.
#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// The sweep spec (RON).
    pub spec: PathBuf,
    /// Output directory (default: out/sweep-NAME, NAME being the sweep's name; .../shard-I-of-N with --shard).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Run only shard I of N (runs whose id is I modulo N); combine shards with `meshsim merge`.
    #[arg(long, value_name = "I/N", value_parser = |s: &str| Shard::parse(s))]
    pub shard: Option<Shard>,
    /// Check token conservation every block (slower).
    #[arg(long)]
    pub check: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Arguments of `meshsim merge`.
#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Where the merged sweep goes.
    #[arg(long)]
    pub out: PathBuf,
    /// The finished shard directories.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
}

pub fn sweep(args: &SweepArgs) -> Result<()> {
    let (spec, text) = meshsim_sweep::load_spec(&args.spec)?;
    let dir = args.spec.parent().unwrap_or(Path::new("."));
    let plan = Plan::new(spec, &text, dir)?;
    let out = args.out.clone().unwrap_or_else(|| {
        let base = Path::new("out").join(format!("sweep-{}", plan.spec.name));
        match args.shard {
            Some(s) => base.join(format!("shard-{}-of-{}", s.index, s.count)),
            None => base,
        }
    });
    let runs = plan.run_count();
    let mine = args.shard.map_or(runs, |s| s.share(runs));
    let progress = if args.quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(mine) };
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} runs ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let bar = progress.clone();
    let options = Options {
        threads: args.threads,
        shard: args.shard,
        check: args.check,
        limit: None,
        progress: Some(Box::new(move |done, _| bar.set_position(done))),
        // Ctrl-C ends the process; the journal keeps what finished
        stop: None,
    };
    let outcome =
        meshsim_sweep::sweep(&plan, &out, &options).with_context(|| format!("sweep into {}", out.display()))?;
    progress.finish_and_clear();
    say!(
        "sweep {:?}: {} points x {} seeds = {runs} runs{}; {} run now, {} done before, {} failed",
        plan.spec.name,
        plan.point_count(),
        plan.spec.seeds,
        args.shard.map(|s| format!(" (shard {}/{}: {mine})", s.index, s.count)).unwrap_or_default(),
        outcome.ran,
        outcome.skipped,
        outcome.failed
    );
    for f in &outcome.files {
        say!("  {}", f.display());
    }
    if outcome.failed > 0 {
        say!("failed runs carry their error in the `error` column of runs.csv");
    }
    Ok(())
}

pub fn merge(args: &MergeArgs) -> Result<()> {
    let files = meshsim_sweep::merge(&args.out, &args.shards)?;
    say!("merged {} shards into {}", args.shards.len(), args.out.display());
    for f in &files {
        say!("  {}", f.display());
    }
    Ok(())
}
