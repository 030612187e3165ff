//! The monthly tallies of visits (`visit_month`, `visit_topic_month`): what the dashboards'
//! figures over whole months read instead of millions of visits (see `stats::sql`).
//!
//! Invariant: every tally equals the aggregate of the visits it counts. Every write of a visit
//! (record, correct, delete, import) applies its [`Tallies`] change in the same transaction,
//! and the bulk loaders (demo data, `bydel generate`) write [`Tallies::rows`] of what they
//! load; migration 13 filled the tallies of visits stored before it.
//!
//! Concurrency: a change touches its rows in one statement per table, in key order, so two
//! transactions changing overlapping tallies lock them in the same order and cannot deadlock.

use std::collections::HashMap;

use chrono::{Datelike, Days, NaiveDate};
use entity::{
    enums::{VisitChannel, VisitTopic},
    visit, visit_month, visit_topic, visit_topic_month,
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ConnectionTrait, EntityTrait,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use uuid::Uuid;

use crate::{error::ApiResult, ids::record_key};

/// Tally rows per upsert: 6 values each, far below both backends' parameter limits.
const ROWS_PER_STATEMENT: usize = 500;

type MonthKey = (Uuid, NaiveDate, VisitChannel);
type TopicKey = (Uuid, NaiveDate, VisitChannel, VisitTopic);

/// Visits and the women they reached, as added to (or taken from) one tally.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Count {
    visits: i32,
    women: i32,
    key_sum: i64,
}

impl Count {
    fn is_zero(self) -> bool {
        self == Self::default()
    }
}

/// The first day of `day`'s month: the `month` of its tallies.
pub fn month_of(day: NaiveDate) -> NaiveDate {
    day - Days::new(u64::from(day.day0()))
}

/// A change to the tallies, collected from the visits a write adds and removes.
#[derive(Debug, Default)]
pub struct Tallies {
    months: HashMap<MonthKey, Count>,
    topics: HashMap<TopicKey, Count>,
}

impl Tallies {
    /// Counts `visit`, discussing `topics`, in.
    pub fn add(&mut self, visit: &visit::Model, topics: impl IntoIterator<Item = VisitTopic>) {
        self.change(visit, topics, 1);
    }

    /// Counts `visit`, as it was stored with `topics`, out.
    pub fn remove(&mut self, visit: &visit::Model, topics: impl IntoIterator<Item = VisitTopic>) {
        self.change(visit, topics, -1);
    }

    fn change(
        &mut self,
        visit: &visit::Model,
        topics: impl IntoIterator<Item = VisitTopic>,
        sign: i32,
    ) {
        let delta = Count {
            visits: sign,
            women: sign * visit.attendee_count.unwrap_or(1),
            key_sum: i64::from(sign) * record_key(visit.id),
        };
        let month = month_of(visit.visited_on);
        let add = |count: &mut Count| {
            count.visits += delta.visits;
            count.women += delta.women;
            count.key_sum += delta.key_sum;
        };
        add(self
            .months
            .entry((visit.project_id, month, visit.channel))
            .or_default());
        for topic in topics {
            add(self
                .topics
                .entry((visit.project_id, month, visit.channel, topic))
                .or_default());
        }
    }

    /// The tallies of a whole set of visits, for loaders that write visits in bulk.
    pub fn of(visits: &[visit::Model], topics: &[visit_topic::Model]) -> Self {
        let mut by_visit: HashMap<Uuid, Vec<VisitTopic>> = HashMap::new();
        for topic in topics {
            by_visit
                .entry(topic.visit_id)
                .or_default()
                .push(topic.topic);
        }
        let mut tallies = Self::default();
        for visit in visits {
            tallies.add(visit, by_visit.remove(&visit.id).unwrap_or_default());
        }
        tallies
    }

    /// The change as rows, in key order, without the keys it leaves unchanged. For loaders
    /// writing into empty tallies these are the tallies themselves.
    pub fn rows(self) -> (Vec<visit_month::Model>, Vec<visit_topic_month::Model>) {
        let mut months: Vec<_> = self
            .months
            .into_iter()
            .filter(|(_, count)| !count.is_zero())
            .map(|((project_id, month, channel), count)| visit_month::Model {
                project_id,
                month,
                channel,
                visits: count.visits,
                women: count.women,
                key_sum: count.key_sum,
            })
            .collect();
        months.sort_by_key(|r| (r.project_id, r.month, r.channel as u8));
        let mut topics: Vec<_> = self
            .topics
            .into_iter()
            .filter(|(_, count)| !count.is_zero())
            .map(
                |((project_id, month, channel, topic), count)| visit_topic_month::Model {
                    project_id,
                    month,
                    channel,
                    topic,
                    visits: count.visits,
                    women: count.women,
                    key_sum: count.key_sum,
                },
            )
            .collect();
        topics.sort_by_key(|r| (r.project_id, r.month, r.channel as u8, r.topic as u8));
        (months, topics)
    }

