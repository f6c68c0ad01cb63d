//! Broken configs and the precise message each one gets.

use super::*;

/// A small valid config; each case below breaks one thing in it.
const BASE: &str = r#"
[service]
data_dir = "/tmp/perch-test"

[[accounts]]
key = "acme"
handle = "AcmeSupport"
user_id = "1500000000000000001"

[accounts.auth]
kind = "oauth1"
consumer_key_env = "ACME_CK"
consumer_secret_env = "ACME_CS"
access_token_env = "ACME_AT"
access_token_secret_env = "ACME_ATS"

[accounts.ingest.mentions]
interval = "1m"

[accounts.routes]
slack_channels = ["C0SUPPORT1"]

[slack]
bot_token_env = "SLACK_BOT"
app_token_env = "SLACK_APP"

[[agents]]
key = "jo"
name = "Jo Doe"
initials = "JD"
slack_user = "U0JODOE01"
"#;

fn problems(src: &str) -> Vec<Problem> {
    match from_str(src) {
        Ok(_) => Vec::new(),
        Err(problems) => problems,
    }
}

#[test]
fn the_base_config_is_valid() {
    assert_eq!(problems(BASE), Vec::new());
}

/// (what is broken, replace this, with this, expected key, line, message part)
#[rustfmt::skip]
const BROKEN: &[(&str, &str, &str, &str, usize, &str)] = &[
    ("stream without the app's token", "[service]", "[x]\nfiltered_stream = true\n\n[service]", "x.filtered_stream", 3, "needs x.bearer_token_env"),
    ("unknown price", "[service]", "[x.prices]\npost_reads = 0.005\n\n[service]", "x.prices.post_reads", 3, "is not something X bills; use one of post_read, "),
    ("negative price", "[service]", "[x.prices]\npost_read = -1.0\n\n[service]", "x.prices.post_read", 3, "must be a price in US dollars"),
    ("no spending cap", "[service]", "[x.spend]\nmonthly_cap = 0.0\n\n[service]", "x.spend.monthly_cap", 3, "must be a positive amount of US dollars"),
    ("unknown at_cap", "[service]", "[x.spend]\nat_cap = \"halt\"\n\n[service]", "x.spend.at_cap", 3, "use \"slow\" (poll ten times less often) or \"stop\""),
    ("unknown top-level key", "[service]", "colour = \"red\"\n[service]", "colour", 2, "unknown field `colour`"),
    ("unknown nested key", "interval = \"1m\"", "intervall = \"1m\"", "accounts[0].ingest.mentions.intervall", 18, "unknown field `intervall`"),
    ("bad duration", "interval = \"1m\"", "interval = \"1 minute-ish\"", "accounts[0].ingest.mentions.interval", 18, "is not a duration"),
    ("zero duration", "interval = \"1m\"", "interval = \"0s\"", "accounts[0].ingest.mentions.interval", 18, "is zero"),
    ("wrong type", "data_dir = \"/tmp/perch-test\"", "data_dir = 5", "service.data_dir", 3, "expected a string"),
    ("missing key", "user_id = \"1500000000000000001\"", "", "accounts[0]", 5, "missing field `user_id`"),
    ("missing route", "slack_channels = [\"C0SUPPORT1\"]", "", "accounts[0].routes", 20, "routes nowhere"),
    ("route without platform", "[slack]", "[slackk]", "slackk", 23, "unknown field `slackk`"),
    ("discord route without [discord]", "slack_channels = [\"C0SUPPORT1\"]", "discord_channels = [\"123\"]", "accounts[0].routes.discord_channels", 21, "no [discord] section"),
    ("bad channel id", "\"C0SUPPORT1\"", "\"#support\"", "accounts[0].routes.slack_channels[0]", 21, "is not a Slack channel id"),
    ("secret pasted in", "\"SLACK_BOT\"", "\"xoxb-1234-5678\"", "slack.bot_token_env", 24, "not the secret itself"),
    ("unknown auth kind", "kind = \"oauth1\"", "kind = \"password\"", "accounts[0].auth.kind", 11, "use \"oauth1\" or \"oauth2\""),
    ("oauth1 key missing", "access_token_env = \"ACME_AT\"", "", "accounts[0].auth.access_token_env", 10, "is missing"),
    ("oauth2 field on oauth1", "access_token_env = \"ACME_AT\"", "access_token_env = \"ACME_AT\"\nrefresh_token_env = \"R\"", "accounts[0].auth.refresh_token_env", 15, "does not apply"),
    ("handle with @", "handle = \"AcmeSupport\"", "handle = \"@AcmeSupport\"", "accounts[0].handle", 7, "without the @"),
    ("user id not numeric", "user_id = \"1500000000000000001\"", "user_id = \"AcmeSupport\"", "accounts[0].user_id", 8, "digits only"),
    ("nothing ingested", "interval = \"1m\"", "enabled = false", "accounts[0].ingest", 17, "ingests nothing"),
    ("socket mode without app token", "app_token_env = \"SLACK_APP\"", "", "slack.app_token_env", 23, "app-level token"),
    ("bad slack mode", "app_token_env = \"SLACK_APP\"", "mode = \"carrier-pigeon\"", "slack.mode", 25, "use \"socket\" or \"events\""),
    ("bad agent initials", "initials = \"JD\"", "initials = \"J.D.\"", "agents[0].initials", 30, "1 to 4 letters"),
    ("agent with no platform id", "slack_user = \"U0JODOE01\"", "", "agents[0]", 27, "neither slack_user nor discord_user"),
    ("bad zone", "[service]", "[support_hours]\ntime_zone = \"Mars/Olympus\"\nweekly = { mon = \"09:00-17:00\" }\n[service]", "support_hours.time_zone", 3, "not a known time zone"),
    ("bad time", "[service]", "[support_hours]\ntime_zone = \"UTC\"\nweekly = { mon = \"9am-5pm\" }\n[service]", "support_hours.weekly.mon", 4, "HH:MM"),
    ("bad day", "[service]", "[support_hours]\ntime_zone = \"UTC\"\nweekly = { funday = \"09:00-17:00\" }\n[service]", "support_hours.weekly.funday", 4, "not a day of the week"),
    ("no open hours", "[service]", "[support_hours]\ntime_zone = \"UTC\"\n[service]", "support_hours.weekly", 2, "no open hours"),
    ("bad holiday", "[service]", "[support_hours]\ntime_zone = \"UTC\"\nweekly = { mon = \"09:00-17:00\" }\nholidays = [\"Dec 25\"]\n[service]", "support_hours.holidays[0]", 5, "YYYY-MM-DD"),
    ("backfill beyond what X keeps", "[service]", "[x]\nbackfill = \"45d\"\n[service]", "x.backfill", 3, "more than 30 days"),
    ("bad backfill", "[service]", "[x]\nbackfill = \"yesterday\"\n[service]", "x.backfill", 3, "duration"),
    ("bad target", "[service]", "[response_targets]\nurgent = \"soon\"\n[service]", "response_targets.urgent", 3, "is not a duration"),
    ("unknown priority target", "[service]", "[response_targets]\ncritical = \"5m\"\n[service]", "response_targets.critical", 3, "unknown field `critical`"),
    ("bad regex", "[service]", "[[rules]]\nname = \"r\"\nregex = \"(unclosed\"\npriority = \"high\"\n[service]", "rules[0].regex", 4, "not a valid regular expression"),
    ("bad priority", "[service]", "[[rules]]\nname = \"r\"\nkeywords = [\"down\"]\npriority = \"critical\"\n[service]", "rules[0].priority", 5, "not a priority"),
    ("rule matching nothing", "[service]", "[[rules]]\nname = \"r\"\npriority = \"high\"\n[service]", "rules[0]", 2, "matches nothing"),
    ("duplicate agent key", "slack_user = \"U0JODOE01\"", "slack_user = \"U0JODOE01\"\n[[agents]]\nkey = \"jo\"\nname = \"Jo Two\"\ninitials = \"J2\"\nslack_user = \"U0JOTWO01\"", "agents[1].key", 33, "used by another agent key"),
    ("search query too long with misspellings", "[accounts.routes]", "[[accounts.ingest.search]]\nname = \"brand\"\nquery = \"LONGQUERY\"\n[accounts.routes]", "accounts[0].ingest.search[0].query", 22, "X allows 512"),
    ("unknown placeholder", "[service]", "[auto_replies]\ndm_welcome = \"Hi {name}!\"\n[service]", "auto_replies.dm_welcome", 3, "names `{name}`, which perch does not know; nothing is filled in here"),
    ("off-hours reply too long", "[service]", "[auto_replies]\noff_hours = \"LONGREPLY\"\n[service]", "auto_replies.off_hours", 3, "a public reply allows 280, so cut 17"),
    ("bad ping", "[service]", "[[escalation.ladder]]\nafter = \"0m\"\nping = \"everyone\"\n[service]", "escalation.ladder[0].ping", 4, "is not `oncall`, `agents`, `leads` or the key of an agent"),
    ("bad ladder step", "[service]", "[[escalation.ladder]]\nafter = \"later\"\nping = \"oncall\"\n[service]", "escalation.ladder[0].after", 3, "is not a duration"),
    ("bad shift", "[service]", "[oncall]\ntime_zone = \"UTC\"\nshifts = [{ from = \"monday morning\", agent = \"jo\" }]\n[service]", "oncall.shifts[0].from", 4, "not a day and a time"),
    ("bad digest time", "[service]", "[digest]\nweekly = \"mondays\"\n[service]", "digest.weekly", 3, "not a day and a time"),
    ("bad digest link", "[service]", "[digest]\nweekly = \"mon 09:00\"\nreport_url = \"the wiki\"\n[service]", "digest.report_url", 4, "is not a URL"),
    ("shift for nobody", "[service]", "[oncall]\ntime_zone = \"UTC\"\nshifts = [{ from = \"mon 09:00\", agent = \"kim\" }]\n[service]", "oncall.shifts[0].agent", 4, "`kim` is not the key of an agent"),
    ("bad warning share", "[service]", "[response_targets]\nwarn_at = \"three quarters\"\n[service]", "response_targets.warn_at", 3, "is not a share of the target"),
    ("targets in hours without hours", "[service]", "[response_targets]\nsupport_hours_only = true\n[service]", "response_targets.support_hours_only", 3, "no [support_hours] to count in"),
    ("check-in without its saved reply", "[service]", "[followups]\ncheck_in = \"checkin\"\n[service]", "followups.check_in", 3, "`checkin` is not a saved reply"),
    ("syntax error", "[service]", "[service", "", 2, "invalid table header"),
];

