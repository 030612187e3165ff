//! The demo data set's calendar: a fixed "today" and the date helpers everything else uses.
//!
//! Every timestamp is derived from a record's domain date (a visit is created the evening of
//! its visit date), never from the real clock, so each run writes the same rows. Times are
//! whole minutes in UTC, which both backends store exactly.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};

use super::rng::Rng;

/// The data set's "today": nothing in it happens later, open referrals are aged against it.
pub const TODAY: NaiveDate = ymd(2026, 11, 20);

/// A calendar date from constant parts. Only for constants: an impossible date is then a
/// compile error, never a runtime panic.
pub const fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("invalid date in the demo data tables"),
    }
}

/// `date` at `minutes` past midnight UTC.
pub fn at(date: NaiveDate, minutes: i64) -> DateTime<Utc> {
    (date.and_time(NaiveTime::MIN) + TimeDelta::minutes(minutes)).and_utc()
}

/// A moment in the evening (17:00–21:59 UTC): when volunteers type in what they did that day.
pub fn evening(date: NaiveDate, rng: &mut Rng) -> DateTime<Utc> {
    at(date, rng.range(17 * 60, 22 * 60 - 1))
}

/// A moment in office hours (07:00–14:59 UTC, i.e. 8–16 Danish time).
pub fn office_hours(date: NaiveDate, rng: &mut Rng) -> DateTime<Utc> {
    at(date, rng.range(7 * 60, 15 * 60 - 1))
}

pub fn add_days(date: NaiveDate, days: i64) -> NaiveDate {
    date + TimeDelta::days(days)
}

/// A uniformly chosen day in `from..=to` (`from` when the range is empty).
pub fn day_between(from: NaiveDate, to: NaiveDate, rng: &mut Rng) -> NaiveDate {
    add_days(from, rng.range(0, (to - from).num_days()))
}

/// The first day of every month from `from`'s month up to and including `to`'s month.
pub fn months(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut month = first_of_month(from);
    while month <= to {
        out.push(month);
        match month.checked_add_months(Months::new(1)) {
            Some(next) => month = next,
            None => break,
        }
    }
    out
}

/// The last day of the month that starts at `month_start`.
pub fn end_of_month(month_start: NaiveDate) -> NaiveDate {
    month_start
        .checked_add_months(Months::new(1))
        .and_then(|next| next.checked_sub_days(Days::new(1)))
        .unwrap_or(month_start)
}

pub fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.checked_sub_days(Days::new(u64::from(date.day0())))
        .unwrap_or(date)
}

pub fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Jan 1 of `year`, for year ranges computed at run time.
pub fn new_year(year: i32) -> NaiveDate {
    NaiveDate::from_yo_opt(year, 1).unwrap_or(TODAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_cover_both_ends() {
        let list = months(ymd(2011, 11, 15), ymd(2012, 2, 1));
        assert_eq!(
            list,
            [
                ymd(2011, 11, 1),
                ymd(2011, 12, 1),
                ymd(2012, 1, 1),
                ymd(2012, 2, 1)
            ]
        );
        assert_eq!(end_of_month(ymd(2012, 2, 1)), ymd(2012, 2, 29));
    }
}
