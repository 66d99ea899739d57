//! Summaries over seeds: per parameter point the mean and the 5 %, 50 % and 95 % quantiles (and
//! the extremes) of every figure, per vault too, and the Pareto front of execution cost against
//! tracking error. Computed from the finished tables alone, so a merge of shards gives them too.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::SweepError;
use crate::error::{csv_bytes, csv_err};
use crate::output::{num, write_atomic};
use crate::run::{RUN_METRICS, VAULT_METRICS};

/// Order statistics of one figure over a point's runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Mean.
    pub mean: f64,
    /// 5 % quantile.
    pub p5: f64,
    /// Median.
    pub p50: f64,
    /// 95 % quantile.
    pub p95: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

/// Linear-interpolation quantile (type 7) of sorted values.
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

impl Stats {
    /// Over `values` (NaNs ignored).
    pub fn of(values: &[f64]) -> Stats {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        v.sort_by(f64::total_cmp);
        let mean = if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 };
        Stats {
            mean,
            p5: quantile(&v, 0.05),
            p50: quantile(&v, 0.5),
            p95: quantile(&v, 0.95),
            min: v.first().copied().unwrap_or(f64::NAN),
            max: v.last().copied().unwrap_or(f64::NAN),
        }
    }

    fn cells(&self) -> [String; 6] {
        [num(self.mean), num(self.p5), num(self.p50), num(self.p95), num(self.min), num(self.max)]
    }
}

const STAT_NAMES: [&str; 6] = ["mean", "p5", "p50", "p95", "min", "max"];

/// Which side of a vault figure hurts.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bad {
    /// More is worse (costs, tracking error, shortfall).
    High,
    /// Less is worse (share price, NAV).
    Low,
}

/// The hurting side of a vault figure of [`VAULT_METRICS`], by name (`None`: neither, a count
/// of rebalances; or a name this list does not know, which a test rules out).
fn bad_side(metric: &str) -> Option<Bad> {
    match metric {
        "tracking_error"
        | "tracking_error_max"
        | "failed"
        | "gas"
        | "fees"
        | "impact"
        | "mev_loss"
        | "cost"
        | "bridge_fees"
        | "shortfall_vs_continuous"
        | "max_drawdown" => Some(Bad::High),
        "share_price" | "nav" => Some(Bad::Low),
        _ => None,
    }
}

/// One point's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct PointSummary {
    /// Point index.
    pub point: u64,
    /// World and parameter values, as in the runs table.
    pub labels: Vec<String>,
    /// Successful runs.
    pub runs: usize,
    /// Failed runs.
    pub failed: usize,
    /// Stats per run figure (as [`RUN_METRICS`]).
    pub stats: Vec<Stats>,
    /// On the cost / tracking-error Pareto front.
    pub pareto: bool,
}

impl PointSummary {
    /// Stats of a run figure by name.
    pub fn get(&self, metric: &str) -> Stats {
        let k = RUN_METRICS.iter().position(|m| *m == metric).unwrap_or(0);
        self.stats[k]
    }
}

/// Marks the points no other point beats on both mean cost and mean tracking error.
fn mark_pareto(points: &mut [PointSummary]) {
    let key: Vec<(f64, f64)> =
        points.iter().map(|p| (p.get("vault_cost").mean, p.get("tracking_error").mean)).collect();
    for (i, p) in points.iter_mut().enumerate() {
        let (c, t) = key[i];
        p.pareto = !c.is_nan()
            && !t.is_nan()
            && !key.iter().enumerate().any(|(j, (c2, t2))| j != i && *c2 <= c && *t2 <= t && (*c2 < c || *t2 < t));
    }
}

