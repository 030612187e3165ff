//! `referralEvents`: referral timeline events pushed to the organisations that may read them,
//! over graphql-ws (see [`crate::websocket`]).
//!
//! Invariants:
//! - **Scoped like a query.** Subscribing needs `referrals:read`; each event's referral is
//!   read through `principal.read::<referral::Entity>()` when the event arrives, so a
//!   subscriber never hears of a referral it could not query (it simply gets nothing).
//! - **A revoked token stops the stream.** Before each delivery the connection's token is
//!   checked against the database again; a refused one ends the stream with
//!   `UNAUTHENTICATED`.
//! - **No silent gaps.** Missed events (see [`crate::events`]) end the stream with
//!   `CONFLICT`: resync with `referrals(filter: {updatedSince})` and subscribe again.
//! - Personal data is not pushed: its fields answer `FORBIDDEN` here (rule 3 of
//!   [`crate::auth::access`]).

use async_graphql::{Context, Enum, ID, InputObject, Object, Subscription};
use entity::{enums, referral, referral_event};
use futures::{Stream, stream};
use sea_orm::{ColumnTrait, QueryFilter};
use uuid::Uuid;

use super::{Referral, ReferralEvent};
use crate::{
    auth::{Principal, access},
    context::{self, Loaders, RequestContext},
    error::{ApiError, ApiResult},
    events::{Feed, Notice},
    ids::{self, Kind},
};

/// Which side of a referral the subscriber's organisation plays.
#[derive(Enum, Copy, Clone, PartialEq, Eq)]
pub enum ReferralSideFilter {
    /// Referrals addressed to the subscriber's organisation.
    Receiver,
    /// Referrals the subscriber's organisation made.
    Requester,
}

/// Which referral events a subscription receives; every condition given must hold.
#[derive(InputObject, Default)]
pub struct ReferralEventFilter {
    /// Only referrals addressed to (RECEIVER), or only those made by (REQUESTER), the
    /// subscriber's organisation; left out, every referral the token may read.
    pub side: Option<ReferralSideFilter>,
    /// Only referrals of this project (e.g. one the subscriber operates).
    pub project_id: Option<ID>,
}

/// What happened to the referral.
#[derive(Enum, Copy, Clone, PartialEq, Eq)]
pub enum ReferralEventKind {
    /// The referral was created (its first event).
    Created,
    /// It moved through its lifecycle (a pool claim stays REQUESTED).
    Transitioned,
    /// It was cancelled (by its requester, or when her consent was withdrawn).
    Cancelled,
    /// A party posted a message on it (read it over HTTP: `Referral.messages`).
    Message,
}

impl ReferralEventKind {
    fn of(event: &referral_event::Model) -> Self {
        if event.kind == enums::TimelineKind::Message {
            return Self::Message;
        }
        match (event.from_status, event.to_status) {
            (None, _) => Self::Created,
            (_, enums::ReferralStatus::Cancelled) => Self::Cancelled,
            _ => Self::Transitioned,
        }
    }
}

/// One event on a referral the subscriber may read.
pub struct ReferralEventNotice {
    kind: ReferralEventKind,
    event: referral_event::Model,
    referral: referral::Model,
}

/// What a `referralEvents` subscriber receives: one event on a referral it may read, with the
/// event and the referral as it stands.
#[Object]
impl ReferralEventNotice {
    /// What happened: created, transitioned, cancelled or a message.
    async fn kind(&self) -> ReferralEventKind {
        self.kind
    }
    /// The timeline event.
    async fn event(&self) -> ReferralEvent {
        ReferralEvent(self.event.clone())
    }
    /// The referral as it stands when the notice is delivered (it may have moved on since
    /// the event; compare `version`).
    async fn referral(&self) -> Referral {
        Referral(self.referral.clone())
    }
}

/// What one subscription asked for, decoded.
struct Interest {
    side: Option<ReferralSideFilter>,
    project: Option<Uuid>,
}

impl Interest {
    fn decode(filter: ReferralEventFilter) -> ApiResult<Self> {
        let project = filter
            .project_id
            .map(|id| ids::decode_as(&id, Kind::Project, "filter.projectId"))
            .transpose()?;
        Ok(Self {
            side: filter.side,
            project,
        })
    }

