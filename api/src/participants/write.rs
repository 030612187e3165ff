//! Changing participants and consents: register a participant (with a generated pseudonym),
//! record a consent, withdraw it. Data functions only; the GraphQL face is
//! [`super::graphql`]. Every function runs in the caller's transaction and writes its audit
//! event (naming the participant, never her data) there.
//!
//! Invariants:
//! - The pseudonym is `BM-XXXX-XXXX` over [`PSEUDONYM_ALPHABET`] (no 0/O, 1/I), from the
//!   operating system's randomness; a collision with the unique index is retried inside a
//!   savepoint, so the surrounding transaction survives it on PostgreSQL too.
//! - Input is validated before anything is written: lengths in characters, birth years in
//!   1900..=this year, languages as ISO 639 codes (2–3 lower-case letters).
//! - A consent is never deleted; withdrawal sets `withdrawn_at` and, for sharing consent,
//!   cancels the open referrals to that receiver in the same transaction, so her personal
//!   data is hidden from the receiver (rule 3 of [`crate::auth::access`]) from that commit.
//! - Recording a consent that is already live for the same purpose and receiver answers the
//!   existing one and writes nothing, so a retried request is harmless.

use chrono::{DateTime, Datelike, DurationRound, Utc};
use entity::{
    consent,
    enums::{AuditAction, ConsentPurpose, ContactMethod},
    mother, participant, participant_language,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use crate::{
    audit::{self, Event},
    auth::{Area, access::live_consent},
    error::{ApiError, ApiResult},
    referrals::write::{Writer, cancel_for_withdrawn_consent},
    writes::{language_code, optional_name, optional_text, referenced_organisation},
};

const PARTICIPANT: &str = "participant";
const CONSENT: &str = "consent";

/// Unambiguous on paper and over the phone: no 0/O, no 1/I. 32 symbols, so a random byte
/// masked to 5 bits picks one without bias.
pub const PSEUDONYM_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// How many pseudonyms are tried before giving up (a collision is ~1 in 10^12 per try).
const PSEUDONYM_TRIES: usize = 5;

/// Longest values, in characters.
pub const NAME_CHARS: usize = 100;
pub const PHONE_CHARS: usize = 32;
pub const EMAIL_CHARS: usize = 254;
pub const DISTRICT_CHARS: usize = 100;
pub const NOTES_CHARS: usize = 4000;
/// At most this many languages per participant.
pub const MAX_LANGUAGES: usize = 20;

/// A new participant as a client sends it, before validation.
#[derive(Default)]
pub struct NewParticipant {
    /// `None`: a municipality registers a woman it refers to the programme's pool.
    pub project_id: Option<Uuid>,
    pub first_name: Option<String>,
    pub birth_year: Option<i32>,
    pub languages: Option<Vec<String>>,
    pub preferred_contact: Option<ContactMethod>,
    pub preferred_language: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub district: Option<String>,
    pub notes: Option<String>,
}

/// The validated columns of a new participant.
struct Checked {
    first_name: Option<String>,
    birth_year: Option<i32>,
    languages: Vec<String>,
    preferred_contact: Option<ContactMethod>,
    preferred_language: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    district: Option<String>,
    notes: Option<String>,
}

fn check(new: NewParticipant) -> ApiResult<Checked> {
    let this_year = chrono::Utc::now().year();
    if let Some(year) = new.birth_year
        && !(1900..=this_year).contains(&year)
    {
        return Err(ApiError::validation(
            "input.birthYear",
            format!("a birth year between 1900 and {this_year}"),
        ));
    }
    let mut languages = Vec::new();
    for (i, code) in new.languages.unwrap_or_default().iter().enumerate() {
        let code = language_code(code.trim(), &format!("input.languages[{i}]"))?;
        if !languages.contains(&code) {
            languages.push(code);
        }
    }
    if languages.len() > MAX_LANGUAGES {
        return Err(ApiError::validation(
            "input.languages",
            format!("at most {MAX_LANGUAGES} languages"),
        ));
    }
    let preferred_language = new
        .preferred_language
        .map(|code| language_code(code.trim(), "input.preferredLanguage"))
        .transpose()?;
    let phone = optional_text(new.phone.as_deref(), "input.phone", PHONE_CHARS)?;
    if let Some(phone) = &phone
        && !phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()".contains(c))
    {
        return Err(ApiError::validation(
            "input.phone",
            "a phone number has digits, spaces, +, - and parentheses only",
        ));
    }
    let email = optional_text(new.email.as_deref(), "input.email", EMAIL_CHARS)?;
    if let Some(email) = &email {
        let well_formed = email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
            && !email.chars().any(char::is_whitespace);
        if !well_formed {
            return Err(ApiError::validation("input.email", "not an e-mail address"));
        }
    }
    Ok(Checked {
        first_name: optional_name(new.first_name.as_deref(), "input.firstName", NAME_CHARS)?,
        birth_year: new.birth_year,
        languages,
        preferred_contact: new.preferred_contact,
        preferred_language,
        phone,
        email,
        district: optional_text(new.district.as_deref(), "input.district", DISTRICT_CHARS)?,
        notes: optional_text(new.notes.as_deref(), "input.notes", NOTES_CHARS)?,
    })
}

/// A fresh pseudonym like `BM-7K3Q-9XPA`.
pub fn pseudonym() -> ApiResult<String> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
    let code: Vec<char> = bytes
        .iter()
        .map(|b| char::from(PSEUDONYM_ALPHABET[usize::from(b & 31)]))
        .collect();
    let (a, b) = code.split_at(4);
    Ok(format!(
        "BM-{}-{}",
        a.iter().collect::<String>(),
        b.iter().collect::<String>()
    ))
}

