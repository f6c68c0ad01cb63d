//! The crate's modules depend one way, bottom-up, as `src/lib.rs` lists
//! them: a module may use those in its own layer or below, never above. A
//! `crate::` path to a higher layer anywhere in a module's files fails
//! this test, naming the file, the line and the layers.

use std::path::{Path, PathBuf};

/// Test support (builders for unit tests): any layer's tests may use it;
/// it uses only the layers below its own.
const TEST_SUPPORT: &str = "testing";

/// Bottom first; the same order as the list in `src/lib.rs`.
const LAYERS: &[&[&str]] = &[
    &["xrules", "backoff", "clock", "vitals", "metrics"],
    &["ticket"],
    &["config", "testing"],
    &["chat", "logging", "report"],
    &["store"],
    &["twitter", "online"],
    &["relay"],
    &["service"],
    &["sandbox"],
    &["cli"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/chat/slack/mod.rs`
/// and `src/chat.rs` are both `chat`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let first = file.strip_prefix(src).ok()?.components().next()?;
    let name = first.as_os_str().to_str()?;
    Some(name.trim_end_matches(".rs").to_owned())
}

/// Each `crate::name` in `text`, with its line number.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `$crate::` in a macro, or `perch_crate::`, is not ours.
            let before = rest[..at].chars().last();
            if !name.is_empty()
                && !before.is_some_and(|c| c == '$' || c.is_alphanumeric() || c == '_')
            {
                found.push((n + 1, name));
            }
            rest = after;
        }
    }
    found
}

#[test]
fn no_module_uses_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.len() > 20,
        "found only {} files in {}",
        files.len(),
        src.display()
    );
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(own) = layer(&module) else {
            unknown.push(module);
            continue;
        };
        let text = std::fs::read_to_string(file).expect("a source file");
        for (line, used) in crate_paths(&text) {
            if used == TEST_SUPPORT {
                continue;
            }
            match layer(&used) {
                Some(theirs) if theirs > own => wrong.push(format!(
                    "{}:{line}: `{module}` (layer {own}) uses `{used}` (layer {theirs}, higher)",
                    file.strip_prefix(&src).unwrap_or(file).display()
                )),
                Some(_) => {}
                None => unknown.push(used),
            }
        }
    }
    unknown.sort();
    unknown.dedup();
    assert!(
        unknown.is_empty(),
        "modules missing from LAYERS (add them in tests/layers.rs and src/lib.rs): {unknown:?}"
    );
    assert!(
        wrong.is_empty(),
        "lower layers use higher ones (see src/lib.rs):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_check_sees_paths_as_written() {
    let text = "use crate::store::Store;\nlet x = crate::chat::dedupe_window(); // crate::relay\n$crate::ticket";
    let found: Vec<String> = crate_paths(text).into_iter().map(|(_, m)| m).collect();
    assert_eq!(found, ["store", "chat"]);
}
