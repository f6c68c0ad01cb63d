//! What an agent wrote in chat, as the customer should read it on X.
//!
//! Each platform writes people, channels, groups, links and emoji in its
//! own markup (`slack::text::to_x`, `discord::text::to_x` read it); what
//! they share is here: the names markup refers to by id, and the
//! formatting marks that mean nothing on X. Nothing that reaches X can
//! mention someone by accident: a chat mention becomes a name without `@`.

use std::collections::HashMap;

/// Something the markup names by id, whose name the platform knows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ref {
    User(String),
    Channel(String),
    /// A Slack user group or a Discord role.
    Group(String),
}

/// The names of what a text refers to (those the platform could tell).
pub type Names = HashMap<Ref, String>;

/// What stands in for a name the platform could not tell.
pub fn unknown(what: &Ref) -> &'static str {
    match what {
        Ref::User(_) => "a colleague",
        Ref::Channel(_) => "a channel",
        Ref::Group(_) => "the team",
    }
}

/// The name of `what`, or a neutral word; never with a leading `@`.
pub fn name_of(names: &Names, what: &Ref) -> String {
    match names.get(what) {
        Some(n) if !n.trim_start_matches('@').is_empty() => n.trim_start_matches('@').to_owned(),
        _ => unknown(what).to_owned(),
    }
}

/// Words kept aside while the marks around them are read: each stands in
/// the text as one character of Unicode's private use area (never typed,
/// and not part of a word, so a mark beside it still opens or closes),
/// and is put back by `restore`. A URL or a name is never read for marks.
#[derive(Default)]
pub struct Held(Vec<String>);

impl Held {
    const FIRST: u32 = 0xF0000;

    /// Keeps `words` aside; the character that stands for them.
    pub fn hold(&mut self, words: String) -> char {
        let slot = char::from_u32(Self::FIRST + self.0.len() as u32).unwrap_or('\u{FFFD}');
        self.0.push(words);
        slot
    }

    /// `text` with the words held put back.
    pub fn restore(&self, text: &str) -> String {
        text.chars()
            .map(|c| match (c as u32).checked_sub(Self::FIRST) {
                Some(i) => self.0.get(i as usize).cloned().unwrap_or_default(),
                None => c.to_string(),
            })
            .collect()
    }
}

/// A link as plain text: its address, and its label first when the label
/// says something else (`docs (https://acme.com/help)`).
pub fn link_text(url: &str, label: Option<&str>) -> String {
    let bare = |s: &str| {
        s.trim_start_matches("mailto:")
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_start_matches("www.")
            .trim_end_matches('/')
            .to_owned()
    };
    let shown = url.strip_prefix("mailto:").unwrap_or(url);
    match label.map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) if bare(l) != bare(url) => format!("{l} ({shown})"),
        _ => shown.to_owned(),
    }
}

/// `text` without the paired formatting marks in `marks` (longest
/// first): `*bold*` -> `bold`. A mark counts only where it opens or
/// closes a word, so `snake_case`, `2*3*4` and `*nix` keep theirs.
pub fn strip_marks(text: &str, marks: &[&str]) -> String {
    text.split('\n')
        .map(|line| {
            let mut line = line.to_owned();
            // Nested marks (`**_x_**`) come off one pair per pass.
            for _ in 0..8 {
                let next = strip_one_pass(&line, marks);
                if next == line {
                    break;
                }
                line = next;
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn strip_one_pass(line: &str, marks: &[&str]) -> String {
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let rest = &line[i..];
        let opened = marks.iter().find(|m| {
            rest.starts_with(**m) && opens(line, i, m.len()) && closes_later(line, i, m).is_some()
        });
        match opened {
            Some(m) => {
                let close = closes_later(line, i, m).unwrap_or(line.len());
                out.push_str(&line[i + m.len()..close]);
                i = close + m.len();
            }
            None => {
                let c = rest.chars().next().unwrap_or(' ');
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(char::is_alphanumeric)
}

fn opens(line: &str, at: usize, len: usize) -> bool {
    let before = line[..at].chars().next_back();
    let after = line[at + len..].chars().next();
    !is_word(before) && after.is_some_and(|c| !c.is_whitespace())
}

/// Where the mark opened at `at` closes on the same line.
fn closes_later(line: &str, at: usize, mark: &str) -> Option<usize> {
    let from = at + mark.len();
    let mut search = from;
    while let Some(found) = line[search..].find(mark) {
        let j = search + found;
        let before = line[..j].chars().next_back();
        let after = line[j + mark.len()..].chars().next();
        if j > from && before.is_some_and(|c| !c.is_whitespace()) && !is_word(after) {
            return Some(j);
        }
        search = j + mark.len();
    }
    None
}

/// A quote or heading mark at the start of each line, removed.
pub fn strip_line_marks(text: &str, marks: &[&str]) -> String {
    text.split('\n')
        .map(|line| {
            marks
                .iter()
                .find_map(|m| line.strip_prefix(m))
                .unwrap_or(line)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `@everyone` and `@here` typed as words: the words, without `@`.
pub fn disarm_everyone(text: &str) -> String {
    text.replace("@everyone", "everyone")
        .replace("@here", "here")
        .replace("@channel", "channel")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_marks_come_off_only_where_they_format() {
        let cases = [
            ("*bold* and _it_", "bold and it"),
            ("**_both_**", "both"),
            ("snake_case_name stays", "snake_case_name stays"),
            ("2*3*4 = 24", "2*3*4 = 24"),
            ("*nix and *bsd", "*nix and *bsd"),
            ("a * b * c", "a * b * c"),
            ("`code` here", "code here"),
            ("~gone~, really", "gone, really"),
            ("*open only", "*open only"),
            ("«*é*»", "«é»"),
        ];
        for (input, want) in cases {
            assert_eq!(
                strip_marks(input, &["**", "*", "_", "~", "`"]),
                want,
                "{input:?}"
            );
        }
    }

    #[test]
    fn a_link_shows_its_address_and_a_label_that_differs() {
        assert_eq!(
            link_text("https://acme.com/", Some("acme.com")),
            "https://acme.com/"
        );
        assert_eq!(
            link_text("https://acme.com/help", Some("our help page")),
            "our help page (https://acme.com/help)"
        );
        assert_eq!(link_text("mailto:a@b.co", Some("a@b.co")), "a@b.co");
        assert_eq!(link_text("https://x.com", None), "https://x.com");
    }

    #[test]
    fn names_never_keep_an_at_sign() {
        let mut names = Names::new();
        names.insert(Ref::User("U1".into()), "@sam".into());
        assert_eq!(name_of(&names, &Ref::User("U1".into())), "sam");
        assert_eq!(name_of(&names, &Ref::User("U2".into())), "a colleague");
        assert_eq!(
            disarm_everyone("hi @everyone and @here"),
            "hi everyone and here"
        );
    }
}
