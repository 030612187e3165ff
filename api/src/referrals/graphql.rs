//! The GraphQL face of referral changes: `createReferral`, `transitionReferral` and
//! `claimReferral`. Resolvers decode their arguments (a malformed or wrong-type id is
//! `BAD_USER_INPUT` naming the field) and run one data function of [`super::write`] in one
//! transaction; authorization is decided there, through [`crate::auth::access`]. Results
//! are nullable: a refused mutation answers `null` with the error and writes nothing.

use async_graphql::{Context, ID, InputObject, Object};

use super::{
    Referral,
    lifecycle::Action,
    write::{self, NewReferral, TransitionRequest, Writer},
};
use crate::{
    audit::Actor,
    error::{ApiError, ApiResult},
    events::Outbox,
    ids::{self, Kind},
    schema::RequestContext,
    vocabulary::{ReferralOutcome, ReferralReason, ServiceCategory},
    writes::in_transaction,
};

/// The caller as the writer of a change, with the actor its audit events name.
pub(crate) fn writer<'c>(ctx: &'c Context<'_>) -> ApiResult<Writer<'c>> {
    let principal = ctx.principal()?;
    let outbox = ctx
        .data_opt::<Outbox>()
        .ok_or_else(|| ApiError::internal("request without an event outbox"))?;
    Ok(Writer {
        principal,
        actor: Actor::of(principal, ctx.request_id()),
        outbox,
    })
}

/// An optional id inside `input`, decoded as `kind`.
fn optional_id(id: Option<&ID>, kind: Kind, field: &str) -> ApiResult<Option<uuid::Uuid>> {
    id.map(|id| ids::decode_as(id, kind, field)).transpose()
}

#[derive(InputObject)]
pub struct CreateReferralInput {
    /// The referring project; its operator becomes the requester.
    pub project_id: ID,
    /// A participant of that project.
    pub participant_id: ID,
    /// The organisation asked to act (a municipality's service or an NGO).
    pub receiver_organisation_id: ID,
    pub service_category: ServiceCategory,
    /// The mother who made the referral (of the same project).
    pub mother_id: Option<ID>,
    /// The visit the referral came out of (of the same project).
    pub visit_id: Option<ID>,
    /// Free text about her: personal data, at most 4000 characters.
    pub note: Option<String>,
    /// The directory service asked for: the receiver's, in `serviceCategory`, still offered.
    pub service_id: Option<ID>,
}

#[derive(InputObject)]
pub struct TransitionReferralInput {
    pub id: ID,
    /// The `version` the client last read; a stale one gets `CONFLICT` and changes nothing.
    pub version: i32,
    pub action: Action,
    /// Required for REJECT, FAIL and CANCEL; optional for MARK_ENTERED_IN_ERROR.
    pub reason: Option<ReferralReason>,
    /// Required for COMPLETE.
    pub outcome: Option<ReferralOutcome>,
    /// Free text on the timeline event: personal data, at most 4000 characters.
    pub note: Option<String>,
}

#[derive(InputObject)]
pub struct ClaimReferralInput {
    pub id: ID,
    pub version: i32,
    /// The project taking the referral on; its operator becomes the receiver.
    pub project_id: ID,
}

/// Referral changes (`referrals:write`). Each mutation is one transaction with its timeline
/// and audit events.
#[derive(Default)]
pub struct ReferralMutation;

#[Object]
impl ReferralMutation {
    /// Creates an outbound referral as a DRAFT. REQUEST it with `transitionReferral` once
    /// she has consented to share with the receiver.
    async fn create_referral(
        &self,
        ctx: &Context<'_>,
        input: CreateReferralInput,
    ) -> async_graphql::Result<Option<Referral>> {
        let by = writer(ctx)?;
        let new = NewReferral {
            project_id: ids::decode_as(&input.project_id, Kind::Project, "input.projectId")?,
            participant_id: ids::decode_as(
                &input.participant_id,
                Kind::Participant,
                "input.participantId",
            )?,
            receiver_organisation_id: ids::decode_as(
                &input.receiver_organisation_id,
                Kind::Organisation,
                "input.receiverOrganisationId",
            )?,
            service_category: input.service_category.into(),
            mother_id: optional_id(input.mother_id.as_ref(), Kind::Mother, "input.motherId")?,
            visit_id: optional_id(input.visit_id.as_ref(), Kind::Visit, "input.visitId")?,
            note: input.note,
            service_id: optional_id(input.service_id.as_ref(), Kind::Service, "input.serviceId")?,
        };
        let referral = in_transaction(ctx, async |txn| write::create(txn, &by, new).await);
        Ok(Some(Referral(referral.await?)))
    }

    /// Moves a referral one step through its lifecycle (see `ReferralAction`). Errors:
    /// NOT_FOUND (not visible), CONFLICT (stale version), FORBIDDEN (the other side's
    /// action, or REQUEST without her live consent), INVALID_TRANSITION (not from this
    /// status; the message lists the allowed actions), BAD_USER_INPUT (reason/outcome).
    async fn transition_referral(
        &self,
        ctx: &Context<'_>,
        input: TransitionReferralInput,
    ) -> async_graphql::Result<Option<Referral>> {
        let by = writer(ctx)?;
        let request = TransitionRequest {
            id: ids::decode_as(&input.id, Kind::Referral, "input.id")?,
            version: input.version,
            action: input.action,
            reason: input.reason.map(Into::into),
            outcome: input.outcome.map(Into::into),
            note: input.note,
        };
        let referral = in_transaction(ctx, async |txn| write::transition(txn, &by, request).await);
        Ok(Some(Referral(referral.await?)))
    }

    /// Claims an unclaimed REQUESTED referral from a municipality's pool for a project the
    /// caller operates in that municipality; the project's operator becomes the receiver.
    async fn claim_referral(
        &self,
        ctx: &Context<'_>,
        input: ClaimReferralInput,
    ) -> async_graphql::Result<Option<Referral>> {
        let by = writer(ctx)?;
        let id = ids::decode_as(&input.id, Kind::Referral, "input.id")?;
        let project = ids::decode_as(&input.project_id, Kind::Project, "input.projectId")?;
        let referral = in_transaction(ctx, async |txn| {
            write::claim(txn, &by, id, input.version, project).await
        });
        Ok(Some(Referral(referral.await?)))
    }
}
