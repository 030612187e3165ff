//! The GraphQL face of participant changes: `registerParticipant`, `updateParticipant`,
//! `eraseParticipant`, `recordConsent` and `withdrawConsent`. Resolvers decode their arguments and run one data function of
//! [`super::write`] in one transaction; authorization is decided there, through
//! [`crate::auth::access`]. Results are nullable: a refused mutation answers `null` with
//! the error and writes nothing.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use chrono::{DateTime, Utc};

use super::{
    Consent, Participant, erasure,
    write::{self, NewConsent, NewParticipant, Rectification},
};
use crate::{
    ids::{self, Kind},
    referrals::graphql::writer,
    vocabulary::{ConsentPurpose, ContactMethod},
    writes::in_transaction,
};

/// A woman registered by a project because a referral or her wish to be contacted needs it:
/// pseudonymous, with only the personal data that purpose needs.
#[derive(InputObject)]
pub struct RegisterParticipantInput {
    /// The project that works with her; the caller must operate it. A municipality leaves it
    /// out to register a woman it refers to the programme (`referToProgramme`).
    pub project_id: Option<ID>,
    /// At most 100 characters. Personal data, like every field below.
    pub first_name: Option<String>,
    /// 1900 to this year.
    pub birth_year: Option<i32>,
    /// ISO 639 codes (2–3 lower-case letters), e.g. `["ar", "da"]`; at most 20.
    pub languages: Option<Vec<String>>,
    /// How she prefers to be contacted. Personal data.
    pub preferred_contact: Option<ContactMethod>,
    /// One ISO 639 code.
    pub preferred_language: Option<String>,
    /// At most 32 characters: digits, spaces, +, - and parentheses.
    pub phone: Option<String>,
    /// At most 254 characters.
    pub email: Option<String>,
    /// At most 100 characters.
    pub district: Option<String>,
    /// At most 4000 characters.
    pub notes: Option<String>,
    /// A municipality's own case reference (never a CPR number), at most 64 characters; only
    /// a municipality gives it.
    pub municipality_case_ref: Option<String>,
}

/// A correction of her record (Art. 16). Only the fields given change; `null` empties one;
/// `languages` replaces all. Limits as for `registerParticipant`.
#[derive(InputObject)]
pub struct UpdateParticipantInput {
    /// Her id (`Participant.id`).
    pub id: ID,
    /// The `version` last read; a newer one means someone else changed her: `CONFLICT`.
    pub version: i32,
    /// Her first name; `null` empties it. Personal data.
    pub first_name: MaybeUndefined<String>,
    /// The year she was born; `null` empties it. Personal data.
    pub birth_year: MaybeUndefined<i32>,
    /// ISO 639 codes of the languages she speaks; replaces all. Personal data.
    pub languages: Option<Vec<String>>,
    /// How she prefers to be contacted; `null` empties it. Personal data.
    pub preferred_contact: MaybeUndefined<ContactMethod>,
    /// ISO 639 code of the language she prefers to be contacted in; `null` empties it. Personal
    /// data.
    pub preferred_language: MaybeUndefined<String>,
    /// Her phone number; `null` empties it. Personal data.
    pub phone: MaybeUndefined<String>,
    /// Her e-mail address; `null` empties it. Personal data.
    pub email: MaybeUndefined<String>,
    /// The district she lives in; `null` empties it. Personal data.
    pub district: MaybeUndefined<String>,
    /// Free text about her, at most 4000 characters; `null` empties it. Personal data.
    pub notes: MaybeUndefined<String>,
    /// The receiving municipality's own case reference (never a CPR number), at most 64
    /// characters: set only by a municipality that registered her or receives a referral
    /// about her, and the only field such a municipality may set.
    pub municipality_case_ref: MaybeUndefined<String>,
}

/// What a participant agreed to, as she said it or signed it.
#[derive(InputObject)]
pub struct RecordConsentInput {
    /// The participant (`Participant.id`) who gave the consent.
    pub participant_id: ID,
    /// SHARE_WITH_RECEIVER or CONTACT. STATISTICS is refused: figures need no consent.
    pub purpose: ConsentPurpose,
    /// Required for SHARE_WITH_RECEIVER (the organisation she shares with); refused otherwise.
    pub receiver_organisation_id: Option<ID>,
    /// When she gave it, for a consent taken on paper: not in the future, at most 92 days
    /// back. Default: now.
    pub given_at: Option<DateTime<Utc>>,
    /// The end of the period she agreed to; the consent is not live from then on. Default:
    /// until withdrawn.
    pub valid_until: Option<DateTime<Utc>>,
    /// The mother (of her project) who took the consent on paper.
    pub recorded_by_mother_id: Option<ID>,
}

/// Participant changes (`participants:write`), each one transaction with its audit event.
#[derive(Default)]
pub struct ParticipantMutation;

