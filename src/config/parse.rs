//! Parsers for the string values in the config. Each returns a message that
//! says what was expected, ready to be shown next to the key.

use std::time::Duration;

use chrono::NaiveDate;
use chrono_tz::Tz;

/// `"45m"`, `"2h"`, `"1h 30m"`, `"90s"`, `"3d"`.
pub fn duration(value: &str) -> Result<Duration, String> {
    let d = duration_or_zero(value)?;
    if d.is_zero() {
        return Err(format!(
            "`{value}` is zero; use a positive duration like \"45m\""
        ));
    }
    Ok(d)
}

/// `duration`, where `"0m"` (at once) means something.
pub fn duration_or_zero(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value.trim()).map_err(|e| {
        format!(
            "`{value}` is not a duration ({e}); write it like \"90s\", \"45m\", \"2h\" or \"3d\""
        )
    })
}

/// An IANA zone name such as `America/New_York`.
pub fn zone(value: &str) -> Result<Tz, String> {
    value.parse::<Tz>().map_err(|_| {
        format!("`{value}` is not a known time zone; use an IANA name such as \"America/New_York\" or \"Europe/Berlin\"")
    })
}

/// `"09:00"` as minutes after midnight; `"24:00"` (end of day) is allowed
/// when `allow_end_of_day`.
pub fn time_of_day(value: &str, allow_end_of_day: bool) -> Result<u16, String> {
    let bad = || {
        format!("`{value}` is not a time; write it as HH:MM in 24-hour form, like \"09:00\" or \"17:30\"")
    };
    let (h, m) = value.trim().split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    match (h, m) {
        (24, 0) if allow_end_of_day => Ok(24 * 60),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

/// A day's opening hours: `"closed"` or `"09:00-12:00, 13:00-17:00"`, as
/// `[start, end)` minute ranges.
pub fn day_hours(value: &str) -> Result<Vec<(u16, u16)>, String> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("closed") {
        return Ok(Vec::new());
    }
    let mut ranges: Vec<(u16, u16)> = Vec::new();
    for part in value.split(',') {
        let Some((from, to)) = part.split_once('-') else {
            return Err(format!(
                "`{}` is not a time range; write \"09:00-17:00\" (several separated by commas) or \"closed\"",
                part.trim()
            ));
        };
        let start = time_of_day(from, false)?;
        let end = time_of_day(to, true)?;
        if end <= start {
            return Err(format!("`{}` ends before it starts", part.trim()));
        }
        if ranges.iter().any(|&(s, e)| start < e && s < end) {
            return Err(format!(
                "`{}` overlaps another range of the same day",
                part.trim()
            ));
        }
        ranges.push((start, end));
    }
    ranges.sort_unstable();
    Ok(ranges)
}

/// `mon`…`sun` (or the full English name) as 0 = Monday … 6 = Sunday.
pub fn weekday(value: &str) -> Result<usize, String> {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let lower = value.to_ascii_lowercase();
    DAYS.iter()
        .position(|d| *d == lower || d[..3] == lower)
        .ok_or_else(|| {
            format!("`{value}` is not a day of the week; use mon, tue, wed, thu, fri, sat or sun")
        })
}

/// `"2026-12-25"`.
pub fn date(value: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| {
        format!("`{value}` is not a date; write it as YYYY-MM-DD, like \"2026-12-25\"")
    })
}

/// The name of an environment variable. A value that does not look like
/// one is probably a pasted secret, which must never live in the file.
pub fn env_name(value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(value.to_owned())
    } else {
        Err("must be the NAME of an environment variable (like PERCH_SLACK_BOT_TOKEN), not the secret itself; \
             put the secret in that variable"
            .to_owned())
    }
}

/// An `http://` or `https://` base URL, without a trailing slash.
pub fn base_url(value: &str) -> Result<String, String> {
    let v = value.trim();
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .ok_or_else(|| format!("`{value}` is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') || v.contains(char::is_whitespace) {
        return Err(format!("`{value}` has no host"));
    }
    if rest.contains('@') {
        return Err("must not carry credentials; put secrets in environment variables".to_owned());
    }
    Ok(v.trim_end_matches('/').to_owned())
}

/// Digits only, as X user ids and Discord snowflakes are.
pub fn numeric_id(value: &str, what: &str) -> Result<String, String> {
    if !value.is_empty() && value.len() <= 20 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value.to_owned())
    } else {
        Err(format!("`{value}` is not a {what}: it must be digits only"))
    }
}

