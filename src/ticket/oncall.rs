//! Who is on call: a weekly rota in the team's time zone, and a person
//! standing in (`oncall me for 4h`, `oncall @sam`) until a given time.
//! Pure arithmetic on a clock it is given.

use chrono::{DateTime, Datelike, Days, Duration, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::ids::AgentId;

const WEEK: u32 = 7 * 24 * 60;

/// The weekly rota: each shift runs from its start until the next one's.
#[derive(Debug, Clone, PartialEq)]
pub struct Rota {
    pub zone: Tz,
    /// Minutes after Monday 00:00 local time, and who; sorted by start.
    pub shifts: Vec<(u32, AgentId)>,
}

/// Someone standing in for the rota until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandIn {
    pub agent: AgentId,
    pub until: DateTime<Utc>,
    /// Who set it (themselves, or a lead).
    pub by: AgentId,
}

/// Who is on call at a moment, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnCall {
    pub agent: AgentId,
    /// `None` when the rota has a single shift (always on call).
    pub until: Option<DateTime<Utc>>,
    pub standing_in: bool,
}

impl Rota {
    /// The shift on at `at` and when it ends.
    pub fn at(&self, at: DateTime<Utc>) -> Option<OnCall> {
        let now = self.minute_of_week(at);
        let (_, agent) = self
            .shifts
            .iter()
            .rev()
            .find(|(start, _)| *start <= now)
            .or_else(|| self.shifts.last())?;
        Some(OnCall {
            agent: agent.clone(),
            until: self.next_start(at).map(|(when, _)| when),
            standing_in: false,
        })
    }

    /// The next shift that starts after `at`, with a different person.
    pub fn next(&self, at: DateTime<Utc>) -> Option<(DateTime<Utc>, AgentId)> {
        let current = self.at(at)?.agent;
        let mut from = at;
        for _ in 0..self.shifts.len() {
            let (when, agent) = self.next_start(from)?;
            if agent != current {
                return Some((when, agent));
            }
            from = when;
        }
        None
    }

    /// The first shift start after `at` (wrapping into next week).
    fn next_start(&self, at: DateTime<Utc>) -> Option<(DateTime<Utc>, AgentId)> {
        if self.shifts.len() < 2 {
            return None;
        }
        let now = self.minute_of_week(at);
        let (start, agent, weeks) = match self.shifts.iter().find(|(start, _)| *start > now) {
            Some((start, agent)) => (*start, agent, 0),
            None => self.shifts.first().map(|(s, a)| (*s, a, 1))?,
        };
        let local = at.with_timezone(&self.zone);
        let monday = local
            .date_naive()
            .checked_sub_days(Days::new(u64::from(local.weekday().num_days_from_monday())))?
            .checked_add_days(Days::new(7 * weeks))?;
        let day = monday.checked_add_days(Days::new(u64::from(start / (24 * 60))))?;
        let minute = start % (24 * 60);
        let time = NaiveTime::from_hms_opt(minute / 60, minute % 60, 0)?;
        let when = self
            .zone
            .from_local_datetime(&day.and_time(time))
            .earliest()
            .or_else(|| {
                self.zone
                    .from_local_datetime(&(day.and_time(time) + Duration::hours(1)))
                    .earliest()
            })?;
        Some((when.with_timezone(&Utc), agent.clone()))
    }

    fn minute_of_week(&self, at: DateTime<Utc>) -> u32 {
        let local = at.with_timezone(&self.zone);
        (local.weekday().num_days_from_monday() * 24 * 60 + local.hour() * 60 + local.minute())
            % WEEK
    }
}

/// Who is on call at `now`: the person standing in until their time is
/// up, else the rota's.
pub fn on_call(
    rota: Option<&Rota>,
    stand_in: Option<&StandIn>,
    now: DateTime<Utc>,
) -> Option<OnCall> {
    if let Some(s) = stand_in.filter(|s| now < s.until) {
        return Some(OnCall {
            agent: s.agent.clone(),
            until: Some(s.until),
            standing_in: true,
        });
    }
    rota?.at(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        // November 2026: the 23rd is a Monday; New York is UTC-5.
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0)
            .single()
            .unwrap_or_default()
            + Duration::hours(5)
    }

    fn rota() -> Rota {
        Rota {
            zone: chrono_tz::America::New_York,
            shifts: vec![(9 * 60, "jo".into()), (2 * 24 * 60 + 9 * 60, "sam".into())],
        }
    }

    #[test]
    fn the_rota_says_who_is_on_call_now_and_next() {
        let r = rota();
        let mon = r.at(at(23, 10));
        assert_eq!(mon.as_ref().map(|o| o.agent.as_str()), Some("jo"));
        assert_eq!(mon.and_then(|o| o.until), Some(at(25, 9)));
        assert_eq!(r.next(at(23, 10)), Some((at(25, 9), "sam".into())));
        // Before Monday's shift it is still last week's: Sam's.
        let early = r.at(at(23, 8));
        assert_eq!(early.as_ref().map(|o| o.agent.as_str()), Some("sam"));
        assert_eq!(early.and_then(|o| o.until), Some(at(23, 9)));
        // Sunday night: Sam until Monday 09:00 next week.
        assert_eq!(r.next(at(29, 22)), Some((at(30, 9), "jo".into())));
    }

    #[test]
    fn a_stand_in_holds_until_their_time_is_up() {
        let r = rota();
        let s = StandIn {
            agent: "lee".into(),
            until: at(23, 14),
            by: "lee".into(),
        };
        let now = on_call(Some(&r), Some(&s), at(23, 10));
        assert_eq!(
            now,
            Some(OnCall {
                agent: "lee".into(),
                until: Some(at(23, 14)),
                standing_in: true
            })
        );
        let later = on_call(Some(&r), Some(&s), at(23, 14));
        assert_eq!(later.map(|o| o.agent), Some("jo".into()));
        assert_eq!(on_call(None, Some(&s), at(23, 15)), None);
    }

    #[test]
    fn one_person_alone_is_always_on_call() {
        let r = Rota {
            zone: chrono_tz::UTC,
            shifts: vec![(0, "jo".into())],
        };
        let now = r.at(at(25, 3));
        assert_eq!(now.as_ref().map(|o| o.agent.as_str()), Some("jo"));
        assert_eq!(now.and_then(|o| o.until), None);
        assert_eq!(r.next(at(25, 3)), None);
    }
}
