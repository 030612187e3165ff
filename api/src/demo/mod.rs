//! The demo data set: a realistic, reproducible picture of the Danish Neighbourhood Mothers
//! programme, loaded by `bydel demo` and `bydel serve --demo`.
//!
//! What it holds: the municipalities used (official codes and regions), a municipality
//! organisation for each one with a project (`kommune-<code>`), fictional NGOs, 21 projects of
//! the 2007–2011 programme plus a later and a planned one, a few hundred mothers with their
//! courses, enrolments and module attendance, a sample of visits, volunteer hours, and
//! pseudonymous participants with consents and referrals in every status, and a service
//! directory of a few real kinds of Danish services in København and Aarhus.
//!
//! Invariants:
//! - it reproduces the published figures exactly: basic-course certifications per year
//!   2008–2012 of 9, 19, 15, 66 and 138 ([`training::CERTIFICATIONS`]) and 265 visits in
//!   May 2012 ([`visits::MAY_2012_VISITS`]);
//! - the generated history is deterministic: the same ids, names, dates and timestamps on every run, because
//!   everything comes from a seeded generator ([`rng`]) and a fixed "today" ([`clock::TODAY`]);
//! - loading is all or nothing (one transaction) and idempotent: when the organisation
//!   `kommune-101` exists, nothing is inserted;
//! - the existing secretariat organisation is reused, never duplicated.
//!
//! The data is generated in memory first ([`build`], pure and unit-tested), then written in
//! small multi-row inserts (see [`VALUES_PER_INSERT`]). Last, [`live`] does this week's work
//! in København through the write path, as the municipality and its NGOs would over the API:
//! those rows carry the load's own ids and timestamps, the only ones that differ per run.

mod bulk;
mod clock;
mod directory;
mod hours;
mod live;
mod names;
mod places;
mod referrals;
mod rng;
pub mod scale;
mod surveys;
mod training;
mod visits;

use std::collections::HashSet;
use std::fmt;

use crate::visits::tally::Tallies;

use entity::{
    consent, course, enrolment, module_attendance, mother, mother_language, municipality,
    opening_hours, organisation, participant, participant_language, project, project_partner,
    referral, referral_event, service, service_area, service_contact, service_language,
    service_location, visit, visit_month, visit_topic, visit_topic_month, volunteer_hours,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, Insert,
    IntoActiveModel, Iterable, QueryFilter, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::organisations::SECRETARIAT;

/// The organisation whose presence means the demo data is already loaded.
const MARKER: &str = "kommune-101";

/// Bound values per multi-row INSERT (rows = this / the table's columns: 24 to 256 here).
/// SQLite would allow 32766; the statements are kept this small because sqlx 0.9.0 does not
/// set TCP_NODELAY, and a statement big enough to leave in several TCP writes then waits
/// ~40 ms for PostgreSQL's delayed ACK (measured: 4.5 s instead of about 1 s for the load).
const VALUES_PER_INSERT: usize = 512;

/// What a load did, for the operator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoSummary {
    /// True when the data set was there already and nothing was inserted.
    pub already_present: bool,
    pub municipalities: usize,
    pub organisations: usize,
    pub projects: usize,
    pub mothers: usize,
    pub courses: usize,
    /// Completed basic-course enrolments (diplomas).
    pub certifications: usize,
    pub enrolments: usize,
    pub visits: usize,
    pub volunteer_hours: usize,
    pub participants: usize,
    pub consents: usize,
    pub referrals: usize,
    pub referral_events: usize,
    /// Services in the directory.
    pub services: usize,
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.already_present {
            return write!(
                f,
                "demo data already present (organisation {MARKER} exists); nothing inserted"
            );
        }
        write!(
            f,
            "demo data loaded: {} municipalities, {} organisations, {} projects, {} mothers, \
             {} courses, {} enrolments ({} basic-course certifications), {} visits, \
             {} volunteer-hour entries, {} participants, {} consents, {} referrals \
             ({} timeline events), {} directory services",
            self.municipalities,
            self.organisations,
            self.projects,
            self.mothers,
            self.courses,
            self.enrolments,
            self.certifications,
            self.visits,
            self.volunteer_hours,
            self.participants,
            self.consents,
            self.referrals,
            self.referral_events,
            self.services,
        )
    }
}

/// Loads the demo data set in one transaction, unless it is already there.
///
/// Expects a migrated database in which the secretariat organisation exists.
pub async fn load(db: &DatabaseConnection) -> ApiResult<DemoSummary> {
    let txn = db.begin().await?;
    if organisation_exists(&txn, MARKER).await? {
        txn.rollback().await?;
        return Ok(DemoSummary {
            already_present: true,
            ..DemoSummary::default()
        });
    }
    let secretariat = organisation::Entity::find()
        .filter(organisation::Column::ShortName.eq(SECRETARIAT))
        .one(&txn)
        .await?
        .ok_or_else(|| {
            ApiError::internal("the secretariat organisation must exist before the demo load")
        })?;
    let mut data = build(secretariat.id);
    data.skip_existing_municipalities(&txn).await?;
    let mut summary = data.summary();
    data.write(&txn).await?;
    let live = live::write(&txn).await?;
    surveys::write(&txn, secretariat.id).await?;
    summary.participants += live.participants;
    summary.consents += live.consents;
    summary.referrals += live.referrals;
    summary.referral_events += live.referral_events;
    txn.commit().await?;
    Ok(summary)
}

