//! `meshsim validate FILE`: checks a world, a sweep spec or a command log (told apart by the
//! document's first word) and prints every problem with its location, before anything runs.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// Arguments of `meshsim validate`.
#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    /// A world (`World(..)`), a sweep spec (`Sweep(..)`), a search spec (`Search(..)`) or a
    /// command log (`CommandLog(..)`).
    pub file: PathBuf,
    /// The world a command log is checked against.
    #[arg(long, value_name = "WORLD")]
    pub world: Option<PathBuf>,
}

/// What a document is, from its first word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `World(..)`.
    World,
    /// `Sweep(..)`.
    Sweep,
    /// `CommandLog(..)`.
    CommandLog,
    /// `Search(..)`.
    Search,
}

/// The first word of a RON document, past whitespace, comments and `#![..]` attributes.
fn first_word(text: &str) -> &str {
    let mut rest = text.trim_start_matches('\u{feff}');
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, after)| after);
        } else if let Some(r) = rest.strip_prefix("#!") {
            rest = r.split_once(']').map_or("", |(_, after)| after);
        } else {
            break;
        }
    }
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
    &rest[..end]
}

/// The kind of `text`, or what was found instead.
pub fn kind(text: &str) -> Result<Kind, String> {
    match first_word(text) {
        "World" => Ok(Kind::World),
        "Sweep" => Ok(Kind::Sweep),
        "CommandLog" => Ok(Kind::CommandLog),
        "Search" => Ok(Kind::Search),
        other => Err(if other.is_empty() { "nothing".to_string() } else { format!("{other:?}") }),
    }
}

fn world_line(path: &Path, s: &meshsim_scenario::Scenario) -> String {
    let markets = match s.lending.len() {
        0 => String::new(),
        1 => ", 1 lending market".into(),
        n => format!(", {n} lending markets"),
    };
    format!(
        "{}: ok: world {:?}, {} tokens, {} pools, {} agents, {} vaults{markets}, {} blocks",
        path.display(),
        s.name,
        s.tokens.len(),
        s.pools.len(),
        s.agents.len(),
        s.vaults.len(),
        s.blocks
    )
}

/// `meshsim validate`.
pub fn validate(args: &ValidateArgs) -> Result<()> {
    let path = &args.file;
    let text = meshsim_scenario::input::read_text(path, meshsim_scenario::limits::MAX_WORLD_BYTES, "a document")?;
    let kind = kind(&text).map_err(|found| {
        anyhow::anyhow!(
            "{}:1:1: expected a world (World(..)), a sweep spec (Sweep(..)), a search spec (Search(..)) or a command log (CommandLog(..)), found {found}",
            path.display()
        )
    })?;
    match kind {
        Kind::World => {
            let scenario = meshsim_scenario::load_file(path)?;
            say!("{}", world_line(path, &scenario));
        }
        Kind::Sweep => {
            let (spec, text) = meshsim_sweep::load_spec(path)?;
            let dir = path.parent().unwrap_or(Path::new("."));
            let plan = meshsim_sweep::Plan::new(spec, &text, dir)?;
            say!(
                "{}: ok: sweep {:?}, {} worlds, {} points x {} seeds = {} runs",
                path.display(),
                plan.spec.name,
                plan.worlds.len(),
                plan.point_count(),
                plan.spec.seeds,
                plan.run_count()
            );
        }
        Kind::Search => {
            let s = meshsim_search::Search::load(path)?;
            say!(
                "{}: ok: search {:?} of {}, {} parameters, {} candidates x {} seeds",
                path.display(),
                s.spec.name,
                s.spec.world,
                s.spec.parameters.len(),
                s.spec.method.budget(),
                s.spec.seeds
            );
        }
        Kind::CommandLog => {
            let Some(world) = &args.world else {
                bail!("{}: a command log names tokens and vaults of its world: add --world WORLD", path.display());
            };
            let scenario = meshsim_scenario::load_file(world)?;
            let log = meshsim_scenario::commands::load_commands(path, &scenario)?;
            if let Some(hash) = &log.world_hash
                && *hash != scenario.world_hash
            {
                say!("note: the log was recorded on another version of {} (its SHA-256 differs)", world.display());
            }
            say!(
                "{}: ok: command log, {} commands over {} blocks, seed {}, for {}",
                path.display(),
                log.commands.len(),
                log.blocks,
                log.seed,
                world.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_told_apart_by_their_first_word() {
        assert_eq!(kind("// a world\n/* note */ World(version: 1)"), Ok(Kind::World));
        assert_eq!(kind("\u{feff}#![enable(implicit_some)]\nSweep("), Ok(Kind::Sweep));
        assert_eq!(kind("  CommandLog(seed: 1)"), Ok(Kind::CommandLog));
        assert_eq!(kind("Pool(x)"), Err("\"Pool\"".into()));
        assert_eq!(kind("// only a comment"), Err("nothing".into()));
    }
}