/// Summarises `runs.csv` and `vaults.csv` (as read) into `points.csv`, `vault_points.csv` and
/// `pareto.csv` in `dir`. `labels` is how many columns after `seed` describe the point (the
/// world and the parameters).
pub fn summarise(
    dir: &Path,
    run_header: &[String],
    runs: &[Vec<String>],
    vaults: &[Vec<String>],
    labels: usize,
) -> Result<Vec<PointSummary>, SweepError> {
    let col = |name: &str| run_header.iter().position(|h| h == name);
    let (Some(error_col), Some(first_metric)) = (col("error"), col(RUN_METRICS[0])) else {
        return Err(SweepError::Conflict(format!(
            "{}: the runs table lacks its columns",
            dir.join("runs.csv").display()
        )));
    };
    let label_cols = 4..4 + labels;
    let mut by_point: BTreeMap<u64, Vec<&Vec<String>>> = BTreeMap::new();
    for r in runs {
        by_point.entry(r[1].parse().unwrap_or(u64::MAX)).or_default().push(r);
    }
    let mut points: Vec<PointSummary> = by_point
        .iter()
        .map(|(p, rows)| {
            let ok: Vec<&&Vec<String>> = rows.iter().filter(|r| r[error_col].is_empty()).collect();
            let stats = (0..RUN_METRICS.len())
                .map(|k| {
                    let v: Vec<f64> = ok.iter().map(|r| r[first_metric + k].parse().unwrap_or(f64::NAN)).collect();
                    Stats::of(&v)
                })
                .collect();
            PointSummary {
                point: *p,
                labels: rows[0][label_cols.clone()].to_vec(),
                runs: ok.len(),
                failed: rows.len() - ok.len(),
                stats,
                pareto: false,
            }
        })
        .collect();
    mark_pareto(&mut points);

    let label_header: Vec<String> = run_header[label_cols.clone()].to_vec();
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut h: Vec<String> = vec!["point".into()];
    h.extend(label_header.iter().cloned());
    h.extend(["runs".into(), "failed".into()]);
    for m in RUN_METRICS {
        h.extend(STAT_NAMES.iter().map(|s| format!("{m}_{s}")));
    }
    h.push("pareto".into());
    let points_path = dir.join("points.csv");
    let e = csv_err(&points_path);
    w.write_record(&h).map_err(&e)?;
    for p in &points {
        let mut rec = vec![p.point.to_string()];
        rec.extend(p.labels.iter().cloned());
        rec.extend([p.runs.to_string(), p.failed.to_string()]);
        for s in &p.stats {
            rec.extend(s.cells());
        }
        rec.push(p.pareto.to_string());
        w.write_record(&rec).map_err(&e)?;
    }
    write_atomic(&points_path, &csv_bytes(&points_path, w)?)?;

    // the front, cheapest first
    let mut front: Vec<&PointSummary> = points.iter().filter(|p| p.pareto).collect();
    front.sort_by(|a, b| a.get("vault_cost").mean.total_cmp(&b.get("vault_cost").mean).then(a.point.cmp(&b.point)));
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut h: Vec<String> = vec!["point".into()];
    h.extend(label_header.iter().cloned());
    h.extend([
        "vault_cost_mean".into(),
        "tracking_error_mean".into(),
        "vault_cost_p95".into(),
        "tracking_error_p95".into(),
    ]);
    let pareto_path = dir.join("pareto.csv");
    let e = csv_err(&pareto_path);
    w.write_record(&h).map_err(&e)?;
    for p in front {
        let mut rec = vec![p.point.to_string()];
        rec.extend(p.labels.iter().cloned());
        let (c, t) = (p.get("vault_cost"), p.get("tracking_error"));
        rec.extend([num(c.mean), num(t.mean), num(c.p95), num(t.p95)]);
        w.write_record(&rec).map_err(&e)?;
    }
    write_atomic(&pareto_path, &csv_bytes(&pareto_path, w)?)?;

    // per point and vault: the tails a risk view needs (worst share price, 5 % tail, ...)
    let labels_of: BTreeMap<u64, &PointSummary> = points.iter().map(|p| (p.point, p)).collect();
    let failed_runs: std::collections::BTreeSet<&str> =
        runs.iter().filter(|r| !r[error_col].is_empty()).map(|r| r[0].as_str()).collect();
    let mut by_vault: BTreeMap<(u64, String), Vec<&Vec<String>>> = BTreeMap::new();
    for v in vaults.iter().filter(|v| !failed_runs.contains(v[0].as_str())) {
        by_vault.entry((v[1].parse().unwrap_or(u64::MAX), v[3].clone())).or_default().push(v);
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut h: Vec<String> = vec!["point".into()];
    h.extend(label_header.iter().cloned());
    h.extend(["vault".into(), "runs".into()]);
    for m in VAULT_METRICS {
        h.extend(STAT_NAMES.iter().map(|s| format!("{m}_{s}")));
    }
    let (vault_points_path, tails_path) = (dir.join("vault_points.csv"), dir.join("tails.csv"));
    let (e, te) = (csv_err(&vault_points_path), csv_err(&tails_path));
    w.write_record(&h).map_err(&e)?;
    // the stress view: each figure's worst run and where its worst 5 % begins
    let mut tails = csv::Writer::from_writer(Vec::new());
    let mut th: Vec<String> = vec!["point".into()];
    th.extend(label_header.iter().cloned());
    th.extend(["vault".into(), "runs".into()]);
    for m in VAULT_METRICS.iter().filter(|m| bad_side(m).is_some()) {
        th.extend([format!("{m}_worst"), format!("{m}_tail5")]);
    }
    tails.write_record(&th).map_err(&te)?;
    for ((point, vault), rows) in &by_vault {
        let mut rec = vec![point.to_string()];
        rec.extend(labels_of.get(point).map(|p| p.labels.clone()).unwrap_or_default());
        rec.extend([vault.clone(), rows.len().to_string()]);
        let mut tail = rec.clone();
        for (k, metric) in VAULT_METRICS.iter().enumerate() {
            let v: Vec<f64> = rows.iter().map(|r| r[4 + k].parse().unwrap_or(f64::NAN)).collect();
            let s = Stats::of(&v);
            rec.extend(s.cells());
            match bad_side(metric) {
                Some(Bad::High) => tail.extend([num(s.max), num(s.p95)]),
                Some(Bad::Low) => tail.extend([num(s.min), num(s.p5)]),
                None => {}
            }
        }
        w.write_record(&rec).map_err(&e)?;
        tails.write_record(&tail).map_err(&te)?;
    }
    write_atomic(&vault_points_path, &csv_bytes(&vault_points_path, w)?)?;
    write_atomic(&tails_path, &csv_bytes(&tails_path, tails)?)?;
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vault_figure_but_the_rebalance_count_has_a_hurting_side() {
        let neither: Vec<&str> = VAULT_METRICS.iter().copied().filter(|m| bad_side(m).is_none()).collect();
        assert_eq!(neither, ["rebalances"]);
        assert_eq!(bad_side("share_price"), Some(Bad::Low));
        assert_eq!(bad_side("max_drawdown"), Some(Bad::High));
    }

    #[test]
    fn quantiles_interpolate_between_order_statistics() {
        let v: Vec<f64> = (1..=11).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 6.0);
        assert!((quantile(&v, 0.05) - 1.5).abs() < 1e-12);
        let s = Stats::of(&[3.0, f64::NAN, 1.0, 2.0]);
        assert_eq!((s.min, s.p50, s.max, s.mean), (1.0, 2.0, 3.0, 2.0));
    }

    #[test]
    fn the_front_keeps_only_undominated_points() {
        let mk = |point, cost, te| {
            let mut stats = vec![Stats::of(&[0.0]); RUN_METRICS.len()];
            stats[RUN_METRICS.iter().position(|m| *m == "vault_cost").unwrap()] = Stats::of(&[cost]);
            stats[RUN_METRICS.iter().position(|m| *m == "tracking_error").unwrap()] = Stats::of(&[te]);
            PointSummary { point, labels: vec![], runs: 1, failed: 0, stats, pareto: false }
        };
        let mut p = vec![mk(0, 1.0, 5.0), mk(1, 2.0, 2.0), mk(2, 3.0, 3.0), mk(3, 5.0, 1.0), mk(4, 1.0, 6.0)];
        mark_pareto(&mut p);
        let front: Vec<u64> = p.iter().filter(|x| x.pareto).map(|x| x.point).collect();
        assert_eq!(front, vec![0, 1, 3]);
    }
}
