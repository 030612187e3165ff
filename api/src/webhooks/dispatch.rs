//! Sending queued webhook deliveries: a background task of every replica polls the due ones,
//! claims each with a conditional UPDATE, POSTs its signed payload and records the attempt.
//!
//! Invariants:
//! - **One sender per attempt.** A claim is `UPDATE webhook_delivery SET lease_until = now +
//!   lease, lease_owner = <fresh token>, attempts = attempts + 1 WHERE id = ? AND status =
//!   'pending' AND next_attempt_at <= now AND (lease_until IS NULL OR lease_until <= now)`.
//!   The row lock (PostgreSQL) or the write lock (SQLite) lets exactly one dispatcher see
//!   one affected row, so replicas sharing a database never send the same attempt twice at
//!   once. The result is written only under the same token; a dispatcher that died mid-way
//!   leaves a lease that simply expires (it outlasts the request timeout), and the delivery
//!   is retried.
//! - **Nothing in memory matters.** Queue, leases, retries and history are rows; a replica can
//!   stop at any moment.
//! - **No secrets or personal data in logs or rows.** Logs name delivery and webhook ids;
//!   a failure is stored as the HTTP status or a fixed phrase, never the receiver's body, the
//!   URL or the secret.

use std::time::{Duration, Instant};

use chrono::Utc;
use entity::{
    enums::WebhookDeliveryStatus,
    webhook::{self, WebhookSecret},
    webhook_attempt, webhook_delivery,
};
use futures::StreamExt;
use hmac::{Hmac, Mac};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
    sea_query::{Expr, ExprTrait},
};
use sha2::Sha256;
use uuid::Uuid;

use super::{
    egress::{EgressPolicy, Refused},
    write::WebhookPolicy,
};
use crate::{
    error::{ApiError, ApiResult},
    ids::Kind,
};

/// The `webhook` settings of `bydel serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct WebhookArgs {
    /// Accept plain-http webhook URLs for any public host (for loopback hosts it is always
    /// accepted once they are).
    #[arg(long, env = "BYDEL_WEBHOOK_ALLOW_HTTP")]
    pub webhook_allow_http: bool,
    /// Let webhooks reach loopback addresses and `localhost`: a receiver on the developer's
    /// own machine. Other non-public addresses stay refused; never set this in production.
    #[arg(long, env = "BYDEL_WEBHOOK_ALLOW_LOOPBACK")]
    pub webhook_allow_loopback: bool,
    /// Seconds before the first retry of a failed delivery; doubles with every attempt.
    #[arg(
        long,
        env = "BYDEL_WEBHOOK_RETRY_BASE_SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub webhook_retry_base_seconds: u64,
    /// The longest wait between two attempts, in seconds.
    #[arg(
        long,
        env = "BYDEL_WEBHOOK_RETRY_CAP_SECONDS",
        default_value_t = 3600,
        value_parser = clap::value_parser!(u64).range(1..=604_800)
    )]
    pub webhook_retry_cap_seconds: u64,
    /// Attempts before a delivery is given up as failed.
    #[arg(
        long,
        env = "BYDEL_WEBHOOK_MAX_ATTEMPTS",
        default_value_t = 8,
        value_parser = clap::value_parser!(u32).range(1..=100)
    )]
    pub webhook_max_attempts: u32,
    /// How long one POST may take, in seconds.
    #[arg(
        long,
        env = "BYDEL_WEBHOOK_TIMEOUT_SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=300)
    )]
    pub webhook_timeout_seconds: u64,
    /// How often a replica looks for due deliveries, in milliseconds.
    #[arg(
        long,
        env = "BYDEL_WEBHOOK_POLL_MS",
        default_value_t = 1000,
        value_parser = clap::value_parser!(u64).range(10..=600_000)
    )]
    pub webhook_poll_ms: u64,
}

