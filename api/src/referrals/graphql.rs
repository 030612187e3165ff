//! The GraphQL face of referral changes: `createReferral`, `referToProgramme`,
//! `transitionReferral`, and the handovers `claimReferral`, `releaseReferral` and
//! `forwardReferral`. Resolvers decode their arguments (a malformed or wrong-type id is
//! `BAD_USER_INPUT` naming the field) and run one data function of [`super::write`] in one
//! transaction; authorization is decided there, through [`crate::auth::access`]. Results
//! are nullable: a refused mutation answers `null` with the error and writes nothing.

use async_graphql::{Context, ID, InputObject, Object};

use super::{
    Referral, handover,
    handover::ForwardTo,
    inbound::{self, NewInboundReferral},
    lifecycle::Action,
    messages,
    write::{self, NewReferral, TransitionRequest, Writer},
};
use crate::{
    context::RequestContext,
    error::{ApiError, ApiResult},
    events::Outbox,
    ids::{self, Kind},
    vocabulary::{ReferralOutcome, ReferralPriority, ReferralReason, ServiceCategory},
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
        actor: principal.actor(ctx.request_id()),
        outbox,
    })
}

/// An optional id inside `input`, decoded as `kind`.
fn optional_id(id: Option<&ID>, kind: Kind, field: &str) -> ApiResult<Option<uuid::Uuid>> {
    id.map(|id| ids::decode_as(id, kind, field)).transpose()
}

