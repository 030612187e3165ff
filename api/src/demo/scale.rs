//! Synthetic data at national scale and beyond (`bydel generate`), for benchmarks and load
//! tests: the demo data set's vocabularies, names and lifecycles, multiplied.
//!
//! Scale 1 ("national") is about 15 projects, 1,000 mothers, 30,000 participants, 300,000
//! visits and 50,000 referrals over the four years up to the demo's "today"; "national-x10" is
//! ten times that. Skew is realistic: big-city projects are larger (København holds about a
//! third), visits follow the demo's seasons, most referrals are closed (their status follows
//! their age exactly as in the demo data).
//!
//! Invariants:
//! - deterministic: the same scale and seed give the same rows (ids included) on every run
//!   and both backends; each project draws from its own stream, so projects are independent;
//! - every constraint holds as rows are written (foreign keys, uniques, CHECKs): timelines
//!   start at draft and mirror the referral row; a referral that left draft has a live share
//!   consent for its receiver (or its cancellation is that consent's withdrawal); pseudonyms are
//!   unique by construction (a bijection of a counter);
//! - the target database must hold no projects: generation never mixes with real or demo data;
//! - memory stays bounded: one project is built and written (one transaction) at a time.

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use entity::enums::{
    ConsentPurpose, ContactMethod, ContactOrigin, CourseKind, EnrolmentStatus, HoursKind,
    MotherStatus, NextStep, OrganisationKind, PartnerRole, ProjectStatus, ReferralDirection,
    ReferralStatus, ServiceCategory, VisitChannel,
};
use entity::{
    consent, course, enrolment, mother, mother_language, municipality, organisation, participant,
    participant_language, project, project_partner, referral, referral_event, visit, visit_month,
    visit_topic, visit_topic_month, volunteer_hours,
};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    TransactionTrait,
};
use uuid::Uuid;

use super::bulk::Batch;
use super::clock::{self, TODAY, ymd};
use super::names;
use super::places::{MUNICIPALITIES, NGOS, PROJECTS};
use super::referrals::{
    CONTACT_METHODS, INBOUND_NOTES, MUNICIPAL_SERVICES, NGO_SERVICES, OUTBOUND_NOTES, OUTCOMES,
    PSEUDONYM_ALPHABET, age_in_days, by_requester, is_closed, path, reason, status_for_age,
    timeline,
};
use super::rng::Rng;
use super::visits::{
    CHANNELS, GROUP_NOTES, GROUP_ORIGINS, NEXT_STEPS, ORIGINS, SEASON, apportion, duration, topics,
};
use crate::organisations::SECRETARIAT;
use crate::visits::tally::Tallies;

/// The first day with visits: four years of activity up to [`TODAY`].
const WINDOW_START: NaiveDate = ymd(2023, 1, 1);
/// Mothers in one basic course.
const COURSE_SIZE: usize = 12;
const BASIC_MODULES: i32 = 15;

/// What scale 1 ("national") holds.
const NATIONAL: Totals = Totals {
    projects: 15,
    mothers: 1_000,
    participants: 30_000,
    visits: 300_000,
    referrals: 50_000,
};

/// City size: the big cities' projects are larger and more numerous. Others weigh 2.
const CITY_WEIGHTS: &[(i32, u32)] = &[
    (101, 30),
    (751, 12),
    (461, 9),
    (851, 7),
    (147, 4),
    (153, 4),
    (183, 3),
    (169, 3),
    (730, 3),
];

const GENERIC_DISTRICTS: &[&str] = &["Nord", "Syd", "Øst", "Vest", "Centrum"];

/// A multiple of the national programme's size; the presets are names for common factors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale(f64);

impl Scale {
    pub const NATIONAL_X10: Scale = Scale(10.0);

    pub fn factor(self) -> f64 {
        self.0
    }

    fn totals(self) -> Totals {
        let f = |n: usize| ((n as f64) * self.0).round() as usize;
        let projects = f(NATIONAL.projects).max(2);
        Totals {
            projects,
            mothers: f(NATIONAL.mothers).max(projects * 2),
            participants: f(NATIONAL.participants).max(projects),
            visits: f(NATIONAL.visits).max(projects * 4),
            referrals: f(NATIONAL.referrals).max(projects),
        }
    }
}

impl FromStr for Scale {
    type Err = String;

    /// `national-x10`, `national`, `small` (a tenth of national) or a positive factor.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let factor = match text {
            "national-x10" => 10.0,
            "national" => 1.0,
            "small" => 0.1,
            other => other.parse::<f64>().map_err(|_| {
                format!("scale must be national-x10, national, small or a number, not {other:?}")
            })?,
        };
        if factor.is_nan() || factor <= 0.0 || factor > 100.0 {
            return Err(format!(
                "scale factor must be above 0 and at most 100, not {factor}"
            ));
        }
        Ok(Scale(factor))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Totals {
    projects: usize,
    mothers: usize,
    participants: usize,
    visits: usize,
    referrals: usize,
}

/// Rows written per table, in write order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScaleSummary {
    pub tables: Vec<(&'static str, usize)>,
}

impl ScaleSummary {
    fn add(&mut self, counts: Vec<(&'static str, usize)>) {
        for (table, rows) in counts {
            match self.tables.iter_mut().find(|(t, _)| *t == table) {
                Some((_, total)) => *total += rows,
                None => self.tables.push((table, rows)),
            }
        }
    }

    pub fn rows(&self, table: &str) -> usize {
        self.tables
            .iter()
            .find(|(t, _)| *t == table)
            .map_or(0, |(_, n)| *n)
    }
}

impl fmt::Display for ScaleSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .tables
            .iter()
            .map(|(table, rows)| format!("{rows} {table}"))
            .collect();
        write!(f, "{}", parts.join(", "))
    }
}

