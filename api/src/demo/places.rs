//! Where the programme runs: municipalities (real official codes and regions), the
//! organisations (one per municipality with a project, plus fictional NGOs) and the projects.
//!
//! Invariants: a municipality organisation exists exactly for the municipalities that have a
//! project and is named `kommune-<code>`; every project's municipality is in the table; a
//! municipality-run project always has an NGO partner (outbound referrals from it go there,
//! since a municipality does not refer to itself).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use entity::enums::{OrganisationKind, PartnerRole, ProjectStatus};
use entity::{municipality, organisation, project, project_partner};
use uuid::Uuid;

use super::clock::{self, TODAY, ymd};
use super::rng::Rng;

const HOVEDSTADEN: &str = "Region Hovedstaden";
const SJAELLAND: &str = "Region Sjælland";
const SYDDANMARK: &str = "Region Syddanmark";
const MIDTJYLLAND: &str = "Region Midtjylland";
const NORDJYLLAND: &str = "Region Nordjylland";

/// Official municipality codes, names and regions (Danmarks Statistik / DAGI).
pub const MUNICIPALITIES: &[(i32, &str, &str)] = &[
    (101, "København", HOVEDSTADEN),
    (147, "Frederiksberg", HOVEDSTADEN),
    (151, "Ballerup", HOVEDSTADEN),
    (153, "Brøndby", HOVEDSTADEN),
    (159, "Gladsaxe", HOVEDSTADEN),
    (167, "Hvidovre", HOVEDSTADEN),
    (169, "Høje-Taastrup", HOVEDSTADEN),
    (175, "Rødovre", HOVEDSTADEN),
    (183, "Ishøj", HOVEDSTADEN),
    (217, "Helsingør", HOVEDSTADEN),
    (265, "Roskilde", SJAELLAND),
    (316, "Holbæk", SJAELLAND),
    (330, "Slagelse", SJAELLAND),
    (370, "Næstved", SJAELLAND),
    (461, "Odense", SYDDANMARK),
    (540, "Sønderborg", SYDDANMARK),
    (561, "Esbjerg", SYDDANMARK),
    (621, "Kolding", SYDDANMARK),
    (630, "Vejle", SYDDANMARK),
    (615, "Horsens", MIDTJYLLAND),
    (657, "Herning", MIDTJYLLAND),
    (730, "Randers", MIDTJYLLAND),
    (751, "Aarhus", MIDTJYLLAND),
    (791, "Viborg", MIDTJYLLAND),
    (851, "Aalborg", NORDJYLLAND),
];

/// Fictional partner NGOs: (short name, name, founded).
pub const NGOS: &[(&str, &str, NaiveDate)] = &[
    ("ngo-brobyggerne", "Foreningen Brobyggerne", ymd(2006, 3, 1)),
    ("ngo-faellesskabshuset", "Fællesskabshuset", ymd(2007, 5, 1)),
    (
        "ngo-kvindenetvaerket-nord",
        "Kvindenetværket Nord",
        ymd(2007, 6, 1),
    ),
    (
        "ngo-moedrenetvaerket-syd",
        "Mødrenetværket Syd",
        ymd(2007, 9, 1),
    ),
];

/// Projects started before this were pilots that the secretariat helped fund.
const PILOT_ERA_END: NaiveDate = ymd(2010, 1, 1);
/// Projects started after this have the secretariat as a partner (advice, training).
const LATER_PROJECTS: NaiveDate = ymd(2015, 1, 1);

const BROBYGGERNE: usize = 0;
const FAELLESSKABSHUSET: usize = 1;
const KVINDENETVAERKET: usize = 2;
const MOEDRENETVAERKET: usize = 3;

/// Who runs a project: the municipality itself, or an NGO (index into [`NGOS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Municipality { partner_ngo: usize },
    Ngo(usize),
}

/// One project of the table below.
#[derive(Debug)]
pub struct ProjectSpec {
    pub name: &'static str,
    pub code: i32,
    pub operator: Operator,
    pub status: ProjectStatus,
    pub started_on: NaiveDate,
    /// Closed: the end date; paused: the day work stopped.
    pub stopped_on: Option<NaiveDate>,
    /// Relative size (share of courses and visits); the big city estates are bigger.
    pub weight: u32,
    /// Neighbourhoods the project works in (participants' `district`).
    pub districts: &'static [&'static str],
}

