//! Plots of a finished sweep, as PNG and SVG (plotters, with a bundled font so no system fonts
//! are needed): the Pareto front of execution cost against tracking error, and either the
//! response to one parameter (mean with its 5-95 % band) or heat maps over two.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use meshsim_plot::{Drawn, both, err, font, range};

use crate::aggregate::{PointSummary, Stats};
use crate::error::SweepError;

fn pareto<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, points: &[PointSummary]) -> Drawn
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let xy: Vec<(f64, f64, bool)> =
        points.iter().map(|p| (p.get("vault_cost").mean, p.get("tracking_error").mean, p.pareto)).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption("Execution cost against tracking error (mean over seeds)", ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(range(xy.iter().map(|p| p.0)), range(xy.iter().map(|p| p.1)))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("vault execution cost (gas + LP fees + impact + sandwich loss), numeraire")
        .y_desc("time-average tracking error")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(xy.iter().filter(|p| !p.2).map(|p| Circle::new((p.0, p.1), 4, BLUE.mix(0.6).filled())))
        .map_err(err)?
        .label("point")
        .legend(|(x, y)| Circle::new((x, y), 4, BLUE.filled()));
    let mut front: Vec<(f64, f64)> = xy.iter().filter(|p| p.2).map(|p| (p.0, p.1)).collect();
    front.sort_by(|a, b| a.0.total_cmp(&b.0));
    chart.draw_series(LineSeries::new(front.clone(), RED.stroke_width(2))).map_err(err)?;
    chart
        .draw_series(front.iter().map(|p| Circle::new(*p, 5, RED.filled())))
        .map_err(err)?
        .label("Pareto front")
        .legend(|(x, y)| Circle::new((x, y), 5, RED.filled()));
    // each point named by its parameter values (the world too when there are several)
    let many_worlds = points.iter().any(|p| p.labels.first() != points[0].labels.first());
    for (p, (x, y, _)) in points.iter().zip(&xy) {
        let skip = usize::from(!many_worlds);
        // a world by its file name, without the folder and extension
        let world = |l: &String| std::path::Path::new(l).file_stem().map_or(l.clone(), |f| f.to_string_lossy().into());
        let label = p
            .labels
            .iter()
            .enumerate()
            .skip(skip)
            .map(|(k, l)| if k == 0 { world(l) } else { l.clone() })
            .collect::<Vec<_>>()
            .join(", ");
        if x.is_finite() && y.is_finite() && !label.is_empty() {
            // a few pixels right of and above the dot it names
            let text = EmptyElement::at((*x, *y)) + Text::new(label, (7, -14), ("sans-serif", 12));
            chart.draw_series(std::iter::once(text)).map_err(err)?;
        }
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(err)?;
    root.present().map_err(err)
}

fn response<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    points: &[PointSummary],
    xs: &[f64],
    parameter: &str,
) -> Drawn
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let panels = root.split_evenly((1, 2));
    for (panel, (metric, title)) in
        panels.iter().zip([("vault_cost", "execution cost"), ("tracking_error", "tracking error")])
    {
        let stats: Vec<Stats> = points.iter().map(|p| p.get(metric)).collect();
        let ys = stats.iter().flat_map(|s| [s.p5, s.p95, s.mean]);
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{title} against {parameter}"), ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(80)
            .build_cartesian_2d(range(xs.iter().copied()), range(ys))
            .map_err(err)?;
        chart.configure_mesh().x_desc(parameter).y_desc(format!("{title}: mean, 5-95 %")).draw().map_err(err)?;
        let mut band: Vec<(f64, f64)> = xs.iter().zip(&stats).map(|(x, s)| (*x, s.p95)).collect();
        band.extend(xs.iter().zip(&stats).rev().map(|(x, s)| (*x, s.p5)));
        chart.draw_series(std::iter::once(Polygon::new(band, BLUE.mix(0.15)))).map_err(err)?;
        let mean: Vec<(f64, f64)> = xs.iter().zip(&stats).map(|(x, s)| (*x, s.mean)).collect();
        chart.draw_series(LineSeries::new(mean.clone(), BLUE.stroke_width(2))).map_err(err)?;
        chart.draw_series(mean.iter().map(|p| Circle::new(*p, 4, BLUE.filled()))).map_err(err)?;
    }
    root.present().map_err(err)
}