/// Why generation refused to start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(
        "the database already holds {0} project(s); generate into a fresh database \
         (e.g. dropdb/createdb, or a new SQLite file)"
    )]
    NotEmpty(u64),
    #[error("the secretariat organisation must exist (run `bydel migrate` first)")]
    NoSecretariat,
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("survey responses: {0}")]
    Surveys(#[from] crate::error::ApiError),
}

/// Generates the data set at `scale` from `seed` into an empty (migrated) database, one project
/// per transaction; `progress` receives a line for the operator after each step.
pub async fn generate(
    db: &DatabaseConnection,
    scale: Scale,
    seed: u64,
    mut progress: impl FnMut(&str),
) -> Result<ScaleSummary, GenerateError> {
    let existing = project::Entity::find().count(db).await?;
    if existing > 0 {
        return Err(GenerateError::NotEmpty(existing));
    }
    let secretariat = organisation::Entity::find()
        .filter(organisation::Column::ShortName.eq(SECRETARIAT))
        .one(db)
        .await?
        .ok_or(GenerateError::NoSecretariat)?;
    let known: Vec<i32> = municipality::Entity::find()
        .select_only()
        .column(municipality::Column::Code)
        .into_tuple()
        .all(db)
        .await?;
    let started = Instant::now();
    let totals = scale.totals();
    progress(&format!(
        "generating scale {} (seed {seed}): about {} projects, {} mothers, {} participants, \
         {} visits, {} referrals",
        scale.0,
        totals.projects,
        totals.mothers,
        totals.participants,
        totals.visits,
        totals.referrals
    ));
    let plan = Plan::new(seed, totals, secretariat.id, &known);
    let mut summary = ScaleSummary::default();
    let places = plan.places_batch();
    summary.add(places.counts());
    places.write(db).await?;
    let mut pseudonyms = Pseudonyms::new(seed);
    let step = (plan.projects.len() / 10).max(1);
    for (n, project) in plan.projects.iter().enumerate() {
        let batch = ProjectBuilder::new(seed, project, &mut pseudonyms).build();
        summary.add(batch.counts());
        batch.write(db).await?;
        if (n + 1) % step == 0 || n + 1 == plan.projects.len() {
            progress(&format!(
                "  {}/{} projects, {} visits, {} referrals ({:.0} s)",
                n + 1,
                plan.projects.len(),
                summary.rows("visit"),
                summary.rows("referral"),
                started.elapsed().as_secs_f64()
            ));
        }
    }
    // The evaluations' surveys for every basic course, through the same write path as real
    // responses (and as `bydel demo`), in one transaction.
    let txn = db.begin().await?;
    let surveys = super::surveys::write(&txn, secretariat.id).await?;
    txn.commit().await?;
    summary.add(vec![
        ("survey_round", surveys.rounds),
        ("survey_response", surveys.responses),
    ]);
    progress(&format!(
        "  surveys: {} rounds, {} responses ({:.0} s)",
        surveys.rounds,
        surveys.responses,
        started.elapsed().as_secs_f64()
    ));
    Ok(summary)
}

/// One project's place in the programme and its share of the totals.
#[derive(Debug, Clone)]
struct ProjectPlan {
    index: usize,
    id: Uuid,
    name: String,
    code: i32,
    status: ProjectStatus,
    started_on: NaiveDate,
    ended_on: Option<NaiveDate>,
    active_until: NaiveDate,
    created_at: DateTime<Utc>,
    operator_id: Uuid,
    municipality_org_id: Uuid,
    partner_ngo_id: Option<Uuid>,
    districts: Vec<&'static str>,
    shares: Totals,
}

impl ProjectPlan {
    fn is_ngo_run(&self) -> bool {
        self.partner_ngo_id.is_none()
    }
}

/// The programme's shape: organisations and projects with their shares of the totals.
struct Plan {
    secretariat_id: Uuid,
    municipalities: Vec<municipality::Model>,
    organisations: Vec<organisation::Model>,
    projects: Vec<ProjectPlan>,
}

impl Plan {
    fn new(seed: u64, totals: Totals, secretariat_id: Uuid, known: &[i32]) -> Plan {
        let mut rng = Rng::seeded(seed, "scale-places");
        let ngos = ngo_organisations(&mut rng, totals.projects);
        let city_table: Vec<(usize, u32)> = MUNICIPALITIES
            .iter()
            .enumerate()
            .map(|(i, (code, _, _))| (i, city_weight(*code)))
            .collect();
        let cities: Vec<usize> = (0..totals.projects)
            .map(|_| rng.weighted(&city_table).unwrap_or(0))
            .collect();
        let mut municipal: Vec<organisation::Model> = Vec::new();
        for (i, (code, name, _)) in MUNICIPALITIES.iter().enumerate() {
            if cities.contains(&i) {
                let at = clock::office_hours(ymd(2007, 6, 1), &mut rng);
                municipal.push(organisation_row(
                    &mut rng,
                    &format!("kommune-{code}"),
                    &municipality_name(name),
                    OrganisationKind::Municipality,
                    Some(*code),
                    at,
                ));
            }
        }
        let mut per_city = vec![0usize; MUNICIPALITIES.len()];
        let mut projects: Vec<ProjectPlan> = cities
            .iter()
            .enumerate()
            .map(|(index, city)| {
                per_city[*city] += 1;
                project_plan(&mut rng, index, *city, per_city[*city], &ngos, &municipal)
            })
            .collect();
        let weights: Vec<f64> = projects
            .iter()
            .map(|p| {
                let size = f64::from(city_weight(p.code)).sqrt() * (0.5 + rng.unit());
                let years = (p.active_until - WINDOW_START.max(p.started_on)).num_days();
                size * (years.max(30) as f64)
            })
            .collect();
        let split = |total: usize| apportion(total, &weights);
        let (m, pa, v, r) = (
            split(totals.mothers),
            split(totals.participants),
            split(totals.visits),
            split(totals.referrals),
        );
        for (i, p) in projects.iter_mut().enumerate() {
            p.shares = Totals {
                projects: 1,
                mothers: m[i].max(2),
                participants: pa[i],
                visits: v[i],
                referrals: r[i],
            };
        }
        Plan {
            secretariat_id,
            municipalities: MUNICIPALITIES
                .iter()
                .filter(|(code, _, _)| !known.contains(code))
                .map(|(code, name, region)| municipality::Model {
                    code: *code,
                    name: (*name).to_owned(),
                    region: (*region).to_owned(),
                })
                .collect(),
            organisations: ngos.into_iter().chain(municipal).collect(),
            projects,
        }
    }