const fn spec(
    name: &'static str,
    code: i32,
    operator: Operator,
    started_on: NaiveDate,
    weight: u32,
    districts: &'static [&'static str],
) -> ProjectSpec {
    ProjectSpec {
        name,
        code,
        operator,
        status: ProjectStatus::Active,
        started_on,
        stopped_on: None,
        weight,
        districts,
    }
}

const fn stopped(mut project: ProjectSpec, status: ProjectStatus, on: NaiveDate) -> ProjectSpec {
    project.status = status;
    project.stopped_on = Some(on);
    project
}

const fn planned(mut project: ProjectSpec) -> ProjectSpec {
    project.status = ProjectStatus::Planned;
    project
}

const fn kommune(partner_ngo: usize) -> Operator {
    Operator::Municipality { partner_ngo }
}

/// The 21 projects of the 2007–2011 programme, one started since, and one being planned.
#[rustfmt::skip]
pub const PROJECTS: &[ProjectSpec] = &[
    spec("Bydelsmødre Nørrebro", 101, Operator::Ngo(BROBYGGERNE), ymd(2007, 9, 1), 10, &["Mjølnerparken", "Lundtoftegade", "Nørrebroparken"]),
    spec("Bydelsmødre Gellerup", 751, Operator::Ngo(KVINDENETVAERKET), ymd(2007, 11, 1), 10, &["Gellerup", "Toveshøj"]),
    spec("Bydelsmødre Ishøj", 183, kommune(FAELLESSKABSHUSET), ymd(2008, 1, 15), 5, &["Vejleåparken", "Ishøj Strand"]),
    spec("Bydelsmødre Vollsmose", 461, Operator::Ngo(MOEDRENETVAERKET), ymd(2008, 2, 1), 8, &["Vollsmose", "Bøgeparken", "Egeparken"]),
    spec("Bydelsmødre Tingbjerg", 101, Operator::Ngo(BROBYGGERNE), ymd(2008, 3, 1), 7, &["Tingbjerg", "Husum"]),
    spec("Bydelsmødre Brøndby Strand", 153, Operator::Ngo(FAELLESSKABSHUSET), ymd(2009, 1, 15), 5, &["Brøndby Strand", "Brøndbyøster"]),
    spec("Bydelsmødre Frederiksberg", 147, kommune(BROBYGGERNE), ymd(2009, 2, 1), 4, &["Frederiksberg Nord", "Solbjerg"]),
    spec("Bydelsmødre Randers", 730, Operator::Ngo(KVINDENETVAERKET), ymd(2009, 3, 1), 5, &["Vestbyen", "Paderup"]),
    spec("Bydelsmødre Amager", 101, Operator::Ngo(FAELLESSKABSHUSET), ymd(2009, 8, 15), 7, &["Urbanplanen", "Hørgården"]),
    stopped(spec("Bydelsmødre Sydhavnen", 101, kommune(FAELLESSKABSHUSET), ymd(2010, 9, 1), 5, &["Sjælør", "Sydhavnen"]), ProjectStatus::Paused, ymd(2024, 6, 30)),
    spec("Bydelsmødre Gadehavegård", 169, Operator::Ngo(BROBYGGERNE), ymd(2010, 1, 15), 4, &["Gadehavegård", "Taastrupgård"]),
    spec("Bydelsmødre Aalborg Øst", 851, Operator::Ngo(KVINDENETVAERKET), ymd(2010, 1, 15), 5, &["Aalborg Øst", "Kildeparken"]),
    spec("Bydelsmødre Slagelse", 330, Operator::Ngo(FAELLESSKABSHUSET), ymd(2010, 2, 1), 4, &["Ringparken", "Motalavej"]),
    spec("Bydelsmødre Bispehaven", 751, Operator::Ngo(KVINDENETVAERKET), ymd(2010, 8, 15), 4, &["Bispehaven", "Hasle"]),
    spec("Bydelsmødre Helsingør", 217, Operator::Ngo(FAELLESSKABSHUSET), ymd(2011, 1, 15), 3, &["Vapnagård", "Nøjsomhed"]),
    spec("Bydelsmødre Kolding", 621, Operator::Ngo(MOEDRENETVAERKET), ymd(2011, 1, 15), 3, &["Skovparken", "Munkebo"]),
    spec("Bydelsmødre Bispebjerg", 101, Operator::Ngo(BROBYGGERNE), ymd(2011, 2, 1), 5, &["Bispeparken", "Lundehusvej"]),
    stopped(spec("Bydelsmødre Avedøre", 167, kommune(FAELLESSKABSHUSET), ymd(2011, 3, 1), 3, &["Avedøre Stationsby", "Friheden"]), ProjectStatus::Closed, ymd(2016, 12, 31)),
    spec("Bydelsmødre Gladsaxe", 159, Operator::Ngo(FAELLESSKABSHUSET), ymd(2011, 8, 1), 3, &["Værebro Park", "Høje Gladsaxe"]),
    stopped(spec("Bydelsmødre Holbæk", 316, kommune(FAELLESSKABSHUSET), ymd(2011, 9, 1), 2, &["Vangen", "Ladegårdsparken"]), ProjectStatus::Closed, ymd(2019, 6, 30)),
    spec("Bydelsmødre Esbjerg", 561, kommune(MOEDRENETVAERKET), ymd(2011, 9, 15), 3, &["Stengårdsvej", "Kvaglund"]),
    spec("Bydelsmødre Vejle", 630, Operator::Ngo(MOEDRENETVAERKET), ymd(2016, 2, 1), 3, &["Finlandsparken", "Nørremarken"]),
    planned(spec("Bydelsmødre Viborg", 791, Operator::Ngo(KVINDENETVAERKET), ymd(2027, 2, 1), 0, &["Houlkær"])),
];

