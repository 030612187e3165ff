//! Volunteer hours entries, as a project records them: training (course modules actually
//! attended), meetings, other time (preparation, administration), and the group's own
//! activity that no visit records (a stand at a neighbourhood festival).
//!
//! Invariants: a mother's activity is her visits, counted by `stats.volunteerHours` from the
//! visits themselves, so no entry naming a mother is ACTIVITY (the demo never counts a visit
//! twice); every entry lies within its project's running period and, when it names a mother,
//! while she served (meetings, other) or on a module she attended (training); group entries
//! carry no mother. Every entry passes the rules of a real write
//! (`hours::write::HoursValues::problems`), an entry that would not is left out.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use entity::enums::HoursKind;
use entity::volunteer_hours;
use uuid::Uuid;

use super::clock::{self, TODAY};
use super::places::ProjectInfo;
use super::rng::Rng;
use super::training::{Service, Training};
use crate::hours::write::HoursValues;

/// Sampled entries of serving mothers per project and year, by kind: (kind, entries, minutes
/// in 15-minute steps). No ACTIVITY: a mother's activity is her recorded visits.
const PER_YEAR: &[(HoursKind, usize, (i64, i64))] = &[
    (HoursKind::Meeting, 4, (6, 10)),
    (HoursKind::Other, 4, (2, 8)),
];
const GROUP_ACTIVITIES_PER_YEAR: usize = 2;
const TRAINING_SESSIONS_PER_YEAR: usize = 6;

/// (mother, date) of attended course modules, per (project, year).
type Sessions = BTreeMap<(usize, i32), Vec<(Uuid, NaiveDate)>>;

pub fn build(
    projects: &[ProjectInfo],
    service: &[Vec<Service>],
    training: &Training,
) -> Vec<volunteer_hours::Model> {
    let mut rng = Rng::stream("hours");
    let sessions = sessions(projects, training);
    let mut rows = Vec::new();
    for project in projects {
        for year in project.spec.started_on.year()..=TODAY.year() {
            let from = clock::new_year(year).max(project.spec.started_on);
            let until = clock::new_year(year + 1)
                .pred_opt()
                .unwrap_or(TODAY)
                .min(project.active_until);
            if from > until {
                continue;
            }
            served_entries(
                project,
                &service[project.index],
                from,
                until,
                &mut rng,
                &mut rows,
            );
            if let Some(list) = sessions.get(&(project.index, year)) {
                for _ in 0..TRAINING_SESSIONS_PER_YEAR {
                    if let Some((mother, day)) = rng.pick(list).copied() {
                        let minutes = rng.range(10, 12) * 15;
                        rows.extend(row(
                            project,
                            Some(mother),
                            HoursKind::Training,
                            day,
                            minutes,
                            &mut rng,
                        ));
                    }
                }
            }
        }
    }
    rows
}

/// Meetings and other time of serving mothers, and the group's own activities.
fn served_entries(
    project: &ProjectInfo,
    service: &[Service],
    from: NaiveDate,
    until: NaiveDate,
    rng: &mut Rng,
    rows: &mut Vec<volunteer_hours::Model>,
) {
    if !service.iter().any(|s| s.overlaps(from, until)) {
        return;
    }
    for (kind, entries, (lo, hi)) in PER_YEAR {
        for _ in 0..*entries {
            let day = clock::day_between(from, until, rng);
            let serving: Vec<&Service> = service.iter().filter(|s| s.covers(day)).collect();
            if let Some(mother) = rng.pick(&serving) {
                let minutes = rng.range(*lo, *hi) * 15;
                rows.extend(row(
                    project,
                    Some(mother.mother_id),
                    *kind,
                    day,
                    minutes,
                    rng,
                ));
            }
        }
    }
    for _ in 0..GROUP_ACTIVITIES_PER_YEAR {
        let day = clock::day_between(from, until, rng);
        let minutes = rng.range(8, 16) * 15;
        rows.extend(row(project, None, HoursKind::Activity, day, minutes, rng));
    }
}

/// The entry, if a real write would take it (always, as sampled; the check keeps it so).
fn row(
    project: &ProjectInfo,
    mother_id: Option<Uuid>,
    kind: HoursKind,
    worked_on: NaiveDate,
    minutes: i64,
    rng: &mut Rng,
) -> Option<volunteer_hours::Model> {
    let created_at = clock::evening(worked_on, rng);
    let id = rng.uuid_at(created_at);
    let values = HoursValues {
        mother_id,
        kind,
        worked_on,
        minutes: i32::try_from(minutes).ok()?,
    };
    if !values.problems(TODAY).is_empty() {
        return None;
    }
    Some(volunteer_hours::Model {
        id,
        project_id: project.id,
        mother_id,
        kind,
        worked_on,
        minutes: values.minutes,
        created_at,
        updated_at: created_at,
    })
}

fn sessions(projects: &[ProjectInfo], training: &Training) -> Sessions {
    let project_of: HashMap<Uuid, usize> = projects.iter().map(|p| (p.id, p.index)).collect();
    let course_project: HashMap<Uuid, usize> = training
        .courses
        .iter()
        .filter_map(|c| Some((c.id, *project_of.get(&c.project_id)?)))
        .collect();
    let enrolment: HashMap<Uuid, (Uuid, usize)> = training
        .enrolments
        .iter()
        .filter_map(|e| Some((e.id, (e.mother_id, *course_project.get(&e.course_id)?))))
        .collect();
    let mut out = Sessions::new();
    for a in &training.attendance {
        if let Some((mother, project)) = enrolment.get(&a.enrolment_id) {
            out.entry((*project, a.attended_on.year()))
                .or_default()
                .push((*mother, a.attended_on));
        }
    }
    out
}
