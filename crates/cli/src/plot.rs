//! `meshsim plot RUN_DIR`: PNG and SVG charts of a finished run (the plotting stack of sweeps).

use std::path::PathBuf;

use anyhow::Result;

/// Arguments of `meshsim plot`.
#[derive(clap::Args, Debug)]
pub struct PlotArgs {
    /// A run's output directory (CSV tables).
    pub run: PathBuf,
    /// Where the charts go (default: RUN/plots).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `meshsim plot`.
pub fn plot(args: &PlotArgs) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| args.run.join("plots"));
    let files = meshsim_plot::run::plot_run(&args.run, &out)?;
    say!("{} charts in {}:", files.len(), out.display());
    for f in files {
        say!("  {}", f.display());
    }
    Ok(())
}