/// A project as the rest of the generator sees it: its row plus what it needs to know.
#[derive(Debug, Clone)]
pub struct ProjectInfo {
    pub index: usize,
    pub id: Uuid,
    pub spec: &'static ProjectSpec,
    pub operator_id: Uuid,
    /// The organisation of the project's municipality.
    pub municipality_org_id: Uuid,
    /// Set for municipality-run projects: where their outbound referrals go instead.
    pub partner_ngo_id: Option<Uuid>,
    /// Last day of activity: the stop date of a closed or paused project, else [`TODAY`].
    pub active_until: NaiveDate,
}

impl ProjectInfo {
    pub fn is_ngo_run(&self) -> bool {
        matches!(self.spec.operator, Operator::Ngo(_))
    }

    pub fn is_open(&self) -> bool {
        self.spec.status == ProjectStatus::Active
    }

    pub fn runs_on(&self, date: NaiveDate) -> bool {
        self.spec.started_on <= date && date <= self.active_until
    }
}

/// Everything this module produces.
#[derive(Debug, Clone, PartialEq)]
pub struct Places {
    pub municipalities: Vec<municipality::Model>,
    pub organisations: Vec<organisation::Model>,
    pub projects: Vec<project::Model>,
    pub partners: Vec<project_partner::Model>,
}

pub fn build(secretariat_id: Uuid) -> (Places, Vec<ProjectInfo>) {
    let mut rng = Rng::stream("places");
    let ngo_orgs: Vec<organisation::Model> = NGOS
        .iter()
        .map(|(short, name, founded)| {
            let at = clock::office_hours(*founded, &mut rng);
            organisation(&mut rng, short, name, OrganisationKind::Ngo, None, at)
        })
        .collect();
    let municipal_orgs = municipality_organisations(&mut rng);
    let infos: Vec<ProjectInfo> = PROJECTS
        .iter()
        .enumerate()
        .map(|(index, spec)| project_info(&mut rng, index, spec, &ngo_orgs, &municipal_orgs))
        .collect();
    let projects = infos.iter().map(|p| project_row(&mut rng, p)).collect();
    let partners = infos
        .iter()
        .flat_map(|p| partner_rows(p, secretariat_id))
        .collect();
    let places = Places {
        municipalities: MUNICIPALITIES
            .iter()
            .map(|(code, name, region)| municipality::Model {
                code: *code,
                name: (*name).to_owned(),
                region: (*region).to_owned(),
            })
            .collect(),
        organisations: ngo_orgs.into_iter().chain(municipal_orgs).collect(),
        projects,
        partners,
    };
    (places, infos)
}