async fn organisation_exists(db: &impl ConnectionTrait, short_name: &str) -> Result<bool, DbErr> {
    Ok(organisation::Entity::find()
        .filter(organisation::Column::ShortName.eq(short_name))
        .one(db)
        .await?
        .is_some())
}

/// The whole data set, in insertion order (parents before children).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dataset {
    pub places: places::Places,
    pub training: training::Training,
    pub visits: visits::Visits,
    pub hours: Vec<volunteer_hours::Model>,
    pub referrals: referrals::Referrals,
    pub directory: directory::Directory,
}

/// Generates the data set in memory. Pure: the same secretariat id gives the same data.
pub(crate) fn build(secretariat_id: Uuid) -> Dataset {
    let (places, projects) = places::build(secretariat_id);
    let (training, service) = training::build(&projects);
    let mut visits = visits::build(&projects, &service);
    let hours = hours::build(&projects, &service, &training);
    let mut referrals = referrals::build(&projects, &service, &mut visits.visits);
    let directory = directory::build(&places.organisations);
    directory.name_services(&mut referrals.referrals);
    Dataset {
        places,
        training,
        visits,
        hours,
        referrals,
        directory,
    }
}

impl Dataset {
    /// Municipalities are reference data that another seed may have written already.
    async fn skip_existing_municipalities(
        &mut self,
        db: &impl ConnectionTrait,
    ) -> Result<(), DbErr> {
        let existing: HashSet<i32> = municipality::Entity::find()
            .select_only()
            .column(municipality::Column::Code)
            .into_tuple::<i32>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        self.places
            .municipalities
            .retain(|m| !existing.contains(&m.code));
        Ok(())
    }

    pub fn summary(&self) -> DemoSummary {
        let t = &self.training;
        let basic: HashSet<Uuid> = t
            .courses
            .iter()
            .filter(|c| c.kind == entity::enums::CourseKind::Basic)
            .map(|c| c.id)
            .collect();
        DemoSummary {
            already_present: false,
            municipalities: self.places.municipalities.len(),
            organisations: self.places.organisations.len(),
            projects: self.places.projects.len(),
            mothers: t.mothers.len(),
            courses: t.courses.len(),
            certifications: t
                .enrolments
                .iter()
                .filter(|e| e.certified_on.is_some() && basic.contains(&e.course_id))
                .count(),
            enrolments: t.enrolments.len(),
            visits: self.visits.visits.len(),
            volunteer_hours: self.hours.len(),
            participants: self.referrals.participants.len(),
            consents: self.referrals.consents.len(),
            referrals: self.referrals.referrals.len(),
            referral_events: self.referrals.events.len(),
            services: self.directory.services.len(),
        }
    }

    /// Inserts every table, parents first (participants before the visits that name them).
    async fn write(self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        let Dataset {
            places,
            training,
            visits,
            hours,
            referrals,
            directory,
        } = self;
        insert::<municipality::ActiveModel, _>(db, places.municipalities).await?;
        insert::<organisation::ActiveModel, _>(db, places.organisations).await?;
        insert::<project::ActiveModel, _>(db, places.projects).await?;
        insert::<project_partner::ActiveModel, _>(db, places.partners).await?;
        insert::<mother::ActiveModel, _>(db, training.mothers).await?;
        insert::<mother_language::ActiveModel, _>(db, training.mother_languages).await?;
        insert::<course::ActiveModel, _>(db, training.courses).await?;
        insert::<enrolment::ActiveModel, _>(db, training.enrolments).await?;
        insert::<module_attendance::ActiveModel, _>(db, training.attendance).await?;
        insert::<volunteer_hours::ActiveModel, _>(db, hours).await?;
        insert::<participant::ActiveModel, _>(db, referrals.participants).await?;
        insert::<participant_language::ActiveModel, _>(db, referrals.participant_languages).await?;
        insert::<consent::ActiveModel, _>(db, referrals.consents).await?;
        let (months, topic_months) = Tallies::of(&visits.visits, &visits.topics).rows();
        insert::<visit::ActiveModel, _>(db, visits.visits).await?;
        insert::<visit_topic::ActiveModel, _>(db, visits.topics).await?;
        insert::<visit_month::ActiveModel, _>(db, months).await?;
        insert::<visit_topic_month::ActiveModel, _>(db, topic_months).await?;
        insert::<service::ActiveModel, _>(db, directory.services).await?;
        insert::<service_language::ActiveModel, _>(db, directory.languages).await?;
        insert::<service_area::ActiveModel, _>(db, directory.areas).await?;
        insert::<service_location::ActiveModel, _>(db, directory.locations).await?;
        insert::<opening_hours::ActiveModel, _>(db, directory.hours).await?;
        insert::<service_contact::ActiveModel, _>(db, directory.contacts).await?;
        insert::<referral::ActiveModel, _>(db, referrals.referrals).await?;
        insert::<referral_event::ActiveModel, _>(db, referrals.events).await?;
        Ok(())
    }
}

/// Multi-row inserts of at most [`VALUES_PER_INSERT`] values each.
async fn insert<A, M>(db: &impl ConnectionTrait, rows: Vec<M>) -> Result<(), DbErr>
where
    A: ActiveModelTrait + Send,
    M: IntoActiveModel<A> + Send,
{
    let columns = <A::Entity as EntityTrait>::Column::iter().count().max(1);
    let batch = (VALUES_PER_INSERT / columns).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<M> = rows.by_ref().take(batch).collect();
        Insert::many(chunk).exec_without_returning(db).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