impl WebhookArgs {
    pub fn policy(&self) -> WebhookPolicy {
        WebhookPolicy {
            allow_http: self.webhook_allow_http,
            egress: EgressPolicy {
                allow_loopback: self.webhook_allow_loopback,
            },
        }
    }

    pub fn settings(&self) -> DispatchSettings {
        DispatchSettings {
            retry_base: Duration::from_secs(self.webhook_retry_base_seconds),
            retry_cap: Duration::from_secs(self.webhook_retry_cap_seconds),
            max_attempts: self.webhook_max_attempts,
            timeout: Duration::from_secs(self.webhook_timeout_seconds),
            poll: Duration::from_millis(self.webhook_poll_ms),
            egress: self.policy().egress,
            ..DispatchSettings::default()
        }
    }
}

/// How the dispatcher retries and paces itself.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// The wait after the first failed attempt; it doubles per attempt up to `retry_cap`, and
    /// each wait is jittered into its upper half so retries of many deliveries spread out.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// After this many failed attempts the delivery is `failed`.
    pub max_attempts: u32,
    /// The timeout of one POST (connect and answer).
    pub timeout: Duration,
    /// The pause between polls when nothing is due.
    pub poll: Duration,
    /// Deliveries claimed per poll.
    pub batch: u64,
    /// Webhooks served at once; each webhook's deliveries of one poll go out in order.
    pub concurrency: usize,
    /// Which addresses an attempt may connect to, checked again on every attempt.
    pub egress: EgressPolicy,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            retry_base: Duration::from_secs(10),
            retry_cap: Duration::from_secs(3600),
            max_attempts: 8,
            timeout: Duration::from_secs(10),
            poll: Duration::from_secs(1),
            batch: 50,
            concurrency: 8,
            egress: EgressPolicy::default(),
        }
    }
}

impl DispatchSettings {
    /// How long a claim holds a delivery: well beyond one POST, so a live sender always
    /// finishes first, yet short enough that a crashed replica's deliveries are soon retried.
    fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(30)
    }

    /// The wait after failed attempt `attempt` (from 1): `base * 2^(attempt-1)`, at most
    /// `cap`, jittered into `[wait/2, wait]`.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let doubling = 2u32.saturating_pow(Ord::min(attempt.saturating_sub(1), 30));
        let wait = Ord::min(self.retry_base.saturating_mul(doubling), self.retry_cap);
        wait / 2 + wait.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
    }
}

type HmacSha256 = Hmac<Sha256>;

/// `Bydel-Signature`'s `v1`: hex HMAC-SHA256 of `"<t>.<body>"` under the webhook's secret.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes a key of any length, so this cannot fail; an empty MAC would only make the
    // receiver refuse the delivery.
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A uniformly random number in `[0, 1)` for jitter; 0.5 should the system fail to give one.
fn jitter() -> f64 {
    getrandom::u64().map_or(0.5, |n| (n >> 11) as f64 / (1u64 << 53) as f64)
}

/// What one attempt came to.
struct Outcome {
    status_code: Option<i32>,
    error: Option<&'static str>,
    delivered: bool,
}

impl Outcome {
    fn of(result: Result<reqwest::Response, reqwest::Error>) -> Self {
        match result {
            Ok(response) => {
                let status = response.status();
                Self {
                    status_code: Some(i32::from(status.as_u16())),
                    delivered: status.is_success(),
                    error: if status.is_success() {
                        None
                    } else if status.is_redirection() {
                        Some("the receiver redirected; redirects are not followed")
                    } else {
                        Some("the receiver did not answer 2xx")
                    },
                }
            }
            // reqwest's own messages name the URL, which may hold a token: fixed phrases only.
            Err(err) if refused_by_egress(&err) => Self::refused(),
            Err(err) => Self {
                status_code: None,
                delivered: false,
                error: Some(if err.is_timeout() {
                    "timed out"
                } else if err.is_connect() {
                    "could not connect"
                } else {
                    "the request failed"
                }),
            },
        }
    }
}

