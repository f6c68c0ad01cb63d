//! Acting as people in the fake Slack and reading what they would see:
//! the Rust `Control` API (`control_api` serves it over HTTP under
//! `/_sandbox/` for the demo page), and a channel rendered as text.

use super::*;

/// Acting as people and reading what they would see; the same is served
/// over HTTP under `/_sandbox/` for the demo.
#[derive(Clone)]
pub struct Control(pub(super) Shared);

impl std::ops::Deref for FakeSlack {
    type Target = Control;

    fn deref(&self) -> &Control {
        &self.control
    }
}

impl Control {
    /// Adds a person.
    pub fn add_user(&self, id: &str, name: &str) {
        lock(&self.0).users.insert(id.to_owned(), name.to_owned());
    }

    /// Removes the bot from `channel` (`false`) or invites it back
    /// (`true`): without it, posting there answers `not_in_channel`.
    pub fn set_bot_in(&self, channel: &str, present: bool) {
        let mut s = lock(&self.0);
        if present {
            s.bot_left.remove(channel);
        } else {
            s.bot_left.insert(channel.to_owned());
        }
    }

    /// Defines a user group and its members.
    pub fn set_group(&self, id: &str, members: &[&str]) {
        lock(&self.0).groups.insert(
            id.to_owned(),
            members.iter().map(|m| (*m).to_owned()).collect(),
        );
    }

    /// A person replies in a thread: stored, and delivered to the app as an
    /// Events API `message` event over Socket Mode. Returns the message ts.
    pub fn thread_reply(&self, channel: &str, thread_ts: &str, user: &str, text: &str) -> String {
        let mut s = lock(&self.0);
        let message = s.person_replies(channel, thread_ts, user, text);
        s.message_event(channel, &message);
        message.ts
    }

    /// A person replies in a thread as `kind` says: sent to the channel too
    /// (`thread_broadcast`, with the thread's root, as Slack sends it) or
    /// with a file (`file_share`). Returns the message ts.
    pub fn thread_reply_as(
        &self,
        channel: &str,
        thread_ts: &str,
        user: &str,
        text: &str,
        kind: ReplyKind,
    ) -> String {
        let mut s = lock(&self.0);
        let message = s.person_replies(channel, thread_ts, user, text);
        let mut event = serde_json::json!({
            "type": "message", "channel": channel, "user": user, "text": text,
            "ts": message.ts, "event_ts": message.ts, "thread_ts": thread_ts,
            "channel_type": "channel", "team": TEAM_ID,
            "client_msg_id": format!("c0ffee00-0000-4000-8000-{:012}", s.serial),
        });
        match kind {
            ReplyKind::Plain => {}
            ReplyKind::Broadcast => {
                let root = s
                    .channels
                    .get(channel)
                    .and_then(|m| m.iter().find(|m| m.ts == thread_ts))
                    .map(web::message_json);
                event["subtype"] = serde_json::json!("thread_broadcast");
                event["root"] = root.unwrap_or(Value::Null);
            }
            ReplyKind::File(name) => {
                let id = s.socket_serial("F0");
                event["subtype"] = serde_json::json!("file_share");
                event["upload"] = serde_json::json!(false);
                event["display_as_bot"] = serde_json::json!(false);
                event["files"] = serde_json::json!([{
                    "id": id, "created": chrono::Utc::now().timestamp(), "timestamp": chrono::Utc::now().timestamp(),
                    "name": name, "title": name, "mimetype": "image/png", "filetype": "png", "pretty_type": "PNG",
                    "user": user, "mode": "hosted", "editable": false, "is_external": false, "external_type": "",
                    "size": 48_213, "url_private": format!("https://files.slack.com/files-pri/{TEAM_ID}-{id}/{name}"),
                }]);
            }
        }
        s.deliver_event(event);
        message.ts
    }

    /// A person edits their message `ts`: changed, and delivered as the
    /// `message_changed` event Slack sends. `false` if it is not theirs.
    pub fn edit_message(&self, channel: &str, ts: &str, user: &str, text: &str) -> bool {
        let mut s = lock(&self.0);
        let event_ts = s.ts();
        let Some(m) = s
            .channels
            .get_mut(channel)
            .and_then(|m| m.iter_mut().find(|m| m.ts == ts && m.user == user))
        else {
            return false;
        };
        let previous = web::message_json(m);
        m.text = text.to_owned();
        m.edited = true;
        let mut now = web::message_json(m);
        now["edited"] = serde_json::json!({ "user": user, "ts": event_ts });
        s.deliver_event(serde_json::json!({
            "type": "message", "subtype": "message_changed", "hidden": true, "channel": channel,
            "ts": event_ts, "event_ts": event_ts, "channel_type": "channel",
            "message": now, "previous_message": previous,
        }));
        s.changes.bump();
        true
    }

