//! Classification rules: which keywords make a message urgent, billing,
//! an outage, and how several matching rules combine.

use std::collections::BTreeSet;

use regex::Regex;

use super::Priority;

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    /// The keywords (as whole words, any case) and the regex, either of
    /// which makes the rule match.
    pub matchers: Vec<Regex>,
    pub category: Option<String>,
    pub priority: Option<Priority>,
    pub tags: Vec<String>,
}

/// What the classification rules say about a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub category: Option<String>,
    pub priority: Priority,
    pub tags: BTreeSet<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Rules(pub Vec<Rule>);

impl Rules {
    /// Every matching rule adds its tags; the most urgent priority wins;
    /// the first matching rule with a category names it.
    pub fn classify(&self, text: &str) -> Classification {
        let mut out = Classification {
            category: None,
            priority: Priority::Normal,
            tags: BTreeSet::new(),
        };
        let mut priority: Option<Priority> = None;
        for rule in self
            .0
            .iter()
            .filter(|r| r.matchers.iter().any(|m| m.is_match(text)))
        {
            if out.category.is_none() {
                out.category.clone_from(&rule.category);
            }
            if let Some(p) = rule.priority {
                priority = Some(priority.map_or(p, |q| q.min(p)));
            }
            out.tags.extend(rule.tags.iter().cloned());
        }
        out.priority = priority.unwrap_or(Priority::Normal);
        out
    }
}