    /// Adds the change to the stored tallies; call it in the transaction of the visits.
    pub async fn apply(self, db: &impl ConnectionTrait) -> ApiResult<()> {
        use visit_month::Column as Month;
        use visit_topic_month::Column as Topic;
        let (months, topics) = self.rows();
        let months = months.into_iter().map(|r| visit_month::ActiveModel {
            project_id: Set(r.project_id),
            month: Set(r.month),
            channel: Set(r.channel),
            visits: Set(r.visits),
            women: Set(r.women),
            key_sum: Set(r.key_sum),
        });
        add_to::<visit_month::Entity, _>(
            db,
            months.collect(),
            [Month::ProjectId, Month::Month, Month::Channel],
            [Month::Visits, Month::Women, Month::KeySum],
        )
        .await?;
        let topics = topics.into_iter().map(|r| visit_topic_month::ActiveModel {
            project_id: Set(r.project_id),
            month: Set(r.month),
            channel: Set(r.channel),
            topic: Set(r.topic),
            visits: Set(r.visits),
            women: Set(r.women),
            key_sum: Set(r.key_sum),
        });
        add_to::<visit_topic_month::Entity, _>(
            db,
            topics.collect(),
            [Topic::ProjectId, Topic::Month, Topic::Channel, Topic::Topic],
            [Topic::Visits, Topic::Women, Topic::KeySum],
        )
        .await
    }
}

/// Adds `rows` to the tallies of `E` (keyed by `key`), a chunk per statement.
async fn add_to<E, A>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
    key: impl IntoIterator<Item = E::Column> + Clone,
    added: [E::Column; 3],
) -> ApiResult<()>
where
    E: EntityTrait,
    A: ActiveModelTrait<Entity = E> + Clone,
{
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        E::insert_many(chunk.to_vec())
            .on_conflict(add_on_conflict::<E>(key.clone(), added))
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// `ON CONFLICT (key) DO UPDATE SET visits = visits + excluded.visits, women = ...`: an
/// upsert that adds, the same SQL on SQLite and PostgreSQL.
fn add_on_conflict<E: EntityTrait>(
    key: impl IntoIterator<Item = E::Column>,
    added: [E::Column; 3],
) -> OnConflict {
    let mut upsert = OnConflict::columns(key);
    for column in added {
        let name = sea_orm::IdenStatic::as_str(&column).to_owned();
        upsert.value(
            column,
            Expr::col((E::default(), column)).add(Expr::cust(format!("excluded.{name}"))),
        );
    }
    upsert.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use entity::enums::{ContactOrigin, NextStep};

    fn visit(on: NaiveDate, channel: VisitChannel, attendees: Option<i32>) -> visit::Model {
        visit::Model {
            id: Uuid::now_v7(),
            project_id: Uuid::nil(),
            mother_id: Uuid::nil(),
            participant_id: None,
            channel,
            visited_on: on,
            duration_minutes: 60,
            contact_origin: ContactOrigin::Outreach,
            next_step: NextStep::None,
            attendee_count: attendees,
            notes: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn month_is_the_first_day() {
        assert_eq!(month_of(day(2024, 2, 29)), day(2024, 2, 1));
        assert_eq!(month_of(day(2025, 12, 1)), day(2025, 12, 1));
        assert_eq!(month_of(day(2025, 1, 31)), day(2025, 1, 1));
    }

    #[test]
    fn counts_visits_women_and_each_topic() {
        let home = visit(day(2025, 3, 4), VisitChannel::HomeVisit, None);
        let group = visit(day(2025, 3, 30), VisitChannel::GroupEvent, Some(12));
        let mut tallies = Tallies::default();
        tallies.add(&home, [VisitTopic::Health, VisitTopic::School]);
        tallies.add(&group, [VisitTopic::Health]);
        let (months, topics) = tallies.rows();
        let women: Vec<_> = months.iter().map(|r| (r.visits, r.women)).collect();
        assert_eq!(women, [(1, 1), (1, 12)]);
        let health: i32 = topics
            .iter()
            .filter(|r| r.topic == VisitTopic::Health)
            .map(|r| r.visits)
            .sum();
        assert_eq!((topics.len(), health), (3, 2));
    }

    #[test]
    fn a_correction_that_changes_nothing_writes_nothing() {
        let stored = visit(day(2025, 5, 5), VisitChannel::PhoneCall, None);
        let mut corrected = stored.clone();
        corrected.duration_minutes = 90;
        let mut tallies = Tallies::default();
        tallies.remove(&stored, [VisitTopic::Economy]);
        tallies.add(&corrected, [VisitTopic::Economy]);
        let (months, topics) = tallies.rows();
        assert!(months.is_empty() && topics.is_empty());
    }

    #[test]
    fn a_move_to_another_month_takes_from_one_and_adds_to_the_other() {
        let stored = visit(day(2025, 5, 31), VisitChannel::PhoneCall, Some(2));
        let mut moved = stored.clone();
        moved.visited_on = day(2025, 6, 1);
        let mut tallies = Tallies::default();
        tallies.remove(&stored, []);
        tallies.add(&moved, []);
        let (months, _) = tallies.rows();
        let changes: Vec<_> = months
            .iter()
            .map(|r| (r.month, r.visits, r.women))
            .collect();
        assert_eq!(
            changes,
            [(day(2025, 5, 1), -1, -2), (day(2025, 6, 1), 1, 2)]
        );
    }
}
