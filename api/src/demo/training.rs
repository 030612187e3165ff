//! Mothers and their training: basic courses (15 weekly modules, contract at module 1,
//! diploma at a ceremony after module 15), enrolments, module attendance, and a few
//! supplementary theme courses.
//!
//! Invariants: the completed basic enrolments per certification year are exactly
//! [`CERTIFICATIONS`] (2008–2012 are the figures published in the 2012 evaluation); every
//! completed enrolment has attended all of its course's modules; a mother completes at most one
//! basic course; her status follows from her enrolments (in training while on a running course,
//! left after withdrawing for good, otherwise certified / active / inactive / left).

use chrono::{Datelike, NaiveDate};
use entity::enums::{CourseKind, EnrolmentStatus, MotherStatus, ProjectStatus};
use entity::{course, enrolment, module_attendance, mother, mother_language};
use uuid::Uuid;

use super::clock::{self, TODAY};
use super::names::{self, Background};
use super::places::ProjectInfo;
use super::rng::Rng;

/// Basic-course certifications per year. 2008–2012: the published figures (9, 19, 15, 66,
/// 138; 247 in all); later years are plausible numbers for a programme of this size.
pub const CERTIFICATIONS: &[(i32, usize)] = &[
    (2008, 9),
    (2009, 19),
    (2010, 15),
    (2011, 66),
    (2012, 138),
    (2013, 36),
    (2014, 30),
    (2015, 27),
    (2016, 25),
    (2017, 22),
    (2018, 24),
    (2019, 21),
    (2020, 9),
    (2021, 15),
    (2022, 19),
    (2023, 22),
    (2024, 20),
    (2025, 23),
    (2026, 14),
];

pub const BASIC_MODULES: usize = 15;
const SUPPLEMENTARY_MODULES: usize = 4;
/// Roughly how many mothers finish one basic course.
const COURSE_SIZE: usize = 12;
/// Basic courses running this autumn (not yet finished on [`TODAY`]).
const RUNNING_COURSES: usize = 4;

const THEMES: &[&str] = &[
    "Temakursus: Økonomi og budget",
    "Temakursus: Sundhed og trivsel",
    "Temakursus: Brobygning til kommunen",
    "Temakursus: Børns skolegang",
    "Temakursus: Psykisk sundhed",
    "Temakursus: Uddannelse og job",
];

/// When a mother can make visits: from shortly after her diploma until she stopped.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    pub mother_id: Uuid,
    pub from: NaiveDate,
    pub until: NaiveDate,
}

impl Service {
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.until
    }

    pub fn overlaps(&self, from: NaiveDate, until: NaiveDate) -> bool {
        self.from <= until && from <= self.until
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Training {
    pub mothers: Vec<mother::Model>,
    pub mother_languages: Vec<mother_language::Model>,
    pub courses: Vec<course::Model>,
    pub enrolments: Vec<enrolment::Model>,
    pub attendance: Vec<module_attendance::Model>,
}

/// A mother while her history is being written; settled into a row at the end.
struct Draft {
    id: Uuid,
    project: usize,
    first_name: &'static str,
    last_name: &'static str,
    languages: Vec<&'static str>,
    joined_on: NaiveDate,
    created_at: chrono::DateTime<chrono::Utc>,
    certified_on: Option<NaiveDate>,
    withdrawn_on: Option<NaiveDate>,
    in_training: bool,
    last_change: NaiveDate,
}

/// A basic or supplementary course about to be written.
struct Plan {
    project: usize,
    kind: CourseKind,
    name: String,
    dates: Vec<NaiveDate>,
    /// Diploma day for completers (`None` while the course runs).
    ceremony: Option<NaiveDate>,
}

struct Builder<'a> {
    rng: Rng,
    projects: &'a [ProjectInfo],
    drafts: Vec<Draft>,
    /// Per project: mothers who withdrew and might come back to a later course.
    returners: Vec<Vec<usize>>,
    /// Courses each project is owed (fair share of the years so far, minus courses run).
    credit: Vec<f64>,
    /// Whether a project has run a basic course yet: new projects begin by recruiting.
    has_run: Vec<bool>,
    out: Training,
}

