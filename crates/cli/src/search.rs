//! `meshsim search`: look for the worst plausible case of a world.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use meshsim_search::{Options, Search};

/// Arguments of `meshsim search`.
#[derive(clap::Args, Debug)]
pub struct SearchArgs {
    /// The search spec (RON).
    pub spec: PathBuf,
    /// Output directory (default: out/search-NAME).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Evaluate only shard I of N of each generation (candidates whose position is I modulo N);
    /// every shard must use the same --out on a file system they share, where they read each
    /// other's journals. Shard 0 writes the outputs, the same as an unsharded search.
    #[arg(long, value_name = "I/N", value_parser = |s: &str| meshsim_sweep::Shard::parse(s))]
    pub shard: Option<meshsim_sweep::Shard>,
    /// With --shard: give up when no other shard has journalled anything for this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub peer_timeout: u64,
    /// No progress bar and no report.
    #[arg(long)]
    pub quiet: bool,
}

pub fn search(args: &SearchArgs) -> Result<()> {
    let search = Search::load(&args.spec)?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("out").join(format!("search-{}", search.spec.name)));
    let budget = search.spec.method.budget();
    let progress = if args.quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(budget) };
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} candidates (eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let bar = progress.clone();
    let opts = Options {
        threads: args.threads,
        progress: Some(Box::new(move |done, _| bar.set_position(done))),
        shard: args.shard,
        patience: Some(std::time::Duration::from_secs(args.peer_timeout)),
        // Ctrl-C ends the process; the journal keeps what finished
        stop: None,
    };
    let outcome = search.run(&out, &opts).with_context(|| format!("search {:?}", search.spec.name))?;
    progress.finish_and_clear();
    if args.shard.is_some_and(|s| s.index != 0) {
        if !args.quiet {
            say!("shard done; shard 0 writes the outputs into {}", out.display());
        }
        return Ok(());
    }
    if !args.quiet {
        let ranked = outcome.ranked();
        say!(
            "searched {} candidates of {:?}; best objective {:.6}",
            outcome.candidates.len(),
            search.spec.name,
            outcome.best_objective()
        );
        for (k, c) in ranked.iter().filter(|c| c.error.is_none()).take(3).enumerate() {
            let params: Vec<String> =
                search.spec.parameters.iter().zip(&c.params).map(|(p, v)| format!("{}={v:.4}", p.path)).collect();
            say!("  worst-{}: objective {:.6}, penalty {:.6}: {}", k + 1, c.objective, c.penalty, params.join(", "));
        }
        if let Some(t) = outcome.tail {
            say!(
                "  P(objective > {}): importance sampling {:.3e} +- {:.1e}, plain Monte Carlo {:.3e} +- {:.1e} ({} runs each)",
                t.level,
                t.importance.p,
                t.importance.se,
                t.plain.p,
                t.plain.se,
                t.plain.n
            );
        }
        say!("outputs in {}", out.display());
    }
    Ok(())
}
