//! Relay's `Node` interface and `node(id:)`: any global id, through the same loaders (and so
//! the same access rules) as every other path. A hidden row answers exactly like a missing one.

use async_graphql::{Context, ID, Interface, Object};
use entity::{
    api_client, api_token, audit_event, consent, course, enrolment, mother, organisation,
    participant, project, referral_event, service, service_contact, service_location, visit,
    volunteer_hours, webhook, webhook_delivery,
};

use crate::{
    audit_trail::AuditEvent,
    courses::{Course, Enrolment},
    directory::{Service, ServiceContact, ServiceLocation},
    error::ApiResult,
    hours::VolunteerHours,
    ids::{self, Kind},
    loaders::fetch,
    mothers::Mother,
    organisations::Organisation,
    participants::{Consent, Participant},
    projects::Project,
    referrals::{Referral, ReferralEvent},
    tokens::{ApiClient, ApiToken},
    visits::Visit,
    webhooks::{Webhook, WebhookDelivery},
};

/// An object with a global id that `node(id:)` can fetch again.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The global id of this object."))]
pub enum Node {
    Organisation(Organisation),
    Project(Project),
    Mother(Mother),
    Course(Course),
    Enrolment(Enrolment),
    Participant(Participant),
    Consent(Consent),
    Visit(Visit),
    Referral(Referral),
    ReferralEvent(ReferralEvent),
    ApiClient(ApiClient),
    ApiToken(ApiToken),
    AuditEvent(AuditEvent),
    Webhook(Webhook),
    WebhookDelivery(WebhookDelivery),
    VolunteerHours(VolunteerHours),
    Service(Service),
    ServiceLocation(ServiceLocation),
    ServiceContact(ServiceContact),
}

/// Fetches whatever object a global id names, or `None` when it is missing or not visible.
pub async fn resolve(ctx: &Context<'_>, id: &ID) -> ApiResult<Option<Node>> {
    let (kind, uuid) = ids::decode(id, "id")?;
    match kind {
        Kind::Organisation => {
            fetch::<organisation::Entity, _>(ctx, uuid, |m| Node::Organisation(Organisation(m)))
                .await
        }
        Kind::Project => {
            fetch::<project::Entity, _>(ctx, uuid, |m| Node::Project(Project(m))).await
        }
        Kind::Mother => fetch::<mother::Entity, _>(ctx, uuid, |m| Node::Mother(Mother(m))).await,
        Kind::Course => fetch::<course::Entity, _>(ctx, uuid, |m| Node::Course(Course(m))).await,
        Kind::Enrolment => {
            fetch::<enrolment::Entity, _>(ctx, uuid, |m| Node::Enrolment(Enrolment(m))).await
        }
        Kind::Participant => {
            fetch::<participant::Entity, _>(ctx, uuid, |m| Node::Participant(Participant(m))).await
        }
        Kind::Consent => {
            fetch::<consent::Entity, _>(ctx, uuid, |m| Node::Consent(Consent(m))).await
        }
        Kind::Visit => fetch::<visit::Entity, _>(ctx, uuid, |m| Node::Visit(Visit(m))).await,
        Kind::Referral => Ok(crate::referrals::one(ctx, uuid).await?.map(Node::Referral)),
        Kind::ReferralEvent => {
            fetch::<referral_event::Entity, _>(ctx, uuid, |m| Node::ReferralEvent(ReferralEvent(m)))
                .await
        }
        Kind::ApiClient => {
            fetch::<api_client::Entity, _>(ctx, uuid, |m| Node::ApiClient(ApiClient(m))).await
        }
        Kind::ApiToken => {
            fetch::<api_token::Entity, _>(ctx, uuid, |m| Node::ApiToken(ApiToken(m))).await
        }
        Kind::AuditEvent => {
            fetch::<audit_event::Entity, _>(ctx, uuid, |m| Node::AuditEvent(AuditEvent(m))).await
        }
        Kind::Webhook => {
            fetch::<webhook::Entity, _>(ctx, uuid, |m| Node::Webhook(Webhook(m))).await
        }
        Kind::WebhookDelivery => {
            fetch::<webhook_delivery::Entity, _>(ctx, uuid, |m| {
                Node::WebhookDelivery(WebhookDelivery(m))
            })
            .await
        }
        Kind::VolunteerHours => {
            fetch::<volunteer_hours::Entity, _>(ctx, uuid, |m| {
                Node::VolunteerHours(VolunteerHours(m))
            })
            .await
        }
        Kind::Service => {
            fetch::<service::Entity, _>(ctx, uuid, |m| Node::Service(Service(m))).await
        }
        Kind::ServiceLocation => {
            fetch::<service_location::Entity, _>(ctx, uuid, |m| {
                Node::ServiceLocation(ServiceLocation(m))
            })
            .await
        }
        Kind::ServiceContact => {
            fetch::<service_contact::Entity, _>(ctx, uuid, |m| {
                Node::ServiceContact(ServiceContact(m))
            })
            .await
        }
        // Identity configuration, listed by `trustedIssuers`; not a `Node`.
        // Survey rows are read through `questionnaires`, `surveyRounds` and `stats`.
        Kind::TrustedIssuer
        | Kind::StaffMember
        | Kind::ClientCredential
        | Kind::Questionnaire
        | Kind::QuestionnaireItem
        | Kind::SurveyRound
        | Kind::SurveyResponse => Ok(None),
    }
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global id; `null` when it does not exist or this token may not see it.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id from any `id` field of this API; the type is part of it.")]
        id: ID,
    ) -> async_graphql::Result<Option<Node>> {
        Ok(resolve(ctx, &id).await?)
    }
}