/// Registers a participant (`registerParticipant`), in a project (the project's write rule
/// decides: `participants:write`, secretariat or operator) or, by a municipality, without one
/// (she is referred to the programme, [`crate::referrals::inbound`]); the caller's
/// organisation is recorded as registering her. Only a municipality gives its own
/// `municipalityCaseRef` here.
#[tracing::instrument(skip_all)]
pub async fn register<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    by: &Writer<'_>,
    mut new: NewParticipant,
    case_ref: Option<String>,
) -> ApiResult<participant::Model> {
    let project = match new.project_id {
        Some(project) => Some(
            by.principal
                .may_write_in_project(db, Area::Participants, project)
                .await?,
        ),
        None => {
            by.principal.may_register_for_referral()?;
            None
        }
    };
    let case_ref = optional_name(
        case_ref.as_deref(),
        "input.municipalityCaseRef",
        CASE_REF_CHARS,
    )?;
    if case_ref.is_some() {
        by.principal.may_give_case_ref()?;
    }
    new.project_id = project.as_ref().map(|p| p.id);
    let checked = check(new)?;
    let now = crate::db::now();
    let id = Uuid::now_v7();
    let row = |pseudonym: String| participant::ActiveModel {
        id: Set(id),
        pseudonym: Set(pseudonym),
        project_id: Set(project.as_ref().map(|p| p.id)),
        registered_by_organisation_id: Set(by.principal.organisation.id),
        first_name: Set(checked.first_name.clone()),
        birth_year: Set(checked.birth_year),
        preferred_contact: Set(checked.preferred_contact),
        preferred_language: Set(checked.preferred_language.clone()),
        phone: Set(checked.phone.clone()),
        email: Set(checked.email.clone()),
        district: Set(checked.district.clone()),
        municipality_case_ref: Set(case_ref.clone()),
        notes: Set(checked.notes.clone()),
        version: Set(1),
        erased_at: Set(None),
        registered_by_mother_id: Set(by.principal.own_work().map(|work| work.mother)),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let participant = insert_with_fresh_pseudonym(db, row, pseudonym).await?;
    if !checked.languages.is_empty() {
        participant_language::Entity::insert_many(checked.languages.iter().map(|language| {
            participant_language::ActiveModel {
                participant_id: Set(participant.id),
                language: Set(language.clone()),
            }
        }))
        .exec(db)
        .await?;
    }
    audit::record(
        db,
        &by.actor,
        [Event::new(AuditAction::Create, PARTICIPANT, participant.id)
            .about_participant(participant.id)
            .detail(match &project {
                Some(project) => format!("registered in project {}", project.id),
                None => "registered for a referral to the programme".to_owned(),
            })],
    )
    .await?;
    Ok(participant)
}

/// Inserts `row(pseudonym)` with pseudonyms from `next` until one is free (at most
/// [`PSEUDONYM_TRIES`]). Each try runs in a savepoint: a failed INSERT aborts a PostgreSQL
/// transaction, a rolled-back savepoint does not. Public so the suite can force a collision.
pub async fn insert_with_fresh_pseudonym<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    row: impl Fn(String) -> participant::ActiveModel,
    mut next: impl FnMut() -> ApiResult<String>,
) -> ApiResult<participant::Model> {
    for _ in 0..PSEUDONYM_TRIES {
        let savepoint = db.begin().await?;
        match row(next()?).insert(&savepoint).await {
            Ok(model) => {
                savepoint.commit().await?;
                return Ok(model);
            }
            Err(err) => match ApiError::from(err) {
                ApiError::Conflict(_) => savepoint.rollback().await?,
                other => return Err(other),
            },
        }
    }
    Err(ApiError::internal("no free pseudonym after several tries"))
}

