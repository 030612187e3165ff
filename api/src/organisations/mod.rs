//! Organisations (the secretariat, municipalities, NGOs) and the municipalities they sit in.
//!
//! A municipality organisation carries its official municipality code; that code is how
//! projects and inbound referral pools are tied to a municipality.

use crate::pagination::{SortDirection, name_contains};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::{municipality, organisation};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, Select};

use crate::{
    auth::Principal,
    context::RequestContext,
    error::{ApiError, ApiResult},
    ids::Kind,
    loaders::lookup,
    pagination::{ListConnection, Ordering, PageArgs, connection, updated_since},
    vocabulary::OrganisationKind,
};

pub struct Organisation(pub organisation::Model);

/// A body taking part in the programme: the national secretariat, a municipality or a partner
/// NGO. Its kind decides which rows its tokens see: the secretariat all, an NGO its projects
/// and what is under them, a municipality its area and the referrals addressed to it.
#[Object]
impl Organisation {
    /// The organisation's global id.
    pub async fn id(&self) -> ID {
        Kind::Organisation.id(self.0.id)
    }
    /// Unique short name, e.g. `secretariat` or `kommune-101`; usable wherever tools take ORG.
    async fn short_name(&self) -> &str {
        &self.0.short_name
    }
    /// Its full name (e.g. `Københavns Kommune`).
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Secretariat, municipality or NGO.
    async fn kind(&self) -> OrganisationKind {
        self.0.kind.into()
    }
    /// Set for municipalities only.
    async fn municipality(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Municipality>> {
        Ok(municipality_by_code(ctx, self.0.municipality_code).await?)
    }
    /// When it was registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed (for incremental sync).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A Danish municipality, by its official code (e.g. 101 København, 730 Randers).
pub struct Municipality(pub municipality::Model);

/// A Danish municipality by its official code (reference data, any valid token).
#[Object]
impl Municipality {
    /// The official municipality code, e.g. 101 København, 730 Randers.
    async fn code(&self) -> i32 {
        self.0.code
    }
    /// Its Danish name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The region it belongs to (e.g. `Hovedstaden`).
    async fn region(&self) -> &str {
        &self.0.region
    }
}

/// Municipalities are reference data (98 rows at most): read once per request, not batched.
pub async fn municipality_by_code(
    ctx: &Context<'_>,
    code: Option<i32>,
) -> ApiResult<Option<Municipality>> {
    let Some(code) = code else { return Ok(None) };
    let all = ctx
        .data_unchecked::<MunicipalityCache>()
        .get_or_load(ctx)
        .await?;
    Ok(all
        .iter()
        .find(|m| m.code == code)
        .cloned()
        .map(Municipality))
}

/// The municipality list, loaded at most once per request.
#[derive(Default)]
pub struct MunicipalityCache(tokio::sync::OnceCell<Vec<municipality::Model>>);

impl MunicipalityCache {
    async fn get_or_load(&self, ctx: &Context<'_>) -> ApiResult<&Vec<municipality::Model>> {
        self.0
            .get_or_try_init(|| async {
                let rows = ctx
                    .principal()?
                    .read::<municipality::Entity>()?
                    .all(ctx.db()?)
                    .await?;
                Ok::<_, ApiError>(rows)
            })
            .await
    }
}

/// Conditions on the organisations listed; every one given must hold.
#[derive(InputObject, Default)]
pub struct OrganisationFilter {
    /// Only organisations of one of these kinds.
    pub kind: Option<Vec<OrganisationKind>>,
    /// Only the municipality with this code (e.g. 101).
    pub municipality_code: Option<i32>,
    /// Only organisations changed at or after this time (for incremental sync).
    pub updated_since: Option<DateTime<Utc>>,
    /// Only organisations whose name or short name contains this text, ignoring case (1 to 100 characters; `%`
    /// and `_` are literal).
    pub name_contains: Option<String>,
    /// Only organisations of any of these municipalities (official codes).
    pub municipality_codes: Option<Vec<i32>>,
}

/// List order. UPDATED_AT is oldest change first, for incremental sync.
#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum OrganisationOrder {
    /// By short name (`secretariat`, `kommune-101`, ...), A to Z (the default).
    #[default]
    ShortName,
    /// Oldest change first (`updatedAt`, then id): for incremental sync with `updatedSince`;
    /// a record changed while you page moves behind your cursor.
    UpdatedAt,
}

impl OrganisationOrder {
    fn ordering(self) -> Ordering<organisation::Entity> {
        use organisation::Column::{Id, UpdatedAt};
        match self {
            Self::ShortName => {
                Ordering::ascending("short_name", organisation::Column::ShortName, Id)
            }
            Self::UpdatedAt => Ordering::by_update(UpdatedAt, Id),
        }
    }
}

fn filtered(
    principal: &Principal,
    filter: OrganisationFilter,
) -> ApiResult<Select<organisation::Entity>> {
    let mut query = principal.read::<organisation::Entity>()?;
    if let Some(kinds) = filter.kind {
        let kinds: Vec<entity::enums::OrganisationKind> =
            crate::inputs::distinct(kinds.into_iter().map(Into::into).collect());
        query = query.filter(organisation::Column::Kind.is_in(kinds));
    }
    if let Some(code) = filter.municipality_code {
        query = query.filter(organisation::Column::MunicipalityCode.eq(code));
    }
    if let Some(codes) = filter.municipality_codes {
        let codes = crate::inputs::distinct(codes);
        query = query.filter(organisation::Column::MunicipalityCode.is_in(codes));
    }
    let names = [organisation::Column::Name, organisation::Column::ShortName];
    let query = name_contains(
        query,
        &names,
        filter.name_contains.as_deref(),
        "filter.nameContains",
    )?;
    Ok(updated_since(
        query,
        organisation::Column::UpdatedAt,
        filter.updated_since,
    ))
}

/// Finds an organisation by id or unique short name (the `ORG` of the command line).
pub async fn find_by_reference(
    db: &impl ConnectionTrait,
    reference: &str,
) -> ApiResult<organisation::Model> {
    let by_id = uuid::Uuid::parse_str(reference)
        .ok()
        .map(|id| organisation::Column::Id.eq(id));
    let condition = match by_id {
        Some(by_id) => by_id.or(organisation::Column::ShortName.eq(reference)),
        None => organisation::Column::ShortName.eq(reference),
    };
    organisation::Entity::find()
        .filter(condition)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("organisation {reference:?}")))
}

