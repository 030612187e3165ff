//! The demo's service directory: a handful of realistic Danish services a mother tells a
//! woman about (sundhedsplejen, jobcenter, borgerservice, sprogcenter, familierådgivning,
//! gældsrådgivning) in København and Aarhus, with addresses, weekly opening hours and
//! contact points of the organisations (never a person).
//!
//! Invariants: deterministic like the rest of the data set (ids from the `directory` stream,
//! timestamps from the demo calendar); every row passes the API's own checks
//! ([`crate::directory::write`]), which a unit test asserts, so the demo shows nothing a
//! partner could not have written through `createService`.

use entity::{
    enums::{ReferralDirection, ServiceCategory, ServiceStatus},
    opening_hours, organisation, referral, service, service_area, service_contact,
    service_language, service_location,
};

use super::{
    clock::{self, ymd},
    rng::Rng,
};

/// A location: name, street, postcode, city, municipality code, opening hours
/// (ISO weekday, opens, closes) and notes.
struct LocationSpec {
    name: &'static str,
    street: &'static str,
    postcode: &'static str,
    city: &'static str,
    code: i32,
    hours: &'static [(i32, &'static str, &'static str)],
    notes: Option<&'static str>,
}

/// A contact point: role or department, phone, e-mail, website.
struct ContactSpec {
    name: &'static str,
    phone: Option<&'static str>,
    email: Option<&'static str>,
    website: Option<&'static str>,
}

struct ServiceSpec {
    provider: &'static str,
    name: &'static str,
    category: ServiceCategory,
    description: &'static str,
    languages: &'static [&'static str],
    areas: &'static [i32],
    locations: &'static [LocationSpec],
    contacts: &'static [ContactSpec],
}

/// Monday to Friday, the same hours.
const fn weekdays(
    opens: &'static str,
    closes: &'static str,
) -> [(i32, &'static str, &'static str); 5] {
    [
        (1, opens, closes),
        (2, opens, closes),
        (3, opens, closes),
        (4, opens, closes),
        (5, opens, closes),
    ]
}

const OFFICE: [(i32, &str, &str); 5] = weekdays("09:00", "15:00");
const EARLY: [(i32, &str, &str); 5] = weekdays("08:00", "14:00");

