//! The scene `perch sandbox` plays: customers write on X, an agent claims,
//! replies inline and resolves in Slack; an urgent ticket nobody claims
//! calls whoever is on call, passes its response target and escalates
//! (perch's clock is moved ahead for it); then what each side sees.
//!
//! It acts only through the fakes' control APIs (as the people would), and
//! waits for perch to do its part, so it shows the real relay at work.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::run::Sandbox;
use crate::config::Config;

/// How long any one step may take before the scene gives up.
const STEP: Duration = Duration::from_secs(30);

async fn until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> anyhow::Result<T> {
    let deadline = Instant::now() + STEP;
    loop {
        if let Some(v) = probe() {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("waited {}s for {what}", STEP.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What the scene has said so far, for the terminal and the page: each
/// line is printed, kept, and announced to the page's watchers.
#[derive(Default)]
pub struct Narration {
    said: std::sync::Mutex<Said>,
    changes: super::serve::Changes,
}

#[derive(Default, Clone)]
struct Said {
    lines: Vec<String>,
    playing: bool,
}

impl Narration {
    /// Prints a line, keeps it, and tells the page.
    pub fn tell(&self, line: &str) {
        // A terminal that went away (stdout closed) loses the line; the
        // page still gets it.
        let _ = writeln!(std::io::stdout(), "{line}");
        self.change(|said| said.lines.push(line.trim_matches('\n').to_owned()));
    }

    /// Every line said so far, and whether the scene is playing.
    pub fn read(&self) -> (Vec<String>, bool) {
        let said = super::serve::lock(&self.said).clone();
        (said.lines, said.playing)
    }

    /// Marks the scene as playing, its lines cleared; `false` when it
    /// already is.
    pub fn begin(&self) -> bool {
        self.change(|said| {
            let began = !said.playing;
            if began {
                *said = Said {
                    lines: Vec::new(),
                    playing: true,
                };
            }
            began
        })
    }

    pub fn end(&self) {
        self.change(|said| said.playing = false);
    }

    fn change<T>(&self, how: impl FnOnce(&mut Said) -> T) -> T {
        let done = how(&mut super::serve::lock(&self.said));
        self.changes.bump();
        done
    }

    pub fn changes(&self) -> &super::serve::Changes {
        &self.changes
    }
}

/// Who and where the scene plays: the first account, its Slack channel
/// (and Discord channel, if any), an agent with a Slack user.
struct Cast<'a> {
    sandbox: &'a Sandbox,
    slack: &'a super::slack::FakeSlack,
    handle: &'a str,
    account_id: &'a str,
    channel: &'a str,
    discord_channel: Option<u64>,
    agent: &'a str,
    agent_id: &'a str,
    narration: &'a Narration,
    /// How many messages the Slack channel held when the scene began (it
    /// may play again: only what came since is this play's).
    before: usize,
}

impl<'a> Cast<'a> {
    fn of(
        config: &'a Config,
        sandbox: &'a Sandbox,
        narration: &'a Narration,
    ) -> anyhow::Result<Self> {
        let account = config.accounts.first().context("no [[accounts]]")?;
        let slack = sandbox.slack.as_ref().context("the scene needs [slack]")?;
        let channel = account
            .routes
            .slack_channels
            .first()
            .context("the scene needs a Slack route")?
            .as_str();
        let agent = config
            .agents
            .iter()
            .find(|a| a.slack_user.is_some())
            .context("the scene needs an agent with a slack_user")?;
        Ok(Self {
            sandbox,
            slack,
            handle: &account.handle,
            account_id: account.user_id.as_str(),
            channel,
            discord_channel: account
                .routes
                .discord_channels
                .first()
                .and_then(|d| d.as_str().parse::<u64>().ok()),
            agent: &agent.name,
            agent_id: agent.slack_user.as_ref().map_or("", |u| u.as_str()),
            narration,
            before: slack.messages(channel).len(),
        })
    }

    /// A step of the scene.
    fn say(&self, step: &str) {
        self.narration.tell(&format!("\n▶ {step}"));
    }

    /// What came of it.
    fn tell(&self, line: &str) {
        self.narration.tell(line);
    }

    /// Chat markup as a person reads it.
    fn plain(&self, text: &str) -> String {
        let name = |id: &str| self.slack.user_name(id);
        super::plain::slack_line(text, &name)
    }

    /// The cards perch posted in the channel during this play.
    fn new_cards(&self) -> Vec<super::slack::Message> {
        self.slack
            .messages(self.channel)
            .into_iter()
            .skip(self.before)
            .filter(|m| m.bot_id.is_some() && m.thread_ts.is_none())
            .collect()
    }
}

pub async fn play(
    config: &Config,
    sandbox: &Sandbox,
    clock: &crate::clock::AheadClock,
    narration: &Narration,
) -> anyhow::Result<()> {
    let cast = Cast::of(config, sandbox, narration)?;
    let hooked = config.accounts.iter().any(|a| {
        a.user_id.as_str() == cast.account_id
            && a.ingest.webhook.as_ref().is_some_and(|w| w.url.is_some())
    });
    if hooked {
        // X delivers from the moment perch has subscribed the account.
        until("perch to subscribe the account to X's Activity API", || {
            sandbox
                .x
                .subscriptions()
                .iter()
                .any(|s| s.user_id == cast.account_id && s.event_type == "post.mention.create")
                .then_some(())
        })
        .await?;
    }
    if config.x.filtered_stream {
        // Brand search hits come on the filtered stream once perch holds it.
        until("perch to open X's filtered stream", || {
            sandbox.x.streaming().then_some(())
        })
        .await?;
    }
    cast.tell("=== perch sandbox: the scene ===");
    let (post, card) = customers_write(&cast).await?;
    agent_answers(&cast, &post, &card).await?;
    nobody_answers(&cast, config, clock).await?;
    the_numbers(&cast).await?;
    show(&cast);
    cast.tell("\n=== the scene is over; perch keeps running ===\n");
    Ok(())
}

/// A mention, a DM and a misspelt search hit; waits for their cards.
async fn customers_write(
    cast: &Cast<'_>,
) -> anyhow::Result<(crate::twitter::api::Post, super::slack::Message)> {
    let (x, handle) = (&cast.sandbox.x, cast.handle);
    cast.say(&format!("@dana mentions @{handle} on X"));
    let post = x.post(
        "dana",
        &format!("@{handle} my order #1234 never arrived, tracking says delivered??"),
        None,
        None,
    );
    cast.say(&format!("@gina sends @{handle} a DM"));
    x.dm(
        "gina",
        cast.account_id,
        "hi, my account is locked after a password reset",
    );
    cast.say("@lee posts about the brand without naming the account (a search hit, misspelt)");
    x.post(
        "lee",
        "is akme down for anyone else? the app is not working",
        None,
        None,
    );
    let card = until("dana's card in Slack", || {
        cast.new_cards()
            .into_iter()
            .find(|m| m.text.contains("@dana"))
    })
    .await?;
    until("lee's card in Slack", || {
        cast.new_cards()
            .iter()
            .any(|m| m.text.contains("@lee"))
            .then_some(())
    })
    .await?;
    cast.tell("  perch opened a ticket thread for each, in Slack and in Discord.");
    Ok((post, card))
}

/// The agent claims dana's ticket, replies inline and resolves it.
async fn agent_answers(
    cast: &Cast<'_>,
    post: &crate::twitter::api::Post,
    card: &super::slack::Message,
) -> anyhow::Result<()> {
    let (x, slack, channel) = (&cast.sandbox.x, cast.slack, cast.channel);
    let (agent, agent_id) = (cast.agent, cast.agent_id);
    cast.say(&format!("{agent} presses Claim on dana's card in Slack"));
    slack
        .press_button(channel, &card.ts, agent_id, "perch_claim")
        .context("the card has no Claim button")?;
    let claimed = until("the card to show the claim", || {
        slack
            .messages(channel)
            .into_iter()
            .find(|m| m.ts == card.ts && m.text.contains("claimed"))
    })
    .await?;
    cast.tell(&format!("  the card now reads: {}", standing(&claimed)));

    let words = "So sorry! A replacement ships today; I'll DM you the tracking.";
    cast.say(&format!(
        "{agent} replies inline in the thread: \"{words}\""
    ));
    slack.thread_reply(channel, &card.ts, agent_id, words);
    let reply = until("the reply on X", || {
        x.posted().into_iter().find(|p| {
            p.referenced_tweets
                .iter()
                .any(|r| r.kind == "replied_to" && r.id == post.id)
        })
    })
    .await?;
    cast.tell(&format!(
        "  perch posted it on X as @{}: \"{}\"",
        cast.handle, reply.text
    ));
    until("the thread to say it was sent", || {
        slack.messages(channel).into_iter().find(|m| {
            m.thread_ts.as_deref() == Some(card.ts.as_str()) && m.text.starts_with("Sent as")
        })
    })
    .await?;

    cast.say(&format!(
        "{agent} resolves it from the thread: \"@perch resolve replacement shipped\""
    ));
    slack.thread_reply(
        channel,
        &card.ts,
        agent_id,
        &format!("<@{}> resolve replacement shipped", super::slack::BOT_USER),
    );
    let resolved = until("the card to show it resolved", || {
        slack
            .messages(channel)
            .into_iter()
            .find(|m| m.ts == card.ts && m.text.contains("resolved"))
    })
    .await?;
    cast.tell(&format!(
        "  resolved with the note \"replacement shipped\"; the card now reads: {}",
        standing(&resolved)
    ));
    if let (Some(discord), Some(id)) = (&cast.sandbox.discord, cast.discord_channel) {
        until("the Discord card to show it resolved and the reply", || {
            let messages = discord.messages(id);
            let card = messages.iter().find(|m| {
                m.embeds.to_string().contains("(@dana)")
                    && m.embeds.to_string().contains("resolved")
            })?;
            discord
                .messages(card.id)
                .iter()
                .any(|m| m.content.contains("replied"))
                .then_some(())
        })
        .await?;
    }
    Ok(())
}

/// A card's status and holder, as its fields say them.
fn standing(card: &super::slack::Message) -> String {
    let fields = card
        .blocks
        .iter()
        .flat_map(|b| b.as_array().into_iter().flatten())
        .flat_map(|b| {
            b.get("fields")
                .and_then(|f| f.as_array())
                .into_iter()
                .flatten()
        })
        .filter_map(|f| f.get("text").and_then(|t| t.as_str()))
        .filter(|t| t.starts_with("*Status*") || t.starts_with("*Holder*"))
        .map(|t| super::plain::slack_line(t, &|id: &str| id.to_owned()))
        .collect::<Vec<_>>();
    fields.join(", ")
}

/// lee's urgent ticket stays unclaimed: on call is called at once, then
/// at the breach, then the ladder's next step.
async fn nobody_answers(
    cast: &Cast<'_>,
    config: &Config,
    clock: &crate::clock::AheadClock,
) -> anyhow::Result<()> {
    let (slack, channel) = (cast.slack, cast.channel);
    let card = until("lee's card in Slack", || {
        cast.new_cards()
            .into_iter()
            .find(|m| m.text.contains("@lee"))
    })
    .await?;
    let alarm = |words: &'static str| {
        let ts = card.ts.clone();
        move || {
            slack
                .messages(channel)
                .into_iter()
                .find(|m| m.thread_ts.as_deref() == Some(ts.as_str()) && m.text.contains(words))
        }
    };
    let called = until(
        "the on-call agent called for lee's urgent ticket",
        alarm("Urgent"),
    )
    .await?;
    cast.tell(&format!(
        "  lee's ticket is urgent (\"down\", \"not working\"): {}",
        cast.plain(&called.text)
    ));
    let Some(target) = config.response_targets.first.first().copied().flatten() else {
        return Ok(());
    };
    let past = target + chrono::Duration::minutes(1);
    cast.say(&format!(
        "nobody claims it: {} minutes pass (the sandbox moves perch's clock ahead)",
        past.num_minutes()
    ));
    clock.advance(past);
    let late = until("the breach in lee's thread", alarm("Late")).await?;
    cast.tell(&format!("  {}", cast.plain(&late.text)));
    if let Some(next) = config.response_targets.ladder.get(1) {
        cast.say(&format!(
            "still nobody: {} more minutes pass",
            next.after.num_minutes()
        ));
        clock.advance(next.after);
        let escalated = until("the next step of the ladder", alarm("Still unanswered")).await?;
        cast.tell(&format!("  {}", cast.plain(&escalated.text)));
    }
    Ok(())
}

/// The lead asks how the day went.
async fn the_numbers(cast: &Cast<'_>) -> anyhow::Result<()> {
    cast.say(&format!(
        "{} asks how the day went: /perch stats 24h",
        cast.agent
    ));
    let shown = cast.slack.ephemerals_for(cast.agent_id).len();
    cast.slack
        .slash_command(cast.channel, cast.agent_id, "stats 24h");
    let stats = until("the stats answer", || {
        cast.slack
            .ephemerals_for(cast.agent_id)
            .into_iter()
            .skip(shown)
            .map(|e| e.text)
            .find(|t| t.contains("answered ("))
    })
    .await?;
    for line in stats.lines() {
        cast.tell(&format!("  {line}"));
    }
    Ok(())
}

/// What each side sees now.
fn show(cast: &Cast<'_>) {
    let (x, handle, channel) = (&cast.sandbox.x, cast.handle, cast.channel);
    cast.tell(&format!("\n--- Slack #{channel}, as the team sees it ---"));
    cast.tell(cast.slack.render(channel).trim_end());
    if let (Some(discord), Some(id)) = (&cast.sandbox.discord, cast.discord_channel) {
        cast.tell("\n--- Discord #support, as the team sees it ---");
        cast.tell(discord.render(id).trim_end());
    }
    cast.tell("\n--- X, as the customers see it ---");
    for p in x.posted() {
        cast.tell(&format!("@{handle}: {}", p.text));
    }
    for dm in x.sent_dms() {
        cast.tell(&format!(
            "DM from @{handle}: {}",
            dm.text.unwrap_or_default()
        ));
    }
}