    fn places_batch(&self) -> Batch {
        let mut batch = Batch::default();
        batch.push::<municipality::ActiveModel, _>(self.municipalities.clone());
        batch.push::<organisation::ActiveModel, _>(self.organisations.clone());
        batch.push::<project::ActiveModel, _>(
            self.projects.iter().map(project_row).collect::<Vec<_>>(),
        );
        batch.push::<project_partner::ActiveModel, _>(
            self.projects
                .iter()
                .flat_map(|p| partner_rows(p, self.secretariat_id))
                .collect::<Vec<_>>(),
        );
        batch
    }
}

fn city_weight(code: i32) -> u32 {
    CITY_WEIGHTS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(2, |(_, w)| *w)
}

fn municipality_name(name: &str) -> String {
    if name == "København" {
        "Københavns Kommune".to_owned()
    } else {
        format!("{name} Kommune")
    }
}

/// The demo's four NGOs, then more local associations: one per five projects.
fn ngo_organisations(rng: &mut Rng, projects: usize) -> Vec<organisation::Model> {
    let count = (projects / 5).max(NGOS.len());
    (0..count)
        .map(|n| {
            let (short, name, founded) = match NGOS.get(n) {
                Some((short, name, founded)) => ((*short).to_owned(), (*name).to_owned(), *founded),
                None => (
                    format!("ngo-kvindenetvaerk-{n}"),
                    format!("Kvindenetværket {n}"),
                    ymd(2008 + (n % 12) as i32, 3, 1),
                ),
            };
            let at = clock::office_hours(founded, rng);
            organisation_row(rng, &short, &name, OrganisationKind::Ngo, None, at)
        })
        .collect()
}

fn organisation_row(
    rng: &mut Rng,
    short_name: &str,
    name: &str,
    kind: OrganisationKind,
    municipality_code: Option<i32>,
    created_at: DateTime<Utc>,
) -> organisation::Model {
    organisation::Model {
        id: rng.uuid_at(created_at),
        short_name: short_name.to_owned(),
        name: name.to_owned(),
        kind,
        municipality_code,
        created_at,
        updated_at: created_at,
    }
}

fn project_plan(
    rng: &mut Rng,
    index: usize,
    city: usize,
    nth_in_city: usize,
    ngos: &[organisation::Model],
    municipal: &[organisation::Model],
) -> ProjectPlan {
    let (code, city_name, _) = MUNICIPALITIES[city];
    let mut districts: Vec<&'static str> = PROJECTS
        .iter()
        .filter(|p| p.code == code)
        .flat_map(|p| p.districts.iter().copied())
        .collect();
    if districts.is_empty() {
        districts = GENERIC_DISTRICTS.to_vec();
    }
    let name = match districts.get(nth_in_city - 1) {
        Some(district) => format!("Bydelsmødre {district}"),
        None => format!("Bydelsmødre {city_name} {nth_in_city}"),
    };
    let municipality_org_id = municipal
        .iter()
        .find(|o| o.municipality_code == Some(code))
        .map(|o| o.id)
        .unwrap_or_default();
    let ngo = rng.pick(ngos).map(|o| o.id).unwrap_or_default();
    let (operator_id, partner_ngo_id) = if rng.chance(0.3) {
        (municipality_org_id, Some(ngo))
    } else {
        (ngo, None)
    };
    let started_on = clock::day_between(ymd(2008, 1, 1), ymd(2022, 6, 30), rng);
    let ended_on = rng
        .chance(0.07)
        .then(|| clock::day_between(ymd(2024, 1, 1), ymd(2026, 6, 30), rng));
    let created_at = clock::office_hours(clock::add_days(started_on, -30), rng);
    ProjectPlan {
        index,
        id: rng.uuid_at(created_at),
        name,
        code,
        status: if ended_on.is_some() {
            ProjectStatus::Closed
        } else {
            ProjectStatus::Active
        },
        started_on,
        ended_on,
        active_until: ended_on.unwrap_or(TODAY),
        created_at,
        operator_id,
        municipality_org_id,
        partner_ngo_id,
        districts,
        shares: Totals {
            projects: 1,
            mothers: 0,
            participants: 0,
            visits: 0,
            referrals: 0,
        },
    }
}

fn project_row(p: &ProjectPlan) -> project::Model {
    project::Model {
        id: p.id,
        name: p.name.clone(),
        municipality_code: p.code,
        operator_organisation_id: p.operator_id,
        status: p.status,
        started_on: p.started_on,
        ended_on: p.ended_on,
        corps: entity::enums::ProjectCorps::Mothers,
        created_at: p.created_at,
        updated_at: p.created_at,
    }
}

/// NGO-run: the municipality funds; municipality-run: an NGO partners; the secretariat partners
/// in the projects started since 2015.
fn partner_rows(p: &ProjectPlan, secretariat_id: Uuid) -> Vec<project_partner::Model> {
    let row = |organisation_id, role| project_partner::Model {
        project_id: p.id,
        organisation_id,
        role,
        created_at: p.created_at,
    };
    let mut rows = vec![match p.partner_ngo_id {
        Some(ngo) => row(ngo, PartnerRole::Partner),
        None => row(p.municipality_org_id, PartnerRole::Funder),
    }];
    if p.started_on.year() >= 2015 {
        rows.push(row(secretariat_id, PartnerRole::Partner));
    }
    rows
}