const SERVICES: &[ServiceSpec] = &[
    ServiceSpec {
        provider: "kommune-101",
        name: "Sundhedsplejen København",
        category: ServiceCategory::HealthVisitor,
        description: "Sundhedsplejersker følger børn fra fødslen til skolestart: hjemmebesøg, \
                      vejning, amning, søvn og trivsel. Gratis for alle familier.",
        languages: &["da", "en", "ar", "so", "ur"],
        areas: &[101],
        locations: &[LocationSpec {
            name: "Sundhedsplejen Nørrebro",
            street: "Nørrebrogade 208",
            postcode: "2200",
            city: "København N",
            code: 101,
            hours: &EARLY,
            notes: Some("Åben konsultation onsdag 13–15 uden tidsbestilling."),
        }],
        contacts: &[ContactSpec {
            name: "Sundhedsplejen, tidsbestilling",
            phone: Some("+45 33 17 00 10"),
            email: Some("sundhedsplejen@kk.dk"),
            website: Some("https://www.kk.dk/sundhedspleje"),
        }],
    },
    ServiceSpec {
        provider: "kommune-101",
        name: "Jobcenter København",
        category: ServiceCategory::JobCentre,
        description: "Hjælp til job, uddannelse og praktik; samtaler om kontanthjælp og \
                      integrationsydelse.",
        languages: &["da", "en", "ar"],
        areas: &[101],
        locations: &[LocationSpec {
            name: "Jobcenter København, Nørrebro",
            street: "Nørrebrogade 150",
            postcode: "2200",
            city: "København N",
            code: 101,
            hours: &[
                (1, "09:00", "15:00"),
                (2, "09:00", "15:00"),
                (3, "09:00", "15:00"),
                (4, "09:00", "17:00"),
                (5, "09:00", "13:00"),
            ],
            notes: Some("Møder efter aftale; tag NemID/MitID og opholdskort med."),
        }],
        contacts: &[ContactSpec {
            name: "Jobcenter, borgerhenvendelser",
            phone: Some("+45 33 17 00 20"),
            email: None,
            website: Some("https://www.kk.dk/jobcenter"),
        }],
    },
    ServiceSpec {
        provider: "kommune-101",
        name: "Borgerservice København",
        category: ServiceCategory::CitizenService,
        description: "Pas, kørekort, sundhedskort, flytning, NemID/MitID og digital post. \
                      Hjælp til at bruge de offentlige selvbetjeningsløsninger.",
        languages: &["da", "en"],
        areas: &[101],
        locations: &[LocationSpec {
            name: "Borgerservice Rådhuset",
            street: "Rådhuspladsen 1",
            postcode: "1550",
            city: "København V",
            code: 101,
            hours: &[
                (1, "10:00", "15:00"),
                (2, "10:00", "15:00"),
                (3, "10:00", "15:00"),
                (4, "10:00", "17:30"),
                (5, "10:00", "14:00"),
            ],
            notes: Some("Bestil tid på forhånd. Lukket på helligdage."),
        }],
        contacts: &[ContactSpec {
            name: "Borgerservice",
            phone: Some("+45 33 66 00 30"),
            email: None,
            website: Some("https://www.kk.dk/borgerservice"),
        }],
    },
    ServiceSpec {
        provider: "kommune-101",
        name: "Familierådgivningen København",
        category: ServiceCategory::FamilyCounselling,
        description: "Anonym og gratis rådgivning til forældre om opdragelse, skilsmisse, \
                      konflikter og bekymring for et barn.",
        languages: &["da", "ar", "tr"],
        areas: &[101],
        locations: &[LocationSpec {
            name: "Familiehuset Nørrebro",
            street: "Blågårds Plads 4",
            postcode: "2200",
            city: "København N",
            code: 101,
            hours: &[(2, "12:00", "18:00"), (4, "12:00", "18:00")],
            notes: Some("Ring først; tolk kan bestilles."),
        }],
        contacts: &[ContactSpec {
            name: "Familierådgivningen, telefontid",
            phone: Some("+45 33 17 00 40"),
            email: Some("familieraadgivning@kk.dk"),
            website: None,
        }],
    },
    ServiceSpec {
        provider: "kommune-751",
        name: "Sprogcenter Aarhus",
        category: ServiceCategory::LanguageSchool,
        description: "Danskuddannelse for voksne udlændinge (DU1–DU3), dag og aften, med \
                      børnepasning til nogle hold.",
        languages: &["da", "en", "ar", "fa", "so", "ti"],
        areas: &[751],
        locations: &[LocationSpec {
            name: "Sprogcenter Aarhus",
            street: "Ny Munkegade 11",
            postcode: "8000",
            city: "Aarhus C",
            code: 751,
            hours: &OFFICE,
            notes: Some("Aftenhold mandag og onsdag 17–20."),
        }],
        contacts: &[ContactSpec {
            name: "Sprogcentret, studievejledning",
            phone: Some("+45 87 13 00 50"),
            email: Some("sprogcenter@aarhus.dk"),
            website: Some("https://www.aarhus.dk/sprogcenter"),
        }],
    },
    ServiceSpec {
        provider: "kommune-751",
        name: "Sundhedsplejen Aarhus Vest",
        category: ServiceCategory::HealthVisitor,
        description: "Sundhedspleje for familier i Gellerup, Toveshøj, Bispehaven og Hasle, \
                      også åbne cafémøder for mødre.",
        languages: &["da", "ar", "so", "tr"],
        areas: &[751],
        locations: &[LocationSpec {
            name: "Sundhedshuset Gellerup",
            street: "Gudrunsvej 16",
            postcode: "8220",
            city: "Brabrand",
            code: 751,
            hours: &EARLY,
            notes: None,
        }],
        contacts: &[ContactSpec {
            name: "Sundhedsplejen Vest",
            phone: Some("+45 87 13 00 60"),
            email: None,
            website: Some("https://www.aarhus.dk/sundhedspleje"),
        }],
    },
    ServiceSpec {
        provider: "ngo-brobyggerne",
        name: "Gratis gældsrådgivning",
        category: ServiceCategory::DebtCounselling,
        description: "Frivillige rådgivere hjælper med budget, regninger, rykkere og \
                      afdragsordninger. Anonymt og uden tidsbestilling.",
        languages: &["da", "ar", "ur", "en"],
        areas: &[101, 147, 751],
        locations: &[
            LocationSpec {
                name: "Brobyggerne, Nørrebro",
                street: "Blågårdsgade 23",
                postcode: "2200",
                city: "København N",
                code: 101,
                hours: &[(2, "16:00", "19:00"), (4, "16:00", "19:00")],
                notes: Some("Tag dine breve og din seneste lønseddel med."),
            },
            LocationSpec {
                name: "Brobyggerne, Gellerup",
                street: "Gellerupvej 3",
                postcode: "8220",
                city: "Brabrand",
                code: 751,
                hours: &[(3, "15:00", "18:00")],
                notes: None,
            },
        ],
        contacts: &[ContactSpec {
            name: "Gældsrådgivningen",
            phone: Some("+45 70 20 00 70"),
            email: Some("gaeld@brobyggerne.dk"),
            website: Some("https://www.brobyggerne.dk/gaeld"),
        }],
    },
];

