//! Discord's text rules for relayed words.
//!
//! Pings are stopped by `allowed_mentions` with nothing to parse (sent on
//! every post). Markdown in a tweet is escaped where it would mislead:
//! emphasis, code, spoilers, quotes, headings and masked links.

/// Escapes Discord markdown so customer text shows as written.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut at_line_start = true;
    for c in text.chars() {
        let special = matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '(' | ')'
        ) || (at_line_start && matches!(c, '>' | '#' | '-'));
        if special {
            out.push('\\');
        }
        out.push(c);
        at_line_start = c == '\n' || (at_line_start && c == ' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_in_a_tweet_is_shown_as_written() {
        assert_eq!(
            escape("**free** `money` ||spoiler|| [click](https://evil)"),
            r"\*\*free\*\* \`money\` \|\|spoiler\|\| \[click\]\(https://evil\)"
        );
        assert_eq!(
            escape("> not a quote\n# not a heading"),
            "\\> not a quote\n\\# not a heading"
        );
        assert_eq!(escape("a - b > c"), "a - b > c");
        assert_eq!(escape("@everyone hi"), "@everyone hi");
    }
}
