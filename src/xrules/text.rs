//! How X measures text: a post's weighted length (URLs count 23, most
//! characters outside the Latin ranges 2, as the twitter-text library
//! computes it) and the limits of a post and a DM. Written once, for the
//! config (the off-hours reply must fit), composing a reply, publishing,
//! and the fake X (which refuses what X refuses).

/// A post's limit, in weighted characters.
pub const MAX_WEIGHTED: usize = 280;

/// A DM's limit, in characters.
pub const MAX_DM_CHARS: usize = 10_000;

/// X's weighted length of `text`.
pub fn weighted_length(text: &str) -> usize {
    let parsed = twitter_text::parse(text, twitter_text_config::config_v3(), true);
    usize::try_from(parsed.weighted_length).unwrap_or(0)
}

/// The `@handles` a text mentions, as X reads them (without the `@`).
pub fn mentioned(text: &str) -> Vec<String> {
    twitter_text::extractor::Extractor::new().extract_mentioned_screennames(text)
}

/// The links a text carries, as X reads them.
pub fn links(text: &str) -> Vec<String> {
    twitter_text::extractor::Extractor::new().extract_urls(text)
}

/// A text over its limit, as X counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLong {
    pub count: usize,
    pub limit: usize,
}

impl TooLong {
    /// How much to cut.
    pub fn excess(self) -> usize {
        self.count - self.limit
    }
}

/// The weighted length of a post that fits, or by how much it does not.
pub fn fits_post(text: &str) -> Result<usize, TooLong> {
    within(weighted_length(text), MAX_WEIGHTED)
}

/// The length of a DM that fits, or by how much it does not.
pub fn fits_dm(text: &str) -> Result<usize, TooLong> {
    within(text.chars().count(), MAX_DM_CHARS)
}

fn within(count: usize, limit: usize) -> Result<usize, TooLong> {
    if count > limit {
        Err(TooLong { count, limit })
    } else {
        Ok(count)
    }
}

/// Post text as the person wrote it: X sends it HTML-escaped (`&amp;`,
/// `&lt;`, `&gt;`), and it is undone once, where it comes in.
pub fn unescape(text: &str) -> String {
    html_escape::decode_html_entities(text).into_owned()
}

/// `text` with each link X sees (as twitter-text finds them: a `)` or a
/// full stop after an address is not part of it) replaced by `with(link)`.
/// X replaces them with its own `https://t.co/…` in what it stores.
pub fn replace_links(text: &str, mut with: impl FnMut(&str) -> String) -> String {
    use twitter_text::extractor::Extract;
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    for link in twitter_text::extractor::Extractor::new().extract_urls_with_indices(text) {
        let Some(at) = text[rest..].find(link.value).map(|i| rest + i) else {
            continue;
        };
        out.push_str(&text[rest..at]);
        out.push_str(&with(link.value));
        rest = at + link.value.len();
    }
    out.push_str(&text[rest..]);
    out
}

/// Whether `stored`, a post's text as X answers it (escaped, its links
/// wrapped), is the text perch sent.
pub fn is_post_of(sent: &str, stored: &str) -> bool {
    fn plain(text: &str) -> String {
        replace_links(text, |_| "<link>".to_owned())
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
    plain(sent) == plain(&unescape(stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_found_as_x_finds_them() {
        let wrapped = replace_links(
            "see tracking (https://acme.com/t/42) or https://acme.com/help. Or acme.com",
            |l| format!("<{l}>"),
        );
        assert_eq!(
            wrapped,
            "see tracking (<https://acme.com/t/42>) or <https://acme.com/help>. Or <acme.com>"
        );
    }

    #[test]
    fn weighted_lengths_follow_x_rules() {
        let cases: [(&str, String, usize); 7] = [
            ("ASCII", "hello world".to_owned(), 11),
            (
                "URL counts 23",
                "see https://example.com/a/very/long/path/that/goes/on/and/on".to_owned(),
                4 + 23,
            ),
            ("CJK counts 2", "你好世界".to_owned(), 8),
            ("emoji counts 2", "👍🏽".to_owned(), 2),
            ("Latin-1 counts 1", "café".to_owned(), 4),
            ("exactly 280", "a".repeat(280), 280),
            ("281", "a".repeat(281), 281),
        ];
        for (what, text, want) in cases {
            assert_eq!(weighted_length(&text), want, "{what}");
        }
    }

    #[test]
    fn posts_and_dms_have_their_own_limits() {
        assert_eq!(fits_post(&"a".repeat(280)), Ok(280));
        let over = fits_post(&"漢".repeat(141));
        assert_eq!(
            over,
            Err(TooLong {
                count: 282,
                limit: 280
            })
        );
        assert_eq!(over.map_err(TooLong::excess), Err(2));
        // A DM counts characters, not weights.
        assert_eq!(fits_dm(&"漢".repeat(10_000)), Ok(10_000));
        assert_eq!(
            fits_dm(&"a".repeat(10_001)),
            Err(TooLong {
                count: 10_001,
                limit: 10_000
            })
        );
    }

    #[test]
    fn escaped_text_is_read_as_written_and_matches_what_was_sent() {
        assert_eq!(
            unescape("Refund &amp; apology &lt;3 &gt;_&lt;"),
            "Refund & apology <3 >_<"
        );
        // Escaped once by X: what the person typed as `&amp;` stays so.
        assert_eq!(unescape("&amp;amp;"), "&amp;");
        assert!(is_post_of(
            "@dana Refund & apology sent",
            "@dana Refund &amp; apology sent"
        ));
        assert!(is_post_of(
            "@dana see https://acme.com/refunds?id=7 ^JD",
            "@dana see https://t.co/AbCdEf1234 ^JD"
        ));
        assert!(!is_post_of(
            "@dana Refund & apology",
            "@dana Refund and apology"
        ));
    }
}
