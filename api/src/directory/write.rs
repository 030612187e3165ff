//! Writing the service directory (`directory:write`): services, their languages and areas,
//! locations with opening hours, contact points. Data functions only; the GraphQL face is
//! [`super::mutation`].
//!
//! Invariants every write keeps (the GraphQL layer only decodes):
//! - the caller may write the provider's entries ([`Principal::may_write_directory`],
//!   [`Principal::may_write_service`]), checked before the values are looked at;
//! - texts are trimmed and bounded; a postcode is four digits; a municipality code exists;
//!   a language is an ISO 639 code ([`language`]); opening hours are `HH:MM`, close after
//!   they open and do not overlap on a day; a contact point has a phone, an e-mail or a
//!   website — all else is `BAD_USER_INPUT` naming the field;
//! - every change bumps the service's `updated_at` and writes one audit event, in the
//!   caller's transaction.

use std::collections::BTreeSet;

use entity::{
    enums::{AuditAction, ServiceCategory, ServiceStatus},
    municipality, opening_hours, service, service_area, service_contact, service_language,
    service_location,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter,
};
use uuid::Uuid;

use crate::{
    audit::{self, Actor, Event},
    auth::Principal,
    error::{ApiError, ApiResult},
    writes::{optional_name, optional_text, referenced_organisation, required_name, required_text},
};

/// The longest service, location or contact-point name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest service description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
/// The longest street line, in characters.
pub const MAX_STREET_CHARS: usize = 200;
/// The longest city name, in characters.
pub const MAX_CITY_CHARS: usize = 100;
/// The longest note about opening hours, in characters.
pub const MAX_NOTES_CHARS: usize = 1000;
/// At most this many opening periods per location (four a day).
pub const MAX_PERIODS: usize = 28;
/// At most this many languages per service.
pub const MAX_LANGUAGES: usize = 50;

const SERVICE_ENTITY: &str = "service";
const LOCATION_ENTITY: &str = "service_location";
const CONTACT_ENTITY: &str = "service_contact";

/// ISO 639-1, sorted: the two-letter codes that exist. Three-letter codes (ISO 639-2/3,
/// for languages such as Tigrinya's neighbours without a two-letter code) are checked for
/// their shape only: the list of 7,900 is not worth carrying.
const ISO_639_1: [&str; 184] = [
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh",
    "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da",
    "de", "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr",
    "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz",
    "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj",
    "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln",
    "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb",
    "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi",
    "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "si", "sk",
    "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "ti",
    "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo",
    "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu",
];

/// An ISO 639 language code: a two-letter code of ISO 639-1, or three lower-case letters
/// (ISO 639-2/3). Upper case is refused, not folded: codes are stored as given.
pub fn language(code: &str, field: &str) -> ApiResult<String> {
    let letters = code.bytes().all(|b| b.is_ascii_lowercase());
    let known = match code.len() {
        2 => ISO_639_1.binary_search(&code).is_ok(),
        3 => true,
        _ => false,
    };
    if letters && known {
        Ok(code.to_owned())
    } else {
        Err(ApiError::validation(
            field,
            format!(
                "{code:?} is not an ISO 639 language code (ISO 639-1 like \"ar\", or three \
                 lower-case letters like \"prs\")"
            ),
        ))
    }
}

/// A Danish postcode: four digits, 0800 to 9999.
pub(crate) fn postcode(value: &str, field: &str) -> ApiResult<String> {
    let value = value.trim();
    let digits = value.len() == 4 && value.bytes().all(|b| b.is_ascii_digit());
    if digits && value >= "0800" {
        Ok(value.to_owned())
    } else {
        Err(ApiError::validation(
            field,
            format!("{value:?} is not a Danish postcode (four digits, e.g. \"2200\")"),
        ))
    }
}