/// Unique pseudonyms without a set of all of them: a counter through a bijection of 40 bits
/// (odd multiplier, xor), written in the demo's unambiguous alphabet.
struct Pseudonyms {
    next: u64,
    mask: u64,
}

impl Pseudonyms {
    const BITS: u64 = (1 << 40) - 1;

    fn new(seed: u64) -> Self {
        Self {
            next: 0,
            mask: Rng::seeded(seed, "scale-pseudonyms").next_u64() & Self::BITS,
        }
    }

    fn next(&mut self) -> String {
        let mut x = (self.next.wrapping_mul(0x009E_3779_B97F) & Self::BITS) ^ self.mask;
        self.next += 1;
        let mut code = String::from("BM-");
        let mut chars = [0u8; 8];
        for c in chars.iter_mut().rev() {
            *c = PSEUDONYM_ALPHABET[(x & 31) as usize];
            x >>= 5;
        }
        for (n, c) in chars.iter().enumerate() {
            if n == 4 {
                code.push('-');
            }
            code.push(char::from(*c));
        }
        code
    }
}

/// When a mother can make visits within the window.
#[derive(Debug, Clone, Copy)]
struct Serving {
    mother_id: Uuid,
    from: NaiveDate,
    until: NaiveDate,
}

/// Builds one project's rows (mothers to referral timelines) into one batch.
struct ProjectBuilder<'a> {
    rng: Rng,
    p: &'a ProjectPlan,
    pseudonyms: &'a mut Pseudonyms,
    serving: Vec<Serving>,
    mothers: Vec<mother::Model>,
    mother_languages: Vec<mother_language::Model>,
    courses: Vec<course::Model>,
    enrolments: Vec<enrolment::Model>,
    visits: Vec<visit::Model>,
    topics: Vec<visit_topic::Model>,
    /// Volunteer hours draw from a stream of their own, so they leave every other row as it
    /// was before they were generated.
    hours_rng: Rng,
    hours: Vec<volunteer_hours::Model>,
    participants: Vec<participant::Model>,
    participant_languages: Vec<participant_language::Model>,
    consents: Vec<consent::Model>,
    referrals: Vec<referral::Model>,
    events: Vec<referral_event::Model>,
}

/// What one referral is about, before its timeline is written.
struct Ask {
    direction: ReferralDirection,
    requester: Uuid,
    receiver: Option<Uuid>,
    pool: Option<i32>,
    project: Option<Uuid>,
    participant: Uuid,
    mother: Option<Uuid>,
    visit: Option<Uuid>,
    category: ServiceCategory,
    start: DateTime<Utc>,
    last: ReferralStatus,
    /// Index into `consents` of the share consent a cancellation may withdraw.
    share_consent: Option<usize>,
    notes: &'static [&'static str],
}

impl<'a> ProjectBuilder<'a> {
    fn new(seed: u64, p: &'a ProjectPlan, pseudonyms: &'a mut Pseudonyms) -> Self {
        Self {
            rng: Rng::seeded(seed, &format!("scale-project-{}", p.index)),
            p,
            pseudonyms,
            serving: Vec::new(),
            mothers: Vec::new(),
            mother_languages: Vec::new(),
            courses: Vec::new(),
            enrolments: Vec::new(),
            visits: Vec::new(),
            topics: Vec::new(),
            hours_rng: Rng::seeded(seed, &format!("scale-hours-{}", p.index)),
            hours: Vec::new(),
            participants: Vec::new(),
            participant_languages: Vec::new(),
            consents: Vec::new(),
            referrals: Vec::new(),
            events: Vec::new(),
        }
    }

    fn build(mut self) -> Batch {
        self.mothers();
        self.courses();
        self.visits();
        self.volunteer_hours();
        self.participants_and_referrals();
        let mut batch = Batch::default();
        batch.push::<mother::ActiveModel, _>(self.mothers);
        batch.push::<mother_language::ActiveModel, _>(self.mother_languages);
        batch.push::<course::ActiveModel, _>(self.courses);
        batch.push::<enrolment::ActiveModel, _>(self.enrolments);
        batch.push::<participant::ActiveModel, _>(self.participants);
        batch.push::<participant_language::ActiveModel, _>(self.participant_languages);
        batch.push::<consent::ActiveModel, _>(self.consents);
        let (months, topic_months) = Tallies::of(&self.visits, &self.topics).rows();
        batch.push::<visit::ActiveModel, _>(self.visits);
        batch.push::<visit_topic::ActiveModel, _>(self.topics);
        batch.push::<visit_month::ActiveModel, _>(months);
        batch.push::<visit_topic_month::ActiveModel, _>(topic_months);
        batch.push::<volunteer_hours::ActiveModel, _>(self.hours);
        batch.push::<referral::ActiveModel, _>(self.referrals);
        batch.push::<referral_event::ActiveModel, _>(self.events);
        batch
    }

    /// Mothers who joined over the project's life, most of them still serving in the window.
    fn mothers(&mut self) {
        let p = self.p;
        let first = p.started_on.max(clock::add_days(WINDOW_START, -3 * 365));
        let last = clock::add_days(p.active_until.min(TODAY), -60).max(first);
        for n in 0..p.shares.mothers {
            let rng = &mut self.rng;
            let joined_on = clock::day_between(first, last, rng);
            let left_on = rng.chance(0.15).then(|| {
                clock::day_between(clock::add_days(joined_on, 90), p.active_until, rng)
                    .min(TODAY)
                    .max(joined_on)
            });
            let status = match left_on {
                Some(_) => MotherStatus::Left,
                None => rng
                    .weighted(&[
                        (MotherStatus::Active, 80),
                        (MotherStatus::Certified, 12),
                        (MotherStatus::Inactive, 8),
                    ])
                    .unwrap_or(MotherStatus::Active),
            };
            let background = names::background(rng);
            let first_name = background.first_name(rng);
            let last_name = background.last_name(rng);
            let created_at = clock::office_hours(joined_on, rng);
            let id = rng.uuid_at(created_at);
            let serial = (p.index * 10_000 + n) as u32;
            let updated_at = left_on.map_or(created_at, |d| clock::office_hours(d, rng));
            self.mothers.push(mother::Model {
                id,
                project_id: p.id,
                first_name: first_name.to_owned(),
                last_name: last_name.to_owned(),
                phone: Some(names::fake_phone(2, serial)),
                email: rng
                    .chance(0.5)
                    .then(|| names::fake_email(first_name, last_name, serial)),
                status,
                joined_on,
                left_on,
                corps: entity::enums::Corps::Mother,
                created_at,
                updated_at,
            });
            self.mother_languages
                .extend(background.languages(rng, 0.8).into_iter().map(|language| {
                    mother_language::Model {
                        mother_id: id,
                        language: language.to_owned(),
                    }
                }));
            let until = left_on.unwrap_or(p.active_until).min(TODAY);
            let from = joined_on.max(WINDOW_START);
            if status != MotherStatus::Inactive && from <= until {
                self.serving.push(Serving {
                    mother_id: id,
                    from,
                    until,
                });
            }
        }
    }

