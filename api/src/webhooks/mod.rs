//! Webhooks: an organisation registers an endpoint and a secret, and Bydel POSTs every change
//! of a referral it may see there, signed, retried with backoff, with every attempt visible.
//!
//! The parts: [`write`] (register/update/rotate/delete, and [`enqueue`], called in the
//! transaction that appends a referral event), [`dispatch`] (the background sender every
//! replica runs), [`mutation`] and the types and `webhooks` query here. Reading and changing
//! webhooks needs `referrals:admin`; an organisation sees its own, the secretariat all
//! (rule 5 of [`crate::auth::access`]). The secret is write-only: no field returns it.

pub mod dispatch;
pub mod egress;
mod mutation;
pub mod write;

pub use dispatch::{DispatchSettings, Dispatcher, WebhookArgs, signature};
pub use egress::EgressPolicy;
pub use mutation::WebhookMutation;
pub use write::{WebhookPolicy, enqueue};

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::{organisation, referral_event, webhook, webhook_attempt, webhook_delivery};
use sea_orm::{ColumnTrait, QueryFilter};

use crate::{
    child_of,
    context::RequestContext,
    ids::{self, Kind},
    loaders::lookup,
    loaders::{load_by_id, load_children},
    organisations::Organisation,
    pagination::{ListConnection, Ordering, PageArgs, connection},
    referrals::ReferralEvent,
    vocabulary::{WebhookDeliveryStatus, WebhookEventType},
};

child_of!(AttemptsOfDelivery: webhook_attempt by DeliveryId ordered by Number);

/// An endpoint an organisation registered for referral events.
pub struct Webhook(pub webhook::Model);

/// Conditions on a webhook's deliveries.
#[derive(InputObject, Default)]
pub struct WebhookDeliveryFilter {
    /// Only deliveries in one of these statuses.
    pub status: Option<Vec<WebhookDeliveryStatus>>,
}

/// An endpoint of an organisation's system that is told about referral changes (ids and
/// statuses only, signed with its secret) (`referrals:admin`).
#[Object]
impl Webhook {
    /// The webhook's global id.
    pub async fn id(&self) -> ID {
        Kind::Webhook.id(self.0.id)
    }
    /// The organisation it belongs to: it receives what that organisation may see.
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        let organisation = load_by_id::<organisation::Entity>(ctx, self.0.organisation_id);
        Ok(organisation.await?.map(Organisation))
    }
    /// The `https` URL Bydel POSTs to (public addresses only).
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// What the endpoint is, for people (e.g. `case system, production`).
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Inactive webhooks get no new deliveries; pending ones wait until it is active again.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// When it was registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// What was queued for this webhook, newest first. One query per webhook listed.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only deliveries in these statuses; left out: every delivery of this webhook."
        )]
        filter: Option<WebhookDeliveryFilter>,
        #[graphql(
            desc = "The first this many items (after `after`): 0 to 100; 20 when neither `first` nor `last` is given."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "A cursor (`pageInfo.endCursor` or an edge's `cursor`) from this list in this order: the items after it."
        )]
        after: Option<String>,
        #[graphql(
            desc = "The last this many items (before `before`), for paging backwards: 0 to 100."
        )]
        last: Option<i32>,
        #[graphql(
            desc = "A cursor (`pageInfo.startCursor` or an edge's `cursor`) from this list in this order: the items before it."
        )]
        before: Option<String>,
    ) -> async_graphql::Result<Option<ListConnection<WebhookDelivery>>> {
        use webhook_delivery::Column as D;
        let mut query = ctx
            .principal()?
            .read::<webhook_delivery::Entity>()?
            .filter(D::WebhookId.eq(self.0.id));
        if let Some(status) = filter.unwrap_or_default().status {
            let status: Vec<entity::enums::WebhookDeliveryStatus> =
                crate::inputs::distinct(status.into_iter().map(Into::into).collect());
            query = query.filter(D::Status.is_in(status));
        }
        let ordering = Ordering::descending("created_at", D::CreatedAt, D::Id);
        let args = PageArgs::new(first, after, last, before);
        Ok(Some(
            connection(ctx.db()?, query, ordering, args, WebhookDelivery).await?,
        ))
    }
}

/// One referral event queued for one webhook, and how sending it went.
pub struct WebhookDelivery(pub webhook_delivery::Model);