/// Builds mothers and training, and returns each project's serving mothers for later parts.
pub fn build(projects: &[ProjectInfo]) -> (Training, Vec<Vec<Service>>) {
    let mut b = Builder {
        rng: Rng::stream("training"),
        projects,
        drafts: Vec::new(),
        returners: vec![Vec::new(); projects.len()],
        credit: vec![0.0; projects.len()],
        has_run: vec![false; projects.len()],
        out: Training {
            mothers: Vec::new(),
            mother_languages: Vec::new(),
            courses: Vec::new(),
            enrolments: Vec::new(),
            attendance: Vec::new(),
        },
    };
    for (year, target) in CERTIFICATIONS {
        b.certification_year(*year, *target);
    }
    b.running_courses();
    let service = b.settle_mothers();
    b.supplementary_courses(&service);
    (b.out, service)
}

/// The 15 (or `count`) weekly module dates from `start`, skipping the winter and autumn
/// school holidays (ISO weeks 7 and 42) as the courses do.
fn module_dates(start: NaiveDate, count: usize) -> Vec<NaiveDate> {
    let mut dates = Vec::with_capacity(count);
    let mut day = start;
    while dates.len() < count {
        if !matches!(day.iso_week().week(), 7 | 42) {
            dates.push(day);
        }
        day = clock::add_days(day, 7);
    }
    dates
}

/// Spring courses start late January to late February, autumn ones in the second half of
/// August: both end with a diploma ceremony well inside the year.
fn start_window(year: i32, autumn: bool) -> (NaiveDate, NaiveDate) {
    let jan1 = clock::new_year(year);
    if autumn {
        (clock::add_days(jan1, 227), clock::add_days(jan1, 241))
    } else {
        (clock::add_days(jan1, 19), clock::add_days(jan1, 50))
    }
}

fn season_name(autumn: bool) -> &'static str {
    if autumn { "efterår" } else { "forår" }
}

/// Splits `total` into `parts` course sizes that differ a little, as real cohorts do.
fn split(total: usize, parts: usize, rng: &mut Rng) -> Vec<usize> {
    let parts = parts.max(1);
    let mut sizes: Vec<usize> = (0..parts)
        .map(|i| total / parts + usize::from(i < total % parts))
        .collect();
    for i in 0..parts.saturating_sub(1) {
        let shift = rng.index(3);
        if sizes[i] > shift + 5 {
            sizes[i] -= shift;
            sizes[i + 1] += shift;
        }
    }
    sizes
}

