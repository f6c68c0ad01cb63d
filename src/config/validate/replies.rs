//! `[[rules]]`, `[[saved_replies]]` and `[auto_replies]`.

use super::*;

pub(super) fn rules(c: &mut Checker, raw: &[RawRule]) -> Vec<Rule> {
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let at = format!("rules[{i}]");
        c.unique(&mut names, &format!("{at}.name"), &r.name, "rule name");
        if r.name.trim().is_empty() {
            c.fail(
                format!("{at}.name"),
                "is empty; name the rule (it shows in the audit log)",
            );
        }
        let mut matchers = Vec::new();
        let words: Vec<String> = r
            .keywords
            .iter()
            .map(|k| k.trim())
            .filter(|k| !k.is_empty())
            .map(regex::escape)
            .collect();
        if words.len() != r.keywords.len() {
            c.fail(
                format!("{at}.keywords"),
                "contains an empty keyword; remove it",
            );
        }
        if !words.is_empty() {
            let pattern = format!(r"(?i)\b(?:{})\b", words.join("|"));
            match Regex::new(&pattern) {
                Ok(re) => matchers.push(re),
                Err(e) => c.fail(format!("{at}.keywords"), format!("cannot be matched: {e}")),
            }
        }
        if let Some(pattern) = &r.regex {
            match RegexBuilder::new(pattern).size_limit(1 << 20).build() {
                Ok(re) => matchers.push(re),
                Err(e) => c.fail(
                    format!("{at}.regex"),
                    format!(
                        "is not a valid regular expression: {}",
                        e.to_string().replace('\n', " ")
                    ),
                ),
            }
        }
        if r.keywords.is_empty() && r.regex.is_none() {
            c.fail(&at, "matches nothing: give it keywords, a regex, or both");
        }
        let priority = r.priority.as_ref().and_then(|p| {
            let parsed = Priority::parse(p)
                .ok_or_else(|| format!("`{p}` is not a priority; use urgent, high, normal or low"));
            c.check(&format!("{at}.priority"), parsed)
        });
        if r.category.is_none() && priority.is_none() && r.tags.is_empty() {
            c.fail(&at, "sets nothing: give it a category, a priority or tags");
        }
        out.push(Rule {
            name: r.name.clone(),
            matchers,
            category: r.category.clone(),
            priority,
            tags: r.tags.clone(),
        });
    }
    out
}

pub(super) fn saved_replies(c: &mut Checker, raw: &[RawSavedReply]) -> Vec<SavedReply> {
    let mut names = HashSet::new();
    for (i, r) in raw.iter().enumerate() {
        let at = format!("saved_replies[{i}]");
        c.unique(
            &mut names,
            &format!("{at}.name"),
            &r.name,
            "saved reply name",
        );
        c.check(&format!("{at}.name"), parse::key(&r.name));
        if r.text.trim().is_empty() {
            c.fail(format!("{at}.text"), "is empty; write the reply");
        }
    }
    raw.iter()
        .map(|r| SavedReply {
            name: r.name.clone(),
            text: r.text.trim().to_owned(),
        })
        .collect()
}

pub(super) fn auto_replies(c: &mut Checker, raw: &RawAutoReplies) -> AutoReplies {
    let mut text = |name: &str, v: &Option<String>| match v {
        Some(t) if t.trim().is_empty() => {
            c.fail(
                format!("auto_replies.{name}"),
                "is empty; write the text or remove the key",
            );
            None
        }
        other => other.as_ref().map(|t| t.trim().to_owned()),
    };
    let replies = AutoReplies {
        off_hours: text("off_hours", &raw.off_hours),
        dm_welcome: text("dm_welcome", &raw.dm_welcome),
    };
    for (name, value, may_name) in [
        ("off_hours", &replies.off_hours, Some(AutoReplies::OPENS)),
        ("dm_welcome", &replies.dm_welcome, None),
    ] {
        let Some(value) = value else { continue };
        if let Some(unknown) = placeholders(value).find(|p| Some(*p) != may_name) {
            let hint = match may_name {
                Some(p) => format!("only {p} is filled in here"),
                None => "nothing is filled in here".to_owned(),
            };
            c.fail(
                format!("auto_replies.{name}"),
                format!("names `{unknown}`, which perch does not know; {hint}"),
            );
        }
    }
    // The off-hours reply is also a public reply: the longest handle (15)
    // and the longest opening time must fit X's limit with it.
    if let Some(off) = &replies.off_hours {
        let longest = format!(
            "@{} {}",
            "x".repeat(15),
            off.replace(AutoReplies::OPENS, "Wednesday 09:00 +0530")
        );
        if let Err(too_long) = text::fits_post(&longest) {
            c.fail(
                "auto_replies.off_hours",
                format!(
                    "is {} characters as X counts them with the customer's @handle; a public reply allows {}, so cut {}",
                    too_long.count,
                    too_long.limit,
                    too_long.excess()
                ),
            );
        }
    }
    replies
}

/// The `{name}`s in a text.
pub(super) fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices('{').filter_map(|(i, _)| {
        let rest = &text[i..];
        rest.find('}').map(|end| &rest[..=end])
    })
}