/// A consent as a client records it.
#[derive(Default)]
pub struct NewConsent {
    pub participant_id: Uuid,
    pub purpose: Option<ConsentPurpose>,
    pub receiver_organisation_id: Option<Uuid>,
    /// When she gave it, if earlier than now: the date on a paper form.
    pub given_at: Option<DateTime<Utc>>,
    /// The end of the period she agreed to.
    pub valid_until: Option<DateTime<Utc>>,
    /// The mother who took it on paper, a mother of her project.
    pub recorded_by_mother_id: Option<Uuid>,
}

/// How far back a consent taken on paper may be dated: a form that waited longer than this
/// to be typed in is a new consent to ask for, not one to backdate.
pub const PAPER_CONSENT_DAYS: i64 = 92;

/// Records a consent (`recordConsent`). Sharing names its receiver (`BAD_USER_INPUT` on
/// `input.receiverOrganisationId` when missing or unknown); other purposes name none.
#[tracing::instrument(skip_all, fields(participant = %new.participant_id))]
pub async fn record_consent(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    new: NewConsent,
) -> ApiResult<consent::Model> {
    let participant = by
        .principal
        .may_write_participant(db, new.participant_id)
        .await?;
    not_erased(&participant)?;
    let purpose = match new.purpose {
        Some(ConsentPurpose::Statistics) | None => {
            return Err(ApiError::validation(
                "input.purpose",
                "STATISTICS is no longer recorded: figures are anonymous aggregates under \
                 disclosure control and need no consent (see the README, \"Personal data\")",
            ));
        }
        Some(purpose) => purpose,
    };
    let now = crate::db::now();
    let given_at = consent_given_at(new.given_at, now)?;
    if let Some(until) = new.valid_until
        && until <= now.max(given_at)
    {
        return Err(ApiError::validation(
            "input.validUntil",
            "the end of the consent's period is in the future",
        ));
    }
    if let Some(mother) = new.recorded_by_mother_id {
        mother_of_her_project(db, &participant, mother).await?;
    }
    let field = "input.receiverOrganisationId";
    match (purpose, new.receiver_organisation_id) {
        (ConsentPurpose::ShareWithReceiver, None) => {
            return Err(ApiError::validation(
                field,
                "consent to share names the organisation she shares with",
            ));
        }
        (ConsentPurpose::ShareWithReceiver, Some(receiver)) => {
            referenced_organisation(db, receiver, field).await?;
        }
        (_, Some(_)) => {
            return Err(ApiError::validation(
                field,
                "only SHARE_WITH_RECEIVER names a receiver",
            ));
        }
        (_, None) => {}
    }
    let mut live = consent::Entity::find()
        .filter(consent::Column::ParticipantId.eq(participant.id))
        .filter(consent::Column::Purpose.eq(purpose))
        .filter(live_consent(now));
    live = match new.receiver_organisation_id {
        Some(receiver) => live.filter(consent::Column::ReceiverOrganisationId.eq(receiver)),
        None => live.filter(consent::Column::ReceiverOrganisationId.is_null()),
    };
    if let Some(existing) = live.one(db).await?
        && existing.valid_until == new.valid_until
    {
        return Ok(existing);
    }
    let consent = consent::ActiveModel {
        id: Set(Uuid::now_v7()),
        participant_id: Set(participant.id),
        purpose: Set(purpose),
        receiver_organisation_id: Set(new.receiver_organisation_id),
        given_at: Set(given_at),
        recorded_by_client_id: Set(Some(by.principal.client_id)),
        recorded_by_mother_id: Set(new.recorded_by_mother_id),
        withdrawn_at: Set(None),
        valid_until: Set(new.valid_until),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    audit::record(
        db,
        &by.actor,
        [Event::new(AuditAction::Create, CONSENT, consent.id).about_participant(participant.id)],
    )
    .await?;
    Ok(consent)
}

/// When a consent was given: now, or the date of a paper form up to [`PAPER_CONSENT_DAYS`]
/// back, never in the future.
fn consent_given_at(
    given_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> ApiResult<DateTime<Utc>> {
    let Some(given_at) = given_at else {
        return Ok(now);
    };
    if given_at > now {
        return Err(ApiError::validation("input.givenAt", "not in the future"));
    }
    if now - given_at > chrono::TimeDelta::days(PAPER_CONSENT_DAYS) {
        return Err(ApiError::validation(
            "input.givenAt",
            format!("at most {PAPER_CONSENT_DAYS} days back; ask her again"),
        ));
    }
    Ok(given_at
        .duration_trunc(chrono::TimeDelta::microseconds(1))
        .unwrap_or(given_at))
}

/// The mother who took a consent on paper works in her project.
async fn mother_of_her_project(
    db: &impl ConnectionTrait,
    participant: &participant::Model,
    mother_id: Uuid,
) -> ApiResult<()> {
    let field = "input.recordedByMotherId";
    let Some(project) = participant.project_id else {
        return Err(ApiError::validation(
            field,
            "she is in no project yet, so no mother of hers took the consent",
        ));
    };
    let found = mother::Entity::find_by_id(mother_id)
        .filter(mother::Column::ProjectId.eq(project))
        .one(db)
        .await?;
    found
        .map(drop)
        .ok_or_else(|| ApiError::validation(field, "not a mother of her project"))
}

/// Nothing is added to an erased participant: her erasure is irreversible.
pub fn not_erased(participant: &participant::Model) -> ApiResult<()> {
    match participant.erased_at {
        None => Ok(()),
        Some(_) => Err(ApiError::InvalidTransition(
            "her personal data was erased; nothing can be recorded about her any more".into(),
        )),
    }
}

/// Withdraws a consent (`withdrawConsent`) and, for sharing consent, cancels her open
/// referrals to that receiver with `CONSENT_WITHDRAWN`. An invisible consent is
/// `NOT_FOUND`; withdrawing twice answers the consent unchanged and writes nothing.
#[tracing::instrument(skip_all, fields(consent = %id))]
pub async fn withdraw_consent(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    id: Uuid,
) -> ApiResult<consent::Model> {
    // Visibility first, so an invisible consent is NOT_FOUND before any scope talk.
    let consent = consent::Entity::find_by_id(id)
        .filter(by.principal.row_filter::<consent::Entity>())
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("consent".into()))?;
    by.principal
        .may_write_participant(db, consent.participant_id)
        .await?;
    if consent.withdrawn_at.is_some() {
        return Ok(consent);
    }
    let now = crate::db::now();
    let mut row: consent::ActiveModel = consent.into();
    row.withdrawn_at = Set(Some(now));
    row.updated_at = Set(now);
    let consent = row.update(db).await?;
    let cancelled = match (consent.purpose, consent.receiver_organisation_id) {
        (ConsentPurpose::ShareWithReceiver, Some(receiver)) => {
            cancel_for_withdrawn_consent(db, by, consent.participant_id, receiver).await?
        }
        _ => 0,
    };
    audit::record(
        db,
        &by.actor,
        [Event::new(AuditAction::Revoke, CONSENT, consent.id)
            .about_participant(consent.participant_id)
            .detail(format!("withdrawn; {cancelled} open referral(s) cancelled"))],
    )
    .await?;
    Ok(consent)
}

/// The longest case reference a municipality keeps on her, in characters.
pub const CASE_REF_CHARS: usize = 64;

/// A rectification (`updateParticipant`): each field `None` keeps her value, `Some(None)`
/// empties it, `Some(Some(v))` sets it. `version` is the one the caller last read.
#[derive(Default)]
pub struct Rectification {
    pub id: Uuid,
    pub version: i32,
    pub first_name: Option<Option<String>>,
    pub birth_year: Option<Option<i32>>,
    pub languages: Option<Vec<String>>,
    pub preferred_contact: Option<Option<ContactMethod>>,
    pub preferred_language: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub district: Option<Option<String>>,
    pub notes: Option<Option<String>>,
    pub municipality_case_ref: Option<Option<String>>,
}

impl Rectification {
    /// Whether anything but the municipality's own case reference changes: those fields are
    /// for the parties who keep her records.
    fn touches_her_record(&self) -> bool {
        self.first_name.is_some()
            || self.birth_year.is_some()
            || self.languages.is_some()
            || self.preferred_contact.is_some()
            || self.preferred_language.is_some()
            || self.phone.is_some()
            || self.email.is_some()
            || self.district.is_some()
            || self.notes.is_some()
    }
}

impl Rectification {
    /// Sets one field by its GraphQL name (`phone`, `birthYear`, `languages` as
    /// comma-separated codes, `preferredContact` as `PHONE`, ...); `None` empties it. For the
    /// command line, which names fields the way the API does.
    pub fn set(&mut self, field: &str, value: Option<String>) -> ApiResult<()> {
        let bad = |why: &str| ApiError::validation(field, why.to_owned());
        match field {
            "firstName" => self.first_name = Some(value),
            "phone" => self.phone = Some(value),
            "email" => self.email = Some(value),
            "district" => self.district = Some(value),
            "notes" => self.notes = Some(value),
            "preferredLanguage" => self.preferred_language = Some(value),
            "municipalityCaseRef" => self.municipality_case_ref = Some(value),
            "birthYear" => {
                let year = value
                    .map(|v| {
                        v.trim()
                            .parse::<i32>()
                            .map_err(|_| bad("a year, e.g. 1984"))
                    })
                    .transpose()?;
                self.birth_year = Some(year);
            }
            "languages" => {
                let codes = value.unwrap_or_default();
                self.languages = Some(
                    codes
                        .split(',')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned)
                        .collect(),
                );
            }
            "preferredContact" => {
                let method = value
                    .map(|v| {
                        serde_json::from_value::<ContactMethod>(serde_json::Value::String(
                            v.trim().to_lowercase(),
                        ))
                        .map_err(|_| bad("PHONE, SMS, EMAIL, IN_PERSON or VIA_MOTHER"))
                    })
                    .transpose()?;
                self.preferred_contact = Some(method);
            }
            _ => {
                return Err(bad(
                    "not a field of hers: firstName, birthYear, languages, preferredContact, \
                     preferredLanguage, phone, email, district, notes, municipalityCaseRef",
                ));
            }
        }
        Ok(())
    }
}