/// The directory's rows, in insertion order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directory {
    pub services: Vec<service::Model>,
    pub languages: Vec<service_language::Model>,
    pub areas: Vec<service_area::Model>,
    pub locations: Vec<service_location::Model>,
    pub hours: Vec<opening_hours::Model>,
    pub contacts: Vec<service_contact::Model>,
}

impl Directory {
    /// An outbound referral to an organisation that has a service of the referral's category
    /// names that service (its first), as a mother's app would offer it.
    pub fn name_services(&self, referrals: &mut [referral::Model]) {
        for referral in referrals {
            let Some(receiver) = referral.receiver_organisation_id else {
                continue;
            };
            if referral.direction != ReferralDirection::Outbound {
                continue;
            }
            referral.service_id = self
                .services
                .iter()
                .find(|s| s.organisation_id == receiver && s.category == referral.service_category)
                .map(|s| s.id);
        }
    }
}

/// The directory of the organisations that exist in the data set (a provider missing from
/// it is skipped, never invented).
pub fn build(organisations: &[organisation::Model]) -> Directory {
    let mut rng = Rng::stream("directory");
    let mut out = Directory::default();
    for (index, spec) in SERVICES.iter().enumerate() {
        let Some(provider) = organisations.iter().find(|o| o.short_name == spec.provider) else {
            continue;
        };
        let day = clock::add_days(ymd(2026, 9, 1), index as i64);
        let at = clock::office_hours(day, &mut rng);
        let id = rng.uuid_at(at);
        out.services.push(service::Model {
            id,
            organisation_id: provider.id,
            name: spec.name.to_owned(),
            category: spec.category,
            status: ServiceStatus::Active,
            description: Some(spec.description.to_owned()),
            created_at: at,
            updated_at: at,
        });
        let mut languages: Vec<&str> = spec.languages.to_vec();
        languages.sort_unstable();
        out.languages
            .extend(languages.into_iter().map(|l| service_language::Model {
                service_id: id,
                language: l.to_owned(),
            }));
        out.areas
            .extend(spec.areas.iter().map(|code| service_area::Model {
                service_id: id,
                municipality_code: *code,
            }));
        for location in spec.locations {
            let location_id = rng.uuid_at(at);
            out.locations.push(service_location::Model {
                id: location_id,
                service_id: id,
                name: Some(location.name.to_owned()),
                street: location.street.to_owned(),
                postcode: location.postcode.to_owned(),
                city: location.city.to_owned(),
                municipality_code: location.code,
                opening_hours_notes: location.notes.map(str::to_owned),
                created_at: at,
                updated_at: at,
            });
            for (weekday, opens, closes) in location.hours {
                out.hours.push(opening_hours::Model {
                    id: rng.uuid_at(at),
                    location_id,
                    weekday: *weekday,
                    opens: (*opens).to_owned(),
                    closes: (*closes).to_owned(),
                });
            }
        }
        for contact in spec.contacts {
            out.contacts.push(service_contact::Model {
                id: rng.uuid_at(at),
                service_id: id,
                name: contact.name.to_owned(),
                phone: contact.phone.map(str::to_owned),
                email: contact.email.map(str::to_owned),
                website: contact.website.map(str::to_owned),
                created_at: at,
                updated_at: at,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::write;

    #[test]
    fn every_demo_entry_passes_the_api_checks() {
        for spec in SERVICES {
            for (i, code) in spec.languages.iter().enumerate() {
                assert!(write::language(code, &format!("{}[{i}]", spec.name)).is_ok());
            }
            for location in spec.locations {
                let periods = location
                    .hours
                    .iter()
                    .map(|(weekday, opens, closes)| write::Period {
                        weekday: *weekday,
                        opens: (*opens).to_owned(),
                        closes: (*closes).to_owned(),
                    })
                    .collect();
                assert!(write::periods(periods).is_ok(), "{}", location.name);
                assert!(write::postcode(location.postcode, "postcode").is_ok());
                assert!(spec.areas.contains(&location.code), "{}", location.name);
            }
            for contact in spec.contacts {
                assert!(
                    write::phone(contact.phone, "phone").is_ok(),
                    "{}",
                    contact.name
                );
                assert!(
                    write::email(contact.email, "email").is_ok(),
                    "{}",
                    contact.name
                );
                assert!(write::website(contact.website, "website").is_ok());
            }
        }
    }
}
