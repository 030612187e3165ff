//! Changing webhooks (register, update, rotate the secret, delete) and queueing deliveries
//! when a referral changes. Data functions only; the GraphQL face is [`super::mutation`].
//!
//! Invariants:
//! - Only an [`Admin`] changes webhooks: `referrals:admin`, checked before any input is
//!   looked at. A webhook the caller may not see (another organisation's) is `NOT_FOUND`,
//!   exactly like a missing one. Every change writes an audit event in the same transaction;
//!   neither the secret nor the URL's path or query reaches the audit trail or the logs.
//! - [`enqueue`] runs in the transaction that appends a referral event, so a delivery exists
//!   exactly when its event committed. It queues one delivery per active webhook of every
//!   organisation that may read the referral ([`referral_audience`]); the stored payload
//!   carries ids and statuses only, never notes or personal data.

use entity::{
    enums::{AuditAction, TimelineKind, WebhookDeliveryStatus, WebhookEventType},
    organisation, referral, referral_event, webhook,
    webhook::WebhookSecret,
    webhook_delivery,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect, QueryTrait,
};
use serde::Serialize;
use uuid::Uuid;

use super::egress::{self, EgressPolicy};
use crate::{
    audit::{self, Actor, Event},
    auth::{Principal, access::referral_audience},
    error::{ApiError, ApiResult},
    ids::Kind,
    referrals::lifecycle::status_name,
    writes::optional_text,
};

/// The `entity_type` of audit events about webhooks.
const ENTITY: &str = "webhook";

/// The longest endpoint URL, in characters.
pub const URL_CHARS: usize = 2048;
/// The longest description, in characters (the column's width).
pub const DESCRIPTION_CHARS: usize = 256;
/// A secret's length in characters: long enough to resist guessing, short enough for any
/// receiver's configuration.
pub const SECRET_CHARS: std::ops::RangeInclusive<usize> = 32..=256;
/// Webhooks per organisation: each referral event fans out to every one of them.
pub const MAX_PER_ORGANISATION: u64 = 10;

/// Which endpoint URLs registration accepts (`--webhook-allow-http`,
/// `--webhook-allow-loopback`); schema data.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookPolicy {
    /// Accept plain `http` for any permitted host, not only loopback ones (closed networks).
    pub allow_http: bool,
    /// Which addresses an endpoint may point at.
    pub egress: EgressPolicy,
}

/// Who changes webhooks: a principal holding `referrals:admin`, and the actor its audit
/// events name.
pub struct Admin<'a> {
    principal: &'a Principal,
    actor: Actor,
}

impl<'a> Admin<'a> {
    /// `FORBIDDEN` without `referrals:admin`; nothing else is looked at before this.
    pub fn of(principal: &'a Principal, request_id: Option<String>) -> ApiResult<Self> {
        principal.may_manage_webhooks()?;
        Ok(Admin {
            principal,
            actor: principal.actor(request_id),
        })
    }

    async fn record(&self, db: &impl ConnectionTrait, event: Event) -> ApiResult<()> {
        audit::record(db, &self.actor, [event]).await
    }
}

/// Checks an endpoint URL: absolute, at most [`URL_CHARS`], `https` (or `http` for a
/// loopback host, or anywhere when `policy` allows it), without credentials, fragment or
/// control characters, and pointing at a public address ([`EgressPolicy::admits`]). Returns it
/// normalised.
pub async fn endpoint(url: &str, field: &str, policy: WebhookPolicy) -> ApiResult<String> {
    let parsed = parse_endpoint(url, field, policy)?;
    let host = parsed.host_str().unwrap_or_default();
    let port = parsed.port_or_known_default().unwrap_or(443);
    policy
        .egress
        .admits(host, port)
        .await
        .map_err(|refused| ApiError::validation(field, refused.0))?;
    Ok(parsed.to_string())
}

