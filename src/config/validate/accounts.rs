//! `[[accounts]]`: each brand account, its auth, what it ingests (and
//! whether X's windows allow it), and where it routes.

use super::*;

pub(super) fn accounts(
    c: &mut Checker,
    raw: &[RawAccount],
    has_slack: bool,
    has_discord: bool,
) -> Vec<Account> {
    let mut keys = HashSet::new();
    let mut ids = HashSet::new();
    let mut out = Vec::new();
    for (i, a) in raw.iter().enumerate() {
        let at = format!("accounts[{i}]");
        let key = c
            .check(&format!("{at}.key"), parse::key(&a.key))
            .unwrap_or_default();
        c.unique(&mut keys, &format!("{at}.key"), &a.key, "account key");
        c.unique(
            &mut ids,
            &format!("{at}.user_id"),
            &a.user_id,
            "account user_id",
        );
        let handle = handle(c, &format!("{at}.handle"), &a.handle);
        let user_id = c
            .check(
                &format!("{at}.user_id"),
                parse::numeric_id(&a.user_id, "numeric X user id"),
            )
            .unwrap_or_default();
        let auth = auth(c, &format!("{at}.auth"), &a.auth);
        let ingest = ingest(c, &at, &a.ingest, &handle, &auth);
        let routes = routes(c, &at, &a.routes, has_slack, has_discord);
        let send_mode = send_mode(c, &at, a);
        out.push(Account {
            key: key.as_str().into(),
            handle,
            user_id: user_id.as_str().into(),
            auth,
            ingest,
            routes,
            send_mode,
        });
    }
    out
}

/// `send_mode` and `undo_window`: undo for 20 s unless told otherwise.
fn send_mode(c: &mut Checker, at: &str, a: &RawAccount) -> SendMode {
    let window = match a.undo_window.as_deref() {
        None => SendMode::UNDO_WINDOW,
        Some(v) => match c.check(&format!("{at}.undo_window"), parse::duration(v)) {
            Some(d) if (Duration::from_secs(5)..=Duration::from_secs(300)).contains(&d) => d,
            Some(_) => {
                c.fail(
                    format!("{at}.undo_window"),
                    format!("`{v}` is outside 5s to 5m: long enough to press Undo, short enough for the customer"),
                );
                SendMode::UNDO_WINDOW
            }
            None => SendMode::UNDO_WINDOW,
        },
    };
    match a.send_mode.as_deref() {
        None | Some("undo") => SendMode::Undo { window },
        Some("direct") => SendMode::Direct,
        Some("confirm") => SendMode::Confirm,
        Some(other) => {
            c.fail(
                format!("{at}.send_mode"),
                format!("`{other}` is not a send mode: use \"undo\" (the default), \"confirm\" or \"direct\""),
            );
            SendMode::Undo { window }
        }
    }
}

pub(super) fn handle(c: &mut Checker, key: &str, value: &str) -> String {
    if let Some(rest) = value.strip_prefix('@') {
        c.fail(key, format!("write the handle without the @: \"{rest}\""));
        return rest.to_owned();
    }
    let ok = !value.is_empty()
        && value.len() <= 15
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !ok {
        c.fail(
            key,
            format!("`{value}` is not an X handle: 1 to 15 letters, digits or _"),
        );
    }
    value.to_owned()
}

pub(super) fn auth(c: &mut Checker, at: &str, raw: &RawAuth) -> XAuth {
    let oauth1_fields = [
        ("consumer_key_env", &raw.consumer_key_env),
        ("consumer_secret_env", &raw.consumer_secret_env),
        ("access_token_env", &raw.access_token_env),
        ("access_token_secret_env", &raw.access_token_secret_env),
    ];
    let oauth2_fields = [
        ("client_id_env", &raw.client_id_env),
        ("client_secret_env", &raw.client_secret_env),
        ("refresh_token_env", &raw.refresh_token_env),
    ];
    let mut misplaced = |fields: &[(&str, &Option<String>)], kind: &str| {
        for (name, value) in fields {
            if value.is_some() {
                c.fail(
                    format!("{at}.{name}"),
                    format!("does not apply to kind = \"{kind}\"; remove it"),
                );
            }
        }
    };
    match raw.kind.as_str() {
        "oauth1" => {
            misplaced(&oauth2_fields, "oauth1");
            oauth1(c, at, raw)
        }
        "oauth2" => {
            misplaced(&oauth1_fields, "oauth2");
            oauth2(c, at, raw)
        }
        other => {
            c.fail(
                format!("{at}.kind"),
                format!("`{other}` is not an auth kind; use \"oauth1\" or \"oauth2\""),
            );
            XAuth::OAuth2 {
                client_id: EnvVar {
                    name: String::new(),
                    key: String::new(),
                },
                client_secret: None,
                refresh_token: None,
            }
        }
    }
}

