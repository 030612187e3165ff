//! Participants (the women the mothers support) and their consents.
//!
//! Pseudonymous by design: a generated pseudonym, never a CPR number. Name, birth year,
//! contact details and notes are special-category personal data; they are read only through
//! the access rules. A consent is specific (purpose, receiver), revocable and may end by
//! itself. Changes are [`write`] (data functions) and [`graphql`] (the mutations); her rights
//! over the whole record are [`export`] (access, portability) and [`erasure`]; [`retention`]
//! erases what is no longer needed.

pub mod erasure;
pub mod export;
pub mod graphql;
mod object;
pub mod retention;
pub mod write;

pub use graphql::ParticipantMutation;

use crate::pagination::{SortDirection, name_contains};
use async_graphql::{Context, Enum, ID, InputObject, Json, Object};
use chrono::{DateTime, Utc};
use entity::{consent, participant};
use sea_orm::{ColumnTrait, QueryFilter, Select};

use crate::{
    audit::Category,
    auth::{Principal, access},
    child_of,
    context::RequestContext,
    error::ApiResult,
    ids::{self, Kind},
    loaders::lookup,
    pagination::{ListConnection, Ordering, PageArgs, connection, updated_since},
    writes::in_transaction,
};

child_of!(LanguagesOfParticipant: participant_language by ParticipantId ordered by Language);
child_of!(ConsentsOfParticipant: consent by ParticipantId ordered by GivenAt);

/// A participant. Fields other than her pseudonym, project, registering organisation and
/// consents are personal data: they resolve only under the personal-data rule of
/// [`crate::auth::access`] (her languages, district and birth decade, her pool profile, also
/// under its narrower pool clause), and every read is audited.
pub struct Participant(pub participant::Model);

impl Participant {
    async fn personal(&self, ctx: &Context<'_>, category: Category) -> ApiResult<()> {
        access::participant_personal_data(ctx, self.0.id, category).await
    }

    /// Her pool profile: languages, district, birth decade.
    async fn profile(&self, ctx: &Context<'_>, category: Category) -> ApiResult<()> {
        access::pool_profile(ctx, self.0.id, category).await
    }
}

/// One consent: a purpose, for sharing also the receiving organisation; live until withdrawn.
pub struct Consent(pub consent::Model);

/// Conditions on the participants listed; every one given must hold.
#[derive(InputObject, Default)]
pub struct ParticipantFilter {
    /// Only participants registered by this project.
    pub project_id: Option<ID>,
    /// Exact pseudonym code.
    pub pseudonym: Option<String>,
    /// Only participants changed at or after this time (for incremental sync).
    pub updated_since: Option<DateTime<Utc>>,
    /// Only participants whose first name contains this text, ignoring case (1 to 100
    /// characters). Personal data: it matches only the women whose personal data your
    /// organisation may read (needs `participants:read`, otherwise `FORBIDDEN`), and every
    /// match is audited as a read of her identity.
    pub first_name_contains: Option<String>,
}

/// List order. UPDATED_AT is oldest change first, for incremental sync.
#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum ParticipantOrder {
    /// Most recently registered first (the default).
    #[default]
    CreatedAt,
    /// Oldest change first (`updatedAt`, then id): for incremental sync with `updatedSince`;
    /// a record changed while you page moves behind your cursor.
    UpdatedAt,
}

impl ParticipantOrder {
    fn ordering(self) -> Ordering<participant::Entity> {
        use participant::Column::{Id, UpdatedAt};
        match self {
            Self::CreatedAt => {
                Ordering::descending("created_at", participant::Column::CreatedAt, Id)
            }
            Self::UpdatedAt => Ordering::by_update(UpdatedAt, Id),
        }
    }
}

fn filtered(
    principal: &Principal,
    filter: ParticipantFilter,
) -> ApiResult<Select<participant::Entity>> {
    let mut query = principal.read::<participant::Entity>()?;
    if let Some(project) = filter.project_id {
        let project = ids::decode_as(&project, Kind::Project, "filter.projectId")?;
        query = query.filter(participant::Column::ProjectId.eq(project));
    }
    if let Some(pseudonym) = filter.pseudonym {
        crate::writes::displayable(&pseudonym, "filter.pseudonym", true)?;
        query = query.filter(participant::Column::Pseudonym.eq(pseudonym.trim().to_uppercase()));
    }
    if let Some(text) = filter.first_name_contains.as_deref() {
        if let Some(readable) = principal.may_search_personal_data()? {
            query = query.filter(readable);
        }
        let name = [participant::Column::FirstName];
        query = name_contains(query, &name, Some(text), "filter.firstNameContains")?;
    }
    Ok(updated_since(
        query,
        participant::Column::UpdatedAt,
        filter.updated_since,
    ))
}

#[derive(Default)]
pub struct ParticipantQuery;

#[Object]
impl ParticipantQuery {
    /// Participants, most recently registered first.
    #[allow(clippy::too_many_arguments)]
    async fn participants(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Narrows the list; every condition given must hold. Left out: all participants the token may see."
        )]
        filter: Option<ParticipantFilter>,
        #[graphql(
            desc = "How the list is sorted, ties broken by id; a cursor works only in the order it came from. Left out: the value described as the default."
        )]
        order_by: Option<ParticipantOrder>,
        #[graphql(
            desc = "The direction of `orderBy`: ASC (A to Z, oldest first) or DESC. Left out: the order's own direction, as its values describe; a cursor works only in the direction it came from."
        )]
        direction: Option<SortDirection>,
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
    ) -> async_graphql::Result<Option<ListConnection<Participant>>> {
        let filter = filter.unwrap_or_default();
        let searched = filter.first_name_contains.is_some();
        let query = filtered(ctx.principal()?, filter)?;
        let ordering = order_by.unwrap_or_default().ordering();
        let args = PageArgs::new(first, after, last, before).sorted(direction);
        let page = connection(ctx.db()?, query, ordering, args, Participant).await?;
        if searched {
            access::searched_by_name(ctx, page.edges.iter().map(|edge| edge.node.0.id))?;
        }
        Ok(Some(page))
    }

    /// One participant by id (`participants:read`); `null` when there is none the token may
    /// see. Her personal fields follow her own rules.
    async fn participant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Her id (`Participant.id`).")] id: ID,
    ) -> async_graphql::Result<Option<Participant>> {
        Ok(lookup::<participant::Entity, _>(ctx, &id, Kind::Participant, Participant).await?)
    }

    /// Everything Bydel holds about her, as one JSON document (GDPR Art. 15 and 20): her
    /// fields, consents with their history, referrals with timelines and notes, the visits
    /// linked to her and every audit event about her. `format` names the document's
    /// version. Needs `participants:admin` (the secretariat, the operator of her project or
    /// the organisation that registered her); the export is itself audited.
    async fn participant_data_export(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Her id (`Participant.id`).")] participant_id: ID,
    ) -> async_graphql::Result<Option<Json<serde_json::Value>>> {
        let principal = ctx.principal()?;
        let id = ids::decode_as(&participant_id, Kind::Participant, "participantId")?;
        let actor = principal.actor(ctx.request_id());
        let document = in_transaction(ctx, async |txn| {
            export::export(txn, principal, &actor, id).await
        });
        Ok(Some(Json(document.await?)))
    }
}