/// A local time `HH:MM` on the 24-hour clock.
fn clock(value: &str, field: &str) -> ApiResult<String> {
    let parsed = value
        .split_once(':')
        .filter(|(h, m)| h.len() == 2 && m.len() == 2)
        .and_then(|(h, m)| Some((h.parse::<u8>().ok()?, m.parse::<u8>().ok()?)))
        .filter(|(h, m)| {
            *h < 24 && *m < 60 && value.bytes().all(|b| b.is_ascii_digit() || b == b':')
        });
    match parsed {
        Some(_) => Ok(value.to_owned()),
        None => Err(ApiError::validation(
            field,
            format!("{value:?} is not a time of day as HH:MM (e.g. \"08:30\")"),
        )),
    }
}

async fn existing_municipality(db: &impl ConnectionTrait, code: i32, field: &str) -> ApiResult<()> {
    municipality::Entity::find_by_id(code)
        .one(db)
        .await?
        .map(drop)
        .ok_or_else(|| ApiError::validation(field, format!("no municipality has code {code}")))
}

/// The languages of a service, checked and without repeats.
fn languages(codes: &[String], field: &str) -> ApiResult<BTreeSet<String>> {
    if codes.len() > MAX_LANGUAGES {
        return Err(ApiError::validation(
            field,
            format!("lists more than {MAX_LANGUAGES} languages"),
        ));
    }
    codes
        .iter()
        .enumerate()
        .map(|(i, code)| language(code, &format!("{field}[{i}]")))
        .collect()
}

/// The area of a service: existing municipality codes, without repeats.
async fn area(db: &impl ConnectionTrait, codes: &[i32], field: &str) -> ApiResult<BTreeSet<i32>> {
    let mut area = BTreeSet::new();
    for (i, code) in codes.iter().enumerate() {
        if area.insert(*code) {
            existing_municipality(db, *code, &format!("{field}[{i}]")).await?;
        }
    }
    Ok(area)
}

/// A new service's values, decoded by the resolver.
pub struct NewService {
    /// The provider; the caller's own organisation when `None`.
    pub organisation_id: Option<Uuid>,
    pub name: String,
    pub category: ServiceCategory,
    pub status: ServiceStatus,
    pub description: Option<String>,
    pub languages: Vec<String>,
    pub municipality_codes: Vec<i32>,
}

/// A change to a service: only the fields given change; a list given replaces the old one.
#[derive(Default)]
pub struct ServiceChange {
    pub name: Option<String>,
    pub category: Option<ServiceCategory>,
    pub status: Option<ServiceStatus>,
    /// An empty text clears the description.
    pub description: Option<String>,
    pub languages: Option<Vec<String>>,
    pub municipality_codes: Option<Vec<i32>>,
}

/// One opening period, as the client sent it.
pub struct Period {
    /// ISO 8601 weekday number, 1 Monday to 7 Sunday.
    pub weekday: i32,
    pub opens: String,
    pub closes: String,
}

/// A new location of a service.
pub struct NewLocation {
    pub service_id: Uuid,
    pub name: Option<String>,
    pub street: String,
    pub postcode: String,
    pub city: String,
    pub municipality_code: i32,
    pub opening_hours: Vec<Period>,
    pub opening_hours_notes: Option<String>,
}

/// A new contact point of a service.
pub struct NewContact {
    pub service_id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
}