impl Builder<'_> {
    /// Runs the year's basic courses so that exactly `target` mothers are certified.
    fn certification_year(&mut self, year: i32, target: usize) {
        let mut candidates = self.candidates(year);
        let count = target.div_ceil(COURSE_SIZE);
        self.earn_credit(&candidates, count);
        let mut chosen = Vec::with_capacity(count);
        while chosen.len() < count {
            let Some(i) = self.most_owed(&candidates) else {
                break;
            };
            let plan = candidates.remove(i);
            self.credit[plan.project] -= 1.0;
            self.has_run[plan.project] = true;
            chosen.push(plan);
        }
        chosen.sort_by_key(|plan| plan.dates[0]);
        let sizes = split(target, chosen.len(), &mut self.rng);
        for (plan, completers) in chosen.into_iter().zip(sizes) {
            self.basic_course(plan, completers);
        }
    }

    /// Shares the year's `courses` among the projects that can run one, by size.
    fn earn_credit(&mut self, candidates: &[Plan], courses: usize) {
        let mut eligible: Vec<usize> = candidates.iter().map(|p| p.project).collect();
        eligible.dedup();
        eligible.sort_unstable();
        eligible.dedup();
        let total: u32 = eligible.iter().map(|p| self.projects[*p].spec.weight).sum();
        for p in eligible {
            let share =
                courses as f64 * f64::from(self.projects[p].spec.weight) / f64::from(total.max(1));
            self.credit[p] += share * (0.8 + 0.4 * self.rng.unit());
        }
    }

    /// The candidate of the project owed most courses (its earliest season first). A project
    /// that has not run its first course yet goes ahead of the others.
    fn most_owed(&self, candidates: &[Plan]) -> Option<usize> {
        let priority = |p: usize| self.credit[p] + if self.has_run[p] { 0.0 } else { 10.0 };
        let best = candidates
            .iter()
            .map(|plan| plan.project)
            .max_by(|a, b| priority(*a).total_cmp(&priority(*b)).then(b.cmp(a)))?;
        candidates.iter().position(|plan| plan.project == best)
    }

    /// Every (project, season) that can run a basic course certifying in `year`.
    fn candidates(&mut self, year: i32) -> Vec<Plan> {
        let mut plans = Vec::new();
        for autumn in [false, true] {
            let (first, last) = start_window(year, autumn);
            for project in self.projects {
                let earliest = clock::add_days(project.spec.started_on, 30);
                let start = clock::day_between(first.max(earliest), last, &mut self.rng);
                if start > last || project.spec.status == ProjectStatus::Planned {
                    continue;
                }
                let dates = module_dates(start, BASIC_MODULES);
                let ceremony = clock::add_days(dates[BASIC_MODULES - 1], self.rng.range(3, 7));
                if ceremony.year() == year && ceremony <= project.active_until {
                    plans.push(Plan {
                        project: project.index,
                        kind: CourseKind::Basic,
                        name: format!("Grundkursus {} {year}", season_name(autumn)),
                        dates,
                        ceremony: Some(ceremony),
                    });
                }
            }
        }
        plans
    }

    /// A finished basic course: `completers` diplomas, plus a few who withdrew on the way.
    fn basic_course(&mut self, plan: Plan, completers: usize) {
        let course_id = self.course(&plan);
        let project = plan.project;
        let start = plan.dates[0];
        let returner = self.take_returner(project, start);
        for n in 0..completers {
            let mother = match (n, returner) {
                (0, Some(m)) => m,
                _ => self.new_mother(project, start),
            };
            self.complete(course_id, mother, &plan);
        }
        let withdrawn = self
            .rng
            .weighted(&[(0, 40), (1, 35), (2, 18), (3, 7)])
            .unwrap_or(0);
        for _ in 0..withdrawn {
            let mother = self.new_mother(project, start);
            let modules = self.rng.range(1, 9) as usize;
            self.withdraw(course_id, mother, &plan.dates[..modules]);
        }
    }

    /// Occasionally a mother who withdrew comes back to a later course of her project.
    fn take_returner(&mut self, project: usize, start: NaiveDate) -> Option<usize> {
        let pool = &mut self.returners[project];
        pool.retain(|m| {
            self.drafts[*m]
                .withdrawn_on
                .is_some_and(|w| w < start && (start - w).num_days() < 3 * 365)
        });
        if pool.is_empty() || !self.rng.chance(0.35) {
            return None;
        }
        Some(pool.remove(0))
    }

    fn course(&mut self, plan: &Plan) -> Uuid {
        let start = plan.dates[0];
        let created_at = clock::office_hours(clock::add_days(start, -45), &mut self.rng);
        let id = self.rng.uuid_at(created_at);
        self.out.courses.push(course::Model {
            id,
            project_id: self.projects[plan.project].id,
            name: plan.name.clone(),
            kind: plan.kind,
            module_count: plan.dates.len() as i32,
            starts_on: start,
            ends_on: plan.dates.last().copied(),
            created_at,
            updated_at: created_at,
        });
        id
    }

    fn new_mother(&mut self, project: usize, course_start: NaiveDate) -> usize {
        let rng = &mut self.rng;
        let background: &Background = names::background(rng);
        let joined_on = clock::add_days(course_start, -rng.range(7, 45))
            .max(self.projects[project].spec.started_on);
        let created_at = clock::office_hours(joined_on, rng);
        self.drafts.push(Draft {
            id: rng.uuid_at(created_at),
            project,
            first_name: background.first_name(rng),
            last_name: background.last_name(rng),
            languages: background.languages(rng, 0.92),
            joined_on,
            created_at,
            certified_on: None,
            withdrawn_on: None,
            in_training: false,
            last_change: joined_on,
        });
        self.drafts.len() - 1
    }

    /// Writes an enrolment with attendance on `attended` (module number, date) pairs.
    fn enrol(
        &mut self,
        course_id: Uuid,
        mother: usize,
        status: EnrolmentStatus,
        attended: &[(usize, NaiveDate)],
        closed_on: NaiveDate,
    ) {
        let start = attended.first().map_or(closed_on, |(_, d)| *d);
        let created_at =
            clock::office_hours(clock::add_days(start, -self.rng.range(3, 6)), &mut self.rng);
        let id = self.rng.uuid_at(created_at);
        let updated_at = clock::evening(closed_on, &mut self.rng);
        let mother_id = self.drafts[mother].id;
        self.out.enrolments.push(enrolment::Model {
            id,
            course_id,
            mother_id,
            status,
            contract_signed_on: attended.first().map(|(_, d)| *d),
            certified_on: (status == EnrolmentStatus::Completed).then_some(closed_on),
            created_at,
            updated_at,
        });
        for (number, date) in attended {
            let created_at = clock::evening(*date, &mut self.rng);
            self.out.attendance.push(module_attendance::Model {
                enrolment_id: id,
                module_number: *number as i32,
                attended_on: *date,
                created_at,
            });
        }
        let draft = &mut self.drafts[mother];
        draft.last_change = draft.last_change.max(closed_on);
    }

    fn complete(&mut self, course_id: Uuid, mother: usize, plan: &Plan) {
        let ceremony = plan.ceremony.unwrap_or(TODAY);
        let attended: Vec<(usize, NaiveDate)> = (1..).zip(plan.dates.iter().copied()).collect();
        self.enrol(
            course_id,
            mother,
            EnrolmentStatus::Completed,
            &attended,
            ceremony,
        );
        if plan.kind == CourseKind::Basic {
            let draft = &mut self.drafts[mother];
            draft.certified_on = Some(ceremony);
            draft.withdrawn_on = None;
        }
    }

    fn withdraw(&mut self, course_id: Uuid, mother: usize, dates: &[NaiveDate]) {
        let last = dates.last().copied().unwrap_or(TODAY);
        let withdrawn_on = clock::add_days(last, self.rng.range(7, 21)).min(TODAY);
        let attended: Vec<(usize, NaiveDate)> = (1..).zip(dates.iter().copied()).collect();
        self.enrol(
            course_id,
            mother,
            EnrolmentStatus::Withdrawn,
            &attended,
            withdrawn_on,
        );
        let draft = &mut self.drafts[mother];
        if draft.certified_on.is_none() && !draft.in_training {
            draft.withdrawn_on = Some(withdrawn_on);
            let project = draft.project;
            self.returners[project].push(mother);
        }
    }

    /// This autumn's basic courses, still running on [`TODAY`]: partial attendance.
    fn running_courses(&mut self) {
        let (first, last) = start_window(TODAY.year(), true);
        let table: Vec<(usize, u32)> = self
            .projects
            .iter()
            .filter(|p| p.is_open() && clock::add_days(p.spec.started_on, 30) <= first)
            .map(|p| (p.index, p.spec.weight))
            .collect();
        for project in self.rng.weighted_distinct(&table, RUNNING_COURSES) {
            let start = clock::day_between(first, last, &mut self.rng);
            let plan = Plan {
                project,
                kind: CourseKind::Basic,
                name: format!("Grundkursus efterår {}", TODAY.year()),
                dates: module_dates(start, BASIC_MODULES),
                ceremony: None,
            };
            self.running_course(plan);
        }
    }

    fn running_course(&mut self, plan: Plan) {
        let course_id = self.course(&plan);
        let held: Vec<(usize, NaiveDate)> = (1..)
            .zip(plan.dates.iter().copied())
            .filter(|(_, d)| *d <= TODAY)
            .collect();
        let enrolled = self.rng.range(9, 14);
        for _ in 0..enrolled {
            let mother = self.new_mother(plan.project, plan.dates[0]);
            // Module 1 (the contract) always; later modules are missed now and then.
            let attended: Vec<(usize, NaiveDate)> = held
                .iter()
                .copied()
                .filter(|(n, _)| *n == 1 || !self.rng.chance(0.08))
                .collect();
            let last = attended.last().map_or(plan.dates[0], |(_, d)| *d);
            self.enrol(
                course_id,
                mother,
                EnrolmentStatus::Enrolled,
                &attended,
                last,
            );
            self.drafts[mother].in_training = true;
        }
        for _ in 0..self.rng.range(0, 2) {
            let mother = self.new_mother(plan.project, plan.dates[0]);
            let modules = self.rng.range(1, 4) as usize;
            self.withdraw(course_id, mother, &plan.dates[..modules]);
        }
    }

    /// Turns every draft into a mother row and returns when each one served, per project.
    fn settle_mothers(&mut self) -> Vec<Vec<Service>> {
        let mut service = vec![Vec::new(); self.projects.len()];
        let drafts = std::mem::take(&mut self.drafts);
        for (n, draft) in drafts.iter().enumerate() {
            let project = &self.projects[draft.project];
            let (status, left_on, stopped_on) = self.status_of(draft, project);
            if let (Some(cert), true) = (draft.certified_on, status != MotherStatus::Certified) {
                let until = left_on
                    .or(stopped_on)
                    .unwrap_or(TODAY)
                    .min(project.active_until);
                service[draft.project].push(Service {
                    mother_id: draft.id,
                    from: clock::add_days(cert, 7),
                    until,
                });
            }
            let last_change = [Some(draft.last_change), left_on, stopped_on]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(draft.joined_on);
            self.mother_row(draft, n as u32, status, left_on, last_change);
        }
        self.drafts = drafts;
        service
    }

    /// Status, `left_on`, and for an inactive mother the day she stopped.
    fn status_of(
        &mut self,
        draft: &Draft,
        project: &ProjectInfo,
    ) -> (MotherStatus, Option<NaiveDate>, Option<NaiveDate>) {
        if draft.in_training {
            return (MotherStatus::InTraining, None, None);
        }
        let Some(cert) = draft.certified_on else {
            return (MotherStatus::Left, draft.withdrawn_on, None);
        };
        let years = (TODAY - cert).num_days() as f64 / 365.25;
        let latest_leave = clock::add_days(TODAY, -30);
        let earliest_leave = clock::add_days(cert, 120);
        let leaves = earliest_leave < latest_leave && self.rng.chance(1.0 - 0.88f64.powf(years));
        let leave_on =
            leaves.then(|| clock::day_between(earliest_leave, latest_leave, &mut self.rng));
        match (project.spec.status, project.spec.stopped_on) {
            (ProjectStatus::Closed, Some(end)) => {
                let left = leave_on.map_or(end, |d| d.min(end)).max(draft.joined_on);
                (MotherStatus::Left, Some(left), None)
            }
            (ProjectStatus::Paused, Some(pause)) => match leave_on {
                Some(d) if d < pause => (MotherStatus::Left, Some(d), None),
                _ => (MotherStatus::Inactive, None, Some(pause)),
            },
            _ => match leave_on {
                Some(d) => (MotherStatus::Left, Some(d), None),
                None if years > 1.5 && self.rng.chance(0.15) => {
                    let since =
                        clock::day_between(clock::add_days(cert, 365), latest_leave, &mut self.rng);
                    (MotherStatus::Inactive, None, Some(since))
                }
                None if years < 0.6 && self.rng.chance(0.5) => {
                    (MotherStatus::Certified, None, None)
                }
                None => (MotherStatus::Active, None, None),
            },
        }
    }

    fn mother_row(
        &mut self,
        draft: &Draft,
        n: u32,
        status: MotherStatus,
        left_on: Option<NaiveDate>,
        last_change: NaiveDate,
    ) {
        let phone = self.rng.chance(0.85).then(|| names::fake_phone(0, n));
        let email = self
            .rng
            .chance(0.5)
            .then(|| names::fake_email(draft.first_name, draft.last_name, n));
        let updated_at = clock::office_hours(last_change, &mut self.rng).max(draft.created_at);
        self.out.mothers.push(mother::Model {
            id: draft.id,
            project_id: self.projects[draft.project].id,
            first_name: draft.first_name.to_owned(),
            last_name: draft.last_name.to_owned(),
            phone,
            email,
            status,
            joined_on: draft.joined_on,
            left_on,
            corps: entity::enums::Corps::Mother,
            created_at: draft.created_at,
            updated_at,
        });
        self.out
            .mother_languages
            .extend(draft.languages.iter().map(|l| mother_language::Model {
                mother_id: draft.id,
                language: (*l).to_owned(),
            }));
    }

    /// About one theme course a year from 2013, for the serving mothers of a bigger project.
    fn supplementary_courses(&mut self, service: &[Vec<Service>]) {
        for (n, year) in (2013..=TODAY.year()).enumerate() {
            let jan1 = clock::new_year(year);
            let start = clock::add_days(
                jan1,
                if year % 2 == 0 { 60 } else { 275 } + self.rng.range(0, 20),
            );
            let dates = module_dates(start, SUPPLEMENTARY_MODULES);
            let end = dates[SUPPLEMENTARY_MODULES - 1];
            let table: Vec<(usize, u32)> = self
                .projects
                .iter()
                .filter(|p| p.runs_on(end) && serving(&service[p.index], start, end).len() >= 6)
                .map(|p| (p.index, p.spec.weight))
                .collect();
            let Some(project) = self.rng.weighted(&table) else {
                continue;
            };
            let name = THEMES[n % THEMES.len()].to_owned();
            let plan = Plan {
                project,
                kind: CourseKind::Supplementary,
                name,
                dates,
                ceremony: Some(end),
            };
            let course_id = self.course(&plan);
            let mut pool = serving(&service[project], start, end);
            let attendees = pool.len().min(self.rng.range(6, 10) as usize);
            for _ in 0..attendees {
                let mother_id = pool.swap_remove(self.rng.index(pool.len()));
                self.theme_enrolment(course_id, mother_id, &plan);
            }
        }
    }

    fn theme_enrolment(&mut self, course_id: Uuid, mother_id: Uuid, plan: &Plan) {
        let Some(mother) = self.drafts.iter().position(|d| d.id == mother_id) else {
            return;
        };
        if self.rng.chance(0.88) {
            self.complete(course_id, mother, plan);
        } else {
            let modules = self.rng.range(1, 2) as usize;
            let last = plan.dates[modules - 1];
            let attended: Vec<(usize, NaiveDate)> =
                (1..).zip(plan.dates[..modules].iter().copied()).collect();
            self.enrol(
                course_id,
                mother,
                EnrolmentStatus::Withdrawn,
                &attended,
                clock::add_days(last, 7),
            );
        }
    }
}

/// Mothers serving throughout `from..=until`.
fn serving(service: &[Service], from: NaiveDate, until: NaiveDate) -> Vec<Uuid> {
    service
        .iter()
        .filter(|s| s.covers(from) && s.covers(until))
        .map(|s| s.mother_id)
        .collect()
}
