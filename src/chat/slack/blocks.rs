//! The ticket card as Block Kit.

use slack_morphism::prelude::*;

use super::text::{escape, link};
use crate::chat::card::Stands;
use crate::chat::{Card, Prompt};
use crate::ticket::Priority;

fn priority_mark(p: Priority) -> &'static str {
    match p {
        Priority::Urgent => ":red_circle: urgent",
        Priority::High => ":large_orange_circle: high",
        Priority::Normal => ":large_blue_circle: normal",
        Priority::Low => ":white_circle: low",
    }
}

fn button(label: &str, action_id: &str, value: &str) -> SlackActionBlockElement {
    SlackActionBlockElement::Button(
        SlackBlockButtonElement::new(label.into())
            .with_action_id(action_id.into())
            .with_value(value.to_owned()),
    )
}

fn md(text: String) -> SlackBlockText {
    SlackBlockText::MarkDown(SlackBlockMarkDownText::new(text))
}

/// Header (who, where from), the customer's words, the facts, buttons.
pub fn card(card: &Card) -> Vec<SlackBlock> {
    let who = format!(
        "*{}* {} · @{}",
        card.ticket,
        escape(&card.customer_name),
        escape(&card.customer_handle)
    );
    let words = card
        .text
        .lines()
        .map(|l| format!(">{}", escape(l)))
        .collect::<Vec<_>>()
        .join("\n");
    let mut facts = vec![
        md(format!("*Origin*\n{}", escape(&card.origin))),
        md(format!("*Priority*\n{}", priority_mark(card.priority))),
        md(format!("*Status*\n{}", card.status)),
        md(format!(
            "*Holder*\n{}",
            card.holder
                .as_deref()
                .map_or_else(|| "nobody".to_owned(), escape)
        )),
        md(format!("*Replies go out as*\n{}", card.reply_channel)),
    ];
    if let Some(c) = &card.category {
        let tags = if card.tags.is_empty() {
            String::new()
        } else {
            format!(" ({})", escape(&card.tags.join(", ")))
        };
        facts.push(md(format!("*Category*\n{}{tags}", escape(c))));
    }
    if let Some(at) = card.reply_held_until {
        // Slack shows a `<!date>` in the reader's own time zone.
        facts.push(md(format!(
            "*Waiting on X*\n:hourglass: a reply goes at <!date^{}^{{time}}|{} UTC> (X's rate limit)",
            at.timestamp(),
            at.format("%H:%M")
        )));
    }
    if let Some(due) = card.due {
        // `{ago}` reads "in 12 minutes" or "5 minutes ago" for the reader.
        let (mark, word) = match due.stands {
            Stands::InTime => ("", "by"),
            Stands::Soon => (":hourglass_flowing_sand: ", "soon: by"),
            Stands::Late => (":rotating_light: ", "late: was due"),
        };
        let t = due.at.timestamp();
        facts.push(md(format!(
            "*Answer due*\n{mark}{word} <!date^{t}^{{time}} ({{ago}})|{} UTC>",
            due.at.format("%H:%M")
        )));
    }
    if let Some((at, done)) = card.follow_up {
        let word = if done { ":repeat: due since" } else { "on" };
        facts.push(md(format!(
            "*Follow-up*\n{word} <!date^{}^{{date_short_pretty}} {{time}} ({{ago}})|{} UTC>",
            at.timestamp(),
            at.format("%Y-%m-%d %H:%M")
        )));
    }
    if let Some(until) = card.snoozed_until {
        facts.push(md(format!(
            "*Snoozed*\nuntil <!date^{}^{{date_short_pretty}} {{time}} ({{ago}})|{} UTC>",
            until.timestamp(),
            until.format("%Y-%m-%d %H:%M")
        )));
    }
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new().with_text(md(who)).into(),
        SlackSectionBlock::new()
            .with_text(md(if words.is_empty() {
                "_(no text)_".to_owned()
            } else {
                words
            }))
            .into(),
        SlackSectionBlock::new().with_fields(facts).into(),
    ];
    if let Some(url) = &card.link {
        blocks.push(
            SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
                SlackBlockMarkDownText::new(link(url, "View on X")),
            )])
            .into(),
        );
    }
    let value = card.ticket.get().to_string();
    let buttons: Vec<SlackActionBlockElement> = card
        .actions
        .iter()
        .map(|a| button(a.label(), a.id(), &value))
        .collect();
    if !buttons.is_empty() {
        blocks.push(SlackActionsBlock::new(buttons).into());
    }
    blocks
}

/// A prompt: its words, and its buttons carrying the reply's number.
pub fn prompt(prompt: &Prompt, words: String) -> Vec<SlackBlock> {
    let value = prompt.reply.to_string();
    let buttons: Vec<SlackActionBlockElement> = prompt
        .actions
        .iter()
        .map(|a| button(a.label(), a.id(), &value))
        .collect();
    vec![
        SlackSectionBlock::new().with_text(md(words)).into(),
        SlackActionsBlock::new(buttons).into(),
    ]
}