#[derive(Default)]
pub struct OrganisationQuery;

#[Object]
impl OrganisationQuery {
    /// Organisations: the secretariat, municipalities and partner NGOs.
    #[allow(clippy::too_many_arguments)]
    async fn organisations(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Narrows the list; every condition given must hold. Left out: all organisations the token may see."
        )]
        filter: Option<OrganisationFilter>,
        #[graphql(
            desc = "How the list is sorted, ties broken by id; a cursor works only in the order it came from. Left out: the value described as the default."
        )]
        order_by: Option<OrganisationOrder>,
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
    ) -> async_graphql::Result<Option<ListConnection<Organisation>>> {
        let query = filtered(ctx.principal()?, filter.unwrap_or_default())?;
        let ordering = order_by.unwrap_or_default().ordering();
        let args = PageArgs::new(first, after, last, before).sorted(direction);
        Ok(Some(
            connection(ctx.db()?, query, ordering, args, Organisation).await?,
        ))
    }

    /// One organisation by id; `null` when there is none the token may see.
    async fn organisation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organisation's id (`Organisation.id`).")] id: ID,
    ) -> async_graphql::Result<Option<Organisation>> {
        Ok(lookup::<organisation::Entity, _>(ctx, &id, Kind::Organisation, Organisation).await?)
    }
}

/// The short name of the one secretariat every deployment has.
pub const SECRETARIAT: &str = "secretariat";

/// Makes sure the national secretariat exists, so the first token can be issued for it on a
/// fresh database. Idempotent.
pub async fn ensure_secretariat(db: &impl ConnectionTrait) -> ApiResult<organisation::Model> {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    if let Some(existing) = organisation::Entity::find()
        .filter(organisation::Column::ShortName.eq(SECRETARIAT))
        .one(db)
        .await?
    {
        return Ok(existing);
    }
    let now = crate::db::now();
    Ok(organisation::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        short_name: Set(SECRETARIAT.to_owned()),
        name: Set("Bydelsmødre – landssekretariatet".to_owned()),
        kind: Set(entity::enums::OrganisationKind::Secretariat),
        municipality_code: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}