/// `change` if given, else what she has.
fn or_current<T: Clone>(change: Option<Option<T>>, current: &Option<T>) -> Option<T> {
    change.unwrap_or_else(|| current.clone())
}

/// Corrects her personal fields (`updateParticipant`, Art. 16). Her record's fields need
/// [`Principal::may_write_participant`](crate::auth::Principal::may_write_participant), the
/// case reference [`Principal::may_keep_case_ref`](crate::auth::Principal::may_keep_case_ref);
/// a stale `version` is `CONFLICT`, an erased participant `INVALID_TRANSITION`. The audit
/// event names the fields changed, never their values; a change that changes nothing writes
/// nothing and answers her as she is.
#[tracing::instrument(skip_all, fields(participant = %change.id))]
pub async fn rectify(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    change: Rectification,
) -> ApiResult<participant::Model> {
    let participant = if change.touches_her_record() {
        by.principal.may_write_participant(db, change.id).await?
    } else {
        participant::Entity::find_by_id(change.id)
            .filter(by.principal.row_filter::<participant::Entity>())
            .one(db)
            .await?
            .ok_or_else(|| ApiError::NotFound("participant".into()))?
    };
    if change.municipality_case_ref.is_some() {
        by.principal.may_keep_case_ref(db, &participant).await?;
    }
    not_erased(&participant)?;
    if participant.version != change.version {
        return Err(stale(participant.version));
    }
    let languages = languages_of(db, participant.id).await?;
    let checked = check(NewParticipant {
        project_id: participant.project_id,
        first_name: or_current(change.first_name, &participant.first_name),
        birth_year: or_current(change.birth_year, &participant.birth_year),
        languages: Some(change.languages.unwrap_or_else(|| languages.clone())),
        preferred_contact: or_current(change.preferred_contact, &participant.preferred_contact),
        preferred_language: or_current(change.preferred_language, &participant.preferred_language),
        phone: or_current(change.phone, &participant.phone),
        email: or_current(change.email, &participant.email),
        district: or_current(change.district, &participant.district),
        notes: or_current(change.notes, &participant.notes),
    })?;
    let case_ref = match change.municipality_case_ref {
        None => participant.municipality_case_ref.clone(),
        Some(value) => optional_name(
            value.as_deref(),
            "input.municipalityCaseRef",
            CASE_REF_CHARS,
        )?,
    };
    let changed = changed_fields(&participant, &languages, &checked, &case_ref);
    if changed.is_empty() {
        return Ok(participant);
    }
    let now = crate::db::now();
    let mut row: participant::ActiveModel = participant.clone().into();
    row.first_name = Set(checked.first_name);
    row.birth_year = Set(checked.birth_year);
    row.preferred_contact = Set(checked.preferred_contact);
    row.preferred_language = Set(checked.preferred_language);
    row.phone = Set(checked.phone);
    row.email = Set(checked.email);
    row.district = Set(checked.district);
    row.notes = Set(checked.notes);
    row.municipality_case_ref = Set(case_ref);
    row.version = Set(participant.version + 1);
    row.updated_at = Set(now);
    let claimed = participant::Entity::update_many()
        .set(row)
        .filter(participant::Column::Id.eq(participant.id))
        .filter(participant::Column::Version.eq(participant.version))
        .exec(db)
        .await?
        .rows_affected;
    if claimed == 0 {
        return Err(stale(participant.version + 1));
    }
    if checked.languages != languages {
        replace_languages(db, participant.id, &checked.languages).await?;
    }
    audit::record(
        db,
        &by.actor,
        [Event::new(AuditAction::Update, PARTICIPANT, participant.id)
            .about_participant(participant.id)
            .detail(format!("rectified: {}", changed.join(", ")))],
    )
    .await?;
    participant::Entity::find_by_id(participant.id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("participant".into()))
}