/// The checks of [`endpoint`] that need no name resolution.
fn parse_endpoint(url: &str, field: &str, policy: WebhookPolicy) -> ApiResult<reqwest::Url> {
    // The URL parser would silently drop CR, LF and tab; a URL that carries them is refused
    // rather than rewritten into something its author did not write.
    if url.chars().any(char::is_control) {
        return Err(ApiError::validation(
            field,
            "must not contain control characters (CR, LF, tab, ...)",
        ));
    }
    let text = url.trim();
    if text.is_empty() {
        return Err(ApiError::validation(field, "give the endpoint's URL"));
    }
    if text.chars().count() > URL_CHARS {
        return Err(ApiError::validation(
            field,
            format!("is longer than {URL_CHARS} characters"),
        ));
    }
    let parsed = reqwest::Url::parse(text).map_err(|_| {
        ApiError::validation(
            field,
            "is not an absolute URL; use e.g. https://example.org/bydel/webhook",
        )
    })?;
    let Some(host) = parsed.host_str() else {
        return Err(ApiError::validation(field, "names no host"));
    };
    match parsed.scheme() {
        "https" => {}
        "http" if policy.allow_http || egress::names_loopback(host) => {}
        _ => {
            return Err(ApiError::validation(
                field,
                "must be an https URL (http only for a loopback host)",
            ));
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ApiError::validation(
            field,
            "must not carry a user name or password; receivers check the signature instead",
        ));
    }
    if parsed.fragment().is_some() {
        return Err(ApiError::validation(field, "must not have a #fragment"));
    }
    Ok(parsed)
}

/// Checks a signing secret: [`SECRET_CHARS`] visible ASCII characters (no spaces), so it
/// survives every configuration format unchanged.
pub fn secret(text: &str, field: &str) -> ApiResult<WebhookSecret> {
    if !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::validation(
            field,
            "use visible ASCII characters only (no spaces), e.g. a random hex or base64 string",
        ));
    }
    let chars = text.len();
    if !SECRET_CHARS.contains(&chars) {
        return Err(ApiError::validation(
            field,
            format!(
                "must have {} to {} characters; this one has {chars}",
                SECRET_CHARS.start(),
                SECRET_CHARS.end()
            ),
        ));
    }
    Ok(WebhookSecret(text.to_owned()))
}

/// The host of a stored URL, the only part of it audit events and logs name.
pub fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A checked registration.
pub struct NewWebhook {
    pub url: String,
    pub secret: WebhookSecret,
    pub description: Option<String>,
}

/// A checked change; `None` leaves a field as it is.
#[derive(Default)]
pub struct WebhookChange {
    pub url: Option<String>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
}

/// Checks a description: trimmed, at most [`DESCRIPTION_CHARS`]; empty means none.
pub fn description(text: Option<&str>, field: &str) -> ApiResult<Option<String>> {
    optional_text(text, field, DESCRIPTION_CHARS)
}

/// Registers a webhook for the caller's organisation, active at once.
#[tracing::instrument(skip_all)]
pub async fn register(
    db: &impl ConnectionTrait,
    by: &Admin<'_>,
    new: NewWebhook,
) -> ApiResult<webhook::Model> {
    let organisation = by.principal.organisation.id;
    let existing = webhook::Entity::find()
        .filter(webhook::Column::OrganisationId.eq(organisation))
        .count(db)
        .await?;
    if existing >= MAX_PER_ORGANISATION {
        return Err(ApiError::Conflict(format!(
            "an organisation has at most {MAX_PER_ORGANISATION} webhooks; delete one first"
        )));
    }
    let now = crate::db::now();
    let row = webhook::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(organisation),
        url: Set(new.url),
        secret: Set(new.secret),
        description: Set(new.description),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    tracing::info!(webhook = %row.id, "webhook registered");
    by.record(
        db,
        Event::new(AuditAction::Create, ENTITY, row.id)
            .detail(format!("endpoint on host {}", host_of(&row.url))),
    )
    .await?;
    Ok(row)
}

/// The webhook `id` if the caller may see it; `NOT_FOUND` otherwise.
async fn find(db: &impl ConnectionTrait, by: &Admin<'_>, id: Uuid) -> ApiResult<webhook::Model> {
    webhook::Entity::find_by_id(id)
        .filter(by.principal.row_filter::<webhook::Entity>())
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("webhook".into()))
}

