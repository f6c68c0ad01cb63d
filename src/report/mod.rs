//! The figures as people read them: the `stats` answer in chat, and the
//! report (`perch report`, the dashboard, the weekly digest) as Markdown,
//! CSV or a self-contained HTML page with SVG charts. Every format is drawn
//! from the same rows, so a figure reads the same wherever it is shown.

mod html;
mod svg;

use chrono::{DateTime, Duration, Utc};

use crate::ticket::figures::{percent, short, Figures, Spread};
use crate::ticket::{AgentId, Summary};

pub use html::page;

/// How `perch report` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Csv,
    Html,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "md" | "markdown" => Some(Self::Markdown),
            "csv" => Some(Self::Csv),
            "html" => Some(Self::Html),
            _ => None,
        }
    }

    /// What an HTTP answer in this format says it is.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Markdown => "text/markdown; charset=utf-8",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Html => "text/html; charset=utf-8",
        }
    }
}

/// The figures with what they need to be read: agents' names and the
/// month's X spend.
pub struct Report<'a> {
    pub figures: &'a Figures,
    pub names: &'a dyn Fn(&AgentId) -> String,
    /// The month's X spend as `stats` says it, where known.
    pub spend: Option<String>,
}

/// A figure's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Count(usize),
    Percent(usize),
    Time(Option<Duration>),
    Text(String),
}

impl Value {
    /// As a person reads it: `12`, `80%`, `1h 05m`, `n/a`.
    pub fn human(&self) -> String {
        match self {
            Self::Count(n) => n.to_string(),
            Self::Percent(n) => format!("{n}%"),
            Self::Time(Some(d)) => short(*d),
            Self::Time(None) => "n/a".to_owned(),
            Self::Text(s) => s.clone(),
        }
    }

    /// As a spreadsheet reads it: numbers bare, times in seconds, nothing
    /// for a time that does not exist.
    pub fn raw(&self) -> String {
        match self {
            Self::Count(n) | Self::Percent(n) => n.to_string(),
            Self::Time(Some(d)) => d.num_seconds().to_string(),
            Self::Time(None) => String::new(),
            Self::Text(s) => s.clone(),
        }
    }
}

/// One figure: its section (`all`, `priority`, `agent`, …), what it is
/// about within the section, its name and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub section: &'static str,
    pub about: String,
    pub figure: &'static str,
    pub value: Value,
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

