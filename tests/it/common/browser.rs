//! A real browser for the tests that need one: Debian's Chromium
//! (scripts/test installs it where it can), or the one PERCH_CHROMIUM
//! names.

use std::path::PathBuf;
use std::process::Command;

/// The Chromium to drive, if this machine has one that runs (a full
/// path: the DevTools driver does not search PATH).
pub fn chromium() -> Option<PathBuf> {
    let named = std::env::var_os("PERCH_CHROMIUM").map(PathBuf::from);
    let path = std::env::var_os("PATH").unwrap_or_default();
    let on_path = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .filter(|p| p.is_file());
    named.into_iter().chain(on_path).find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}