    /// The event `id` with its referral, when the subscriber may read both and asked for it.
    async fn matching(
        &self,
        ctx: &Context<'_>,
        principal: &Principal,
        id: Uuid,
    ) -> ApiResult<Option<ReferralEventNotice>> {
        let db = ctx.db()?;
        let Some(event) = principal
            .read::<referral_event::Entity>()?
            .filter(referral_event::Column::Id.eq(id))
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        let org = principal.organisation.id;
        let mut query = principal
            .read::<referral::Entity>()?
            .filter(referral::Column::Id.eq(event.referral_id));
        query = match self.side {
            Some(ReferralSideFilter::Receiver) => {
                query.filter(referral::Column::ReceiverOrganisationId.eq(org))
            }
            Some(ReferralSideFilter::Requester) => {
                query.filter(referral::Column::RequesterOrganisationId.eq(org))
            }
            None => query,
        };
        if let Some(project) = self.project {
            query = query.filter(referral::Column::ProjectId.eq(project));
        }
        let Some(referral) = query.one(db).await? else {
            return Ok(None);
        };
        if !access::hears_of_step(principal, &referral, &event) {
            return Ok(None);
        }
        Ok(Some(ReferralEventNotice {
            kind: ReferralEventKind::of(&event),
            event,
            referral,
        }))
    }
}

/// Where one subscription's stream stands.
struct Subscriber<'c> {
    ctx: &'c Context<'c>,
    feed: Feed,
    interest: Interest,
    ended: bool,
}

impl Subscriber<'_> {
    /// The next notice for this subscriber; `None` ends the stream.
    async fn next(&mut self) -> Option<ApiResult<ReferralEventNotice>> {
        if self.ended {
            return None;
        }
        let delivered = self.wait().await;
        self.ended = !matches!(delivered, Some(Ok(_)));
        delivered
    }

    async fn wait(&mut self) -> Option<ApiResult<ReferralEventNotice>> {
        loop {
            let id = match self.feed.next().await? {
                Notice::Committed(id) => id,
                Notice::Gap => return Some(Err(missed_events())),
            };
            match self.deliverable(id).await {
                Ok(None) => continue,
                Ok(Some(notice)) => return Some(Ok(notice)),
                Err(err) => return Some(Err(err)),
            }
        }
    }

    async fn deliverable(&self, id: Uuid) -> ApiResult<Option<ReferralEventNotice>> {
        let principal = self.ctx.principal()?;
        let Some(notice) = self.interest.matching(self.ctx, principal, id).await? else {
            return Ok(None);
        };
        context::recheck_token(self.ctx).await?;
        // Each notice is resolved from fresh rows, not from what an earlier one cached.
        if let Some(loaders) = self.ctx.data_opt::<Loaders>() {
            loaders.clear();
        }
        Ok(Some(notice))
    }
}

fn missed_events() -> ApiError {
    ApiError::Conflict(
        "this subscription missed events; resync with referrals(filter: {updatedSince: ...}) \
         and subscribe again"
            .into(),
    )
}

#[derive(Default)]
pub struct ReferralSubscription;

#[Subscription]
impl ReferralSubscription {
    /// Events on the referrals the token may read (`referrals:read`), as they are committed:
    /// created, transitioned, cancelled. Narrow with `filter` (`side: RECEIVER` for
    /// referrals addressed to your organisation). Personal data fields answer FORBIDDEN here;
    /// query them over HTTP. The stream ends with an error when the token stops being valid
    /// (UNAUTHENTICATED) or events were missed (CONFLICT: resync with `updatedSince`).
    async fn referral_events<'c>(
        &self,
        ctx: &'c Context<'c>,
        #[graphql(
            desc = "Which events to receive; left out, every event of every referral the token may read."
        )]
        filter: Option<ReferralEventFilter>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<ReferralEventNotice>> + 'c>
    {
        ctx.principal()?.read::<referral::Entity>()?;
        let interest = Interest::decode(filter.unwrap_or_default())?;
        let feed = context::feed(ctx)?;
        let subscriber = Subscriber {
            ctx,
            feed,
            interest,
            ended: false,
        };
        Ok(stream::unfold(subscriber, |mut subscriber| async move {
            let next = subscriber.next().await?;
            Some((next.map_err(Into::into), subscriber))
        }))
    }
}