/// `kind = "oauth1"`: the app's consumer key and secret, the account's
/// access token and secret.
fn oauth1(c: &mut Checker, at: &str, raw: &RawAuth) -> XAuth {
    let why = "OAuth 1.0a needs the app's consumer key and secret and the account's access token and secret";
    XAuth::OAuth1 {
        consumer_key: c.required_env(
            &format!("{at}.consumer_key_env"),
            raw.consumer_key_env.as_ref(),
            why,
        ),
        consumer_secret: c.required_env(
            &format!("{at}.consumer_secret_env"),
            raw.consumer_secret_env.as_ref(),
            why,
        ),
        access_token: c.required_env(
            &format!("{at}.access_token_env"),
            raw.access_token_env.as_ref(),
            why,
        ),
        access_token_secret: c.required_env(
            &format!("{at}.access_token_secret_env"),
            raw.access_token_secret_env.as_ref(),
            why,
        ),
    }
}

/// `kind = "oauth2"`: the app's client id (and secret, for confidential
/// clients), and a first refresh token unless `perch auth x` stores one.
fn oauth2(c: &mut Checker, at: &str, raw: &RawAuth) -> XAuth {
    let why =
        "OAuth 2.0 needs the app's client id (then run `perch auth x` for the account's tokens)";
    XAuth::OAuth2 {
        client_id: c.required_env(
            &format!("{at}.client_id_env"),
            raw.client_id_env.as_ref(),
            why,
        ),
        client_secret: raw
            .client_secret_env
            .as_ref()
            .map(|v| c.env(&format!("{at}.client_secret_env"), v)),
        refresh_token: raw
            .refresh_token_env
            .as_ref()
            .map(|v| c.env(&format!("{at}.refresh_token_env"), v)),
    }
}

pub(super) fn poll(
    c: &mut Checker,
    key: &str,
    raw: Option<&RawPoll>,
    endpoint: &str,
) -> Option<Poll> {
    let raw = raw?;
    let interval = c.duration_or(
        &format!("{key}.interval"),
        raw.interval.as_ref(),
        DEFAULT_POLL,
    );
    let enabled = raw.enabled.unwrap_or(true);
    if enabled {
        within_window(c, &format!("{key}.interval"), interval, endpoint, 1);
    }
    enabled.then_some(Poll { interval })
}

/// Warns when `sharers` loops polling `endpoint` every `interval` would
/// spend X's window before it resets (perch then polls more slowly).
pub(super) fn within_window(
    c: &mut Checker,
    key: &str,
    interval: Duration,
    endpoint: &str,
    sharers: u32,
) {
    let (Some(sustainable), Some(limit)) = (
        limits::sustainable_interval(endpoint, sharers),
        limits::published(endpoint),
    ) else {
        return;
    };
    if interval >= sustainable {
        return;
    }
    let per_window = (limits::WINDOW.as_secs_f64() / interval.as_secs_f64().max(0.001)).round();
    let shared = if sharers > 1 {
        format!(
            " (with the other {} search rules of this account)",
            sharers - 1
        )
    } else {
        String::new()
    };
    let slower = Duration::from_secs(sustainable.as_secs_f64().ceil() as u64);
    c.warn(
        key,
        format!(
            "polling every {} asks `{endpoint}` {per_window} times per 15 minutes{shared}; X allows {limit}, so perch polls every {} instead (set it to {} or more to silence this)",
            humantime::format_duration(interval),
            humantime::format_duration(slower),
            humantime::format_duration(slower),
        ),
    );
}

pub(super) fn ingest(
    c: &mut Checker,
    at: &str,
    raw: &RawIngest,
    handle: &str,
    auth: &XAuth,
) -> Ingest {
    let mentions = poll(
        c,
        &format!("{at}.ingest.mentions"),
        raw.mentions.as_ref(),
        limits::MENTIONS,
    );
    let dms = poll(
        c,
        &format!("{at}.ingest.dms"),
        raw.dms.as_ref(),
        limits::DM_EVENTS,
    );
    let search = search_rules(c, at, &raw.search, handle);
    let webhook = super::webhook::webhook(c, at, raw.webhook.as_ref(), handle, auth);
    let activity_stream =
        super::webhook::activity_stream(c, at, raw.activity_stream.as_ref(), webhook.as_ref());
    if mentions.is_none()
        && dms.is_none()
        && search.is_empty()
        && webhook.is_none()
        && activity_stream.is_none()
    {
        c.fail(
            format!("{at}.ingest"),
            "ingests nothing: enable [accounts.ingest.mentions], [accounts.ingest.dms], a webhook or the activity stream, or add an [[accounts.ingest.search]]",
        );
    }
    Ingest {
        mentions,
        dms,
        search,
        webhook,
        activity_stream,
    }
}

