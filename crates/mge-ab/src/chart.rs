//! `chart.svg`: overall precision and cost against fault rate, one line per mode.

use plotters::prelude::*;

use crate::report::{AbReport, Summary};
use crate::AbError;

const MODE_COLORS: [RGBColor; 3] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
];

/// Points `(fault rate, overall mean)` of one metric for one mode, by fault rate.
fn series(report: &AbReport, mode: mge_core::ExecutionMode, metric: &str) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = report
        .summaries
        .iter()
        .filter(|s: &&Summary| s.plan.is_none() && s.mode == mode)
        .filter_map(|s| {
            let mean = s.metrics.get(metric)?.mean?;
            Some((s.fault_rate, mean))
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points
}

/// Draws the chart as an SVG document.
pub fn render_svg(report: &AbReport) -> Result<String, AbError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 700)).into_drawing_area();
        draw(&root, report).map_err(|e| AbError::Chart(e.to_string()))?;
        root.present().map_err(|e| AbError::Chart(e.to_string()))?;
    }
    Ok(svg)
}

type DrawResult =
    Result<(), DrawingAreaErrorKind<<SVGBackend<'static> as DrawingBackend>::ErrorType>>;

fn draw(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    report: &AbReport,
) -> DrawResult {
    root.fill(&WHITE)?;
    let panels = root.split_evenly((2, 1));
    let rates = &report.config.fault_rates;
    let (mut x_lo, mut x_hi) = rates
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| {
            (lo.min(r), hi.max(r))
        });
    if !x_lo.is_finite() {
        (x_lo, x_hi) = (0.0, 1.0);
    }
    // A single fault rate still gets a visible axis around it.
    let pad = if x_hi > x_lo {
        (x_hi - x_lo) * 0.05
    } else {
        x_lo.max(0.01) * 0.5
    };
    let x_range = (x_lo - pad).max(0.0)..(x_hi + pad);
    for (panel, (metric, title, y_label)) in panels.iter().zip([
        (
            "precision",
            "Precision (share of tests passing) vs fault rate",
            "precision",
        ),
        (
            "cost_usd",
            "Cost per run of all plans (USD) vs fault rate",
            "cost $",
        ),
    ]) {
        let all: Vec<Vec<(f64, f64)>> = report
            .config
            .modes
            .iter()
            .map(|&m| series(report, m, metric))
            .collect();
        let y_max = all.iter().flatten().map(|p| p.1).fold(0.0, f64::max);
        let y_range = if metric == "precision" {
            0.0..1.05
        } else {
            0.0..(y_max * 1.15).max(1e-6)
        };
        let mut chart = ChartBuilder::on(panel)
            .caption(title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x_range.clone(), y_range)?;
        chart
            .configure_mesh()
            .x_desc("fault rate (per line)")
            .y_desc(y_label)
            .draw()?;
        for (i, (&mode, points)) in report.config.modes.iter().zip(&all).enumerate() {
            let color = MODE_COLORS[i % MODE_COLORS.len()];
            // Earlier modes are drawn wider, so a mode whose line coincides with an earlier
            // one still shows both colours.
            let width = 2 + 2 * (report.config.modes.len() - 1 - i) as u32;
            chart
                .draw_series(
                    LineSeries::new(points.iter().copied(), color.stroke_width(width))
                        .point_size(2 + width),
                )?
                .label(mode.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerLeft)
            .draw()?;
    }
    Ok(())
}