#[Object]
impl ParticipantMutation {
    /// Registers a participant in a project; Bydel generates her pseudonym.
    async fn register_participant(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The new participant: her project and the personal data the referral or contact needs."
        )]
        input: RegisterParticipantInput,
    ) -> async_graphql::Result<Option<Participant>> {
        let by = writer(ctx)?;
        let new = NewParticipant {
            project_id: input
                .project_id
                .map(|id| ids::decode_as(&id, Kind::Project, "input.projectId"))
                .transpose()?,
            first_name: input.first_name,
            birth_year: input.birth_year,
            languages: input.languages,
            preferred_contact: input.preferred_contact.map(Into::into),
            preferred_language: input.preferred_language,
            phone: input.phone,
            email: input.email,
            district: input.district,
            notes: input.notes,
        };
        let case_ref = input.municipality_case_ref;
        let participant = in_transaction(ctx, async |txn| {
            write::register(txn, &by, new, case_ref).await
        });
        Ok(Some(Participant(participant.await?)))
    }

    /// Corrects her personal fields; the audit trail names the fields changed, not their
    /// values. Stale `version`: CONFLICT; erased: INVALID_TRANSITION.
    async fn update_participant(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Her id, the version last read and the fields to correct (or clear); fields left out stay as they are."
        )]
        input: UpdateParticipantInput,
    ) -> async_graphql::Result<Option<Participant>> {
        let by = writer(ctx)?;
        let change = Rectification {
            id: ids::decode_as(&input.id, Kind::Participant, "input.id")?,
            version: input.version,
            first_name: input.first_name.into(),
            birth_year: input.birth_year.into(),
            languages: input.languages,
            preferred_contact: Option::<Option<ContactMethod>>::from(input.preferred_contact)
                .map(|value| value.map(Into::into)),
            preferred_language: input.preferred_language.into(),
            phone: input.phone.into(),
            email: input.email.into(),
            district: input.district.into(),
            notes: input.notes.into(),
            municipality_case_ref: input.municipality_case_ref.into(),
        };
        let participant = in_transaction(ctx, async |txn| write::rectify(txn, &by, change).await);
        Ok(Some(Participant(participant.await?)))
    }

    /// Erases her personal data and every free text about her (Art. 17), irreversibly, in
    /// one transaction; cancels her open referrals (CONSENT_WITHDRAWN) and withdraws her
    /// consents. The pseudonymous rows stay, so every statistic is unchanged. Needs
    /// `participants:admin` (the secretariat, the operator of her project or the organisation
    /// that registered her). `reason` (at most 200 characters) is kept in the audit trail and
    /// must not repeat her data. Erasing her again answers her as she is.
    async fn erase_participant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Her id (`Participant.id`).")] id: ID,
        #[graphql(
            desc = "Why she is erased (e.g. `request 2026-17`): kept in the audit event, so it must not repeat her data."
        )]
        reason: String,
    ) -> async_graphql::Result<Option<Participant>> {
        let by = writer(ctx)?;
        let id = ids::decode_as(&id, Kind::Participant, "id")?;
        let erased = in_transaction(ctx, async |txn| erasure::erase(txn, &by, id, &reason).await);
        Ok(Some(Participant(erased.await?)))
    }

    /// Records what she agreed to. Recording a consent that is already live answers it.
    async fn record_consent(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The participant, what she agreed to (purpose, receiver), when and who took it."
        )]
        input: RecordConsentInput,
    ) -> async_graphql::Result<Option<Consent>> {
        let by = writer(ctx)?;
        let new = NewConsent {
            participant_id: ids::decode_as(
                &input.participant_id,
                Kind::Participant,
                "input.participantId",
            )?,
            purpose: Some(input.purpose.into()),
            receiver_organisation_id: input
                .receiver_organisation_id
                .map(|id| ids::decode_as(&id, Kind::Organisation, "input.receiverOrganisationId"))
                .transpose()?,
            given_at: input.given_at,
            valid_until: input.valid_until,
            recorded_by_mother_id: input
                .recorded_by_mother_id
                .map(|id| ids::decode_as(&id, Kind::Mother, "input.recordedByMotherId"))
                .transpose()?,
        };
        let consent = in_transaction(ctx, async |txn| write::record_consent(txn, &by, new).await);
        Ok(Some(Consent(consent.await?)))
    }

    /// Withdraws a consent. Withdrawing sharing consent cancels her open referrals to that
    /// receiver (reason CONSENT_WITHDRAWN) and hides her personal data from it at once.
    async fn withdraw_consent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the consent she withdraws.")] id: ID,
    ) -> async_graphql::Result<Option<Consent>> {
        let by = writer(ctx)?;
        let id = ids::decode_as(&id, Kind::Consent, "id")?;
        let consent = in_transaction(ctx, async |txn| write::withdraw_consent(txn, &by, id).await);
        Ok(Some(Consent(consent.await?)))
    }
}
