//! Slack's text rules, both ways.
//!
//! Outbound: Slack reads `<…>` as links, mentions and `<!channel>`, so
//! text from X is escaped (`&`, `<`, `>`) and cannot ping or fool anyone.
//! Inbound: an agent's message arrives with Slack's escapes and link
//! syntax; `to_plain` turns it back into what the customer should read.

/// Makes text inert for Slack: `&` `<` `>` escaped, as Slack documents.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// A link we make: `<url|label>`, with the label escaped and `|` and `>`
/// kept out of the URL, so a link can never be re-opened from inside.
pub fn link(url: &str, label: &str) -> String {
    let url: String = url
        .chars()
        .filter(|c| !matches!(c, '|' | '>' | '<' | ' '))
        .collect();
    format!("<{url}|{}>", escape(label).replace('|', "¦"))
}

/// What an agent typed, as plain text for X: `<https://a|a>` -> `https://a`,
/// `<mailto:x|x>` -> `x`, `<@U1|sam>` -> `@sam`, `<!here>` -> `@here`, and
/// Slack's escapes undone.
pub fn to_plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let inner = &after[..close];
        let (target, label) = match inner.split_once('|') {
            Some((t, l)) => (t, Some(l)),
            None => (inner, None),
        };
        let shown = if let Some(id) = target.strip_prefix('@') {
            format!("@{}", label.unwrap_or(id))
        } else if let Some(special) = target.strip_prefix('!') {
            format!(
                "@{}",
                label.unwrap_or(special.split('^').next().unwrap_or(special))
            )
        } else if let Some(ch) = target.strip_prefix('#') {
            format!("#{}", label.unwrap_or(ch))
        } else if let Some(mail) = target.strip_prefix("mailto:") {
            label.unwrap_or(mail).to_owned()
        } else {
            target.to_owned()
        };
        out.push_str(&shown);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_x_cannot_ping_or_forge_links() {
        let tweet = "<!channel> hey <@U123> see <https://evil.example|https://acme.com> & more";
        let safe = escape(tweet);
        assert_eq!(
            safe,
            "&lt;!channel&gt; hey &lt;@U123&gt; see &lt;https://evil.example|https://acme.com&gt; &amp; more"
        );
        assert!(!safe.contains('<') && !safe.contains('>'));
    }

    #[test]
    fn our_links_keep_their_label_inert() {
        assert_eq!(
            link("https://x.com/a/status/1", "View <on> X"),
            "<https://x.com/a/status/1|View &lt;on&gt; X>"
        );
        assert_eq!(link("https://x.com/a|b>c", "x"), "<https://x.com/abc|x>");
    }

    #[test]
    fn an_agents_message_becomes_plain_text_for_x() {
        assert_eq!(
            to_plain("Try <https://acme.com/help|acme.com/help> &amp; ask <@U024BE7LH|sam> &lt;3"),
            "Try https://acme.com/help & ask @sam <3"
        );
        assert_eq!(
            to_plain("<!here> <#C123|support> <mailto:a@b.c|a@b.c>"),
            "@here #support a@b.c"
        );
        assert_eq!(to_plain("no closing < bracket"), "no closing < bracket");
        assert_eq!(to_plain("plain"), "plain");
    }
}