#[test]
fn each_broken_config_gets_its_precise_message() {
    let mut failures = Vec::new();
    for (what, from, to, key, line, message) in BROKEN {
        assert!(
            BASE.contains(from),
            "{what}: the base config has no {from:?}"
        );
        let to = to
            .replace("LONGQUERY", &"acme ".repeat(110))
            .replace("LONGREPLY", &"b".repeat(280));
        let src = BASE.replacen(from, &to, 1);
        let got = problems(&src);
        let hit = got
            .iter()
            .any(|p| p.key == *key && p.line == Some(*line) && p.message.contains(message));
        if !hit {
            let got: Vec<String> = got
                .iter()
                .map(|p| format!("{}@{:?}: {}", p.key, p.line, p.message))
                .collect();
            failures.push(format!(
                "{what}: want {key}@{line} \"{message}\", got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_problem_is_reported_at_once() {
    let src = BASE
        .replace("interval = \"1m\"", "interval = \"often\"")
        .replace("\"C0SUPPORT1\"", "\"general\"")
        .replace("initials = \"JD\"", "initials = \"\"");
    let keys: Vec<String> = problems(&src).into_iter().map(|p| p.key).collect();
    assert_eq!(
        keys,
        [
            "accounts[0].ingest.mentions.interval",
            "accounts[0].routes.slack_channels[0]",
            "agents[0].initials"
        ]
    );
}

#[test]
fn missing_secrets_are_each_named_with_their_key_and_line() {
    let loaded = from_str(BASE).map(|v| v.config);
    let Ok(config) = loaded else {
        panic!("{loaded:?}")
    };
    let env = |name: &str| (name == "ACME_CK" || name == "SLACK_BOT").then(|| "x".to_owned());
    let missing = with_lines(BASE, secrets::missing(&config, &env));
    let names: Vec<(&str, Option<usize>)> =
        missing.iter().map(|p| (p.key.as_str(), p.line)).collect();
    assert_eq!(
        names,
        [
            ("accounts[0].auth.consumer_secret_env", Some(13)),
            ("accounts[0].auth.access_token_env", Some(14)),
            ("accounts[0].auth.access_token_secret_env", Some(15)),
            ("slack.app_token_env", Some(25)),
        ]
    );
    assert!(missing[0].message.contains("ACME_CS is not set"));
    let empty = |name: &str| Some(if name == "ACME_CK" { " " } else { "x" }.to_owned());
    let missing = secrets::missing(&config, &empty);
    assert_eq!(missing.len(), 1);
    assert!(missing[0].message.contains("ACME_CK is empty"));
}

#[test]
fn search_queries_fold_in_misspellings_and_leave_out_our_own_posts() {
    let src = BASE.replace(
        "[accounts.routes]",
        "[[accounts.ingest.search]]\nname = \"brand\"\nquery = \"acme\"\nmisspellings = [\"akme\", \"acme corp\"]\n[accounts.routes]",
    );
    let config = from_str(&src).map(|v| v.config);
    let Ok(config) = config else {
        panic!("{config:?}")
    };
    assert_eq!(
        config.accounts[0].ingest.search[0].query,
        "(acme OR akme OR \"acme corp\") -from:AcmeSupport -is:retweet"
    );
}

#[test]
fn support_hours_follow_the_zone_and_holidays() {
    use chrono::{TimeZone, Utc};
    let src = BASE.replace(
        "[service]",
        "[support_hours]\ntime_zone = \"America/New_York\"\nholidays = [\"2026-12-25\"]\n[support_hours.weekly]\nmon = \"09:00-17:00\"\nfri = \"09:00-12:00, 13:00-24:00\"\n[service]",
    );
    let config = from_str(&src).map(|v| v.config);
    let Some(hours) = config.ok().and_then(|c| c.support_hours) else {
        panic!("no hours")
    };
    let at = |y, mo, d, h, mi| {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .unwrap_or_default()
    };
    // Monday 2026-11-23: 09:00 New York is 14:00 UTC.
    assert!(!hours.is_open(at(2026, 11, 23, 13, 59)));
    assert!(hours.is_open(at(2026, 11, 23, 14, 0)));
    assert!(!hours.is_open(at(2026, 11, 23, 22, 0)));
    // Friday lunch is closed; Friday evening open until midnight local.
    assert!(!hours.is_open(at(2026, 11, 27, 17, 30)));
    assert!(hours.is_open(at(2026, 11, 28, 4, 59)));
    // Tuesday is not listed: closed. Christmas (a Friday) is a holiday.
    assert!(!hours.is_open(at(2026, 11, 24, 15, 0)));
    assert!(!hours.is_open(at(2026, 12, 25, 15, 0)));
    // Next openings: Monday night -> Friday 09:00 local; Friday lunch ->
    // 13:00; open now -> now; Christmas Eve (Thursday) -> Monday the 28th.
    for (now, opens) in [
        (at(2026, 11, 23, 22, 0), at(2026, 11, 27, 14, 0)),
        (at(2026, 11, 27, 17, 30), at(2026, 11, 27, 18, 0)),
        (at(2026, 11, 23, 15, 0), at(2026, 11, 23, 15, 0)),
        (at(2026, 12, 24, 12, 0), at(2026, 12, 28, 14, 0)),
    ] {
        assert_eq!(hours.next_opening(now), Some(opens), "at {now}");
    }
    assert_eq!(hours.describe(at(2026, 11, 27, 14, 0)), "Friday 09:00 EST");
}

#[test]
fn rules_classify_by_words_and_regex() {
    let src = BASE.replace(
        "[service]",
        r#"[[rules]]
name = "outage"
keywords = ["down", "not working"]
regex = "(?i)can'?t log ?in"
category = "outage"
priority = "urgent"
tags = ["incident"]
[[rules]]
name = "billing"
keywords = ["refund"]
category = "billing"
priority = "high"
tags = ["money"]
[service]"#,
    );
    let config = from_str(&src).map(|v| v.config);
    let Ok(config) = config else {
        panic!("{config:?}")
    };
    let c = config.rules.classify("I want a REFUND and the app is down");
    assert_eq!(c.category.as_deref(), Some("outage"));
    assert_eq!(c.priority, crate::ticket::Priority::Urgent);
    assert_eq!(
        c.tags.into_iter().collect::<Vec<_>>(),
        ["incident", "money"]
    );
    // Whole words only: "download" is not "down".
    let c = config.rules.classify("where do I download the app");
    assert_eq!(
        (c.category, c.priority),
        (None, crate::ticket::Priority::Normal)
    );
    assert_eq!(
        config.rules.classify("I cant login").category.as_deref(),
        Some("outage")
    );
}

#[test]
fn an_interval_faster_than_x_window_allows_is_a_warning_that_says_what_perch_does() {
    let src = BASE.replace("interval = \"1m\"", "interval = \"2s\"");
    let validated = from_str(&src).unwrap_or_else(|p| panic!("{p:?}"));
    let warning = validated
        .warnings
        .iter()
        .find(|w| w.key == "accounts[0].ingest.mentions.interval")
        .unwrap_or_else(|| panic!("no warning in {:?}", validated.warnings));
    assert!(
        warning.message.contains("450 times per 15 minutes")
            && warning.message.contains("X allows 300")
            && warning.message.contains("perch polls every 3s instead"),
        "{}",
        warning.message
    );
    // Search rules share one window: three at 5 s are too fast together.
    let searches = (0..3)
        .map(|i| format!("[[accounts.ingest.search]]\nname = \"s{i}\"\nquery = \"acme\"\ninterval = \"5s\"\n"))
        .collect::<String>();
    let src = BASE.replace(
        "[accounts.routes]",
        &format!("{searches}\n[accounts.routes]"),
    );
    let validated = from_str(&src).unwrap_or_else(|p| panic!("{p:?}"));
    let shared: Vec<_> = validated
        .warnings
        .iter()
        .filter(|w| w.key.starts_with("accounts[0].ingest.search["))
        .collect();
    assert_eq!(shared.len(), 3, "{:?}", validated.warnings);
    assert!(
        shared[0].message.contains("with the other 2 search rules"),
        "{}",
        shared[0].message
    );
    assert!(
        shared[0].message.contains("every 9s"),
        "{}",
        shared[0].message
    );
    // At the sustainable pace, nothing to say about it.
    let base = from_str(BASE).unwrap_or_else(|p| panic!("{p:?}"));
    assert!(
        base.warnings.iter().all(|w| !w.key.ends_with(".interval")),
        "{:?}",
        base.warnings
    );
}
