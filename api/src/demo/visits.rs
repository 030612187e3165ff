//! Visits: the mothers' registered activity, month by month, with seasonality (a quiet July
//! and December) and topics drawn mostly from the 2012 evaluation's list.
//!
//! Invariants: every visit is made by a mother of the visit's project while she serves (after
//! her diploma, before she stopped); visits are anonymous here (the referral part later links
//! the few that a referral came out of); exactly [`MAY_2012_VISITS`] visits fall in May 2012.
//!
//! The data set holds a *sample* of the visits, to stay at a few thousand rows: spring 2012
//! (the evaluation's registration period) is complete, the years before at a tenth, and later
//! years at a few per cent, rising once the projects register through Bydel ([`BYDEL_ERA`]).

use chrono::{Datelike, NaiveDate};
use entity::enums::{ContactOrigin, NextStep, VisitChannel, VisitTopic};
use entity::{visit, visit_topic};

use super::clock::{self, TODAY, ymd};
use super::places::ProjectInfo;
use super::rng::Rng;
use super::training::Service;

/// The published figure: visits made in May 2012 (evaluation 2012, p. 32).
pub const MAY_2012_VISITS: usize = 265;
const MAY_2012: NaiveDate = ymd(2012, 5, 1);
/// Visits a serving mother makes in an average month (265 visits by ~105 mothers in May 2012).
const VISITS_PER_MOTHER_MONTH: f64 = 2.5;
/// Relative activity per calendar month: summer holidays and December are quiet.
pub(super) const SEASON: [f64; 12] = [
    0.9, 1.0, 1.1, 1.0, 1.05, 0.95, 0.45, 0.8, 1.1, 1.1, 1.05, 0.7,
];

/// The 2012 evaluation's registration period (until: exclusive): every visit is in the set.
pub const EVALUATION_FROM: NaiveDate = ymd(2012, 3, 1);
pub const EVALUATION_UNTIL: NaiveDate = ymd(2012, 7, 1);
/// The first projects' mothers were certified in 2008.
const FIRST_MONTH: NaiveDate = ymd(2008, 1, 1);
/// A first group of projects tries registering through Bydel.
const BYDEL_PILOT: NaiveDate = ymd(2024, 1, 1);
/// From here on the projects register their visits through Bydel: a larger share is kept.
pub const BYDEL_ERA: NaiveDate = ymd(2025, 1, 1);

/// Which share of the visits made in a month the data set registers (see the module doc).
fn registered_share(month: NaiveDate) -> f64 {
    if month < EVALUATION_FROM {
        0.10
    } else if month < EVALUATION_UNTIL {
        1.0
    } else if month < BYDEL_PILOT {
        0.015
    } else if month < BYDEL_ERA {
        0.05
    } else {
        0.15
    }
}

pub(super) const CHANNELS: &[(VisitChannel, u32)] = &[
    (VisitChannel::HomeVisit, 55),
    (VisitChannel::PhoneCall, 20),
    (VisitChannel::GroupEvent, 13),
    (VisitChannel::Accompaniment, 12),
];

pub(super) const ORIGINS: &[(ContactOrigin, u32)] = &[
    (ContactOrigin::MotherNetwork, 40),
    (ContactOrigin::Outreach, 18),
    (ContactOrigin::Event, 12),
    (ContactOrigin::SelfReferred, 12),
    (ContactOrigin::MunicipalityReferral, 12),
    (ContactOrigin::OtherOrganisation, 6),
];

pub(super) const GROUP_ORIGINS: &[(ContactOrigin, u32)] = &[
    (ContactOrigin::Event, 50),
    (ContactOrigin::MotherNetwork, 25),
    (ContactOrigin::Outreach, 25),
];

/// `Referral` is absent on purpose: only visits with a referral row get it.
pub(super) const NEXT_STEPS: &[(NextStep, u32)] = &[
    (NextStep::None, 32),
    (NextStep::FollowUpVisit, 38),
    (NextStep::Accompaniment, 9),
    (NextStep::GroupActivity, 14),
    (NextStep::Other, 7),
];

/// The evaluation's topics (children, health, municipality, school, economy, loneliness)
/// dominate; the others occur.
pub(super) const TOPICS: &[(VisitTopic, u32)] = &[
    (VisitTopic::Children, 25),
    (VisitTopic::Health, 18),
    (VisitTopic::MunicipalityContact, 14),
    (VisitTopic::School, 12),
    (VisitTopic::Loneliness, 12),
    (VisitTopic::Economy, 10),
    (VisitTopic::EducationWork, 6),
    (VisitTopic::Language, 5),
    (VisitTopic::Housing, 4),
    (VisitTopic::Other, 2),
];

