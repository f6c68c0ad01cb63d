//! The ticket card as a Discord embed with buttons.

use serenity::all::{
    ButtonStyle, Colour, CreateActionRow, CreateButton, CreateEmbed, CreateEmbedFooter,
};

use super::text::escape;
use crate::chat::card::Stands;
use crate::chat::{Card, CardAction};
use crate::ticket::Priority;

fn colour(p: Priority) -> Colour {
    match p {
        Priority::Urgent => Colour::new(0xd7_26_3d),
        Priority::High => Colour::new(0xf4_a2_59),
        Priority::Normal => Colour::new(0x45_7b_9d),
        Priority::Low => Colour::new(0xa8_da_dc),
    }
}

pub fn embed(card: &Card) -> CreateEmbed {
    let mut embed = CreateEmbed::new()
        .title(format!(
            "{} · {} (@{})",
            card.ticket, card.customer_name, card.customer_handle
        ))
        .description(if card.text.is_empty() {
            "_(no text)_".to_owned()
        } else {
            escape(&card.text)
        })
        .colour(colour(card.priority))
        .field("Origin", escape(&card.origin), true)
        .field("Priority", card.priority.as_str(), true)
        .field("Status", card.status, true)
        .field(
            "Holder",
            card.holder
                .as_deref()
                .map_or_else(|| "nobody".to_owned(), escape),
            true,
        )
        .field("Replies go out as", card.reply_channel.to_string(), true);
    if let Some(at) = card.reply_held_until {
        // Discord shows a `<t:…>` in the reader's own time zone.
        embed = embed.field(
            "Waiting on X",
            format!(
                "⏳ a reply goes at <t:{}:t> (X's rate limit)",
                at.timestamp()
            ),
            true,
        );
    }
    if let Some(due) = card.due {
        // `<t:…:R>` counts in the reader's client: "in 12 minutes",
        // "5 minutes ago".
        let (mark, word) = match due.stands {
            Stands::InTime => ("", "by"),
            Stands::Soon => ("⏳ ", "soon: by"),
            Stands::Late => ("🚨 ", "late: was due"),
        };
        let t = due.at.timestamp();
        embed = embed.field(
            "Answer due",
            format!("{mark}{word} <t:{t}:t> (<t:{t}:R>)"),
            true,
        );
    }
    if let Some((at, done)) = card.follow_up {
        let t = at.timestamp();
        let word = if done { "🔁 due since" } else { "on" };
        embed = embed.field("Follow-up", format!("{word} <t:{t}:f> (<t:{t}:R>)"), true);
    }
    if let Some(until) = card.snoozed_until {
        let t = until.timestamp();
        embed = embed.field("Snoozed", format!("until <t:{t}:f> (<t:{t}:R>)"), true);
    }
    if let Some(url) = &card.link {
        embed = embed.url(url);
    }
    if let Some(c) = &card.category {
        let tags = if card.tags.is_empty() {
            String::new()
        } else {
            format!(" ({})", card.tags.join(", "))
        };
        embed = embed.footer(CreateEmbedFooter::new(format!("{c}{tags}")));
    }
    embed
}

pub fn buttons(card: &Card) -> Vec<CreateActionRow> {
    if card.actions.is_empty() {
        return Vec::new();
    }
    let row = card
        .actions
        .iter()
        .map(|a| {
            let style = match a {
                CardAction::Claim | CardAction::Reopen => ButtonStyle::Primary,
                CardAction::Release => ButtonStyle::Secondary,
                CardAction::Resolve => ButtonStyle::Success,
            };
            CreateButton::new(format!("{}:{}", a.id(), card.ticket.get()))
                .label(a.label())
                .style(style)
        })
        .collect();
    vec![CreateActionRow::Buttons(row)]
}

/// A thread name: the ticket and the customer, within Discord's 100.
pub fn thread_name(card: &Card) -> String {
    let name = format!(
        "{} @{} – {}",
        card.ticket,
        card.customer_handle,
        card.text.replace('\n', " ")
    );
    name.chars().take(100).collect()
}