fn stale(current: i32) -> ApiError {
    ApiError::Conflict(format!(
        "she was changed meanwhile (version {current} or later is current); read her again \
         and retry"
    ))
}

/// Her language codes, in the order they are kept.
pub async fn languages_of(db: &impl ConnectionTrait, participant: Uuid) -> ApiResult<Vec<String>> {
    Ok(participant_language::Entity::find()
        .filter(participant_language::Column::ParticipantId.eq(participant))
        .order_by_asc(participant_language::Column::Language)
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.language)
        .collect())
}

async fn replace_languages(
    db: &impl ConnectionTrait,
    participant: Uuid,
    languages: &[String],
) -> ApiResult<()> {
    participant_language::Entity::delete_many()
        .filter(participant_language::Column::ParticipantId.eq(participant))
        .exec(db)
        .await?;
    if languages.is_empty() {
        return Ok(());
    }
    participant_language::Entity::insert_many(languages.iter().map(|language| {
        participant_language::ActiveModel {
            participant_id: Set(participant),
            language: Set(language.clone()),
        }
    }))
    .exec(db)
    .await?;
    Ok(())
}

/// The GraphQL names of the fields whose value differs, in a fixed order.
fn changed_fields(
    before: &participant::Model,
    languages: &[String],
    after: &Checked,
    case_ref: &Option<String>,
) -> Vec<&'static str> {
    let mut sorted_before = languages.to_vec();
    sorted_before.sort();
    let mut sorted_after = after.languages.clone();
    sorted_after.sort();
    [
        ("firstName", before.first_name != after.first_name),
        ("birthYear", before.birth_year != after.birth_year),
        ("languages", sorted_before != sorted_after),
        (
            "preferredContact",
            before.preferred_contact != after.preferred_contact,
        ),
        (
            "preferredLanguage",
            before.preferred_language != after.preferred_language,
        ),
        ("phone", before.phone != after.phone),
        ("email", before.email != after.email),
        ("district", before.district != after.district),
        ("notes", before.notes != after.notes),
        (
            "municipalityCaseRef",
            &before.municipality_case_ref != case_ref,
        ),
    ]
    .into_iter()
    .filter_map(|(name, changed)| changed.then_some(name))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_have_the_documented_shape() {
        for _ in 0..200 {
            let p = pseudonym().unwrap();
            assert_eq!(p.len(), 12, "{p}");
            assert!(p.starts_with("BM-") && &p[7..8] == "-", "{p}");
            for c in p[3..7].chars().chain(p[8..].chars()) {
                assert!(PSEUDONYM_ALPHABET.contains(&(c as u8)), "{p}");
                assert!(!"01OI".contains(c), "{p}");
            }
        }
    }

    #[test]
    fn languages_are_iso_639_codes() {
        for good in ["ar", "so", "som", "da"] {
            assert!(language_code(good, "f").is_ok(), "{good}");
        }
        for bad in ["", "a", "arab", "AR", "a1", "ø", "ar "] {
            assert_eq!(
                language_code(bad, "f").unwrap_err().code(),
                "BAD_USER_INPUT",
                "{bad}"
            );
        }
    }

    #[test]
    fn input_is_checked() {
        let bad = |new: NewParticipant, field: &str| {
            let Err(err) = check(new) else {
                panic!("{field} should be refused");
            };
            assert!(err.to_string().starts_with(field), "{err}");
        };
        bad(
            NewParticipant {
                birth_year: Some(1899),
                ..Default::default()
            },
            "input.birthYear",
        );
        bad(
            NewParticipant {
                birth_year: Some(3000),
                ..Default::default()
            },
            "input.birthYear",
        );
        bad(
            NewParticipant {
                languages: Some(vec!["ar".into(), "xx1".into()]),
                ..Default::default()
            },
            "input.languages[1]",
        );
        bad(
            NewParticipant {
                phone: Some("call me".into()),
                ..Default::default()
            },
            "input.phone",
        );
        bad(
            NewParticipant {
                email: Some("no-at".into()),
                ..Default::default()
            },
            "input.email",
        );
        bad(
            NewParticipant {
                first_name: Some("x".repeat(NAME_CHARS + 1)),
                ..Default::default()
            },
            "input.firstName",
        );
        let ok = check(NewParticipant {
            first_name: Some("  Amina ".into()),
            languages: Some(vec!["ar".into(), "ar".into(), "da".into()]),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ok.first_name.as_deref(), Some("Amina"));
        assert_eq!(ok.languages, ["ar", "da"]);
    }
}
