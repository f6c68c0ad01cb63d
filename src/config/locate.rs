//! Finds the line of a config key (`accounts[0].auth.kind`) in the source,
//! so every problem can point at where to fix it.

use toml_edit::{ImDocument, Item};

/// The 1-based line where `key` (or its nearest existing parent) is written.
pub fn line_of(src: &str, key: &str) -> Option<usize> {
    let doc = ImDocument::parse(src).ok()?;
    let mut item: &Item = doc.as_item();
    let mut best: Option<usize> = None;
    for segment in segments(key) {
        let next = match segment {
            Segment::Name(name) => item
                .as_table_like()
                .and_then(|t| t.get_key_value(name))
                .map(|(k, v)| (k.span(), v)),
            Segment::Index(i) => item.get(i).map(|v| (v.span(), v)),
        };
        // A key that is not written points at its nearest written parent.
        let Some((span, next)) = next else { break };
        best = span.map(|s| s.start).or(best);
        item = next;
    }
    best.map(|offset| line_at(src, offset))
}

/// The 1-based line containing byte `offset`.
pub fn line_at(src: &str, offset: usize) -> usize {
    src.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

enum Segment<'a> {
    Name(&'a str),
    Index(usize),
}

/// `a.b[2].c` -> a, b, 2, c.
fn segments(key: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in key.split('.') {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            out.push(Segment::Name(&rest[..open]));
            rest = &rest[open..];
            while let Some(inner) = rest.strip_prefix('[') {
                let Some(close) = inner.find(']') else { break };
                if let Ok(i) = inner[..close].parse() {
                    out.push(Segment::Index(i));
                }
                rest = &inner[close + 1..];
            }
        } else if !rest.is_empty() {
            out.push(Segment::Name(rest));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"[service]
data_dir = "d"

[[accounts]]
key = "a"

[[accounts]]
key = "b"
[accounts.auth]
kind = "oauth9"
"#;

    #[test]
    fn finds_nested_keys_and_array_elements() {
        assert_eq!(line_of(SRC, "service.data_dir"), Some(2));
        assert_eq!(line_of(SRC, "accounts[1].key"), Some(8));
        assert_eq!(line_of(SRC, "accounts[1].auth.kind"), Some(10));
        // A missing key points at its nearest parent.
        assert_eq!(
            line_of(SRC, "accounts[1].auth.consumer_key_env"),
            line_of(SRC, "accounts[1].auth")
        );
        assert_eq!(line_of(SRC, "nothing"), None);
    }
}