impl Outcome {
    /// The endpoint's address is not one webhooks may reach: nothing was sent.
    fn refused() -> Self {
        Self {
            status_code: None,
            delivered: false,
            error: Some(REFUSED),
        }
    }
}

/// What an attempt records when the endpoint's address is not public.
pub const REFUSED: &str = "the endpoint's address is not public; nothing was sent";

/// Whether the guarded resolver refused every address the endpoint's name resolved to.
fn refused_by_egress(err: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if cause.is::<Refused>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// A delivery this dispatcher holds, with the attempt number its claim took.
struct Claimed {
    delivery: webhook_delivery::Model,
    token: Uuid,
}

/// Sends due webhook deliveries from one database. Cheap to clone; many may run on one
/// database (one per replica), and a claim keeps them from sending the same attempt.
#[derive(Clone)]
pub struct Dispatcher {
    db: DatabaseConnection,
    client: reqwest::Client,
    settings: DispatchSettings,
}

impl Dispatcher {
    pub fn new(db: DatabaseConnection, settings: DispatchSettings) -> ApiResult<Self> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(settings.egress.resolver()))
            .user_agent(concat!("Bydel-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::internal(format!("webhook HTTP client: {e}")))?;
        Ok(Self {
            db,
            client,
            settings,
        })
    }

    /// Runs the dispatcher on its own task until the task is aborted.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run())
    }

    /// Polls forever: while deliveries are due it keeps sending, otherwise it sleeps `poll`.
    /// The first round comes one `poll` after start, so a replica's first requests do not
    /// share the database (or the statement counter) with it.
    pub async fn run(self) {
        tokio::time::sleep(self.settings.poll).await;
        loop {
            match self.run_once().await {
                Ok(0) => tokio::time::sleep(self.settings.poll).await,
                Ok(_) => {}
                Err(err) => {
                    tracing::error!(error = ?err, "webhook dispatch failed; retrying");
                    tokio::time::sleep(self.settings.poll).await;
                }
            }
        }
    }

    /// One round: claims up to `batch` due deliveries and sends them, each webhook's in
    /// order. Returns how many attempts this dispatcher made.
    pub async fn run_once(&self) -> ApiResult<usize> {
        let due = self.due().await?;
        let mut groups: Vec<(Uuid, Vec<Uuid>)> = Vec::new();
        for (delivery, webhook) in due {
            match groups.iter_mut().find(|(hook, _)| *hook == webhook) {
                Some((_, deliveries)) => deliveries.push(delivery),
                None => groups.push((webhook, vec![delivery])),
            }
        }
        let sent = futures::stream::iter(groups)
            .map(|(webhook, deliveries)| self.serve_webhook(webhook, deliveries))
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect::<Vec<ApiResult<usize>>>()
            .await;
        sent.into_iter().sum()
    }

    /// `(delivery, webhook)` of due, unleased deliveries of active webhooks, oldest due first.
    async fn due(&self) -> ApiResult<Vec<(Uuid, Uuid)>> {
        use webhook_delivery::Column as D;
        let now = crate::db::now();
        let active = webhook::Entity::find()
            .select_only()
            .column(webhook::Column::Id)
            .filter(webhook::Column::Active.eq(true))
            .into_query();
        Ok(webhook_delivery::Entity::find()
            .select_only()
            .column(D::Id)
            .column(D::WebhookId)
            .filter(Self::claimable(now))
            .filter(D::WebhookId.in_subquery(active))
            .order_by_asc(D::NextAttemptAt)
            .order_by_asc(D::Id)
            .limit(self.settings.batch)
            .into_tuple()
            .all(&self.db)
            .await?)
    }

    /// Pending, due and not held by a live lease.
    fn claimable(now: chrono::DateTime<Utc>) -> Condition {
        use webhook_delivery::Column as D;
        Condition::all()
            .add(D::Status.eq(WebhookDeliveryStatus::Pending))
            .add(D::NextAttemptAt.lte(now))
            .add(
                Condition::any()
                    .add(D::LeaseUntil.is_null())
                    .add(D::LeaseUntil.lte(now)),
            )
    }

    async fn serve_webhook(&self, webhook: Uuid, deliveries: Vec<Uuid>) -> ApiResult<usize> {
        let Some(hook) = webhook::Entity::find_by_id(webhook)
            .filter(webhook::Column::Active.eq(true))
            .one(&self.db)
            .await?
        else {
            return Ok(0);
        };
        let mut sent = 0;
        for delivery in deliveries {
            if let Some(claimed) = self.claim(delivery).await? {
                self.attempt(&hook, claimed).await?;
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Takes `delivery` for one attempt, if it is still claimable (see the module doc).
    /// `Ok(false)` when another dispatcher holds it or it is no longer due.
    pub async fn try_claim(&self, delivery: Uuid) -> ApiResult<bool> {
        Ok(self.claim(delivery).await?.is_some())
    }

    async fn claim(&self, delivery: Uuid) -> ApiResult<Option<Claimed>> {
        use webhook_delivery::Column as D;
        let now = crate::db::now();
        let token = Uuid::now_v7();
        let lease = chrono::Duration::from_std(self.settings.lease())
            .map_err(|e| ApiError::internal(format!("webhook lease: {e}")))?;
        let won = webhook_delivery::Entity::update_many()
            .col_expr(D::LeaseUntil, Expr::value(now + lease))
            .col_expr(D::LeaseOwner, Expr::value(token))
            .col_expr(D::Attempts, Expr::col(D::Attempts).add(1))
            .filter(D::Id.eq(delivery))
            .filter(Self::claimable(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        if won != 1 {
            return Ok(None);
        }
        let delivery = webhook_delivery::Entity::find_by_id(delivery)
            .filter(D::LeaseOwner.eq(token))
            .one(&self.db)
            .await?;
        Ok(delivery.map(|delivery| Claimed { delivery, token }))
    }

    /// POSTs the claimed delivery and records the attempt and its consequence.
    #[tracing::instrument(skip_all, fields(delivery = %claimed.delivery.id, webhook = %hook.id))]
    async fn attempt(&self, hook: &webhook::Model, claimed: Claimed) -> ApiResult<()> {
        let delivery = &claimed.delivery;
        let started_at = crate::db::now();
        let clock = Instant::now();
        let outcome = if self.permits(&hook.url) {
            Outcome::of(self.post(hook, delivery).await)
        } else {
            Outcome::refused()
        };
        let duration_ms = i32::try_from(clock.elapsed().as_millis()).unwrap_or(i32::MAX);
        let attempt = webhook_attempt::ActiveModel {
            id: Set(Uuid::now_v7()),
            delivery_id: Set(delivery.id),
            number: Set(delivery.attempts),
            started_at: Set(started_at),
            duration_ms: Set(duration_ms),
            status_code: Set(outcome.status_code),
            error: Set(outcome.error.map(str::to_owned)),
        };
        let recorded = crate::db::transaction(&self.db, async |txn| {
            attempt.insert(txn).await?;
            self.settle(txn, &claimed, &outcome).await
        })
        .await?;
        if !recorded {
            tracing::warn!(
                attempt = delivery.attempts,
                "the lease ran out before the attempt finished; another dispatcher retries it"
            );
        } else if outcome.delivered {
            tracing::info!(attempt = delivery.attempts, "webhook delivered");
        } else {
            tracing::warn!(
                attempt = delivery.attempts,
                status = outcome.status_code,
                error = outcome.error,
                "webhook attempt failed"
            );
        }
        Ok(())
    }

    /// A stored URL with a literal address is checked here on every attempt (names are checked
    /// by the resolver): the policy may be stricter than the one that registered it.
    fn permits(&self, url: &str) -> bool {
        let Ok(parsed) = reqwest::Url::parse(url) else {
            return false;
        };
        super::egress::literal(parsed.host_str().unwrap_or_default())
            .is_none_or(|ip| self.settings.egress.permits(ip))
    }

    async fn post(
        &self,
        hook: &webhook::Model,
        delivery: &webhook_delivery::Model,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let WebhookSecret(secret) = &hook.secret;
        let timestamp = Utc::now().timestamp();
        let signed = signature(secret, timestamp, &delivery.payload);
        self.client
            .post(&hook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Bydel-Delivery", Kind::WebhookDelivery.id(delivery.id).0)
            .header("Bydel-Signature", format!("t={timestamp},v1={signed}"))
            .body(delivery.payload.clone())
            .send()
            .await
    }

    /// Writes the attempt's consequence under the claim's token: delivered, failed for good,
    /// or due again after the backoff. `false` when the lease was lost meanwhile.
    async fn settle(
        &self,
        txn: &impl sea_orm::ConnectionTrait,
        claimed: &Claimed,
        outcome: &Outcome,
    ) -> ApiResult<bool> {
        use webhook_delivery::Column as D;
        let now = crate::db::now();
        let attempts = u32::try_from(claimed.delivery.attempts).unwrap_or(u32::MAX);
        let status = if outcome.delivered {
            WebhookDeliveryStatus::Delivered
        } else if attempts >= self.settings.max_attempts {
            WebhookDeliveryStatus::Failed
        } else {
            WebhookDeliveryStatus::Pending
        };
        let wait = self.settings.backoff(attempts, jitter());
        let next = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
        let mut update = webhook_delivery::Entity::update_many()
            .col_expr(D::Status, Expr::value(status))
            .col_expr(D::LastStatusCode, Expr::value(outcome.status_code))
            .col_expr(D::LastError, Expr::value(outcome.error.map(str::to_owned)))
            .col_expr(
                D::LeaseUntil,
                Expr::value(Option::<chrono::DateTime<Utc>>::None),
            )
            .col_expr(D::LeaseOwner, Expr::value(Option::<Uuid>::None))
            .col_expr(D::UpdatedAt, Expr::value(now));
        update = match status {
            WebhookDeliveryStatus::Delivered => {
                update.col_expr(D::DeliveredAt, Expr::value(Some(now)))
            }
            WebhookDeliveryStatus::Pending => update.col_expr(D::NextAttemptAt, Expr::value(next)),
            WebhookDeliveryStatus::Failed => update,
        };
        let updated = update
            .filter(D::Id.eq(claimed.delivery.id))
            .filter(D::LeaseOwner.eq(claimed.token))
            .exec(txn)
            .await?
            .rows_affected;
        Ok(updated == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently: Python's hmac.new(b"k", b'1700000000.{"a":1}', sha256).
        assert_eq!(
            signature("k", 1_700_000_000, r#"{"a":1}"#),
            "1b6ad1bc9bf48c52ce01939866d5877c6cc4e87ddad27e16673cb8c4964394a3"
        );
        assert_eq!(signature("k", 1, "b").len(), 64);
        assert_ne!(signature("k", 1, "b"), signature("k", 2, "b"));
        assert_ne!(signature("k", 1, "b"), signature("j", 1, "b"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let settings = DispatchSettings {
            retry_base: Duration::from_secs(10),
            retry_cap: Duration::from_secs(3600),
            ..DispatchSettings::default()
        };
        assert_eq!(settings.backoff(1, 1.0), Duration::from_secs(10));
        assert_eq!(settings.backoff(1, 0.0), Duration::from_secs(5));
        assert_eq!(settings.backoff(2, 1.0), Duration::from_secs(20));
        assert_eq!(settings.backoff(4, 1.0), Duration::from_secs(80));
        assert_eq!(settings.backoff(20, 1.0), Duration::from_secs(3600));
        assert_eq!(settings.backoff(u32::MAX, 0.0), Duration::from_secs(1800));
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
