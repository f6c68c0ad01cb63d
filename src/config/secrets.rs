//! Secrets live in environment variables the config names. This module is
//! the only place that reads them, and `Secret` never prints its value.

use std::fmt;

use super::types::{Config, EnvVar};
use super::Problem;

/// A secret value. `Debug` and `Display` print `***`, so it cannot leak
/// into a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Reads one secret through `lookup` (the process environment in
/// production).
pub fn read(env: &EnvVar, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Secret, Problem> {
    match lookup(&env.name) {
        Some(v) if !v.trim().is_empty() => Ok(Secret(v)),
        Some(_) => Err(Problem::new(
            &env.key,
            format!("environment variable {} is empty; set it to the secret", env.name),
        )),
        None => Err(Problem::new(
            &env.key,
            format!("environment variable {} is not set; export it with the secret before starting perch", env.name),
        )),
    }
}

/// Every secret the config names that `lookup` cannot find.
pub fn missing(config: &Config, lookup: &dyn Fn(&str) -> Option<String>) -> Vec<Problem> {
    config
        .secrets()
        .into_iter()
        .filter_map(|env| read(env, lookup).err())
        .collect()
}

/// Where secrets come from: the process environment in production, a map
/// in tests.
pub type Lookup = std::sync::Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process environment, as a lookup.
pub fn from_process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("xoxb-very-secret");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(s.expose(), "xoxb-very-secret");
    }
}
