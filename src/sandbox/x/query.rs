//! The part of X's search query language perch uses: words (all must
//! appear), quoted phrases, `(a OR b)` groups, and `-from:handle`,
//! `-is:retweet`, `from:handle`.

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Each clause must hold; a clause holds when any of its terms does.
    clauses: Vec<Vec<String>>,
    exclude_from: Vec<String>,
    only_from: Vec<String>,
}

impl Query {
    pub fn parse(q: &str) -> Result<Self, String> {
        let mut clauses = Vec::new();
        let mut exclude_from = Vec::new();
        let mut only_from = Vec::new();
        let mut rest = q.trim();
        while !rest.is_empty() {
            if let Some(inner) = rest.strip_prefix('(') {
                let close = inner.find(')').ok_or("unbalanced parenthesis")?;
                let group = &inner[..close];
                let terms: Vec<String> = group
                    .split(" OR ")
                    .map(|t| unquote(t.trim()))
                    .filter(|t| !t.is_empty())
                    .collect();
                if terms.is_empty() {
                    return Err("empty group".to_owned());
                }
                clauses.push(terms);
                rest = inner[close + 1..].trim_start();
                continue;
            }
            let (token, after) = if let Some(quoted) = rest.strip_prefix('"') {
                let close = quoted.find('"').ok_or("unbalanced quote")?;
                (&rest[..close + 2], &quoted[close + 1..])
            } else {
                match rest.find(char::is_whitespace) {
                    Some(i) => (&rest[..i], &rest[i..]),
                    None => (rest, ""),
                }
            };
            rest = after.trim_start();
            if let Some(h) = token.strip_prefix("-from:") {
                exclude_from.push(h.to_ascii_lowercase());
            } else if let Some(h) = token.strip_prefix("from:") {
                only_from.push(h.to_ascii_lowercase());
            } else if token == "-is:retweet" || token == "OR" {
            } else {
                clauses.push(vec![unquote(token)]);
            }
        }
        Ok(Self {
            clauses,
            exclude_from,
            only_from,
        })
    }

    pub fn matches(&self, text: &str, author: &str) -> bool {
        let author = author.to_ascii_lowercase();
        if self.exclude_from.contains(&author) {
            return false;
        }
        if !self.only_from.is_empty() && !self.only_from.contains(&author) {
            return false;
        }
        let words: Vec<String> = text
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric() && c != '@' && c != '#' && c != '_')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        let joined = words.join(" ");
        self.clauses.iter().all(|clause| {
            clause.iter().any(|term| {
                let term = term.to_lowercase();
                if term.contains(' ') {
                    format!(" {joined} ").contains(&format!(" {term} "))
                } else {
                    words
                        .iter()
                        .any(|w| *w == term || w.trim_start_matches(['@', '#']) == term)
                }
            })
        })
    }
}

fn unquote(t: &str) -> String {
    t.trim_matches('"').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queries_perch_builds_match_as_x_would() {
        let q = Query::parse("(acme OR akme OR \"acme corp\") -from:AcmeSupport -is:retweet")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(q.matches("I love akme so much", "dana"));
        assert!(q.matches("Acme Corp is down!", "dana"));
        assert!(q.matches("#acme rocks", "dana"));
        assert!(!q.matches("acme corp here", "AcmeSupport"));
        assert!(!q.matches("acmeish things", "dana"));
        let both = Query::parse("refund acme").unwrap_or_else(|e| panic!("{e}"));
        assert!(both.matches("acme refund please", "x"));
        assert!(!both.matches("acme please", "x"));
        assert!(Query::parse("(unclosed").is_err());
    }
}