/// A new outbound referral, written as a DRAFT; `transitionReferral` with REQUEST sends it.
#[derive(InputObject)]
pub struct CreateReferralInput {
    /// The referring project; its operator becomes the requester.
    pub project_id: ID,
    /// A participant of that project.
    pub participant_id: ID,
    /// The organisation asked to act (a municipality's service or an NGO).
    pub receiver_organisation_id: ID,
    /// The kind of service asked for.
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

/// One step of a referral's lifecycle, by the side the action belongs to.
#[derive(InputObject)]
pub struct TransitionReferralInput {
    /// The referral to act on (`Referral.id`).
    pub id: ID,
    /// The `version` the client last read; a stale one gets `CONFLICT` and changes nothing.
    pub version: i32,
    /// What to do; `Referral.availableActions` lists what the caller may do now.
    pub action: Action,
    /// Required for REJECT, FAIL and CANCEL; optional for MARK_ENTERED_IN_ERROR.
    pub reason: Option<ReferralReason>,
    /// Required for COMPLETE.
    pub outcome: Option<ReferralOutcome>,
    /// Free text on the timeline event: personal data, at most 4000 characters.
    pub note: Option<String>,
}

/// A project takes on an inbound referral waiting in its municipality's pool.
#[derive(InputObject)]
pub struct ClaimReferralInput {
    /// The referral waiting in a pool of the project's municipality (`Referral.id`).
    pub id: ID,
    /// The `version` last read; a newer one means someone else moved it: `CONFLICT`.
    pub version: i32,
    /// The project taking the referral on; its operator becomes the receiver.
    pub project_id: ID,
}

/// A municipality refers a woman it registered to the programme.
#[derive(InputObject)]
pub struct ReferToProgrammeInput {
    /// A participant the calling municipality registered.
    pub participant_id: ID,
    /// A project the municipality sees (its operator receives the referral); leave out to
    /// refer her to the municipality's pool, where NGOs running projects there claim her.
    pub project_id: Option<ID>,
    /// What she is referred for. Default NEIGHBOURHOOD_MOTHER.
    pub service_category: Option<ServiceCategory>,
    /// Default ROUTINE.
    pub priority: Option<ReferralPriority>,
    /// Free text about her: personal data, at most 4000 characters.
    pub note: Option<String>,
}

/// The holder gives a claimed pool referral back to its pool.
#[derive(InputObject)]
pub struct ReleaseReferralInput {
    /// The referral to act on (`Referral.id`).
    pub id: ID,
    /// The `version` last read; a newer one means someone else moved it: `CONFLICT`.
    pub version: i32,
    /// Why: NO_CAPACITY, NOT_ELIGIBLE, REFERRED_ELSEWHERE, COULD_NOT_CONTACT or OTHER.
    pub reason: ReferralReason,
    /// Free text on the timeline event: personal data, at most 4000 characters.
    pub note: Option<String>,
}

/// A message on a referral's thread, between requester and performer.
#[derive(InputObject)]
pub struct PostReferralMessageInput {
    /// The referral to act on (`Referral.id`).
    pub referral_id: ID,
    /// 1 to 4000 characters: personal data about her, under the same rule as notes.
    pub body: String,
}

/// Exactly one of `projectId` and `toRequester`.
#[derive(InputObject)]
pub struct ForwardReferralInput {
    /// The referral to act on (`Referral.id`).
    pub id: ID,
    /// The `version` last read; a newer one means someone else moved it: `CONFLICT`.
    pub version: i32,
    /// Another project of the organisation holding the referral.
    pub project_id: Option<ID>,
    /// True: back to the municipality that referred her (inbound referrals only).
    pub to_requester: Option<bool>,
    /// Free text on the timeline event: personal data, at most 4000 characters.
    pub note: Option<String>,
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
        #[graphql(
            desc = "The new referral (in DRAFT): project, participant, receiver, service asked for, note."
        )]
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
        #[graphql(
            desc = "The referral, the version last read, the action, and its reason, outcome or note."
        )]
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
        #[graphql(
            desc = "The pool referral, the version last read and the project that takes it on."
        )]
        input: ClaimReferralInput,
    ) -> async_graphql::Result<Option<Referral>> {
        let by = writer(ctx)?;
        let id = ids::decode_as(&input.id, Kind::Referral, "input.id")?;
        let project = ids::decode_as(&input.project_id, Kind::Project, "input.projectId")?;
        let referral = in_transaction(ctx, async |txn| {
            handover::claim(txn, &by, id, input.version, project).await
        });
        Ok(Some(Referral(referral.await?)))
    }

    /// A municipality refers a woman it registered to the programme, as a DRAFT: to a project
    /// or to its pool. REQUEST it with `transitionReferral` once she consented to be
    /// contacted (CONTACT; for a project also SHARE_WITH_RECEIVER to its operator).
    async fn refer_to_programme(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The woman the municipality refers (minimal, pseudonymous, with its case reference) and the project or pool she goes to."
        )]
        input: ReferToProgrammeInput,
    ) -> async_graphql::Result<Option<Referral>> {
        let by = writer(ctx)?;
        let new = NewInboundReferral {
            participant_id: ids::decode_as(
                &input.participant_id,
                Kind::Participant,
                "input.participantId",
            )?,
            project_id: optional_id(input.project_id.as_ref(), Kind::Project, "input.projectId")?,
            service_category: input.service_category.map_or(
                entity::enums::ServiceCategory::NeighbourhoodMother,
                Into::into,
            ),
            priority: input.priority.map(Into::into).unwrap_or_default(),
            note: input.note,
        };
        let referral = in_transaction(ctx, async |txn| inbound::create(txn, &by, new).await);
        Ok(Some(Referral(referral.await?)))
    }

    /// Writes to a referral's thread (requester or performer, once requested). Partners hear
    /// of it as `referral.message` (webhooks) and MESSAGE (subscriptions), by id only.
    async fn post_referral_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The referral and the message: free text about her, personal data.")]
        input: PostReferralMessageInput,
    ) -> async_graphql::Result<Option<messages::ReferralMessage>> {
        let by = writer(ctx)?;
        let id = ids::decode_as(&input.referral_id, Kind::Referral, "input.referralId")?;
        let body = input.body;
        let message = in_transaction(ctx, async |txn| messages::post(txn, &by, id, &body).await);
        Ok(Some(messages::ReferralMessage(message.await?)))
    }

    /// The organisation holding a referral claimed from a pool gives it back: receiver and
    /// project are cleared, the status is REQUESTED again and the pool's NGOs may claim it.
    async fn release_referral(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The claimed referral, the version last read and why it goes back to its pool."
        )]
        input: ReleaseReferralInput,
    ) -> async_graphql::Result<Option<Referral>> {
        let by = writer(ctx)?;
        let id = ids::decode_as(&input.id, Kind::Referral, "input.id")?;
        let reason = Some(input.reason.into());
        let note = input.note;
        let referral = in_transaction(ctx, async |txn| {
            handover::release(txn, &by, id, input.version, reason, note).await
        });
        Ok(Some(Referral(referral.await?)))
    }

    /// The organisation holding a referral hands it to another of its projects (the status
    /// stays), or an inbound one back to the municipality that referred her (REQUESTED).
    async fn forward_referral(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The referral, the version last read and where it goes: another project or a pool."
        )]
        input: ForwardReferralInput,
    ) -> async_graphql::Result<Option<Referral>> {
        let by = writer(ctx)?;
        let id = ids::decode_as(&input.id, Kind::Referral, "input.id")?;
        let project = optional_id(input.project_id.as_ref(), Kind::Project, "input.projectId")?;
        let to = match (project, input.to_requester.unwrap_or(false)) {
            (Some(project), false) => ForwardTo::Project(project),
            (None, true) => ForwardTo::Requester,
            _ => {
                return Err(ApiError::validation(
                    "input.projectId",
                    "give exactly one of projectId and toRequester: true",
                )
                .into());
            }
        };
        let note = input.note;
        let referral = in_transaction(ctx, async |txn| {
            handover::forward(txn, &by, id, input.version, to, note).await
        });
        Ok(Some(Referral(referral.await?)))
    }
}
