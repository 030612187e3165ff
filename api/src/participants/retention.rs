//! Retention (GDPR Art. 5(1)(e), storage limitation): a participant's personal data is kept
//! while it serves the programme, and erased ([`super::erasure`]) when nothing has happened
//! with her for `--retention-participant-months` (default 24); audit events are kept
//! `--retention-audit-months` (default 60) and then deleted.
//!
//! "Nothing has happened" is counted from the latest of: her registration, a consent she
//! gave, a visit with her, and the closing of a referral about her. A participant with an
//! open referral (draft to on hold) is never due: someone is working with her.
//!
//! Every replica runs the sweep ([`Sweeper`]); a lease in `maintenance_lease` lets exactly
//! one of them run it per interval, and a crashed holder's lease expires. Each participant is
//! erased in her own transaction, so a sweep stopped midway leaves no one half-erased and the
//! next sweep takes up the rest. The sweep writes one audit event with what it did, in counts.

use std::time::Duration;

use chrono::{DateTime, Months, Utc};
use entity::{
    audit_event, consent, enums::AuditAction, maintenance_lease, participant, referral, visit,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::erasure::erase_now;
use crate::{
    audit::{self, Actor, Event},
    auth::Principal,
    error::{ApiError, ApiResult},
    events::{EventBus, Outbox},
    referrals::{lifecycle, write::Writer},
};

/// The lease row's name.
const JOB: &str = "retention";

/// How long a sweep may hold the lease; it renews nothing, so one run erases at most
/// [`RetentionPolicy::batch`] participants and leaves the rest to the next run.
const LEASE: Duration = Duration::from_secs(30 * 60);

/// How long her data and the audit trail are kept, and how often the sweep runs.
#[derive(Debug, Clone, Copy)]
pub struct RetentionPolicy {
    pub participant_months: u32,
    pub audit_months: u32,
    /// The time between two sweeps of the installation (whichever replica runs them).
    pub interval: Duration,
    /// How many participants one sweep erases at most.
    pub batch: u64,
}

impl RetentionPolicy {
    /// Two years without activity: the programme's contact with a woman is a matter of
    /// months, and a referral that closed two years ago no longer needs her contact details.
    pub const DEFAULT_PARTICIPANT_MONTHS: u32 = 24;
    /// Five years of audit trail: long enough for a data subject's access request or a
    /// complaint to the Danish Data Protection Agency to find who read her data.
    pub const DEFAULT_AUDIT_MONTHS: u32 = 60;

    pub fn new(participant_months: u32, audit_months: u32) -> Self {
        Self {
            participant_months,
            audit_months,
            interval: Duration::from_secs(24 * 3600),
            batch: 1000,
        }
    }

    fn participant_cutoff(&self, now: DateTime<Utc>) -> ApiResult<DateTime<Utc>> {
        months_before(now, self.participant_months)
    }

    fn audit_cutoff(&self, now: DateTime<Utc>) -> ApiResult<DateTime<Utc>> {
        months_before(now, self.audit_months)
    }
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self::new(Self::DEFAULT_PARTICIPANT_MONTHS, Self::DEFAULT_AUDIT_MONTHS)
    }
}

fn months_before(now: DateTime<Utc>, months: u32) -> ApiResult<DateTime<Utc>> {
    now.checked_sub_months(Months::new(months))
        .ok_or_else(|| ApiError::internal("retention period before the calendar's start"))
}

/// What a sweep found or did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// The participants due (a dry run) or erased.
    pub participants: Vec<Uuid>,
    /// Audit events older than the audit period: counted (dry run) or deleted.
    pub audit_events: u64,
    pub dry_run: bool,
}

impl SweepReport {
    /// One line for the operator and the audit trail: counts only.
    pub fn summary(&self, policy: &RetentionPolicy) -> String {
        let (verb, deleted) = if self.dry_run {
            ("due", "due")
        } else {
            ("erased", "deleted")
        };
        format!(
            "retention sweep: {} participant(s) {verb} (no activity for {} months); {} audit \
             event(s) older than {} months {deleted}",
            self.participants.len(),
            policy.participant_months,
            self.audit_events,
            policy.audit_months
        )
    }
}