/// Changes a webhook's URL, description or active flag. Deactivating holds its pending
/// deliveries (they are sent once it is active again) and queues no new ones.
#[tracing::instrument(skip_all, fields(webhook = %id))]
pub async fn update(
    db: &impl ConnectionTrait,
    by: &Admin<'_>,
    id: Uuid,
    change: WebhookChange,
) -> ApiResult<webhook::Model> {
    let current = find(db, by, id).await?;
    let mut changed = Vec::new();
    let mut row: webhook::ActiveModel = current.into();
    if let Some(url) = change.url {
        row.url = Set(url);
        changed.push("url");
    }
    if let Some(description) = change.description {
        row.description = Set(description);
        changed.push("description");
    }
    if let Some(active) = change.active {
        row.active = Set(active);
        changed.push(if active { "activated" } else { "deactivated" });
    }
    row.updated_at = Set(crate::db::now());
    let row = row.update(db).await?;
    by.record(
        db,
        Event::new(AuditAction::Update, ENTITY, id).detail(if changed.is_empty() {
            "no change".to_owned()
        } else {
            changed.join(", ")
        }),
    )
    .await?;
    Ok(row)
}

/// Replaces a webhook's signing secret; the next attempt of every delivery signs with it.
#[tracing::instrument(skip_all, fields(webhook = %id))]
pub async fn rotate_secret(
    db: &impl ConnectionTrait,
    by: &Admin<'_>,
    id: Uuid,
    secret: WebhookSecret,
) -> ApiResult<webhook::Model> {
    let current = find(db, by, id).await?;
    let mut row: webhook::ActiveModel = current.into();
    row.secret = Set(secret);
    row.updated_at = Set(crate::db::now());
    let row = row.update(db).await?;
    by.record(
        db,
        Event::new(AuditAction::Update, ENTITY, id).detail("secret rotated"),
    )
    .await?;
    Ok(row)
}

/// Deletes a webhook with its queue and delivery history.
#[tracing::instrument(skip_all, fields(webhook = %id))]
pub async fn delete(db: &impl ConnectionTrait, by: &Admin<'_>, id: Uuid) -> ApiResult<()> {
    let current = find(db, by, id).await?;
    webhook::Entity::delete_by_id(current.id).exec(db).await?;
    by.record(
        db,
        Event::new(AuditAction::Delete, ENTITY, id)
            .detail(format!("endpoint on host {}", host_of(&current.url))),
    )
    .await?;
    Ok(())
}

/// The body of a delivery: what happened to which referral, by id and status only.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    delivery_id: String,
    event_id: String,
    #[serde(rename = "type")]
    event_type: WebhookEventType,
    referral_id: String,
    sequence: i32,
    from_status: Option<&'static str>,
    to_status: &'static str,
    reason: Option<&'static str>,
    occurred_at: String,
    version: i32,
}

/// How a webhook names a timeline event: the first one creates, requested -> requested is a
/// pool claim, anything else a transition.
fn event_type(event: &referral_event::Model) -> WebhookEventType {
    match (event.from_status, event.kind) {
        (None, _) => WebhookEventType::ReferralCreated,
        (Some(_), TimelineKind::Claim) => WebhookEventType::ReferralClaimed,
        (Some(_), TimelineKind::Message) => WebhookEventType::ReferralMessage,
        // A release or forward changes who holds it: receivers re-read it like any change.
        (Some(_), _) => WebhookEventType::ReferralTransitioned,
    }
}

/// The GraphQL name of an enum value (e.g. `NO_CAPACITY`), as clients know it.
fn graphql_name<E: async_graphql::resolver_utils::EnumType>(value: E) -> &'static str {
    E::items()
        .iter()
        .find(|item| item.value == value)
        .map_or("", |item| item.name)
}

fn payload(
    delivery: Uuid,
    referral: &referral::Model,
    event: &referral_event::Model,
) -> ApiResult<String> {
    let body = Payload {
        delivery_id: Kind::WebhookDelivery.id(delivery).0,
        event_id: Kind::ReferralEvent.id(event.id).0,
        event_type: event_type(event),
        referral_id: Kind::Referral.id(referral.id).0,
        sequence: event.sequence,
        from_status: event.from_status.map(status_name),
        to_status: status_name(event.to_status),
        reason: event
            .reason
            .map(|r| graphql_name(crate::vocabulary::ReferralReason::from(r))),
        occurred_at: event
            .occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        version: referral.version,
    };
    serde_json::to_string(&body).map_err(ApiError::internal)
}