pub(super) const GROUP_NOTES: &[&str] = &[
    "Kvindecafé i beboerhuset",
    "Fællesspisning",
    "Temaeftermiddag om sundhed",
    "Temaeftermiddag om skole-hjem-samarbejde",
    "Udflugt med børnene",
    "Informationsmøde om dagtilbud",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Visits {
    pub visits: Vec<visit::Model>,
    pub topics: Vec<visit_topic::Model>,
}

pub fn build(projects: &[ProjectInfo], service: &[Vec<Service>]) -> Visits {
    let mut rng = Rng::stream("visits");
    let mut out = Visits {
        visits: Vec::new(),
        topics: Vec::new(),
    };
    for month in clock::months(FIRST_MONTH, TODAY) {
        let until = clock::end_of_month(month).min(TODAY);
        let active: Vec<Vec<Service>> = projects
            .iter()
            .map(|p| {
                service[p.index]
                    .iter()
                    .filter(|s| s.overlaps(month, until))
                    .copied()
                    .collect()
            })
            .collect();
        let expected: Vec<f64> = active
            .iter()
            .map(|a| expected_visits(month, a.len()))
            .collect();
        let counts: Vec<usize> = if month == MAY_2012 {
            apportion(MAY_2012_VISITS, &expected)
        } else {
            expected.iter().map(|e| rng.round(*e) as usize).collect()
        };
        for (project, (mothers, count)) in projects.iter().zip(active.iter().zip(counts)) {
            for _ in 0..count {
                let Some(mother) = rng.pick(mothers) else {
                    break;
                };
                let day = visit_day(mother, month, until, &mut rng);
                push_visit(&mut out, project, mother, day, &mut rng);
            }
        }
    }
    out
}

fn expected_visits(month: NaiveDate, mothers: usize) -> f64 {
    let season = SEASON[month.month0() as usize];
    VISITS_PER_MOTHER_MONTH * mothers as f64 * season * registered_share(month)
}

/// Splits `total` in proportion to `weights` (largest remainder), so the parts add up exactly.
pub fn apportion(total: usize, weights: &[f64]) -> Vec<usize> {
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let quotas: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut counts: Vec<usize> = quotas.iter().map(|q| q.floor() as usize).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|a, b| {
        let frac = |i: usize| quotas[i] - quotas[i].floor();
        frac(*b).total_cmp(&frac(*a)).then(a.cmp(b))
    });
    let missing = total.saturating_sub(counts.iter().sum());
    for i in order.into_iter().take(missing) {
        counts[i] += 1;
    }
    counts
}

/// A day in the month while the mother serves; weekends are less likely.
fn visit_day(mother: &Service, month: NaiveDate, until: NaiveDate, rng: &mut Rng) -> NaiveDate {
    let from = month.max(mother.from);
    let to = until.min(mother.until);
    let day = clock::day_between(from, to, rng);
    if clock::is_weekend(day) && rng.chance(0.6) {
        clock::day_between(from, to, rng)
    } else {
        day
    }
}

fn push_visit(
    out: &mut Visits,
    project: &ProjectInfo,
    mother: &Service,
    visited_on: NaiveDate,
    rng: &mut Rng,
) {
    let channel = rng.weighted(CHANNELS).unwrap_or(VisitChannel::HomeVisit);
    let group = channel == VisitChannel::GroupEvent;
    let created_at = clock::evening(visited_on, rng);
    let id = rng.uuid_at(created_at);
    out.visits.push(visit::Model {
        id,
        project_id: project.id,
        mother_id: mother.mother_id,
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
    out.topics.extend(
        topics(channel, rng)
            .into_iter()
            .map(|topic| visit_topic::Model {
                visit_id: id,
                topic,
            }),
    );
}

/// Realistic lengths: calls are short, group events and accompaniments long.
pub(super) fn duration(channel: VisitChannel, rng: &mut Rng) -> i32 {
    let minutes = match channel {
        VisitChannel::HomeVisit => rng.range(3, 8) * 15,
        VisitChannel::PhoneCall => rng.range(2, 8) * 5,
        VisitChannel::GroupEvent => rng.range(6, 12) * 15,
        VisitChannel::Accompaniment => rng.range(4, 12) * 15,
    };
    minutes as i32
}

/// One to three distinct topics; an accompaniment is about the authority she was taken to.
pub(super) fn topics(channel: VisitChannel, rng: &mut Rng) -> Vec<VisitTopic> {
    let count = rng.weighted(&[(1, 45), (2, 38), (3, 17)]).unwrap_or(1);
    if channel != VisitChannel::Accompaniment {
        return rng.weighted_distinct(TOPICS, count);
    }
    let first = if rng.chance(0.6) {
        VisitTopic::MunicipalityContact
    } else {
        VisitTopic::Health
    };
    let rest: Vec<(VisitTopic, u32)> = TOPICS
        .iter()
        .copied()
        .filter(|(t, _)| *t != first)
        .collect();
    let mut chosen = vec![first];
    chosen.extend(rng.weighted_distinct(&rest, count - 1));
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_adds_up_exactly() {
        let parts = apportion(265, &[3.0, 1.0, 1.0, 0.0, 2.5]);
        assert_eq!(parts.iter().sum::<usize>(), 265);
        assert_eq!(parts[3], 0);
    }
}
