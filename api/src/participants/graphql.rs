//! The GraphQL face of participant changes: `registerParticipant`, `recordConsent` and
//! `withdrawConsent`. Resolvers decode their arguments and run one data function of
//! [`super::write`] in one transaction; authorization is decided there, through
//! [`crate::auth::access`]. Results are nullable: a refused mutation answers `null` with
//! the error and writes nothing.

use async_graphql::{Context, ID, InputObject, Object};

use super::{
    Consent, Participant,
    write::{self, NewConsent, NewParticipant},
};
use crate::{
    ids::{self, Kind},
    referrals::graphql::writer,
    vocabulary::{ConsentPurpose, ContactMethod},
    writes::in_transaction,
};

#[derive(InputObject)]
pub struct RegisterParticipantInput {
    /// The project that works with her; the caller must operate it.
    pub project_id: ID,
    /// At most 100 characters. Personal data, like every field below.
    pub first_name: Option<String>,
    /// 1900 to this year.
    pub birth_year: Option<i32>,
    /// ISO 639 codes (2–3 lower-case letters), e.g. `["ar", "da"]`; at most 20.
    pub languages: Option<Vec<String>>,
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
}

#[derive(InputObject)]
pub struct RecordConsentInput {
    pub participant_id: ID,
    pub purpose: ConsentPurpose,
    /// Required for SHARE_WITH_RECEIVER (the organisation she shares with); refused otherwise.
    pub receiver_organisation_id: Option<ID>,
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
        input: RegisterParticipantInput,
    ) -> async_graphql::Result<Option<Participant>> {
        let by = writer(ctx)?;
        let new = NewParticipant {
            project_id: ids::decode_as(&input.project_id, Kind::Project, "input.projectId")?,
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
        let participant = in_transaction(ctx, async |txn| write::register(txn, &by, new).await);
        Ok(Some(Participant(participant.await?)))
    }

    /// Records what she agreed to. Recording a consent that is already live answers it.
    async fn record_consent(
        &self,
        ctx: &Context<'_>,
        input: RecordConsentInput,
    ) -> async_graphql::Result<Option<Consent>> {
        let by = writer(ctx)?;
        let new = NewConsent {
            participant_id: ids::decode_as(
                &input.participant_id,
                Kind::Participant,
                "input.participantId",
            )?,
            purpose: input.purpose.into(),
            receiver_organisation_id: input
                .receiver_organisation_id
                .map(|id| ids::decode_as(&id, Kind::Organisation, "input.receiverOrganisationId"))
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
        id: ID,
    ) -> async_graphql::Result<Option<Consent>> {
        let by = writer(ctx)?;
        let id = ids::decode_as(&id, Kind::Consent, "id")?;
        let consent = in_transaction(ctx, async |txn| write::withdraw_consent(txn, &by, id).await);
        Ok(Some(Consent(consent.await?)))
    }
}