    /// A person deletes their message `ts`: gone, and delivered as the
    /// `message_deleted` event Slack sends. `false` if it is not theirs.
    pub fn delete_message(&self, channel: &str, ts: &str, user: &str) -> bool {
        self.delete(channel, ts, Some(user))
    }

    /// A workspace admin deletes message `ts`, whoever wrote it (a bot's
    /// card too).
    pub fn admin_deletes(&self, channel: &str, ts: &str) -> bool {
        self.delete(channel, ts, None)
    }

    fn delete(&self, channel: &str, ts: &str, user: Option<&str>) -> bool {
        let mut s = lock(&self.0);
        let event_ts = s.ts();
        let Some(messages) = s.channels.get_mut(channel) else {
            return false;
        };
        let Some(at) = messages
            .iter()
            .position(|m| m.ts == ts && user.is_none_or(|u| m.user == u))
        else {
            return false;
        };
        let previous = web::message_json(&messages.remove(at));
        s.changes.bump();
        s.deliver_event(serde_json::json!({
            "type": "message", "subtype": "message_deleted", "hidden": true, "channel": channel,
            "ts": event_ts, "event_ts": event_ts, "deleted_ts": ts, "channel_type": "channel",
            "previous_message": previous,
        }));
        true
    }

    /// A person replies in a thread of an app on the Events API: stored, and
    /// the body Slack would POST (signed) is returned.
    pub fn thread_reply_event(
        &self,
        channel: &str,
        thread_ts: &str,
        user: &str,
        text: &str,
    ) -> String {
        let mut s = lock(&self.0);
        let message = s.person_replies(channel, thread_ts, user, text);
        s.message_event_payload(channel, &message).to_string()
    }

    /// A person runs `/perch <text>` in `channel`. Returns the envelope id.
    pub fn slash_command(&self, channel: &str, user: &str, text: &str) -> String {
        let payload = self.slash_command_payload(channel, user, text);
        lock(&self.0).socket.deliver("slash_commands", payload, 0)
    }

    /// The payload of `/perch <text>` (its fields; the Events API sends them
    /// form-encoded).
    pub fn slash_command_payload(&self, channel: &str, user: &str, text: &str) -> Value {
        let mut s = lock(&self.0);
        let (name, trigger) = s.trigger_by(user);
        let payload = serde_json::json!({
            "token": "verification-token", "team_id": TEAM_ID, "team_domain": "perch-sandbox",
            "channel_id": channel, "channel_name": "support", "user_id": user, "user_name": name,
            "command": "/perch", "text": text, "api_app_id": socket::APP_ID, "is_enterprise_install": "false",
                        "response_url": format!("http://{}/_sandbox/respond/{trigger}", s.addr), "trigger_id": trigger,
        });
        payload
    }

    /// A person presses a button on the message `message_ts`. Returns the
    /// envelope id, or `None` when that message has no such button.
    pub fn press_button(
        &self,
        channel: &str,
        message_ts: &str,
        user: &str,
        action_id: &str,
    ) -> Option<String> {
        let payload = self.button_payload(channel, message_ts, user, action_id)?;
        Some(lock(&self.0).socket.deliver("interactive", payload, 0))
    }

    /// The `block_actions` payload of pressing a button on `message_ts`.
    pub fn button_payload(
        &self,
        channel: &str,
        message_ts: &str,
        user: &str,
        action_id: &str,
    ) -> Option<Value> {
        let mut s = lock(&self.0);
        // A message in the channel, or an ephemeral only this person sees.
        let shown = s
            .channels
            .get(channel)?
            .iter()
            .find(|m| m.ts == message_ts)
            .cloned()
            .map(|m| (m.blocks.clone(), Some(m)))
            .or_else(|| {
                s.ephemerals
                    .iter()
                    .find(|e| e.ts == message_ts && e.user == user && e.channel == channel)
                    .map(|e| (e.blocks.clone(), None))
            })?;
        let (blocks, message) = shown;
        let button = blocks.as_ref().and_then(|b| {
            b.as_array()?
                .iter()
                .filter_map(|block| block.get("elements")?.as_array())
                .flatten()
                .find(|e| e.get("action_id").and_then(Value::as_str) == Some(action_id))
                .cloned()
        })?;
        let (name, trigger) = s.trigger_by(user);
        let payload = serde_json::json!({
            "type": "block_actions",
            "user": { "id": user, "username": name, "name": name, "team_id": TEAM_ID },
            "api_app_id": socket::APP_ID, "token": "verification-token",
            "container": { "type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": message.is_none() },
            "trigger_id": trigger,
            "team": { "id": TEAM_ID, "domain": "perch-sandbox" },
            "is_enterprise_install": false,
            "channel": { "id": channel, "name": "support" },
            "message": message.as_ref().map(web::message_json),
            "state": { "values": {} },
            "response_url": format!("http://{}/_sandbox/respond/{trigger}", s.addr),
            "actions": [{
                "action_id": action_id, "block_id": "perch-actions", "text": button["text"],
                                "value": button["value"], "type": "button", "action_ts": chrono::Utc::now().timestamp().to_string(),
            }],
        });
        Some(payload)
    }