fn heat_color(t: f64) -> RGBColor {
    // light yellow (low) to dark red (high)
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let c = |a: f64, b: f64| (a + (b - a) * t) as u8;
    RGBColor(c(255.0, 150.0), c(240.0, 20.0), c(180.0, 30.0))
}

fn heatmaps<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    points: &[PointSummary],
    axes: (&[String], &[String]),
    names: (&str, &str),
) -> Drawn
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let (xs, ys) = axes;
    let panels = root.split_evenly((1, 2));
    for (panel, (metric, title)) in
        panels.iter().zip([("vault_cost", "execution cost"), ("tracking_error", "tracking error")])
    {
        let values: Vec<f64> = points.iter().map(|p| p.get(metric).mean).collect();
        let lo = values.iter().copied().filter(|v| v.is_finite()).fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{title} (mean)"), ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..xs.len() as f64, 0.0..ys.len() as f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(names.0)
            .y_desc(names.1)
            .x_labels(xs.len().min(12))
            .y_labels(ys.len().min(12))
            .x_label_formatter(&|v| xs.get(*v as usize).cloned().unwrap_or_default())
            .y_label_formatter(&|v| ys.get(*v as usize).cloned().unwrap_or_default())
            .draw()
            .map_err(err)?;
        for (k, p) in points.iter().enumerate() {
            let (i, j) = (k / ys.len().max(1), k % ys.len().max(1));
            let t = if hi > lo { (values[k] - lo) / (hi - lo) } else { 0.5 };
            let _ = p;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(i as f64, j as f64), (i as f64 + 1.0, j as f64 + 1.0)],
                    heat_color(t).filled(),
                )))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    crate::output::num((values[k] * 1e4).round() / 1e4),
                    (i as f64 + 0.1, j as f64 + 0.6),
                    ("sans-serif", 12),
                )))
                .map_err(err)?;
        }
    }
    root.present().map_err(err)
}

/// Writes the plots that fit the sweep's shape into `dir/plots`; returns their paths.
pub fn write_plots(
    dir: &Path,
    points: &[PointSummary],
    parameters: &[String],
    worlds: usize,
) -> Result<Vec<PathBuf>, SweepError> {
    font();
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots).map_err(crate::error::io(&plots))?;
    let mut out = Vec::new();
    both!(plots, out, "pareto", |r| pareto(r, points));
    // labels: [world, parameters...]
    let numeric = |k: usize| points.iter().all(|p| p.labels.get(1 + k).is_some_and(|v| v.parse::<f64>().is_ok()));
    if worlds == 1 && parameters.len() == 1 && numeric(0) {
        let xs: Vec<f64> = points.iter().map(|p| p.labels[1].parse().unwrap_or(f64::NAN)).collect();
        both!(plots, out, "response", |r| response(r, points, &xs, &parameters[0]));
    }
    if worlds == 1 && parameters.len() == 2 {
        let distinct = |k: usize| {
            let mut v: Vec<String> = Vec::new();
            for p in points {
                if let Some(x) = p.labels.get(1 + k)
                    && !v.contains(x)
                {
                    v.push(x.clone());
                }
            }
            v
        };
        let (xs, ys) = (distinct(0), distinct(1));
        if xs.len() * ys.len() == points.len() {
            let names = (parameters[0].as_str(), parameters[1].as_str());
            both!(plots, out, "heatmap", |r| heatmaps(r, points, (&xs, &ys), names));
        }
    }
    Ok(out)
}
