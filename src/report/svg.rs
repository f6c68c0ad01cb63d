//! The report's charts as inline SVG: no script, no fonts or images from
//! elsewhere, so the page reads offline and prints.

use std::fmt::Write;

use html_escape::encode_text as esc;

use crate::ticket::figures::{Figures, BUCKETS};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 36.0;
const BOTTOM: f64 = 28.0;

/// A bar chart of `bars` (label, value, class); `title` names the chart
/// for screen readers and tests.
fn bars(id: &str, title: &str, bars: &[(String, usize, &str)]) -> String {
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
    let n = bars.len().max(1) as f64;
    let slot = (WIDTH - LEFT) / n;
    let plot = HEIGHT - BOTTOM - 12.0;
    let mut out = open(id, title);
    axis(&mut out, max);
    for (i, (label, value, class)) in bars.iter().enumerate() {
        let h = *value as f64 / max * plot;
        let x = LEFT + i as f64 * slot + slot * 0.15;
        let y = HEIGHT - BOTTOM - h;
        let _ = write!(
            out,
            r#"<rect class="{class}" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}"><title>{}: {value}</title></rect>"#,
            slot * 0.7,
            esc(label)
        );
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x + slot * 0.35,
            HEIGHT - BOTTOM + 14.0,
            esc(label)
        );
        if *value > 0 {
            let _ = write!(
                out,
                r#"<text class="value" x="{:.1}" y="{:.1}" text-anchor="middle">{value}</text>"#,
                x + slot * 0.35,
                y - 3.0
            );
        }
    }
    out.push_str("</svg>");
    out
}

fn open(id: &str, title: &str) -> String {
    format!(
        r#"<svg id="{id}" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title>"#,
        esc(title)
    )
}

fn axis(out: &mut String, max: f64) {
    let base = HEIGHT - BOTTOM;
    let _ = write!(
        out,
        r#"<line class="axis" x1="{LEFT}" y1="{base}" x2="{WIDTH}" y2="{base}"/><text x="{:.1}" y="{:.1}" text-anchor="end">{max}</text><text x="{:.1}" y="{base}" text-anchor="end">0</text>"#,
        LEFT - 4.0,
        12.0,
        LEFT - 4.0
    );
}

/// Tickets opened per day.
pub fn volume(f: &Figures) -> String {
    let days: Vec<(String, usize, &str)> = f
        .per_day
        .iter()
        .map(|(day, n)| (day.format("%a %d").to_string(), *n, "bar"))
        .collect();
    bars("volume", "Tickets opened per day", &days)
}

/// Answered tickets by time to first response, each priority's target
/// marked where it falls; a bucket within the loosest target is drawn as
/// kept, one beyond it as late, the unanswered apart.
pub fn first_response(f: &Figures) -> String {
    let targets: Vec<(&str, i64)> = f
        .targets
        .iter()
        .filter(|t| t.tickets > 0)
        .filter_map(|t| Some((t.priority.as_str(), t.target?.num_minutes())))
        .collect();
    let loosest = targets.iter().map(|t| t.1).max();
    let buckets: Vec<(String, usize, &str)> = BUCKETS
        .iter()
        .zip(f.distribution)
        .enumerate()
        .map(|(i, ((label, limit), n))| {
            let class = match (i, limit, loosest) {
                (6, _, _) => "unanswered",
                (_, Some(limit), Some(target)) if *limit <= target => "kept",
                (_, _, Some(_)) => "late",
                _ => "bar",
            };
            let label = if i < 5 {
                format!("≤ {label}")
            } else {
                (*label).to_owned()
            };
            (label, n, class)
        })
        .collect();
    let mut out = bars(
        "first-response",
        "Answered tickets by time to first response, against the targets",
        &buckets,
    );
    // Each target at the right edge of the first bucket that holds it.
    let slot = (WIDTH - LEFT) / BUCKETS.len() as f64;
    let mut marks: Vec<(usize, Vec<&str>)> = Vec::new();
    for (name, minutes) in &targets {
        let Some(i) = BUCKETS
            .iter()
            .position(|(_, limit)| limit.is_some_and(|l| l >= *minutes))
        else {
            continue;
        };
        match marks.iter_mut().find(|m| m.0 == i) {
            Some(m) => m.1.push(name),
            None => marks.push((i, vec![name])),
        }
    }
    let mut lines = String::new();
    for (i, names) in marks {
        let x = LEFT + (i as f64 + 0.925) * slot;
        let _ = write!(
            lines,
            r#"<line class="target" x1="{x:.1}" y1="24" x2="{x:.1}" y2="{:.1}"/><text class="target" x="{:.1}" y="40" text-anchor="end">{} target</text>"#,
            HEIGHT - BOTTOM,
            x + 2.0,
            esc(&names.join(", "))
        );
    }
    out.insert_str(out.len() - "</svg>".len(), &lines);
    out
}

/// When customers write: tickets opened by weekday and hour.
pub fn heatmap(f: &Figures) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let max = f
        .heatmap
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let cell = (WIDTH - LEFT) / 24.0;
    let row = (HEIGHT - BOTTOM) / 7.0;
    let mut out = open("heatmap", "Tickets opened by weekday and hour");
    for (d, hours) in f.heatmap.iter().enumerate() {
        let y = d as f64 * row;
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 4.0,
            y + row * 0.7,
            DAYS.get(d).copied().unwrap_or("")
        );
        for (h, n) in hours.iter().enumerate() {
            let _ = write!(
                out,
                r#"<rect class="cell" x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill-opacity="{:.2}"><title>{} {h:02}:00: {n}</title></rect>"#,
                LEFT + h as f64 * cell,
                cell - 1.0,
                row - 1.0,
                0.05 + 0.95 * (*n as f64 / max),
                DAYS.get(d).copied().unwrap_or("")
            );
        }
    }
    for h in (0..24).step_by(3) {
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}">{h:02}</text>"#,
            LEFT + h as f64 * cell,
            HEIGHT - BOTTOM + 14.0
        );
    }
    out.push_str("</svg>");
    out
}

/// The backlog at the end of each day.
pub fn backlog(f: &Figures) -> String {
    let max = f.backlog.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
    let n = f.backlog.len().max(2) as f64 - 1.0;
    let plot = HEIGHT - BOTTOM - 12.0;
    let mut out = open("backlog", "Open tickets at the end of each day");
    axis(&mut out, max);
    let points: Vec<(f64, f64, String, usize)> = f
        .backlog
        .iter()
        .enumerate()
        .map(|(i, (day, v))| {
            let x = LEFT + 16.0 + i as f64 / n * (WIDTH - LEFT - 40.0);
            let y = HEIGHT - BOTTOM - *v as f64 / max * plot;
            (x, y, day.format("%a %d").to_string(), *v)
        })
        .collect();
    let line: Vec<String> = points
        .iter()
        .map(|(x, y, _, _)| format!("{x:.1},{y:.1}"))
        .collect();
    let _ = write!(
        out,
        r#"<polyline class="line" points="{}"/>"#,
        line.join(" ")
    );
    for (x, y, day, v) in &points {
        let _ = write!(
            out,
            r#"<circle class="point" cx="{x:.1}" cy="{y:.1}" r="3"><title>{day}: {v}</title></circle><text x="{x:.1}" y="{:.1}" text-anchor="middle">{day}</text>"#,
            HEIGHT - BOTTOM + 14.0
        );
    }
    out.push_str("</svg>");
    out
}