    /// Volunteer hours entries as a project records them: about one meeting or other entry
    /// every second month a mother serves (1-4 hours, on a day she serves; never ACTIVITY, her
    /// activity is her visits, which the figures count), and the group's own activities that
    /// no visit records (no mother) twice a year in the window.
    fn volunteer_hours(&mut self) {
        let rng = &mut self.hours_rng;
        let p = self.p;
        let entry = |mother_id: Option<Uuid>, kind: HoursKind, day: NaiveDate, rng: &mut Rng| {
            let minutes = rng.range(4, 16) * 15;
            let created_at = clock::evening(day, rng);
            volunteer_hours::Model {
                id: rng.uuid_at(created_at),
                project_id: p.id,
                mother_id,
                kind,
                worked_on: day,
                minutes: minutes as i32,
                created_at,
                updated_at: created_at,
            }
        };
        for s in &self.serving {
            let months = (s.until - s.from).num_days() / 30;
            for _ in 0..(months / 2).max(1) {
                let day = clock::day_between(s.from, s.until, rng);
                let kind = if rng.chance(0.8) {
                    HoursKind::Other
                } else {
                    HoursKind::Meeting
                };
                self.hours.push(entry(Some(s.mother_id), kind, day, rng));
            }
        }
        let from = WINDOW_START.max(p.started_on);
        let until = p.active_until.min(TODAY);
        if from <= until {
            for _ in 0..2 * ((until - from).num_days() / 365).max(1) {
                let day = clock::day_between(from, until, rng);
                self.hours.push(entry(None, HoursKind::Activity, day, rng));
            }
        }
    }

    /// Basic courses of up to [`COURSE_SIZE`] mothers, ending with the diploma on joining.
    fn courses(&mut self) {
        let mut order: Vec<usize> = (0..self.mothers.len()).collect();
        order.sort_by_key(|i| self.mothers[*i].joined_on);
        for (n, group) in order.chunks(COURSE_SIZE).enumerate() {
            let Some(first) = group.first().map(|i| self.mothers[*i].joined_on) else {
                continue;
            };
            let starts_on = clock::add_days(first, -120);
            let ends_on = clock::add_days(first, -1);
            let created_at = clock::office_hours(clock::add_days(starts_on, -14), &mut self.rng);
            let course_id = self.rng.uuid_at(created_at);
            self.courses.push(course::Model {
                id: course_id,
                project_id: self.p.id,
                name: format!("Grundforløb {} hold {}", starts_on.year(), n + 1),
                kind: CourseKind::Basic,
                module_count: BASIC_MODULES,
                starts_on,
                ends_on: Some(ends_on),
                created_at,
                updated_at: clock::office_hours(ends_on, &mut self.rng),
            });
            for i in group {
                let m = &self.mothers[*i];
                let at = clock::office_hours(starts_on, &mut self.rng);
                self.enrolments.push(enrolment::Model {
                    id: self.rng.uuid_at(at),
                    course_id,
                    mother_id: m.id,
                    status: EnrolmentStatus::Completed,
                    contract_signed_on: Some(starts_on),
                    certified_on: Some(m.joined_on.min(ends_on)),
                    created_at: at,
                    updated_at: clock::office_hours(ends_on, &mut self.rng),
                });
            }
        }
    }

    fn visits(&mut self) {
        if self.serving.is_empty() {
            return;
        }
        for _ in 0..self.p.shares.visits {
            let Some(mother) = self.rng.pick(&self.serving).copied() else {
                return;
            };
            let day = self.seasonal_day(mother.from, mother.until);
            self.visit(mother.mother_id, day);
        }
        self.visits.sort_by_key(|v| (v.visited_on, v.created_at));
    }

    /// A day in `from..=until`, thinned by the demo's seasons and weekends.
    fn seasonal_day(&mut self, from: NaiveDate, until: NaiveDate) -> NaiveDate {
        let peak = SEASON.iter().copied().fold(0.0, f64::max);
        let mut day = clock::day_between(from, until, &mut self.rng);
        for _ in 0..8 {
            let keep = SEASON[day.month0() as usize] / peak
                * if clock::is_weekend(day) { 0.4 } else { 1.0 };
            if self.rng.chance(keep) {
                break;
            }
            day = clock::day_between(from, until, &mut self.rng);
        }
        day
    }

