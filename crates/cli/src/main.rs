//! `meshsim`: run, validate, sweep, compare and plot worlds from the command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Prints a line on stdout. A reader that went away (`meshsim run .. | head -1`) is not an error,
/// and never a panic as `println!` would make it.
macro_rules! say {
    ($($t:tt)*) => { $crate::print_line(format_args!($($t)*)) };
}

mod compare;
mod plot;
mod report;
mod run;
mod search;
mod sweep;
mod validate;

fn print_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = writeln!(std::io::stdout().lock(), "{args}")
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("cannot write to stdout: {e}");
    }
}

/// meshsim: an agent-based simulator of DeFi rebalancing systems.
#[derive(Parser, Debug)]
#[command(name = "meshsim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a world and write its tables and summary.
    Run(run::RunArgs),
    /// Run many seeded runs over a grid of parameters, in parallel (or one shard of them).
    Sweep(sweep::SweepArgs),
    /// Look for the worst plausible case: the cross-entropy method over a world's stress
    /// parameters, worst cases written as world files.
    Search(search::SearchArgs),
    /// Combine finished shard directories of one sweep.
    Merge(sweep::MergeArgs),
    /// Two runs' headline figures side by side, with their differences.
    Compare(compare::CompareArgs),
    /// PNG and SVG charts of a finished run: prices, vault weights and NAV, costs, cascades.
    Plot(plot::PlotArgs),
    /// Check a world, a sweep spec or a command log and print every problem with its location.
    Validate(validate::ValidateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Sweep(args) => sweep::sweep(&args),
        Command::Search(args) => search::search(&args),
        Command::Merge(args) => sweep::merge(&args),
        Command::Compare(args) => compare::compare(&args),
        Command::Plot(args) => plot::plot(&args),
        Command::Validate(args) => validate::validate(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
