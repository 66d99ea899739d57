//! From a spec to the list of runs: every point (world x parameter values) times every
//! replicate, each with a seed derived from the master seed and the replicate number.
//!
//! Seeds depend on the replicate, not on the point: replicate k of every point sees the same
//! market path and flows (common random numbers), so differences between points are the
//! parameters' doing and not sampling noise. The seed still derives only from (master seed,
//! run identity), never from order or parallelism.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{PointError, SweepError};
use crate::seed::run_seed;
use crate::spec::SpecError;
use crate::spec::{SweepSpec, Value};

/// One parameter point.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Position in the plan.
    pub index: u64,
    /// Which world (position in the spec's list).
    pub world: usize,
    /// One value per parameter, in the spec's order.
    pub values: Vec<Value>,
}

/// One run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Run id: `point * seeds + replicate`.
    pub id: u64,
    /// Point index.
    pub point: u64,
    /// Replicate number.
    pub replicate: u64,
    /// Seed.
    pub seed: u64,
}

/// A shard: this machine runs the runs whose id is `index` modulo `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard (0-based).
    pub index: u64,
    /// How many.
    pub count: u64,
}

impl Shard {
    /// The whole sweep.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/N`.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (i, n) = s.split_once('/').ok_or("expected I/N, e.g. 3/16")?;
        let (index, count): (u64, u64) =
            (i.trim().parse().map_err(|_| "I must be a number")?, n.trim().parse().map_err(|_| "N must be a number")?);
        if count == 0 || index >= count {
            return Err(format!("expected 0 <= I < N, found {index}/{count}"));
        }
        Ok(Shard { index, count })
    }

    /// Whether run `id` is this shard's.
    pub fn owns(&self, id: u64) -> bool {
        id % self.count == self.index
    }

    /// How many of the runs `0..total` are this shard's.
    pub fn share(&self, total: u64) -> u64 {
        if self.index >= total { 0 } else { (total - self.index).div_ceil(self.count) }
    }
}

/// A checked spec with its worlds loaded.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The spec.
    pub spec: SweepSpec,
    /// SHA-256 of the spec text.
    pub spec_hash: String,
    /// The worlds, loaded and validated as written.
    pub worlds: Vec<World>,
    /// Each parameter's values, expanded; points are their combinations, computed on demand (a
    /// ten-million-point sweep holds its values, not its points).
    values: Vec<Vec<Value>>,
}

/// Sweeps up to this many points have every point checked before the first run; larger ones have
/// every value of every parameter checked and an even sample of the rest (a point that still
/// fails becomes a failed run with its error in runs.csv).
pub const CHECK_EVERY_POINT_UP_TO: u64 = 2_000;
/// Points of the even sample checked in larger sweeps.
const SAMPLED_CHECKS: u64 = 500;

/// A base world of the sweep.
#[derive(Debug, Clone)]
pub struct World {
    /// As given in the spec.
    pub path: PathBuf,
    /// Its text (for error locations).
    pub text: String,
    /// Where relative paths inside it resolve.
    pub dir: PathBuf,
    /// Parsed.
    pub raw: meshsim_scenario::raw::RawWorld,
    /// Validated as written.
    pub scenario: meshsim_scenario::Scenario,
}

impl Plan {
    /// Loads the worlds of `spec` (paths relative to `spec_dir`), expands the points and checks
    /// every point's world once, so that a bad value fails before any run starts.
    pub fn new(spec: SweepSpec, spec_text: &str, spec_dir: &Path) -> Result<Plan, SweepError> {
        let mut worlds = Vec::new();
        for w in &spec.worlds {
            let path = spec_dir.join(w);
            let limit = meshsim_scenario::limits::MAX_WORLD_BYTES;
            let text = meshsim_scenario::input::read_text(&path, limit, "a world file")?;
            let world = |source| SweepError::World { path: w.clone(), source };
            let scenario = meshsim_scenario::load_file(&path).map_err(world)?;
            let raw = meshsim_scenario::parse_raw(&text, &path.display().to_string()).map_err(world)?;
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            worlds.push(World { path: w.clone(), text, dir, raw, scenario });
        }
        let values: Vec<Vec<Value>> =
            spec.parameters.iter().enumerate().map(|(k, p)| p.values.expand(spec.master_seed, k)).collect();
        if let Some(focus) = &spec.focus {
            for name in focus {
                if let Some(w) = worlds.iter().find(|w| !w.scenario.vaults.iter().any(|v| v.name == *name)) {
                    let world = w.path.display().to_string();
                    return Err(SpecError::UnknownVault { vault: name.clone(), world }.into());
                }
            }
        }
        let plan =
            Plan { spec_hash: meshsim_scenario::hex(&Sha256::digest(spec_text.as_bytes())), spec, worlds, values };
        for index in plan.points_to_check() {
            plan.scenario(&plan.point(index), 0).map_err(|e| plan.locate(e, spec_text))?;
        }
        Ok(plan)
    }

