//! The report as one self-contained HTML page: styles inline, charts as
//! SVG, nothing fetched from elsewhere. The dashboard is the same page with
//! the live queue above it.

use std::fmt::Write;

use html_escape::encode_text as esc;

use super::{heading, svg, Report, Row};

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d1c1d;background:#fff}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
.headline{display:flex;flex-wrap:wrap;gap:12px}
.figure{border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:120px}
.figure b{display:block;font-size:22px}
table{border-collapse:collapse;margin:8px 0}td,th{border-bottom:1px solid #eee;padding:4px 10px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}
.chart{width:100%;height:auto;font-size:10px}
.chart text{fill:#555}.chart .axis{stroke:#999}
.bar,.kept{fill:#2eb67d}.late{fill:#ecb22e}.unanswered{fill:#aaa}.cell{fill:#1264a3}
.line{fill:none;stroke:#1264a3;stroke-width:2}.point{fill:#1264a3}
.chart line.target{stroke:#e01e5a;stroke-dasharray:4 3}.chart text.target{fill:#e01e5a;paint-order:stroke;stroke:#fff;stroke-width:3px}
";

/// The page; `live` (the dashboard's queue and refresh) goes above the
/// figures.
pub fn page(report: &Report<'_>, live: Option<&str>) -> String {
    let f = report.figures;
    let rows = report.rows();
    let all = |figure: &str| {
        rows.iter()
            .find(|r| r.section == "all" && r.figure == figure)
            .map(|r| r.value.human())
            .unwrap_or_else(|| "n/a".to_owned())
    };
    let title = report.title();
    let mut out = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body><h1>{}</h1>",
        esc(&title),
        esc(&title)
    );
    if let Some(live) = live {
        out.push_str(live);
    }
    out.push_str("<section class=\"headline\" id=\"headline\">");
    for (label, figure) in [
        ("tickets", "tickets"),
        ("answered", "answered %"),
        ("within 60 min", "answered within 60 min %"),
        ("median first response", "first response median"),
        ("breaches", "breaches"),
        ("backlog now", "backlog now"),
    ] {
        let _ = write!(
            out,
            "<div class=\"figure\" data-figure=\"{}\"><b>{}</b>{}</div>",
            esc(figure),
            esc(&all(figure)),
            esc(label)
        );
    }
    out.push_str("</section><h2>Charts</h2><div class=\"charts\">");
    for chart in [
        svg::volume(f),
        svg::first_response(f),
        svg::heatmap(f),
        svg::backlog(f),
    ] {
        out.push_str(&chart);
    }
    out.push_str("</div>");
    table(&mut out, &rows);
    for (section, title, list) in report.titled_lists() {
        let _ = write!(
            out,
            "<h2>{title} ({})</h2><ul id=\"{section}\">",
            list.len()
        );
        for r in list {
            let _ = write!(
                out,
                "<li><b>{}</b> {}</li>",
                esc(&r.about),
                esc(&r.value.human())
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</body></html>");
    out
}

/// The figures as tables, one per section; each value cell carries its
/// section, subject and figure for whoever reads the page by machine.
fn table(out: &mut String, rows: &[Row]) {
    let mut section = "";
    for r in rows {
        if r.section != section {
            if !section.is_empty() {
                out.push_str("</table>");
            }
            section = r.section;
            let _ = write!(
                out,
                "<h2>{}</h2><table id=\"{section}\"><tr><th></th><th>figure</th><th>value</th></tr>",
                heading(section)
            );
        }
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"n\" data-section=\"{}\" data-about=\"{}\" data-figure=\"{}\">{}</td></tr>",
            esc(&r.about),
            esc(r.figure),
            r.section,
            html_escape::encode_double_quoted_attribute(&r.about),
            html_escape::encode_double_quoted_attribute(r.figure),
            esc(&r.value.human())
        );
    }
    if !section.is_empty() {
        out.push_str("</table>");
    }
}