impl Report<'_> {
    /// Every figure, in the order the report shows them.
    pub fn rows(&self) -> Vec<Row> {
        let f = self.figures;
        let mut rows = Vec::new();
        let mut put = |section: &'static str, about: &str, figures: Vec<(&'static str, Value)>| {
            rows.extend(figures.into_iter().map(|(figure, value)| Row {
                section,
                about: about.to_owned(),
                figure,
                value,
            }))
        };
        let share = |n| Value::Percent(percent(n, f.tickets));
        let median = |s: Option<Spread>| Value::Time(s.map(|s| s.median));
        let p90 = |s: Option<Spread>| Value::Time(s.map(|s| s.p90));
        let mut all = vec![
            ("tickets", Value::Count(f.tickets)),
            ("answered", Value::Count(f.answered)),
            ("answered %", share(f.answered)),
            ("answered within 30 min %", share(f.within[0])),
            ("answered within 60 min %", share(f.within[1])),
            ("answered within 24 h %", share(f.within[2])),
            ("first response median", median(f.first_response)),
            ("first response p90", p90(f.first_response)),
        ];
        if f.first_response_open.is_some() {
            all.extend([
                (
                    "first response median in support hours",
                    median(f.first_response_open),
                ),
                (
                    "first response p90 in support hours",
                    p90(f.first_response_open),
                ),
            ]);
        }
        let first_day = f.backlog.first().map_or(f.backlog_now, |(_, n)| *n);
        all.extend([
            ("breaches", Value::Count(f.breaches)),
            ("resolved", Value::Count(f.resolved)),
            ("one-touch", Value::Count(f.one_touch)),
            ("reopened", Value::Count(f.reopened)),
            ("backlog now", Value::Count(f.backlog_now)),
            (
                "backlog at the end of the first day",
                Value::Count(first_day),
            ),
        ]);
        if let Some(spend) = &self.spend {
            all.push(("X spend", Value::Text(spend.clone())));
        }
        put("all", "", all);
        for t in f.targets.iter().filter(|t| t.tickets > 0) {
            let mut figures = vec![
                ("tickets", Value::Count(t.tickets)),
                ("target", Value::Time(t.target)),
            ];
            if t.target.is_some() {
                figures.extend([
                    ("met", Value::Count(t.met)),
                    ("missed", Value::Count(t.missed)),
                    ("pending", Value::Count(t.pending)),
                    ("met %", Value::Percent(percent(t.met, t.met + t.missed))),
                ]);
            }
            put("priority", t.priority.as_str(), figures);
        }
        for a in &f.agents {
            put(
                "agent",
                &(self.names)(&a.agent),
                vec![
                    ("answered first", Value::Count(a.answered)),
                    ("first response median", Value::Time(a.median)),
                    ("holding now", Value::Count(a.holding)),
                ],
            );
        }
        for (section, groups) in [("account", &f.accounts), ("origin", &f.origins)] {
            for g in groups {
                put(
                    section,
                    &g.name,
                    vec![
                        ("tickets", Value::Count(g.tickets)),
                        ("answered", Value::Count(g.answered)),
                        ("answered %", Value::Percent(percent(g.answered, g.tickets))),
                        ("first response median", Value::Time(g.median)),
                    ],
                );
            }
        }
        for ((day, n), (_, backlog)) in f.per_day.iter().zip(&f.backlog) {
            put(
                "day",
                &day.format("%Y-%m-%d").to_string(),
                vec![
                    ("tickets", Value::Count(*n)),
                    ("backlog", Value::Count(*backlog)),
                ],
            );
        }
        rows
    }

    /// The lists as the report shows them, one under each title: (its
    /// section, its title, its rows).
    pub fn titled_lists(&self) -> [(&'static str, &'static str, Vec<Row>); 2] {
        let (unanswered, breaches) = self
            .lists()
            .into_iter()
            .partition(|r| r.section == "unanswered");
        [
            ("unanswered", "Unanswered", unanswered),
            ("breach", "Breaches", breaches),
        ]
    }

    /// The lists behind the figures: unanswered tickets and breaches.
    pub fn lists(&self) -> Vec<Row> {
        let f = self.figures;
        let line = |t: &Summary| {
            format!(
                "{} · {} · {} · @{}",
                t.priority,
                t.account.as_str(),
                t.origin.label(),
                t.handle
            )
        };
        let mut rows = Vec::new();
        for t in &f.unanswered {
            rows.push(Row {
                section: "unanswered",
                about: t.id.to_string(),
                figure: "opened",
                value: Value::Text(format!("{} · {}", time(t.created_at), line(t))),
            });
        }
        for (t, at) in &f.breached {
            rows.push(Row {
                section: "breach",
                about: t.id.to_string(),
                figure: "breached",
                value: Value::Text(format!("{} · {}", time(*at), line(t))),
            });
        }
        rows
    }

    /// The period, as a title says it.
    pub fn title(&self) -> String {
        format!(
            "perch report: {} to {}",
            time(self.figures.since),
            time(self.figures.now)
        )
    }

    /// The `stats` answer: the headline figures in a few lines.
    pub fn chat(&self) -> String {
        let f = self.figures;
        let rows = self.rows();
        let get = |section: &str, about: &str, figure: &str| {
            rows.iter()
                .find(|r| r.section == section && r.about == about && r.figure == figure)
                .map(|r| r.value.human())
                .unwrap_or_else(|| "n/a".to_owned())
        };
        let all = |figure: &str| get("all", "", figure);
        if f.tickets == 0 {
            return format!(
                "No tickets since {}. Backlog now {}.",
                time(f.since),
                f.backlog_now
            );
        }
        let mut out = format!(
            "Since {}: {} tickets, {} answered ({}); within 30 min {}, 60 min {}, 24 h {}.",
            time(f.since),
            f.tickets,
            f.answered,
            all("answered %"),
            all("answered within 30 min %"),
            all("answered within 60 min %"),
            all("answered within 24 h %"),
        );
        out.push_str(&format!(
            "\nFirst response: median {}, p90 {}",
            all("first response median"),
            all("first response p90")
        ));
        if f.first_response_open.is_some() {
            out.push_str(&format!(
                "; in support hours median {}, p90 {}",
                all("first response median in support hours"),
                all("first response p90 in support hours")
            ));
        }
        out.push('.');
        let met: Vec<String> = f
            .targets
            .iter()
            .filter(|t| t.tickets > 0 && t.target.is_some())
            .map(|t| {
                let pending = match t.pending {
                    0 => String::new(),
                    n => format!(", {n} pending"),
                };
                format!("{} {}/{}{pending}", t.priority, t.met, t.met + t.missed)
            })
            .collect();
        if !met.is_empty() {
            out.push_str(&format!("\nTargets met: {}.", met.join(" · ")));
        }
        out.push_str(&format!(
            "\nBreaches {}. Resolved {}, one-touch {}, reopened {}. Backlog now {} (end of the first day {}).",
            f.breaches,
            f.resolved,
            f.one_touch,
            f.reopened,
            f.backlog_now,
            all("backlog at the end of the first day")
        ));
        let agents: Vec<String> = f
            .agents
            .iter()
            .map(|a| {
                let name = (self.names)(&a.agent);
                format!(
                    "{name} answered {} (median {}), holds {}",
                    a.answered,
                    get("agent", &name, "first response median"),
                    a.holding
                )
            })
            .collect();
        if !agents.is_empty() {
            out.push_str(&format!("\nAgents: {}.", agents.join(" · ")));
        }
        for (label, section, groups) in [
            ("Accounts", "account", &f.accounts),
            ("Origins", "origin", &f.origins),
        ] {
            let parts: Vec<String> = groups
                .iter()
                .map(|g| {
                    format!(
                        "{} {} ({} answered)",
                        g.name,
                        g.tickets,
                        get(section, &g.name, "answered %")
                    )
                })
                .collect();
            out.push_str(&format!("\n{label}: {}.", parts.join(" · ")));
        }
        if let Some(spend) = &self.spend {
            out.push_str(&format!("\n{spend}"));
        }
        out
    }

    /// The headline figures in four lines, for the weekly digest: the
    /// period, the first response, the targets, breaches and backlog.
    pub fn headline(&self) -> String {
        self.chat().lines().take(4).collect::<Vec<_>>().join("\n")
    }

    /// The report as Markdown: the figures as tables, then the lists.
    pub fn markdown(&self) -> String {
        let mut out = format!("# {}\n", self.title());
        let rows = self.rows();
        let mut section = "";
        for r in &rows {
            if r.section != section {
                section = r.section;
                out.push_str(&format!(
                    "\n## {}\n\n| | figure | value |\n|---|---|---|\n",
                    heading(section)
                ));
            }
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                r.about,
                r.figure,
                r.value.human()
            ));
        }
        for (_, title, list) in self.titled_lists() {
            out.push_str(&format!("\n## {title} ({})\n\n", list.len()));
            for r in list {
                out.push_str(&format!("- {}: {}\n", r.about, r.value.human()));
            }
        }
        out
    }

    /// The report as CSV: `section,about,figure,value`, one figure (or
    /// listed ticket) a line; times in seconds.
    pub fn csv(&self) -> String {
        let mut out = csv::Writer::from_writer(Vec::new());
        let lines = std::iter::once(["section", "about", "figure", "value"].map(str::to_owned))
            .chain(self.rows().into_iter().chain(self.lists()).map(|r| {
                [
                    r.section.to_owned(),
                    r.about,
                    r.figure.to_owned(),
                    r.value.raw(),
                ]
            }));
        for line in lines {
            // Writing to memory fails only when memory does.
            if out.write_record(&line).is_err() {
                break;
            }
        }
        String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Markdown => self.markdown(),
            Format::Csv => self.csv(),
            Format::Html => page(self, None),
        }
    }
}

/// A section's heading.
fn heading(section: &str) -> &'static str {
    match section {
        "all" => "All tickets",
        "priority" => "First-response targets by priority",
        "agent" => "By agent",
        "account" => "By account",
        "origin" => "By origin",
        "day" => "By day",
        _ => "Other",
    }
}