    /// Sends an envelope's payload again as Slack does when it believes an
    /// ack was lost (`retry_attempt` raised, same event and trigger ids).
    pub fn redeliver(&self, envelope_id: &str) -> Option<String> {
        let mut s = lock(&self.0);
        let e = s
            .socket
            .envelopes
            .iter()
            .find(|e| e.id == envelope_id)?
            .clone();
        Some(s.socket.deliver(e.kind, e.payload, e.retry_attempt + 1))
    }

    /// Holds back answers to a Web API `method` (e.g. `chat.postMessage`)
    /// for `delay` after the work is done.
    pub fn set_delay(&self, method: &str, delay: Duration) {
        lock(&self.0).delays.insert(method.to_owned(), delay);
    }

    /// Asks connected clients to reconnect (`disconnect`), then closes them.
    pub fn disconnect(&self, reason: &str) {
        socket::disconnect_all(&mut lock(&self.0), reason);
    }

    /// How long an envelope may wait for its ack before it is sent again.
    pub fn set_redeliver_after(&self, after: Duration) {
        lock(&self.0).socket.redeliver_after = after;
    }

    /// Every envelope delivered so far.
    pub fn envelopes(&self) -> Vec<socket::Envelope> {
        lock(&self.0).socket.envelopes.clone()
    }

    /// How many times a client connected to the socket.
    pub fn socket_connects(&self) -> u32 {
        lock(&self.0).socket.connects
    }

    /// Every message of a channel, thread replies included, oldest first.
    pub fn messages(&self, channel: &str) -> Vec<Message> {
        lock(&self.0)
            .channels
            .get(channel)
            .cloned()
            .unwrap_or_default()
    }

    /// A person's name (the bot is perch; an unknown id stays as it is).
    pub fn user_name(&self, id: &str) -> String {
        lock(&self.0).name_of(id)
    }

    /// Ephemeral messages shown to `user`.
    pub fn ephemerals_for(&self, user: &str) -> Vec<Ephemeral> {
        lock(&self.0)
            .ephemerals
            .iter()
            .filter(|e| e.user == user)
            .cloned()
            .collect()
    }

    pub fn calls(&self, method: &str) -> Vec<Call> {
        lock(&self.0)
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// A channel as a person reads it: each top-level message with its
    /// replies, rendered as text.
    pub fn render(&self, channel: &str) -> String {
        let s = lock(&self.0);
        render(&s, channel)
    }
}

pub(super) fn render(s: &State, channel: &str) -> String {
    let Some(messages) = s.channels.get(channel) else {
        return String::new();
    };
    let name = |id: &str| s.name_of(id);
    let who = |m: &Message| name(&m.user);
    let mut out = String::new();
    for parent in messages
        .iter()
        .filter(|m| m.thread_ts.as_ref().is_none_or(|t| *t == m.ts))
    {
        let shown = crate::sandbox::plain::slack_line(&web::visible_text(parent), &name);
        out.push_str(&format!("{}: {shown}\n", who(parent)));
        for reply in messages
            .iter()
            .filter(|m| m.thread_ts.as_deref() == Some(parent.ts.as_str()) && m.ts != parent.ts)
        {
            let marks = if reply.reactions.is_empty() {
                String::new()
            } else {
                format!(" [{}]", reply.reactions.join(" "))
            };
            let shown = crate::sandbox::plain::slack_line(&reply.text, &name);
            out.push_str(&format!("    ↳ {}: {shown}{marks}\n", who(reply)));
        }
    }
    out
}
