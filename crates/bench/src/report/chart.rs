//! The PNG chart: Ember's ratio to each peer for the key figures (left) and each system's
//! resident memory over time (right). Drawn with plotters' bitmap backend; text uses an
//! embedded DejaVu Sans through ab_glyph, so no system fonts or font libraries are needed.

use super::{KEY_FIGURES, MIB, Report};
use crate::system::SystemKind;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;
use std::sync::OnceLock;

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("the embedded font does not load")]
    Font,
    #[error("drawing the chart: {0}")]
    Draw(String),
    #[error("encoding the PNG: {0}")]
    Png(#[from] png::EncodingError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        ChartError::Draw(e.to_string())
    }
}

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 560;
const FONT: &str = "sans-serif";
/// Ratios are drawn on a log scale clamped to this range.
const RATIO_RANGE: (f64, f64) = (0.05, 20.0);

fn color(kind: SystemKind) -> RGBColor {
    match kind {
        SystemKind::Ember => RGBColor(230, 85, 13),
        SystemKind::Prometheus => RGBColor(49, 130, 189),
        SystemKind::VictoriaMetrics => RGBColor(117, 107, 177),
    }
}

fn register_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
    });
    if ok { Ok(()) } else { Err(ChartError::Font) }
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

fn draw_ratios(report: &Report, area: &Area<'_>) -> Result<(), ChartError> {
    let peers = report.peers();
    let n = KEY_FIGURES.len() as f64;
    let (lo, hi) = RATIO_RANGE;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Ember ÷ peer (log scale; below 1: Ember uses less)",
            (FONT, 20),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..n, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(8)
        .y_label_formatter(&|v| format!("{v}"))
        .label_style((FONT, 14))
        .draw()?;
    chart.draw_series(LineSeries::new(
        [(0.0, 1.0), (n, 1.0)],
        BLACK.stroke_width(2),
    ))?;
    let width = 0.7 / peers.len().max(1) as f64;
    for (j, peer) in peers.iter().enumerate() {
        let mut bars = Vec::new();
        let mut labels = Vec::new();
        for (i, figure) in KEY_FIGURES.iter().enumerate() {
            let Some(r) = report.ratio(figure.get, *peer) else {
                continue;
            };
            let shown = r.clamp(lo, hi);
            let x0 = i as f64 + 0.15 + j as f64 * width;
            bars.push(Rectangle::new(
                [(x0, shown.min(1.0)), (x0 + width, shown.max(1.0))],
                color(*peer).filled(),
            ));
            let anchor = if r >= 1.0 { VPos::Bottom } else { VPos::Top };
            let style = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Center, anchor));
            labels.push(Text::new(
                format!("{r:.2}"),
                (x0 + width / 2.0, shown),
                style,
            ));
        }
        chart
            .draw_series(bars)?
            .label(format!("vs {}", peer.title()))
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 14, y + 6)], color(*peer).filled())
            });
        chart.draw_series(labels)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 14))
        .draw()?;
    // Category names under the axis, centred on each group of bars.
    let base = area.get_base_pixel();
    let style = TextStyle::from((FONT, 14).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, figure) in KEY_FIGURES.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64 + 0.5, lo));
        area.draw(&Text::new(
            figure.short,
            (x - base.0, y - base.1 + 8),
            style.clone(),
        ))?;
    }
    Ok(())
}

fn draw_rss(report: &Report, area: &Area<'_>) -> Result<(), ChartError> {
    let points = report.systems.iter().flat_map(|s| &s.rss_timeline);
    let (max_t, max_rss) = points.fold((1.0f64, 1.0f64), |(t, r), p| {
        (t.max(p.t_s), r.max(p.rss as f64 / MIB))
    });
    let mut chart = ChartBuilder::on(area)
        .caption("Resident memory over time (MiB)", (FONT, 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..max_t, 0f64..max_rss * 1.1)?;
    chart
        .configure_mesh()
        .x_desc("seconds since start")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 14))
        .draw()?;
    for s in &report.systems {
        let line = s.rss_timeline.iter().map(|p| (p.t_s, p.rss as f64 / MIB));
        let c = color(s.system);
        chart
            .draw_series(LineSeries::new(line, c.stroke_width(2)))?
            .label(s.system.title())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], c.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 14))
        .draw()?;
    Ok(())
}

fn write_png(path: &Path, rgb: &[u8]) -> Result<(), ChartError> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = png::Encoder::new(file, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(())
}

/// Draws the chart for `report` into a PNG file at `path`.
pub fn render_png(report: &Report, path: &Path) -> Result<(), ChartError> {
    register_font()?;
    let mut rgb = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(WIDTH * 11 / 20);
        draw_ratios(report, &left)?;
        draw_rss(report, &right)?;
        root.present()?;
    }
    write_png(path, &rgb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn renders_a_png_without_system_fonts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.png");
        render_png(&fixture::report(), &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        // Width and height in the IHDR chunk.
        assert_eq!(&bytes[16..24], &[0, 0, 0x05, 0x78, 0, 0, 0x02, 0x30]);
        assert!(bytes.len() > 10_000, "suspiciously empty chart");
    }
}
