//! The GraphQL face of webhook changes: `registerWebhook`, `updateWebhook`,
//! `rotateWebhookSecret` and `deleteWebhook`, all under `referrals:admin`.
//!
//! Resolvers check the scope first ([`Admin::of`]), then the input (`BAD_USER_INPUT` naming
//! the field, nothing written), then run one data function of [`super::write`] in one
//! transaction. Another organisation's webhook is `NOT_FOUND`, like a missing one.

use async_graphql::{Context, ID, InputObject, Object};

use super::{
    Webhook, webhook_id,
    write::{self, Admin, NewWebhook, WebhookChange, WebhookPolicy},
};
use crate::{context::RequestContext, error::ApiResult, writes::in_transaction};

/// A new webhook of the caller's organisation.
#[derive(InputObject)]
pub struct RegisterWebhookInput {
    /// Absolute https URL, at most 2048 characters (http only for a loopback host, unless
    /// the server allows it).
    pub url: String,
    /// 32 to 256 visible ASCII characters; deliveries are signed with it. Never shown again.
    pub secret: String,
    /// At most 256 characters.
    pub description: Option<String>,
}

/// A change to a webhook; only the fields given change.
#[derive(InputObject)]
pub struct UpdateWebhookInput {
    /// The webhook to change (`Webhook.id`).
    pub id: ID,
    /// A new endpoint URL, under the same rules as at registration.
    pub url: Option<String>,
    /// An empty text clears it.
    pub description: Option<String>,
    /// false stops new deliveries (pending ones wait); true resumes them.
    pub active: Option<bool>,
}

/// A new secret for a webhook.
#[derive(InputObject)]
pub struct RotateWebhookSecretInput {
    /// The webhook to change (`Webhook.id`).
    pub id: ID,
    /// The new secret (32 to 256 visible ASCII characters); the next attempt signs with it.
    pub secret: String,
}

fn admin<'c>(ctx: &'c Context<'_>) -> ApiResult<Admin<'c>> {
    Admin::of(ctx.principal()?, ctx.request_id())
}

fn policy(ctx: &Context<'_>) -> WebhookPolicy {
    ctx.data_opt::<WebhookPolicy>().copied().unwrap_or_default()
}

/// Webhook changes (`referrals:admin`). Each mutation is one transaction with its audit event.
#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers a webhook for the caller's organisation: from now on every change of a
    /// referral the organisation may see is POSTed to `url`, signed with `secret`.
    async fn register_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint URL, the secret both sides keep and a description.")]
        input: RegisterWebhookInput,
    ) -> async_graphql::Result<Option<Webhook>> {
        let by = admin(ctx)?;
        let new = NewWebhook {
            url: write::endpoint(&input.url, "input.url", policy(ctx)).await?,
            secret: write::secret(&input.secret, "input.secret")?,
            description: write::description(input.description.as_deref(), "input.description")?,
        };
        let webhook = in_transaction(ctx, async |txn| write::register(txn, &by, new).await);
        Ok(Some(Webhook(webhook.await?)))
    }

    /// Changes a webhook's URL, description or active flag.
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The webhook and the fields to change (URL, description, active); fields left out stay as they are."
        )]
        input: UpdateWebhookInput,
    ) -> async_graphql::Result<Option<Webhook>> {
        let by = admin(ctx)?;
        let id = webhook_id(&input.id, "input.id")?;
        let url = match input.url {
            Some(url) => Some(write::endpoint(&url, "input.url", policy(ctx)).await?),
            None => None,
        };
        let change = WebhookChange {
            url,
            description: input
                .description
                .map(|text| write::description(Some(&text), "input.description"))
                .transpose()?,
            active: input.active,
        };
        let webhook = in_transaction(ctx, async |txn| write::update(txn, &by, id, change).await);
        Ok(Some(Webhook(webhook.await?)))
    }

    /// Replaces a webhook's signing secret.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The webhook and its new secret.")] input: RotateWebhookSecretInput,
    ) -> async_graphql::Result<Option<Webhook>> {
        let by = admin(ctx)?;
        let id = webhook_id(&input.id, "input.id")?;
        let secret = write::secret(&input.secret, "input.secret")?;
        let webhook = in_transaction(ctx, async |txn| {
            write::rotate_secret(txn, &by, id, secret).await
        });
        Ok(Some(Webhook(webhook.await?)))
    }

    /// Deletes a webhook with its queue and delivery history; answers the deleted id.
    async fn delete_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the webhook to delete, with its delivery history.")] id: ID,
    ) -> async_graphql::Result<Option<ID>> {
        let by = admin(ctx)?;
        let uuid = webhook_id(&id, "id")?;
        in_transaction(ctx, async |txn| write::delete(txn, &by, uuid).await).await?;
        Ok(Some(id))
    }
}