async fn replace_languages(
    db: &impl ConnectionTrait,
    service_id: Uuid,
    languages: BTreeSet<String>,
) -> ApiResult<()> {
    service_language::Entity::delete_many()
        .filter(service_language::Column::ServiceId.eq(service_id))
        .exec(db)
        .await?;
    if !languages.is_empty() {
        let rows = languages
            .into_iter()
            .map(|language| service_language::ActiveModel {
                service_id: Set(service_id),
                language: Set(language),
            });
        service_language::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

async fn replace_area(
    db: &impl ConnectionTrait,
    service_id: Uuid,
    codes: BTreeSet<i32>,
) -> ApiResult<()> {
    service_area::Entity::delete_many()
        .filter(service_area::Column::ServiceId.eq(service_id))
        .exec(db)
        .await?;
    if !codes.is_empty() {
        let rows = codes.into_iter().map(|code| service_area::ActiveModel {
            service_id: Set(service_id),
            municipality_code: Set(code),
        });
        service_area::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Adds a service to the directory, for the caller's organisation or (the secretariat) for
/// the one named.
#[tracing::instrument(skip_all)]
pub async fn create_service(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    new: NewService,
) -> ApiResult<service::Model> {
    let provider = new.organisation_id.unwrap_or(principal.organisation.id);
    principal.may_write_directory(provider)?;
    referenced_organisation(db, provider, "input.organisationId").await?;
    let name = required_name(&new.name, "input.name", MAX_NAME_CHARS)?;
    let description = optional_text(
        new.description.as_deref(),
        "input.description",
        MAX_DESCRIPTION_CHARS,
    )?;
    let languages = languages(&new.languages, "input.languages")?;
    let area = area(db, &new.municipality_codes, "input.municipalityCodes").await?;
    let now = crate::db::now();
    let service = service::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(provider),
        name: Set(name),
        category: Set(new.category),
        status: Set(new.status),
        description: Set(description),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    replace_languages(db, service.id, languages).await?;
    replace_area(db, service.id, area).await?;
    let event = Event::new(AuditAction::Create, SERVICE_ENTITY, service.id);
    audit::record(db, actor, [event]).await?;
    Ok(service)
}

/// Changes a service. `id` names the record: unknown is `NOT_FOUND`.
#[tracing::instrument(skip_all, fields(service = %id))]
pub async fn update_service(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    id: Uuid,
    change: ServiceChange,
) -> ApiResult<service::Model> {
    let stored = principal.may_write_service(db, id).await?;
    let name = change
        .name
        .as_deref()
        .map(|name| required_name(name, "input.name", MAX_NAME_CHARS))
        .transpose()?;
    let description = change
        .description
        .as_deref()
        .map(|text| optional_text(Some(text), "input.description", MAX_DESCRIPTION_CHARS))
        .transpose()?;
    let languages = change
        .languages
        .as_deref()
        .map(|codes| languages(codes, "input.languages"))
        .transpose()?;
    let area = match change.municipality_codes.as_deref() {
        Some(codes) => Some(area(db, codes, "input.municipalityCodes").await?),
        None => None,
    };
    let mut row = stored.into_active_model();
    if let Some(name) = name {
        row.name = Set(name);
    }
    if let Some(category) = change.category {
        row.category = Set(category);
    }
    if let Some(status) = change.status {
        row.status = Set(status);
    }
    if let Some(description) = description {
        row.description = Set(description);
    }
    row.updated_at = Set(crate::db::now());
    let service = row.update(db).await?;
    if let Some(languages) = languages {
        replace_languages(db, service.id, languages).await?;
    }
    if let Some(area) = area {
        replace_area(db, service.id, area).await?;
    }
    let event = Event::new(AuditAction::Update, SERVICE_ENTITY, service.id);
    audit::record(db, actor, [event]).await?;
    Ok(service)
}

/// Something under the service changed: bump its `updated_at` for `updatedSince`.
async fn touch(db: &impl ConnectionTrait, service: service::Model) -> ApiResult<service::Model> {
    let mut row = service.into_active_model();
    row.updated_at = Set(crate::db::now());
    Ok(row.update(db).await?)
}

/// Checked opening periods: `HH:MM`, closing after opening, no overlap on one day; sorted.
pub(crate) fn periods(periods: Vec<Period>) -> ApiResult<Vec<Period>> {
    if periods.len() > MAX_PERIODS {
        return Err(ApiError::validation(
            "input.openingHours",
            format!("lists more than {MAX_PERIODS} opening periods"),
        ));
    }
    let mut checked = Vec::with_capacity(periods.len());
    for (i, period) in periods.into_iter().enumerate() {
        let field = |part: &str| format!("input.openingHours[{i}].{part}");
        let opens = clock(&period.opens, &field("opens"))?;
        let closes = clock(&period.closes, &field("closes"))?;
        if closes <= opens {
            return Err(ApiError::validation(
                field("closes"),
                format!("{closes} is not after the opening time {opens}"),
            ));
        }
        checked.push(Period {
            weekday: period.weekday,
            opens,
            closes,
        });
    }
    checked.sort_by(|a, b| (a.weekday, &a.opens).cmp(&(b.weekday, &b.opens)));
    if let Some(overlap) = checked
        .windows(2)
        .find(|pair| pair[0].weekday == pair[1].weekday && pair[1].opens < pair[0].closes)
    {
        return Err(ApiError::validation(
            "input.openingHours",
            format!(
                "the periods {}-{} and {}-{} of one day overlap",
                overlap[0].opens, overlap[0].closes, overlap[1].opens, overlap[1].closes
            ),
        ));
    }
    Ok(checked)
}

/// Adds a location (address and opening hours) to a service.
#[tracing::instrument(skip_all, fields(service = %new.service_id))]
pub async fn add_location(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    new: NewLocation,
) -> ApiResult<service_location::Model> {
    let service = principal.may_write_service(db, new.service_id).await?;
    let name = optional_name(new.name.as_deref(), "input.name", MAX_NAME_CHARS)?;
    let street = required_text(&new.street, "input.street", MAX_STREET_CHARS)?;
    let postcode = postcode(&new.postcode, "input.postcode")?;
    let city = required_name(&new.city, "input.city", MAX_CITY_CHARS)?;
    existing_municipality(db, new.municipality_code, "input.municipalityCode").await?;
    let notes = optional_text(
        new.opening_hours_notes.as_deref(),
        "input.openingHoursNotes",
        MAX_NOTES_CHARS,
    )?;
    let periods = periods(new.opening_hours)?;
    let now = crate::db::now();
    let location = service_location::ActiveModel {
        id: Set(Uuid::now_v7()),
        service_id: Set(service.id),
        name: Set(name),
        street: Set(street),
        postcode: Set(postcode),
        city: Set(city),
        municipality_code: Set(new.municipality_code),
        opening_hours_notes: Set(notes),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    replace_hours(db, location.id, periods).await?;
    touch(db, service).await?;
    let event = Event::new(AuditAction::Create, LOCATION_ENTITY, location.id);
    audit::record(db, actor, [event]).await?;
    Ok(location)
}

/// The opening hours of a location become `periods` (checked by [`periods`]).
async fn replace_hours(
    db: &impl ConnectionTrait,
    location_id: Uuid,
    periods: Vec<Period>,
) -> ApiResult<()> {
    opening_hours::Entity::delete_many()
        .filter(opening_hours::Column::LocationId.eq(location_id))
        .exec(db)
        .await?;
    if !periods.is_empty() {
        let rows = periods.into_iter().map(|p| opening_hours::ActiveModel {
            id: Set(Uuid::now_v7()),
            location_id: Set(location_id),
            weekday: Set(p.weekday),
            opens: Set(p.opens),
            closes: Set(p.closes),
        });
        opening_hours::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// A change to a location: only the fields given change; `opening_hours` given replaces the
/// week; an empty `name` or `opening_hours_notes` clears it.
#[derive(Default)]
pub struct LocationChange {
    pub name: Option<String>,
    pub street: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub municipality_code: Option<i32>,
    pub opening_hours: Option<Vec<Period>>,
    pub opening_hours_notes: Option<String>,
}

/// Changes a location's address, hours or notes. `id` names the record: unknown is
/// `NOT_FOUND`.
#[tracing::instrument(skip_all, fields(location = %id))]
pub async fn update_location(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    id: Uuid,
    change: LocationChange,
) -> ApiResult<service_location::Model> {
    let stored = service_location::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("service location".into()))?;
    let service = principal.may_write_service(db, stored.service_id).await?;
    let name = change
        .name
        .as_deref()
        .map(|name| optional_name(Some(name), "input.name", MAX_NAME_CHARS))
        .transpose()?;
    let street = change
        .street
        .as_deref()
        .map(|street| required_text(street, "input.street", MAX_STREET_CHARS))
        .transpose()?;
    let postcode = change
        .postcode
        .as_deref()
        .map(|code| postcode(code, "input.postcode"))
        .transpose()?;
    let city = change
        .city
        .as_deref()
        .map(|city| required_name(city, "input.city", MAX_CITY_CHARS))
        .transpose()?;
    if let Some(code) = change.municipality_code {
        existing_municipality(db, code, "input.municipalityCode").await?;
    }
    let notes = change
        .opening_hours_notes
        .as_deref()
        .map(|notes| optional_text(Some(notes), "input.openingHoursNotes", MAX_NOTES_CHARS))
        .transpose()?;
    let hours = change.opening_hours.map(periods).transpose()?;
    let mut row = stored.into_active_model();
    if let Some(name) = name {
        row.name = Set(name);
    }
    if let Some(street) = street {
        row.street = Set(street);
    }
    if let Some(postcode) = postcode {
        row.postcode = Set(postcode);
    }
    if let Some(city) = city {
        row.city = Set(city);
    }
    if let Some(code) = change.municipality_code {
        row.municipality_code = Set(code);
    }
    if let Some(notes) = notes {
        row.opening_hours_notes = Set(notes);
    }
    row.updated_at = Set(crate::db::now());
    let location = row.update(db).await?;
    if let Some(hours) = hours {
        replace_hours(db, location.id, hours).await?;
    }
    touch(db, service).await?;
    let event = Event::new(AuditAction::Update, LOCATION_ENTITY, location.id);
    audit::record(db, actor, [event]).await?;
    Ok(location)
}

/// Removes a location and its opening hours; answers the service.
#[tracing::instrument(skip_all, fields(location = %id))]
pub async fn remove_location(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    id: Uuid,
) -> ApiResult<service::Model> {
    let location = service_location::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("service location".into()))?;
    let service = principal.may_write_service(db, location.service_id).await?;
    service_location::Entity::delete_by_id(id).exec(db).await?;
    let service = touch(db, service).await?;
    let event = Event::new(AuditAction::Delete, LOCATION_ENTITY, id);
    audit::record(db, actor, [event]).await?;
    Ok(service)
}

/// A phone number as people write it: digits, spaces, `+`, `-`, parentheses; 4 digits at least.
pub(crate) fn phone(value: Option<&str>, field: &str) -> ApiResult<Option<String>> {
    let Some(value) = optional_text(value, field, 32)? else {
        return Ok(None);
    };
    let allowed = value
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')'));
    let digits = value.chars().filter(char::is_ascii_digit).count();
    if allowed && digits >= 4 {
        Ok(Some(value))
    } else {
        Err(ApiError::validation(
            field,
            "is not a phone number (digits, spaces, +, - and parentheses, e.g. \"+45 33 66 33 66\")",
        ))
    }
}

/// An e-mail address: one `@` between a non-empty local part and a domain with a dot.
pub(crate) fn email(value: Option<&str>, field: &str) -> ApiResult<Option<String>> {
    let Some(value) = optional_text(value, field, 254)? else {
        return Ok(None);
    };
    let valid = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.contains('@')
    }) && !value.chars().any(char::is_whitespace);
    if valid {
        Ok(Some(value))
    } else {
        Err(ApiError::validation(field, "is not an e-mail address"))
    }
}

/// A website: an `https://` or `http://` address without spaces.
pub(crate) fn website(value: Option<&str>, field: &str) -> ApiResult<Option<String>> {
    let Some(value) = optional_text(value, field, 500)? else {
        return Ok(None);
    };
    let valid = (value.starts_with("https://") || value.starts_with("http://"))
        && value.len() > "https://".len()
        && !value.chars().any(char::is_whitespace);
    if valid {
        Ok(Some(value))
    } else {
        Err(ApiError::validation(
            field,
            "is not a web address (https://...)",
        ))
    }
}

/// Adds a contact point (a role or department with its channels) to a service.
#[tracing::instrument(skip_all, fields(service = %new.service_id))]
pub async fn add_contact(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    new: NewContact,
) -> ApiResult<service_contact::Model> {
    let service = principal.may_write_service(db, new.service_id).await?;
    let name = required_name(&new.name, "input.name", MAX_NAME_CHARS)?;
    let phone = phone(new.phone.as_deref(), "input.phone")?;
    let email = email(new.email.as_deref(), "input.email")?;
    let website = website(new.website.as_deref(), "input.website")?;
    if phone.is_none() && email.is_none() && website.is_none() {
        return Err(ApiError::validation(
            "input.phone",
            "a contact point needs a phone, an e-mail or a website",
        ));
    }
    let now = crate::db::now();
    let contact = service_contact::ActiveModel {
        id: Set(Uuid::now_v7()),
        service_id: Set(service.id),
        name: Set(name),
        phone: Set(phone),
        email: Set(email),
        website: Set(website),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    touch(db, service).await?;
    let event = Event::new(AuditAction::Create, CONTACT_ENTITY, contact.id);
    audit::record(db, actor, [event]).await?;
    Ok(contact)
}

/// Removes a contact point; answers the service.
#[tracing::instrument(skip_all, fields(contact = %id))]
pub async fn remove_contact(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    id: Uuid,
) -> ApiResult<service::Model> {
    let contact = service_contact::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("service contact".into()))?;
    let service = principal.may_write_service(db, contact.service_id).await?;
    service_contact::Entity::delete_by_id(id).exec(db).await?;
    let service = touch(db, service).await?;
    let event = Event::new(AuditAction::Delete, CONTACT_ENTITY, id);
    audit::record(db, actor, [event]).await?;
    Ok(service)
}

/// The service a referral input names (`field`): it must exist, be the receiver's, be of
/// the referral's `category` and still be offered (not inactive or defunct). Every failure
/// is `BAD_USER_INPUT` naming `field`: the directory is visible to all, so nothing is hidden.
pub async fn referenced_service(
    db: &impl ConnectionTrait,
    id: Uuid,
    receiver: Uuid,
    category: ServiceCategory,
    field: &str,
) -> ApiResult<service::Model> {
    let service = service::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::validation(field, "no service has this id"))?;
    if service.organisation_id != receiver {
        return Err(ApiError::validation(
            field,
            "is a service of another organisation; name a service of the receiver",
        ));
    }
    if service.category != category {
        return Err(ApiError::validation(
            field,
            "is a service of another category than the referral's serviceCategory",
        ));
    }
    if matches!(
        service.status,
        ServiceStatus::Inactive | ServiceStatus::Defunct
    ) {
        return Err(ApiError::validation(field, "is no longer offered"));
    }
    Ok(service)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_list_is_sorted_and_unique() {
        assert!(ISO_639_1.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn languages_are_iso_639_codes() {
        for good in ["ar", "da", "so", "ti", "prs", "kmr"] {
            assert_eq!(language(good, "f").unwrap(), good);
        }
        for bad in ["zz", "AR", "arabic", "a", "", "ar-SY", "d1"] {
            assert_eq!(
                language(bad, "f").unwrap_err().code(),
                "BAD_USER_INPUT",
                "{bad}"
            );
        }
    }

    #[test]
    fn clocks_and_postcodes() {
        for good in ["00:00", "08:30", "23:59"] {
            assert!(clock(good, "f").is_ok(), "{good}");
        }
        for bad in ["24:00", "8:30", "08:60", "0830", "+8:30", "ab:cd"] {
            assert!(clock(bad, "f").is_err(), "{bad}");
        }
        assert_eq!(postcode(" 2200 ", "f").unwrap(), "2200");
        for bad in ["220", "22000", "DK-2200", "0100"] {
            assert!(postcode(bad, "f").is_err(), "{bad}");
        }
    }

    #[test]
    fn overlapping_or_reversed_periods_are_refused() {
        let p = |weekday, opens: &str, closes: &str| Period {
            weekday,
            opens: opens.into(),
            closes: closes.into(),
        };
        let sorted = periods(vec![p(2, "13:00", "15:00"), p(1, "09:00", "12:00")]).unwrap();
        assert_eq!(sorted[0].weekday, 1);
        assert!(periods(vec![p(1, "09:00", "12:00"), p(1, "11:00", "13:00")]).is_err());
        assert!(periods(vec![p(1, "12:00", "09:00")]).is_err());
        assert!(periods(vec![p(1, "09:00", "12:00"), p(2, "11:00", "13:00")]).is_ok());
    }
}