/// The account's `[[accounts.ingest.search]]` rules that are enabled;
/// every rule is checked.
fn search_rules(c: &mut Checker, at: &str, raw: &[RawSearch], handle: &str) -> Vec<SearchRule> {
    // Every search rule of the account counts against one window.
    let searches = raw.iter().filter(|s| s.enabled.unwrap_or(true)).count();
    let searches = u32::try_from(searches).unwrap_or(u32::MAX);
    let mut names = HashSet::new();
    let mut search = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let key = format!("{at}.ingest.search[{i}]");
        c.unique(
            &mut names,
            &format!("{key}.name"),
            &s.name,
            "search name in this account",
        );
        if s.name.trim().is_empty() {
            c.fail(
                format!("{key}.name"),
                "is empty; give the search a short name (shown on its tickets)",
            );
        }
        let interval = c.duration_or(
            &format!("{key}.interval"),
            s.interval.as_ref(),
            DEFAULT_SEARCH_POLL,
        );
        if s.enabled.unwrap_or(true) {
            within_window(
                c,
                &format!("{key}.interval"),
                interval,
                limits::SEARCH_RECENT,
                searches,
            );
        }
        if let Some(query) = search_query(c, &key, s, handle) {
            if s.enabled.unwrap_or(true) {
                search.push(SearchRule {
                    name: s.name.clone(),
                    query,
                    interval,
                });
            }
        }
    }
    search
}

/// The query X receives: `(query OR misspelling …) -from:handle -is:retweet`.
pub(super) fn search_query(
    c: &mut Checker,
    key: &str,
    s: &RawSearch,
    handle: &str,
) -> Option<String> {
    if s.query.trim().is_empty() {
        c.fail(
            format!("{key}.query"),
            "is empty; write the words to search for, like \"acme\"",
        );
        return None;
    }
    let mut terms = vec![s.query.trim().to_owned()];
    for (j, m) in s.misspellings.iter().enumerate() {
        let m = m.trim();
        if m.is_empty() || m.contains('"') {
            c.fail(
                format!("{key}.misspellings[{j}]"),
                "must be a word or phrase without quotes",
            );
            return None;
        }
        terms.push(if m.contains(' ') {
            format!("\"{m}\"")
        } else {
            m.to_owned()
        });
    }
    let query = if terms.len() == 1 {
        format!("{} -from:{handle} -is:retweet", terms[0])
    } else {
        format!("({}) -from:{handle} -is:retweet", terms.join(" OR "))
    };
    let len = query.chars().count();
    if len > MAX_QUERY_CHARS {
        c.fail(
            format!("{key}.query"),
            format!("with its misspellings the query is {len} characters; X allows {MAX_QUERY_CHARS}: split it into two searches"),
        );
        return None;
    }
    Some(query)
}

pub(super) fn routes(
    c: &mut Checker,
    at: &str,
    raw: &RawRoutes,
    has_slack: bool,
    has_discord: bool,
) -> Routes {
    let key = format!("{at}.routes");
    if raw.slack_channels.is_empty() && raw.discord_channels.is_empty() {
        c.fail(
            &key,
            "routes nowhere: list slack_channels and/or discord_channels where this account's tickets appear",
        );
    }
    if !raw.slack_channels.is_empty() && !has_slack {
        c.fail(
            format!("{key}.slack_channels"),
            "names Slack channels but there is no [slack] section; add one",
        );
    }
    if !raw.discord_channels.is_empty() && !has_discord {
        c.fail(
            format!("{key}.discord_channels"),
            "names Discord channels but there is no [discord] section; add one",
        );
    }
    Routes {
        slack_channels: raw
            .slack_channels
            .iter()
            .enumerate()
            .filter_map(|(i, ch)| {
                c.check(
                    &format!("{key}.slack_channels[{i}]"),
                    parse::slack_id(ch, "CG", "Slack channel id"),
                )
            })
            .map(|s| s.as_str().into())
            .collect(),
        discord_channels: raw
            .discord_channels
            .iter()
            .enumerate()
            .filter_map(|(i, ch)| {
                c.check(
                    &format!("{key}.discord_channels[{i}]"),
                    parse::numeric_id(ch, "Discord channel id"),
                )
            })
            .map(|s| s.as_str().into())
            .collect(),
    }
}