/// Queues `event` (just appended to `referral`'s timeline, in this transaction) for every
/// active webhook of every organisation that may read `referral` as it now stands.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    referral: &referral::Model,
    event: &referral_event::Model,
) -> ApiResult<()> {
    let audience = organisation::Entity::find()
        .select_only()
        .column(organisation::Column::Id)
        .filter(referral_audience(referral))
        .into_query();
    let hooks: Vec<Uuid> = webhook::Entity::find()
        .select_only()
        .column(webhook::Column::Id)
        .filter(webhook::Column::Active.eq(true))
        .filter(webhook::Column::OrganisationId.in_subquery(audience))
        .into_tuple()
        .all(db)
        .await?;
    if hooks.is_empty() {
        return Ok(());
    }
    let now = crate::db::now();
    let mut rows = Vec::with_capacity(hooks.len());
    for hook in hooks {
        let id = Uuid::now_v7();
        rows.push(webhook_delivery::ActiveModel {
            id: Set(id),
            webhook_id: Set(hook),
            referral_event_id: Set(event.id),
            event_type: Set(event_type(event)),
            payload: Set(payload(id, referral, event)?),
            status: Set(WebhookDeliveryStatus::Pending),
            attempts: Set(0),
            next_attempt_at: Set(now),
            lease_until: Set(None),
            lease_owner: Set(None),
            last_status_code: Set(None),
            last_error: Set(None),
            delivered_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        });
    }
    webhook_delivery::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Result<String, String> {
        parse_endpoint(text, "input.url", WebhookPolicy::default())
            .map(|u| u.to_string())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn endpoints_are_https_or_loopback_http() {
        assert_eq!(
            url(" https://hooks.example.org/bydel?x=1 "),
            Ok("https://hooks.example.org/bydel?x=1".to_owned())
        );
        for ok in [
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://[::1]:9000/",
        ] {
            assert!(url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "hooks.example.org/bydel",
            "/relative",
            "http://hooks.example.org/",
            "ftp://hooks.example.org/",
            "https://user:pw@hooks.example.org/",
            "https://hooks.example.org/#x",
            "https://hooks.example.org/a\r\nX-Injected: 1",
            "https://hooks.exa\tmple.org/",
            "https://hooks.example.org/\n",
        ] {
            let err = url(bad).unwrap_err();
            assert!(err.starts_with("input.url: "), "{bad}: {err}");
        }
        let long = format!("https://example.org/{}", "a".repeat(URL_CHARS));
        assert!(url(&long).is_err());
        let allowed = WebhookPolicy {
            allow_http: true,
            ..WebhookPolicy::default()
        };
        assert!(parse_endpoint("http://hooks.example.org/", "u", allowed).is_ok());
    }

    #[tokio::test]
    async fn every_spelling_of_an_internal_address_is_refused() {
        for bad in [
            "https://169.254.169.254/latest/meta-data/",
            "https://2852039166/",
            "https://0xa9fea9fe/",
            "https://0251.0376.0251.0376/",
            "https://169.254.43518/",
            "https://[fd00:ec2::254]/",
            "https://10.0.0.1/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://100.64.0.1/",
            "https://[fc00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://[::ffff:a9fe:a9fe]/",
            "https://0.0.0.0/",
            "https://0/",
            "https://[::]/",
            "http://127.0.0.1:5432/",
            "http://[::1]/",
            "http://localhost:8080/",
        ] {
            let err = endpoint(bad, "input.url", WebhookPolicy::default())
                .await
                .unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT", "{bad}");
            assert!(
                err.to_string().contains("public addresses only"),
                "{bad}: {err}"
            );
        }
        let dev = WebhookPolicy {
            egress: EgressPolicy {
                allow_loopback: true,
            },
            ..WebhookPolicy::default()
        };
        assert!(endpoint("http://127.0.0.1:8080/", "u", dev).await.is_ok());
        assert!(endpoint("https://10.0.0.1/", "u", dev).await.is_err());
    }

    #[test]
    fn secrets_are_32_to_256_visible_characters() {
        assert!(secret(&"s".repeat(32), "input.secret").is_ok());
        assert!(secret(&"s".repeat(256), "input.secret").is_ok());
        for bad in [
            "s".repeat(31),
            "s".repeat(257),
            format!("{} ", "s".repeat(40)),
            format!("{}é", "s".repeat(40)),
        ] {
            let err = secret(&bad, "input.secret").unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT");
            assert!(
                !err.to_string().contains(&bad),
                "the message echoes the secret"
            );
        }
    }

    #[test]
    fn the_secret_never_prints() {
        let printed = format!("{:?}", WebhookSecret("very-secret-value".into()));
        assert!(!printed.contains("very-secret-value"));
    }
}