/// A Discord snowflake (an application, guild or channel id): digits, as
/// a non-zero 64-bit number.
pub fn snowflake(value: &str, what: &str) -> Result<u64, String> {
    numeric_id(value, what)?
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            format!(
                "`{value}` is not a {what}: Discord ids are numbers from 1 to 18446744073709551615"
            )
        })
}

/// A Slack id: a capital prefix letter from `prefixes`, then capitals and digits.
pub fn slack_id(value: &str, prefixes: &str, what: &str) -> Result<String, String> {
    let ok = value.len() >= 3
        && value.chars().next().is_some_and(|c| prefixes.contains(c))
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "`{value}` is not a {what}: it starts with {} followed by capitals and digits (copy it from Slack)",
            prefixes.chars().map(String::from).collect::<Vec<_>>().join(" or ")
        ))
    }
}

/// A short key used in commands and the store: lowercase letters, digits, `-`, `_`.
pub fn key(value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && value.len() <= 32
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "`{value}` is not a valid key: use 1 to 32 lowercase letters, digits, - or _"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("45m"), Ok(Duration::from_secs(2700)));
        assert_eq!(duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(duration("3d"), Ok(Duration::from_secs(3 * 86400)));
        assert!(duration("45").is_err_and(|e| e.contains("\"45m\"")));
        assert!(duration("soon").is_err());
        assert!(duration("0s").is_err_and(|e| e.contains("zero")));
    }

    #[test]
    fn times_and_ranges() {
        assert_eq!(time_of_day("09:00", false), Ok(540));
        assert_eq!(time_of_day("24:00", true), Ok(1440));
        assert!(time_of_day("24:00", false).is_err());
        assert!(time_of_day("9:00", false).is_err());
        assert!(time_of_day("09:60", false).is_err());
        assert_eq!(
            day_hours("09:00-12:00, 13:00-17:00"),
            Ok(vec![(540, 720), (780, 1020)])
        );
        assert_eq!(day_hours("closed"), Ok(vec![]));
        assert!(day_hours("17:00-09:00").is_err_and(|e| e.contains("ends before")));
        assert!(day_hours("09:00-12:00,11:00-13:00").is_err_and(|e| e.contains("overlaps")));
        assert!(day_hours("nine to five").is_err());
    }

    #[test]
    fn zones_days_dates() {
        assert!(zone("America/New_York").is_ok());
        assert!(zone("Mars/Olympus").is_err_and(|e| e.contains("IANA")));
        assert_eq!(weekday("Mon"), Ok(0));
        assert_eq!(weekday("sunday"), Ok(6));
        assert!(weekday("funday").is_err());
        assert!(date("2026-12-25").is_ok());
        assert!(date("25/12/2026").is_err());
    }

    #[test]
    fn env_names_are_not_secrets() {
        assert!(env_name("PERCH_SLACK_BOT_TOKEN").is_ok());
        assert!(env_name("xoxb-1234-abcd").is_err_and(|e| e.contains("not the secret")));
        assert!(env_name("").is_err());
        assert!(env_name("1ABC").is_err());
    }

    #[test]
    fn urls_and_ids() {
        assert_eq!(
            base_url("https://api.x.com/"),
            Ok("https://api.x.com".to_owned())
        );
        assert!(base_url("ftp://x").is_err());
        assert!(base_url("https://user:pw@host").is_err());
        assert!(numeric_id("123", "user id").is_ok());
        assert!(numeric_id("12a", "user id").is_err());
        assert!(slack_id("C0123ABC", "CG", "channel id").is_ok());
        assert!(slack_id("#general", "CG", "channel id").is_err_and(|e| e.contains("C or G")));
        assert!(key("acme-support").is_ok());
        assert!(key("Acme").is_err());
    }
}