/// One referral event queued for one webhook, and how sending it went: at least once, retried
/// with backoff until delivered or FAILED.
#[Object]
impl WebhookDelivery {
    /// Also sent as the `Bydel-Delivery` header and the payload's `deliveryId`.
    pub async fn id(&self) -> ID {
        Kind::WebhookDelivery.id(self.0.id)
    }
    /// The webhook it is for.
    async fn webhook(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Webhook>> {
        let webhook = load_by_id::<webhook::Entity>(ctx, self.0.webhook_id);
        Ok(webhook.await?.map(Webhook))
    }
    /// What happened to the referral.
    async fn event_type(&self) -> WebhookEventType {
        self.0.event_type.into()
    }
    /// The timeline event delivered; `null` when this token cannot read the referral
    /// (anymore), e.g. a pool referral another project claimed.
    async fn event(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ReferralEvent>> {
        let event = load_by_id::<referral_event::Entity>(ctx, self.0.referral_event_id);
        Ok(event.await?.map(ReferralEvent))
    }
    /// The exact JSON body sent: ids and statuses only.
    async fn payload(&self) -> &str {
        &self.0.payload
    }
    /// Pending, delivered or failed.
    async fn status(&self) -> WebhookDeliveryStatus {
        self.0.status.into()
    }
    /// Attempts made so far.
    async fn attempt_count(&self) -> i32 {
        self.0.attempts
    }
    /// When the next attempt is due; `null` once delivered or failed.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == entity::enums::WebhookDeliveryStatus::Pending)
            .then_some(self.0.next_attempt_at)
    }
    /// The HTTP status of the last attempt; `null` when it got no answer.
    async fn last_status_code(&self) -> Option<i32> {
        self.0.last_status_code
    }
    /// Why the last attempt failed, in a few words (never the receiver's response).
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When an attempt got a 2xx answer; `null` until then.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
    /// When it was queued (the event's time).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Every attempt, first first.
    async fn attempts(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<WebhookAttempt>>> {
        let rows = load_children::<AttemptsOfDelivery>(ctx, self.0.id).await?;
        Ok(Some(rows.into_iter().map(WebhookAttempt).collect()))
    }
}

/// One try at sending a delivery.
pub struct WebhookAttempt(pub webhook_attempt::Model);

/// One POST of a delivery and its result.
#[Object]
impl WebhookAttempt {
    /// From 1.
    async fn number(&self) -> i32 {
        self.0.number
    }
    /// When the attempt started.
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// How long it took, in milliseconds.
    async fn duration_ms(&self) -> i32 {
        self.0.duration_ms
    }
    /// The receiver's HTTP status; `null` when it did not answer (timeout, no connection).
    async fn status_code(&self) -> Option<i32> {
        self.0.status_code
    }
    /// Why it failed without an HTTP answer (timeout, refused connection, address not public);
    /// `null` otherwise.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The webhooks of the caller's organisation (every organisation's for the secretariat),
    /// newest first. Needs `referrals:admin`.
    async fn webhooks(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The first this many items (after `after`): 0 to 100; 20 when neither `first` nor `last` is given."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "A cursor (`pageInfo.endCursor` or an edge's `cursor`) from this list in this order: the items after it."
        )]
        after: Option<String>,
        #[graphql(
            desc = "The last this many items (before `before`), for paging backwards: 0 to 100."
        )]
        last: Option<i32>,
        #[graphql(
            desc = "A cursor (`pageInfo.startCursor` or an edge's `cursor`) from this list in this order: the items before it."
        )]
        before: Option<String>,
    ) -> async_graphql::Result<Option<ListConnection<Webhook>>> {
        use webhook::Column as W;
        let query = ctx.principal()?.read::<webhook::Entity>()?;
        let ordering = Ordering::descending("created_at", W::CreatedAt, W::Id);
        let args = PageArgs::new(first, after, last, before);
        Ok(Some(
            connection(ctx.db()?, query, ordering, args, Webhook).await?,
        ))
    }

    /// One webhook by id (`referrals:admin`); `null` when it is not the organisation's (the
    /// secretariat sees every organisation's).
    async fn webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The webhook's id (`Webhook.id`).")] id: ID,
    ) -> async_graphql::Result<Option<Webhook>> {
        Ok(lookup::<webhook::Entity, _>(ctx, &id, Kind::Webhook, Webhook).await?)
    }
}

/// Decodes the id of a webhook to change (`NOT_FOUND` comes later, from the data function).
fn webhook_id(id: &ID, field: &str) -> crate::error::ApiResult<uuid::Uuid> {
    ids::decode_as(id, Kind::Webhook, field)
}