    fn visit(&mut self, mother_id: Uuid, visited_on: NaiveDate) {
        let rng = &mut self.rng;
        let channel = rng.weighted(CHANNELS).unwrap_or(VisitChannel::HomeVisit);
        let group = channel == VisitChannel::GroupEvent;
        let created_at = clock::evening(visited_on, rng);
        let id = rng.uuid_at(created_at);
        self.visits.push(visit::Model {
            id,
            project_id: self.p.id,
            mother_id,
            participant_id: None,
            channel,
            visited_on,
            duration_minutes: duration(channel, rng),
            contact_origin: rng
                .weighted(if group { GROUP_ORIGINS } else { ORIGINS })
                .unwrap_or(ContactOrigin::MotherNetwork),
            next_step: rng.weighted(NEXT_STEPS).unwrap_or(NextStep::None),
            attendee_count: group.then(|| rng.range(4, 25) as i32),
            notes: if group && rng.chance(0.5) {
                rng.pick(GROUP_NOTES).map(|n| (*n).to_owned())
            } else {
                None
            },
            created_at,
            updated_at: created_at,
        });
        self.topics.extend(
            topics(channel, rng)
                .into_iter()
                .map(|topic| visit_topic::Model {
                    visit_id: id,
                    topic,
                }),
        );
    }

    /// Splits the project's referrals over its participants: a tenth only asked to be
    /// contacted again, some came from the municipality (NGO-run projects), a few wait in the
    /// municipality's pool, the rest were met on visits and have one to four referrals.
    fn participants_and_referrals(&mut self) {
        let total = self.p.shares.participants;
        let mut referrals_left = self.p.shares.referrals;
        let mut candidates: Vec<usize> = (0..self.visits.len())
            .filter(|i| self.visits[*i].channel != VisitChannel::GroupEvent)
            .collect();
        shuffle(&mut candidates, &mut self.rng);
        let mut plans: Vec<Kind> = Vec::with_capacity(total);
        for _ in 0..total {
            let roll = self.rng.unit();
            let kind = if referrals_left == 0 || roll < 0.10 {
                Kind::ContactOnly
            } else if self.p.is_ngo_run() && roll < 0.11 {
                Kind::Pool
            } else if self.p.is_ngo_run() && roll < 0.24 {
                Kind::Inbound
            } else {
                Kind::Outbound(1)
            };
            if kind != Kind::ContactOnly {
                referrals_left -= 1;
            }
            plans.push(kind);
        }
        let outbound: Vec<usize> = (0..plans.len())
            .filter(|i| matches!(plans[*i], Kind::Outbound(_)))
            .collect();
        while referrals_left > 0 && !outbound.is_empty() {
            let i = outbound[self.rng.index(outbound.len())];
            if let Kind::Outbound(k) = &mut plans[i]
                && *k < 4
            {
                *k += 1;
                referrals_left -= 1;
            } else if outbound.iter().all(|i| plans[*i] == Kind::Outbound(4)) {
                break;
            }
        }
        for kind in plans {
            match kind {
                Kind::ContactOnly => self.contact_only(),
                Kind::Pool => self.pool(),
                Kind::Inbound => self.inbound(),
                Kind::Outbound(k) => {
                    let take = k.min(candidates.len());
                    let mut chosen: Vec<usize> = candidates.split_off(candidates.len() - take);
                    chosen.sort_by_key(|i| self.visits[*i].created_at);
                    self.outbound(k, &chosen);
                }
            }
        }
    }

    fn receiver(&self) -> (Uuid, &'static [(ServiceCategory, u32)]) {
        match self.p.partner_ngo_id {
            Some(ngo) => (ngo, NGO_SERVICES),
            None => (self.p.municipality_org_id, MUNICIPAL_SERVICES),
        }
    }

    /// A woman met on `visits` (oldest first) with `count` referrals to the project's receiver;
    /// referrals beyond the visits available start at other moments in the window.
    fn outbound(&mut self, count: usize, visits: &[usize]) {
        let (receiver, services) = self.receiver();
        let first = visits.first().map(|i| self.visits[*i].created_at);
        let registered_at = first
            .unwrap_or_else(|| self.moment_in_window())
            .checked_add_signed(TimeDelta::minutes(10))
            .unwrap_or(self.p.created_at);
        let participant = self.participant(self.p.operator_id, registered_at, None);
        let mother = visits.first().map(|i| self.visits[*i].mother_id);
        let consent_at = registered_at + TimeDelta::minutes(1);
        let awaiting = age_in_days(consent_at) < 21 && self.rng.chance(0.4);
        let share = (!awaiting).then(|| {
            self.consent(
                participant,
                ConsentPurpose::ShareWithReceiver,
                Some(receiver),
                consent_at,
                mother,
            )
        });
        self.usual_consents(participant, consent_at, mother);
        let categories = self.rng.weighted_distinct(services, count);
        for (n, category) in categories.iter().enumerate() {
            let (visit_id, mother_id, start) = match visits.get(n) {
                Some(i) => {
                    let v = &mut self.visits[*i];
                    v.participant_id = Some(participant);
                    v.next_step = NextStep::Referral;
                    v.updated_at = (v.created_at + TimeDelta::minutes(10)).max(registered_at);
                    (Some(v.id), Some(v.mother_id), v.updated_at)
                }
                None => {
                    let later = registered_at + TimeDelta::days(n as i64 * 30);
                    (None, mother, later.min(clock::at(TODAY, 8 * 60)))
                }
            };
            let start = start + TimeDelta::minutes(self.rng.range(5, 120));
            let last = if share.is_none() {
                ReferralStatus::Draft
            } else {
                status_for_age(age_in_days(start), &mut self.rng)
            };
            self.referral(Ask {
                direction: ReferralDirection::Outbound,
                requester: self.p.operator_id,
                receiver: Some(receiver),
                pool: None,
                project: Some(self.p.id),
                participant,
                mother: mother_id,
                visit: visit_id,
                category: *category,
                start,
                last,
                share_consent: share.filter(|_| categories.len() == 1),
                notes: OUTBOUND_NOTES,
            });
        }
    }