fn organisation(
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

/// One organisation per municipality that has a project, created a month before its first one.
fn municipality_organisations(rng: &mut Rng) -> Vec<organisation::Model> {
    MUNICIPALITIES
        .iter()
        .filter_map(|(code, name, _)| {
            let first = PROJECTS
                .iter()
                .filter(|p| p.code == *code)
                .map(|p| p.started_on)
                .min()?;
            let at = clock::office_hours(set_up_before(first), rng);
            let org_name = municipality_organisation_name(name);
            Some(organisation(
                rng,
                &format!("kommune-{code}"),
                &org_name,
                OrganisationKind::Municipality,
                Some(*code),
                at,
            ))
        })
        .collect()
}

/// Organisations and projects are registered a month before work starts, and a planned
/// project some weeks before "today" (never in the future).
fn set_up_before(start: NaiveDate) -> NaiveDate {
    clock::add_days(start, -30).min(clock::add_days(TODAY, -50))
}

/// "Københavns Kommune" takes the genitive; the others are "<name> Kommune".
fn municipality_organisation_name(name: &str) -> String {
    if name == "København" {
        "Københavns Kommune".to_owned()
    } else {
        format!("{name} Kommune")
    }
}

fn project_info(
    rng: &mut Rng,
    index: usize,
    spec: &'static ProjectSpec,
    ngos: &[organisation::Model],
    municipal: &[organisation::Model],
) -> ProjectInfo {
    let municipality_org_id = municipal
        .iter()
        .find(|o| o.municipality_code == Some(spec.code))
        .map(|o| o.id)
        .unwrap_or_default();
    let ngo_id = |i: usize| ngos.get(i).map(|o| o.id).unwrap_or_default();
    let (operator_id, partner_ngo_id) = match spec.operator {
        Operator::Ngo(i) => (ngo_id(i), None),
        Operator::Municipality { partner_ngo } => (municipality_org_id, Some(ngo_id(partner_ngo))),
    };
    let created_at = clock::office_hours(set_up_before(spec.started_on), rng);
    ProjectInfo {
        index,
        id: rng.uuid_at(created_at),
        spec,
        operator_id,
        municipality_org_id,
        partner_ngo_id,
        active_until: spec.stopped_on.unwrap_or(TODAY).min(TODAY),
    }
}

fn project_row(rng: &mut Rng, p: &ProjectInfo) -> project::Model {
    let created_at = created_at_of(p);
    let updated_at = match p.spec.stopped_on {
        Some(day) => clock::office_hours(day, rng),
        None => created_at,
    };
    project::Model {
        id: p.id,
        name: p.spec.name.to_owned(),
        municipality_code: p.spec.code,
        operator_organisation_id: p.operator_id,
        status: p.spec.status,
        started_on: p.spec.started_on,
        ended_on: (p.spec.status == ProjectStatus::Closed)
            .then_some(p.spec.stopped_on)
            .flatten(),
        corps: entity::enums::ProjectCorps::Mothers,
        created_at,
        updated_at,
    }
}

/// The project's creation time is encoded in its UUIDv7; reading it back keeps one source.
fn created_at_of(p: &ProjectInfo) -> DateTime<Utc> {
    p.id.get_timestamp()
        .map(|t| t.to_unix())
        .and_then(|(secs, nanos)| DateTime::from_timestamp(secs as i64, nanos))
        .unwrap_or_default()
}

/// The municipality co-funds NGO-run projects (a partner for the later ones); a
/// municipality-run project works with an NGO partner; the secretariat funded the pilots.
fn partner_rows(p: &ProjectInfo, secretariat_id: Uuid) -> Vec<project_partner::Model> {
    let created_at = created_at_of(p);
    let row = |organisation_id, role| project_partner::Model {
        project_id: p.id,
        organisation_id,
        role,
        created_at,
    };
    let mut rows = Vec::new();
    match p.partner_ngo_id {
        Some(ngo) => rows.push(row(ngo, PartnerRole::Partner)),
        None => {
            let role = if p.spec.started_on.year() < 2011 || p.spec.weight >= 5 {
                PartnerRole::Funder
            } else {
                PartnerRole::Partner
            };
            rows.push(row(p.municipality_org_id, role));
        }
    }
    if p.spec.started_on < PILOT_ERA_END {
        rows.push(row(secretariat_id, PartnerRole::Funder));
    } else if p.spec.started_on > LATER_PROJECTS {
        rows.push(row(secretariat_id, PartnerRole::Partner));
    }
    rows
}
