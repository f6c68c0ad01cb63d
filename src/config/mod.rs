//! The config file: TOML read into raw serde types (`raw`) that reject
//! unknown keys, then a pure `validate()` into typed values (`types`).
//! Secrets are never in the file, only the names of the environment
//! variables holding them (`secrets`).

pub mod locate;
pub mod parse;
pub mod raw;
pub mod secrets;
mod summary;
pub mod types;
pub mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use secrets::Secret;
pub use summary::summary;
pub use types::*;
pub use validate::{validate, Validated};

/// One thing wrong with the config: the key, what is wrong and what to do,
/// and the line when it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
    pub line: Option<usize>,
}

impl Problem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
            line: None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// Everything wrong with one config file.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "{} has {n} problem{}:",
            self.file.display(),
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            writeln!(f, "  {}", located(&self.file, p))?;
        }
        Ok(())
    }
}

/// `file:line: key: message`.
pub fn located(file: &Path, problem: &Problem) -> String {
    match problem.line {
        Some(line) => format!("{}:{line}: {problem}", file.display()),
        None => format!("{}: {problem}", file.display()),
    }
}

/// A config read from a file, with the source kept to point at lines.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    pub config: Config,
    pub warnings: Vec<Problem>,
    source: String,
}

impl Loaded {
    /// Attaches the line of its key to each problem.
    pub fn locate(&self, problems: Vec<Problem>) -> Vec<Problem> {
        with_lines(&self.source, problems)
    }
}

/// Reads, parses and validates a config file.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let source = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_owned(),
        problems: vec![Problem::new(
            "",
            format!(
                "cannot read the file ({e}); pass the path of a perch TOML config with --config"
            ),
        )],
    })?;
    let validated = from_str(&source).map_err(|problems| ConfigError {
        file: path.to_owned(),
        problems,
    })?;
    Ok(Loaded {
        path: path.to_owned(),
        warnings: with_lines(&source, validated.warnings),
        config: validated.config,
        source,
    })
}

/// Parses and validates config text; problems carry their lines.
pub fn from_str(source: &str) -> Result<Validated, Vec<Problem>> {
    let deserializer = toml::Deserializer::new(source);
    let raw: raw::RawConfig = match serde_path_to_error::deserialize(deserializer) {
        Ok(raw) => raw,
        Err(e) => return Err(vec![parse_problem(source, &e)]),
    };
    validate(raw).map_err(|problems| with_lines(source, problems))
}

fn with_lines(source: &str, problems: Vec<Problem>) -> Vec<Problem> {
    problems
        .into_iter()
        .map(|mut p| {
            if p.line.is_none() && !p.key.is_empty() {
                p.line = locate::line_of(source, &p.key);
            }
            p
        })
        .collect()
}

/// A TOML syntax or shape error (unknown key, wrong type, missing key).
fn parse_problem(source: &str, e: &serde_path_to_error::Error<toml::de::Error>) -> Problem {
    let inner = e.inner();
    let path = e.path().to_string();
    let key = if path == "." { String::new() } else { path };
    let mut message = inner.message().trim().replace('\n', "; ");
    if message.starts_with("unknown field") {
        message.push_str("; remove it or fix its spelling");
    } else if message.starts_with("missing field") {
        message.push_str("; add it");
    }
    let line = inner
        .span()
        .map(|s| locate::line_at(source, s.start))
        .or_else(|| locate::line_of(source, &key));
    Problem { key, message, line }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