    /// The municipality refers a woman straight to the (NGO-run) project.
    fn inbound(&mut self) {
        let start = self.recent_moment();
        let registered_at = start - TimeDelta::minutes(self.rng.range(20, 240));
        let case_ref = self.case_ref(start);
        let municipality = self.p.municipality_org_id;
        let participant = self.participant(municipality, registered_at, Some(case_ref));
        let share = self.consent(
            participant,
            ConsentPurpose::ShareWithReceiver,
            Some(self.p.operator_id),
            registered_at,
            None,
        );
        self.usual_consents(participant, registered_at, None);
        let last = status_for_age(age_in_days(start), &mut self.rng);
        self.referral(Ask {
            direction: ReferralDirection::Inbound,
            requester: municipality,
            receiver: Some(self.p.operator_id),
            pool: None,
            project: Some(self.p.id),
            participant,
            mother: None,
            visit: None,
            category: ServiceCategory::NeighbourhoodMother,
            start,
            last,
            share_consent: Some(share),
            notes: INBOUND_NOTES,
        });
    }

    /// An unclaimed referral in the municipality's pool, made in the last six weeks.
    fn pool(&mut self) {
        let day = clock::add_days(TODAY, -self.rng.range(1, 42));
        let start = clock::office_hours(day, &mut self.rng);
        let registered_at = start - TimeDelta::minutes(self.rng.range(20, 240));
        let case_ref = self.case_ref(start);
        let municipality = self.p.municipality_org_id;
        let participant = self.participant(municipality, registered_at, Some(case_ref));
        if let Some(row) = self.participants.last_mut() {
            row.project_id = None;
        }
        self.usual_consents(participant, registered_at, None);
        self.referral(Ask {
            direction: ReferralDirection::Inbound,
            requester: municipality,
            receiver: None,
            pool: Some(self.p.code),
            project: None,
            participant,
            mother: None,
            visit: None,
            category: ServiceCategory::NeighbourhoodMother,
            start,
            last: ReferralStatus::Requested,
            share_consent: None,
            notes: INBOUND_NOTES,
        });
    }

    /// A woman who only asked to be contacted again.
    fn contact_only(&mut self) {
        let at = self.moment_in_window();
        let mother = self.rng.pick(&self.serving).map(|s| s.mother_id);
        let participant = self.participant(self.p.operator_id, at, None);
        self.consent(participant, ConsentPurpose::Contact, None, at, mother);
    }

    fn moment_in_window(&mut self) -> DateTime<Utc> {
        let from = WINDOW_START.max(self.p.started_on);
        let until = self
            .p
            .active_until
            .min(clock::add_days(TODAY, -1))
            .max(from);
        let day = clock::day_between(from, until, &mut self.rng);
        clock::evening(day, &mut self.rng)
    }

    /// Office hours in the window, more often recent than old.
    fn recent_moment(&mut self) -> DateTime<Utc> {
        let from = WINDOW_START.max(self.p.started_on);
        let until = self
            .p
            .active_until
            .min(clock::add_days(TODAY, -1))
            .max(from);
        let back = (self.rng.unit().powi(2) * (until - from).num_days() as f64) as i64;
        clock::office_hours(clock::add_days(until, -back), &mut self.rng)
    }

    fn case_ref(&mut self, at: DateTime<Utc>) -> String {
        format!(
            "K{}-{}-{:05}",
            self.p.code,
            at.year(),
            self.rng.range(1, 99_999)
        )
    }

    fn participant(
        &mut self,
        registered_by: Uuid,
        created_at: DateTime<Utc>,
        case_ref: Option<String>,
    ) -> Uuid {
        let id = self.rng.uuid_at(created_at);
        let pseudonym = self.pseudonyms.next();
        let serial = (self.pseudonyms.next % 10_000) as u32;
        let rng = &mut self.rng;
        let background = names::background(rng);
        let first_name = rng
            .chance(if case_ref.is_some() { 0.85 } else { 0.6 })
            .then(|| background.first_name(rng));
        let languages = background.languages(rng, 0.4);
        let preferred_contact = rng.weighted(CONTACT_METHODS);
        let wants_phone = matches!(
            preferred_contact,
            Some(ContactMethod::Phone | ContactMethod::Sms)
        );
        self.participants.push(participant::Model {
            id,
            pseudonym,
            project_id: Some(self.p.id),
            registered_by_organisation_id: registered_by,
            first_name: first_name.map(str::to_owned),
            birth_year: rng.chance(0.75).then(|| rng.range(1962, 2003) as i32),
            preferred_contact,
            preferred_language: rng.chance(0.85).then(|| languages[0].to_owned()),
            phone: (wants_phone || rng.chance(0.3)).then(|| names::fake_phone(1, serial)),
            email: (preferred_contact == Some(ContactMethod::Email))
                .then(|| names::fake_email(first_name.unwrap_or("kvinde"), "bm", serial)),
            district: rng
                .chance(0.85)
                .then(|| rng.pick(&self.p.districts).map(|d| (*d).to_owned()))
                .flatten(),
            municipality_case_ref: case_ref,
            notes: None,
            version: 1,
            erased_at: None,
            registered_by_mother_id: None,
            created_at,
            updated_at: created_at,
        });
        self.participant_languages
            .extend(languages.iter().map(|l| participant_language::Model {
                participant_id: id,
                language: (*l).to_owned(),
            }));
        id
    }

    fn consent(
        &mut self,
        participant: Uuid,
        purpose: ConsentPurpose,
        receiver: Option<Uuid>,
        given_at: DateTime<Utc>,
        mother: Option<Uuid>,
    ) -> usize {
        self.consents.push(consent::Model {
            id: self.rng.uuid_at(given_at),
            participant_id: participant,
            purpose,
            receiver_organisation_id: receiver,
            given_at,
            recorded_by_client_id: None,
            recorded_by_mother_id: mother,
            withdrawn_at: None,
            valid_until: None,
            created_at: given_at,
            updated_at: given_at,
        });
        self.consents.len() - 1
    }

    fn usual_consents(&mut self, participant: Uuid, at: DateTime<Utc>, mother: Option<Uuid>) {
        if self.rng.chance(0.8) {
            self.consent(participant, ConsentPurpose::Contact, None, at, mother);
        }
        if self.rng.chance(0.6) {
            self.consent(participant, ConsentPurpose::Statistics, None, at, mother);
        }
    }

