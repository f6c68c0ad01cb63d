//! `[[agents]]`, `[permissions]` and `[support_hours]`.

use super::*;

pub(super) fn agents(c: &mut Checker, raw: &[RawAgent]) -> Vec<AgentConfig> {
    let mut keys = HashSet::new();
    let mut slack_users = HashSet::new();
    let mut discord_users = HashSet::new();
    let mut out = Vec::new();
    for (i, a) in raw.iter().enumerate() {
        let at = format!("agents[{i}]");
        let key = c
            .check(&format!("{at}.key"), parse::key(&a.key))
            .unwrap_or_default();
        c.unique(&mut keys, &format!("{at}.key"), &a.key, "agent key");
        if a.name.trim().is_empty() {
            c.fail(
                format!("{at}.name"),
                "is empty; it is shown on tickets the agent holds",
            );
        }
        let initials_ok = (1..=4).contains(&a.initials.chars().count())
            && a.initials.chars().all(char::is_alphanumeric);
        if !initials_ok {
            c.fail(
                format!("{at}.initials"),
                format!(
                    "`{}` must be 1 to 4 letters or digits; it signs replies as ^{}",
                    a.initials, a.initials
                ),
            );
        }
        if a.slack_user.is_none() && a.discord_user.is_none() {
            c.fail(
                &at,
                "has neither slack_user nor discord_user, so perch cannot recognise them",
            );
        }
        let slack_user = a.slack_user.as_ref().and_then(|u| {
            c.unique(
                &mut slack_users,
                &format!("{at}.slack_user"),
                u,
                "agent's slack_user",
            );
            c.check(
                &format!("{at}.slack_user"),
                parse::slack_id(u, "UW", "Slack user id"),
            )
        });
        let discord_user = a.discord_user.as_ref().and_then(|u| {
            c.unique(
                &mut discord_users,
                &format!("{at}.discord_user"),
                u,
                "agent's discord_user",
            );
            c.check(
                &format!("{at}.discord_user"),
                parse::numeric_id(u, "Discord user id"),
            )
        });
        out.push(AgentConfig {
            key: key.as_str().into(),
            name: a.name.trim().to_owned(),
            initials: a.initials.clone(),
            slack_user: slack_user.map(|u| u.as_str().into()),
            discord_user: discord_user.map(|u| u.as_str().into()),
            lead: a.lead.unwrap_or(false),
        });
    }
    out
}

pub(super) fn permissions(c: &mut Checker, raw: &RawPermissions) -> Permissions {
    let slack = |c: &mut Checker, key: &str, v: &Option<String>| {
        v.as_ref()
            .and_then(|v| c.check(key, parse::slack_id(v, "S", "Slack user group id")))
    };
    let discord = |c: &mut Checker, key: &str, v: &Option<String>| {
        v.as_ref()
            .and_then(|v| c.check(key, parse::numeric_id(v, "Discord role id")))
    };
    Permissions {
        slack_agent_group: slack(c, "permissions.slack_agent_group", &raw.slack_agent_group),
        slack_lead_group: slack(c, "permissions.slack_lead_group", &raw.slack_lead_group),
        discord_agent_role: discord(c, "permissions.discord_agent_role", &raw.discord_agent_role),
        discord_lead_role: discord(c, "permissions.discord_lead_role", &raw.discord_lead_role),
    }
}

pub(super) fn support_hours(c: &mut Checker, raw: &RawSupportHours) -> Option<SupportHours> {
    let zone = c.check("support_hours.time_zone", parse::zone(&raw.time_zone));
    let mut weekly: [Vec<(u16, u16)>; 7] = Default::default();
    let mut seen_days = HashSet::new();
    for (day, hours) in &raw.weekly {
        let key = format!("support_hours.weekly.{day}");
        let Some(index) = c.check(&key, parse::weekday(day)) else {
            continue;
        };
        if !seen_days.insert(index) {
            c.fail(&key, "names a day that is already listed");
        }
        if let Some(ranges) = c.check(&key, parse::day_hours(hours)) {
            weekly[index] = ranges;
        }
    }
    if weekly.iter().all(Vec::is_empty) {
        c.fail(
            "support_hours.weekly",
            "has no open hours; add e.g. mon = \"09:00-17:00\" (or remove [support_hours] for round-the-clock support)",
        );
    }
    let holidays: BTreeSet<_> = raw
        .holidays
        .iter()
        .enumerate()
        .filter_map(|(i, d)| c.check(&format!("support_hours.holidays[{i}]"), parse::date(d)))
        .collect();
    Some(SupportHours {
        zone: zone?,
        weekly,
        holidays,
    })
}