/// The participants due at `now`, oldest registration first, at most `limit`.
pub async fn due(
    db: &impl ConnectionTrait,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    limit: u64,
) -> ApiResult<Vec<participant::Model>> {
    let cutoff = policy.participant_cutoff(now)?;
    let correlated = |mut query: sea_orm::sea_query::SelectStatement, column| {
        query.and_where(Expr::col(column).equals(participant::Column::Id.as_column_ref()));
        Expr::exists(query)
    };
    let busy_referrals = referral::Entity::find()
        .select_only()
        .expr(Expr::val(1))
        .filter(
            Condition::any()
                .add(referral::Column::Status.is_in(lifecycle::OPEN))
                .add(referral::Column::ClosedAt.gte(cutoff)),
        )
        .into_query();
    let recent_visits = visit::Entity::find()
        .select_only()
        .expr(Expr::val(1))
        .filter(visit::Column::VisitedOn.gte(cutoff.date_naive()))
        .into_query();
    let recent_consents = consent::Entity::find()
        .select_only()
        .expr(Expr::val(1))
        .filter(consent::Column::GivenAt.gte(cutoff))
        .into_query();
    Ok(participant::Entity::find()
        .filter(participant::Column::ErasedAt.is_null())
        .filter(participant::Column::CreatedAt.lt(cutoff))
        .filter(
            correlated(
                busy_referrals,
                referral::Column::ParticipantId.as_column_ref(),
            )
            .not(),
        )
        .filter(correlated(recent_visits, visit::Column::ParticipantId.as_column_ref()).not())
        .filter(
            correlated(
                recent_consents,
                consent::Column::ParticipantId.as_column_ref(),
            )
            .not(),
        )
        .order_by_asc(participant::Column::CreatedAt)
        .order_by_asc(participant::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Sweeps now (`bydel retention run`, and each due run of [`Sweeper`]): with `dry_run`,
/// reports what is due and changes nothing; otherwise erases and deletes it, each
/// participant in her own transaction, and records the summary in the audit trail. The
/// caller holds the lease.
pub async fn sweep(
    db: &DatabaseConnection,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    dry_run: bool,
    bus: Option<&EventBus>,
) -> ApiResult<SweepReport> {
    let due = due(db, policy, now, policy.batch).await?;
    let old_audit = audit_event::Entity::find()
        .filter(audit_event::Column::OccurredAt.lt(policy.audit_cutoff(now)?));
    if dry_run {
        return Ok(SweepReport {
            participants: due.into_iter().map(|p| p.id).collect(),
            audit_events: old_audit.count(db).await?,
            dry_run,
        });
    }
    let operator = Principal::operator(db).await?;
    let reason = format!(
        "retention: no activity for {} months",
        policy.participant_months
    );
    let mut erased = Vec::with_capacity(due.len());
    for participant in due {
        let outbox = Outbox::default();
        let by = Writer {
            principal: &operator,
            actor: Actor::operator(),
            outbox: &outbox,
        };
        let id = participant.id;
        let done = crate::db::transaction(db, async |txn| {
            erase_now(txn, &by, participant, &reason).await
        })
        .await;
        outbox.settle(bus, done.is_ok());
        match done {
            Ok(_) => erased.push(id),
            // Changed meanwhile (someone is working with her): the next sweep looks again.
            Err(ApiError::Conflict(_) | ApiError::InvalidTransition(_)) => {}
            Err(other) => return Err(other),
        }
    }
    let audit_events = audit_event::Entity::delete_many()
        .filter(audit_event::Column::OccurredAt.lt(policy.audit_cutoff(now)?))
        .exec(db)
        .await?
        .rows_affected;
    let report = SweepReport {
        participants: erased,
        audit_events,
        dry_run,
    };
    audit::record(
        db,
        &Actor::operator(),
        [Event::unkeyed(
            AuditAction::Delete,
            "retention",
            report.summary(policy),
        )],
    )
    .await?;
    Ok(report)
}

/// A claim on the sweep: only its owner releases it.
#[derive(Debug)]
pub struct Lease {
    owner: String,
}

/// Claims the sweep's lease at `now`: when no one holds it and, unless `force` (an
/// operator's `bydel retention run`), when the sweep is due. One conditional UPDATE, so of
/// any number of replicas at most one gets it.
pub async fn claim(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    force: bool,
) -> ApiResult<Option<Lease>> {
    maintenance_lease::Entity::insert(maintenance_lease::ActiveModel {
        job: Set(JOB.to_owned()),
        owner: Set(None),
        lease_until: Set(None),
        next_run_at: Set(None),
        created_at: Set(now),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(db)
    .await?;
    let owner = Uuid::new_v4().to_string();
    let lease = chrono::Duration::from_std(LEASE).map_err(ApiError::internal)?;
    let mut update = maintenance_lease::Entity::update_many()
        .col_expr(maintenance_lease::Column::Owner, Expr::value(owner.clone()))
        .col_expr(
            maintenance_lease::Column::LeaseUntil,
            Expr::value(now + lease),
        )
        .filter(maintenance_lease::Column::Job.eq(JOB))
        .filter(
            Condition::any()
                .add(maintenance_lease::Column::LeaseUntil.is_null())
                .add(maintenance_lease::Column::LeaseUntil.lte(now)),
        );
    if !force {
        update = update.filter(
            Condition::any()
                .add(maintenance_lease::Column::NextRunAt.is_null())
                .add(maintenance_lease::Column::NextRunAt.lte(now)),
        );
    }
    let claimed = update.exec(db).await?.rows_affected == 1;
    Ok(claimed.then_some(Lease { owner }))
}

/// Gives the lease back and says when the sweep is due next.
pub async fn release(
    db: &impl ConnectionTrait,
    lease: Lease,
    next_run_at: DateTime<Utc>,
) -> ApiResult<()> {
    maintenance_lease::Entity::update_many()
        .col_expr(
            maintenance_lease::Column::Owner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            maintenance_lease::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            maintenance_lease::Column::NextRunAt,
            Expr::value(next_run_at),
        )
        .filter(maintenance_lease::Column::Job.eq(JOB))
        .filter(maintenance_lease::Column::Owner.eq(lease.owner))
        .exec(db)
        .await?;
    Ok(())
}

/// Runs the sweep at `now` if this replica gets the lease: `None` when another holds it or
/// (without `force`) it is not due. A full batch makes the next run due at once.
pub async fn run_if_due(
    db: &DatabaseConnection,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    force: bool,
    bus: Option<&EventBus>,
) -> ApiResult<Option<SweepReport>> {
    let Some(lease) = claim(db, now, force).await? else {
        return Ok(None);
    };
    let report = sweep(db, policy, now, false, bus).await;
    let more = report
        .as_ref()
        .is_ok_and(|r| r.participants.len() as u64 >= policy.batch);
    let interval = chrono::Duration::from_std(policy.interval).map_err(ApiError::internal)?;
    let next = if more { now } else { now + interval };
    release(db, lease, next).await?;
    report.map(Some)
}

/// The sweep's loop on every replica: look every `poll` whether it is due here.
pub struct Sweeper {
    db: DatabaseConnection,
    policy: RetentionPolicy,
    bus: EventBus,
    poll: Duration,
}

impl Sweeper {
    pub fn new(db: DatabaseConnection, policy: RetentionPolicy, bus: EventBus) -> Self {
        Self {
            db,
            policy,
            bus,
            poll: Duration::from_secs(300),
        }
    }

    /// Looks once now, then every `poll` on its own task. The first look is awaited before
    /// the replica serves: a replica restarted more often than `poll` still sweeps, and its
    /// first requests do not share the database (or the statement counter) with that look.
    pub async fn start(self) -> tokio::task::JoinHandle<()> {
        self.look().await;
        tokio::spawn(async move {
            let first = tokio::time::Instant::now() + self.poll;
            let mut tick = tokio::time::interval_at(first, self.poll);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                self.look().await;
            }
        })
    }

    async fn look(&self) {
        let ran = run_if_due(
            &self.db,
            &self.policy,
            crate::db::now(),
            false,
            Some(&self.bus),
        )
        .await;
        match ran {
            Ok(Some(report)) => tracing::info!(
                erased = report.participants.len(),
                audit_events_deleted = report.audit_events,
                "retention sweep done"
            ),
            Ok(None) => {}
            Err(err) => tracing::error!(error = %err, "retention sweep failed"),
        }
    }
}