    /// The referral and its timeline, as in the demo data: the row mirrors its last event,
    /// `version` counts the events, a cancellation may be the share consent's withdrawal.
    fn referral(&mut self, ask: Ask) {
        let steps = path(ask.last, false, &mut self.rng);
        let withdrawn = ask.last == ReferralStatus::Cancelled
            && ask.share_consent.is_some()
            && self.rng.chance(0.35);
        let times = timeline(&mut self.rng, ask.start, &steps);
        let id = self.rng.uuid_at(ask.start);
        let mut mother = ask.mother;
        let mut previous = None;
        let mut last_reason = None;
        for (n, (status, at)) in steps.iter().zip(&times).enumerate() {
            let why = reason(*status, withdrawn, &mut self.rng);
            let actor = if by_requester(*status) {
                ask.requester
            } else {
                ask.receiver.unwrap_or(ask.requester)
            };
            if *status == ReferralStatus::Accepted && mother.is_none() {
                mother = self.rng.pick(&self.serving).map(|s| s.mother_id);
            }
            self.events.push(referral_event::Model {
                id: self.rng.uuid_at(*at),
                referral_id: id,
                sequence: n as i32 + 1,
                actor_organisation_id: actor,
                actor_client_id: None,
                from_status: previous,
                to_status: *status,
                kind: entity::enums::TimelineKind::of_step(previous, *status),
                reason: why,
                note: (why == Some(entity::enums::ReferralReason::ConsentWithdrawn))
                    .then(|| "Borgeren har trukket sit samtykke tilbage".to_owned()),
                occurred_at: *at,
                created_at: *at,
            });
            previous = Some(*status);
            last_reason = why;
        }
        let moment = |s: ReferralStatus| {
            steps
                .iter()
                .zip(&times)
                .find(|(x, _)| **x == s)
                .map(|(_, t)| *t)
        };
        let updated_at = times.last().copied().unwrap_or(ask.start);
        if withdrawn && let Some(c) = ask.share_consent.and_then(|i| self.consents.get_mut(i)) {
            c.withdrawn_at = Some(updated_at);
            c.updated_at = updated_at;
        }
        let note = self
            .rng
            .chance(0.35)
            .then(|| self.rng.pick(ask.notes))
            .flatten();
        let outcome = (ask.last == ReferralStatus::Completed)
            .then(|| self.rng.weighted(OUTCOMES))
            .flatten();
        self.referrals.push(referral::Model {
            id,
            direction: ask.direction,
            requester_organisation_id: ask.requester,
            receiver_organisation_id: ask.receiver,
            pool_municipality_code: ask.pool,
            project_id: ask.project,
            participant_id: ask.participant,
            mother_id: mother,
            visit_id: ask.visit,
            service_category: ask.category,
            priority: entity::enums::ReferralPriority::Routine,
            service_id: None,
            status: ask.last,
            status_reason: last_reason,
            outcome,
            note: note.map(|n| (*n).to_owned()),
            requested_at: moment(ReferralStatus::Requested),
            accepted_at: moment(ReferralStatus::Accepted),
            closed_at: is_closed(ask.last).then_some(updated_at),
            version: steps.len() as i32,
            created_at: ask.start,
            updated_at,
        });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ContactOnly,
    Pool,
    Inbound,
    Outbound(usize),
}

/// Fisher–Yates with the data set's generator.
fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.index(i + 1);
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_factors_parse() {
        assert_eq!("national-x10".parse(), Ok(Scale(10.0)));
        assert_eq!("national".parse(), Ok(Scale(1.0)));
        assert_eq!("0.001".parse(), Ok(Scale(0.001)));
        for bad in ["0", "-1", "huge", "1000", "NaN"] {
            assert!(bad.parse::<Scale>().is_err(), "{bad}");
        }
    }

    #[test]
    fn national_x10_has_the_issue_figures() {
        let t = Scale::NATIONAL_X10.totals();
        assert_eq!(
            (t.projects, t.mothers, t.participants, t.visits, t.referrals),
            (150, 10_000, 300_000, 3_000_000, 500_000)
        );
    }

    #[test]
    fn pseudonyms_are_unique_and_well_formed() {
        let mut p = Pseudonyms::new(7);
        let codes: std::collections::HashSet<String> = (0..50_000).map(|_| p.next()).collect();
        assert_eq!(codes.len(), 50_000);
        assert!(codes.iter().all(|c| c.len() == 12 && c.starts_with("BM-")));
    }

    #[test]
    fn a_small_plan_is_deterministic_and_keeps_its_invariants() {
        let build = |seed| {
            let plan = Plan::new(seed, Scale(0.01).totals(), Uuid::nil(), &[]);
            let mut pseudonyms = Pseudonyms::new(seed);
            let project = &plan.projects[0];
            let mut b = ProjectBuilder::new(seed, project, &mut pseudonyms);
            b.mothers();
            b.courses();
            b.visits();
            b.participants_and_referrals();
            (b.referrals, b.events, b.consents)
        };
        let (referrals, events, consents) = build(1);
        assert_eq!(build(1).0, referrals);
        assert_ne!(build(2).0, referrals);
        for r in &referrals {
            let timeline: Vec<_> = events.iter().filter(|e| e.referral_id == r.id).collect();
            assert_eq!(timeline.len() as i32, r.version);
            assert_eq!(timeline.last().map(|e| e.to_status), Some(r.status));
            if r.status != ReferralStatus::Draft
                && let Some(receiver) = r.receiver_organisation_id
            {
                assert!(consents.iter().any(|c| c.participant_id == r.participant_id
                    && c.purpose == ConsentPurpose::ShareWithReceiver
                    && c.receiver_organisation_id == Some(receiver)
                    && c.given_at <= r.created_at
                    && c.withdrawn_at.is_none_or(|w| w >= r.updated_at)));
            }
        }
    }
}