    /// Combinations of parameter values per world.
    fn combos(&self) -> u64 {
        self.values.iter().map(|v| v.len() as u64).product()
    }

    /// How many points: worlds x combinations.
    pub fn point_count(&self) -> u64 {
        self.worlds.len() as u64 * self.combos()
    }

    /// Point `index`: its world, then every combination with the last parameter varying fastest.
    pub fn point(&self, index: u64) -> Point {
        let combos = self.combos().max(1);
        let (world, mut n) = ((index / combos) as usize, index % combos);
        let mut values = vec![Value::Bool(false); self.values.len()];
        for (k, v) in self.values.iter().enumerate().rev() {
            values[k] = v[(n % v.len() as u64) as usize].clone();
            n /= v.len() as u64;
        }
        Point { index, world, values }
    }

    /// The points checked before any run: all of a small sweep; otherwise, per world, the first
    /// point, each value of each parameter with the others at their first, and an even sample.
    fn points_to_check(&self) -> Vec<u64> {
        let total = self.point_count();
        if total <= CHECK_EVERY_POINT_UP_TO {
            return (0..total).collect();
        }
        let combos = self.combos();
        let mut out = std::collections::BTreeSet::new();
        for world in 0..self.worlds.len() as u64 {
            let base = world * combos;
            // stride of parameter k in the mixed radix (the last varies fastest)
            let mut stride = 1u64;
            for v in self.values.iter().rev() {
                for i in 0..v.len() as u64 {
                    out.insert(base + i * stride);
                }
                stride *= v.len() as u64;
            }
        }
        let step = (total / SAMPLED_CHECKS).max(1);
        out.extend((0..total).step_by(step as usize));
        out.into_iter().collect()
    }

    /// Adds to a failing point's error where in the spec its values come from: the last
    /// parameter not at its first value (the one a per-value check varied).
    fn locate(&self, e: SweepError, spec_text: &str) -> SweepError {
        let SweepError::Point { index, describe, source } = e else { return e };
        let point = self.point(index);
        let k = (0..self.values.len()).rev().find(|k| point.values[*k] != self.values[*k][0]).unwrap_or(0);
        let field = if self.values.is_empty() { "worlds".to_string() } else { format!("parameters[{k}].values") };
        let (line, col) = meshsim_scenario::Locations::index(spec_text).find(&field);
        let describe = format!("{describe}; from {field} at line {line}, column {col} of the spec");
        SweepError::Point { index, describe, source }
    }

    /// How many runs: points x seeds.
    pub fn run_count(&self) -> u64 {
        self.point_count() * self.spec.seeds
    }

    /// Run `id` (`point * seeds + replicate`).
    pub fn run(&self, id: u64) -> Run {
        let seeds = self.spec.seeds.max(1);
        let (point, replicate) = (id / seeds, id % seeds);
        Run { id, point, replicate, seed: run_seed(self.spec.master_seed, replicate) }
    }

    /// The world of point `p` at `seed`, validated.
    pub fn scenario(&self, p: &Point, seed: u64) -> Result<meshsim_scenario::Scenario, SweepError> {
        let w = &self.worlds[p.world];
        let settings: Vec<(&str, &Value)> =
            self.spec.parameters.iter().zip(&p.values).map(|(param, v)| (param.path.as_str(), v)).collect();
        let point = |source| SweepError::Point { index: p.index, describe: self.describe(p), source };
        let raw = crate::patch::patched(&w.raw, &settings).map_err(|e| point(PointError::Patch(e)))?;
        let origin = w.path.display().to_string();
        let mut s = meshsim_scenario::from_raw(&raw, &w.text, &origin, &w.dir, w.scenario.world_hash.clone())
            .map_err(|e| point(PointError::Invalid(e)))?;
        s.seed = seed;
        if let Some(b) = self.spec.blocks {
            s.blocks = b;
        }
        Ok(s)
    }

    /// `path=value` for each parameter of a point.
    pub fn describe(&self, p: &Point) -> String {
        self.spec
            .parameters
            .iter()
            .zip(&p.values)
            .map(|(q, v)| format!("{}={v}", q.path))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_runs() {
        let s = Shard::parse("2/5").unwrap();
        assert!(s.owns(7) && !s.owns(8));
        assert!(Shard::parse("5/5").is_err() && Shard::parse("x").is_err() && Shard::parse("1/0").is_err());
        let owners: Vec<u64> =
            (0..20).map(|id| (0..5).filter(|i| Shard { index: *i, count: 5 }.owns(id)).count() as u64).collect();
        assert!(owners.iter().all(|c| *c == 1), "every run has exactly one shard");
    }

    #[test]
    fn seeds_follow_the_replicate_not_the_point() {
        assert_eq!(run_seed(1, 3), run_seed(1, 3));
        assert_ne!(run_seed(1, 3), run_seed(1, 4));
        assert_ne!(run_seed(1, 3), run_seed(2, 3));
    }
}
