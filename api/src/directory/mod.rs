//! The service directory the referrals point to, aligned with Open Referral HSDS 3.0: an
//! organisation's services (HSDS `service`) with their languages, service areas
//! (municipality codes), locations with address and opening hours (`location`, `address`,
//! `service_at_location`, `schedule`) and contact points (`contact`, `phone`).
//!
//! Invariants: the directory is reference data: every authenticated caller reads all of it
//! (rule 1 of [`crate::auth::access`]); it holds organisational data only, never a person's;
//! every change under a service bumps the service's `updatedAt`, so `updatedSince` on
//! `services` sees it. Changes are [`write`] (data functions) and [`mutation`] (resolvers).

mod mutation;
pub mod write;

pub use mutation::DirectoryMutation;
pub use write::referenced_service;

use crate::pagination::{SortDirection, name_contains};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::{
    opening_hours, organisation, service, service_area, service_contact, service_language,
    service_location,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Select};

use crate::{
    auth::Principal,
    child_of,
    context::RequestContext,
    error::ApiResult,
    ids::{self, Kind},
    loaders::lookup,
    loaders::{load_by_id, load_children},
    organisations::{Municipality, Organisation, municipality_by_code},
    pagination::{ListConnection, Ordering, PageArgs, connection, updated_since},
    vocabulary::{ServiceCategory, ServiceStatus},
};

child_of!(LanguagesOfService: service_language by ServiceId ordered by Language);
child_of!(AreasOfService: service_area by ServiceId ordered by MunicipalityCode);
child_of!(LocationsOfService: service_location by ServiceId ordered by CreatedAt);
child_of!(ContactsOfService: service_contact by ServiceId ordered by CreatedAt);
child_of!(HoursOfLocation: opening_hours by LocationId ordered by Weekday);

/// A day of the week, for opening hours (stored as its ISO 8601 number, 1 Monday to 7 Sunday;
/// HSDS `byday` MO..SU).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Weekday {
    /// Monday (ISO 1, HSDS `MO`).
    Monday,
    /// Tuesday (ISO 2, HSDS `TU`).
    Tuesday,
    /// Wednesday (ISO 3, HSDS `WE`).
    Wednesday,
    /// Thursday (ISO 4, HSDS `TH`).
    Thursday,
    /// Friday (ISO 5, HSDS `FR`).
    Friday,
    /// Saturday (ISO 6, HSDS `SA`).
    Saturday,
    /// Sunday (ISO 7, HSDS `SU`).
    Sunday,
}

impl Weekday {
    const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    /// The ISO 8601 number.
    pub fn number(self) -> i32 {
        match self {
            Weekday::Monday => 1,
            Weekday::Tuesday => 2,
            Weekday::Wednesday => 3,
            Weekday::Thursday => 4,
            Weekday::Friday => 5,
            Weekday::Saturday => 6,
            Weekday::Sunday => 7,
        }
    }

    /// The day of a stored number; the migration's CHECK keeps it in 1..=7.
    fn of(number: i32) -> Option<Weekday> {
        Self::ALL.into_iter().find(|d| d.number() == number)
    }
}

/// A service an organisation offers (HSDS `service`).
pub struct Service(pub service::Model);

/// A service an organisation offers in the directory (Open Referral HSDS `service`): what it
/// is, where, when and how to reach it; a referral can name it. Reference data: readable with
/// any valid token.
#[Object]
impl Service {
    /// The service's global id.
    pub async fn id(&self) -> ID {
        Kind::Service.id(self.0.id)
    }
    /// The service's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The referrals' vocabulary: a referral naming this service asks for this category.
    async fn category(&self) -> ServiceCategory {
        self.0.category.into()
    }
    /// Whether it is offered now.
    async fn status(&self) -> ServiceStatus {
        self.0.status.into()
    }
    /// What the service does and for whom.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The organisation that provides the service.
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        let provider = load_by_id::<organisation::Entity>(ctx, self.0.organisation_id);
        Ok(provider.await?.map(Organisation))
    }
    /// Languages it is offered in, as ISO 639 codes, alphabetically.
    async fn languages(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        let rows = load_children::<LanguagesOfService>(ctx, self.0.id).await?;
        Ok(rows.into_iter().map(|row| row.language).collect())
    }
    /// The municipalities it serves (HSDS `service_area`), by code.
    async fn service_areas(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Municipality>> {
        let rows = load_children::<AreasOfService>(ctx, self.0.id).await?;
        let mut areas = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(municipality) =
                municipality_by_code(ctx, Some(row.municipality_code)).await?
            {
                areas.push(municipality);
            }
        }
        Ok(areas)
    }
    /// Where it is given, oldest entry first.
    async fn locations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ServiceLocation>> {
        let rows = load_children::<LocationsOfService>(ctx, self.0.id).await?;
        Ok(rows.into_iter().map(ServiceLocation).collect())
    }
    /// How to reach it, oldest entry first.
    async fn contacts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ServiceContact>> {
        let rows = load_children::<ContactsOfService>(ctx, self.0.id).await?;
        Ok(rows.into_iter().map(ServiceContact).collect())
    }
    /// When it was added to the directory.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Changes with the service and with anything under it (languages, areas, locations,
    /// opening hours, contacts).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Where a service is given: a location with its address (HSDS `location` and `address`).
pub struct ServiceLocation(pub service_location::Model);

/// A place where a service is offered, with its opening hours.
#[Object]
impl ServiceLocation {
    /// The location's global id.
    pub async fn id(&self) -> ID {
        Kind::ServiceLocation.id(self.0.id)
    }
    /// E.g. "Borgerservice Nørrebro"; `null` when the street says it all.
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// Street and number.
    async fn street(&self) -> &str {
        &self.0.street
    }
    /// Four digits.
    async fn postcode(&self) -> &str {
        &self.0.postcode
    }
    /// The town.
    async fn city(&self) -> &str {
        &self.0.city
    }
    /// The municipality the location is in.
    async fn municipality(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Municipality>> {
        Ok(municipality_by_code(ctx, Some(self.0.municipality_code)).await?)
    }
    /// Weekly opening hours, Monday first, in local time (HSDS `schedule`).
    async fn opening_hours(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<OpeningHours>> {
        let mut rows = load_children::<HoursOfLocation>(ctx, self.0.id).await?;
        rows.sort_by(|a, b| (a.weekday, &a.opens).cmp(&(b.weekday, &b.opens)));
        Ok(rows.into_iter().map(OpeningHours).collect())
    }
    /// Free text about the hours: holidays, drop-in times, "call first".
    async fn opening_hours_notes(&self) -> Option<&str> {
        self.0.opening_hours_notes.as_deref()
    }
    /// The service given here.
    async fn service(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Service>> {
        Ok(load_by_id::<service::Entity>(ctx, self.0.service_id)
            .await?
            .map(Service))
    }
}

/// One opening period on one weekday, in local (Danish) time.
pub struct OpeningHours(pub opening_hours::Model);

/// One opening period of a location on one weekday.
#[Object]
impl OpeningHours {
    /// The day of the week.
    async fn weekday(&self) -> Option<Weekday> {
        Weekday::of(self.0.weekday)
    }
    /// `HH:MM`, local time.
    async fn opens(&self) -> &str {
        &self.0.opens
    }
    /// `HH:MM`, local time; after `opens`.
    async fn closes(&self) -> &str {
        &self.0.closes
    }
}

/// A contact point of a service: a role or department with its channels (HSDS `contact`
/// and `phone`). Organisational, never a person's private data.
pub struct ServiceContact(pub service_contact::Model);

/// A contact point of a service: a role or department with a phone, e-mail or website, never a
/// person.
#[Object]
impl ServiceContact {
    /// The contact point's global id.
    pub async fn id(&self) -> ID {
        Kind::ServiceContact.id(self.0.id)
    }
    /// A role or department, e.g. "Tidsbestilling" or "Sundhedsplejen Aarhus Vest".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Its phone number.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// Its e-mail address.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// An `https://` or `http://` address.
    async fn website(&self) -> Option<&str> {
        self.0.website.as_deref()
    }
}

/// Conditions on the directory services listed; every one given must hold.
#[derive(InputObject, Default)]
pub struct ServiceFilter {
    /// Only the services of this organisation.
    pub organisation_id: Option<ID>,
    /// Only services whose area includes this municipality (official code, e.g. 101).
    pub municipality_code: Option<i32>,
    /// Only services of one of these categories.
    pub category: Option<Vec<ServiceCategory>>,
    /// Only services offered in this language (ISO 639 code, e.g. "ar").
    pub language: Option<String>,
    /// Only services with one of these statuses.
    pub status: Option<Vec<ServiceStatus>>,
    /// Only services changed (they or anything under them) at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
    /// Only services whose name contains this text, ignoring case (1 to 100 characters; `%`
    /// and `_` are literal).
    pub name_contains: Option<String>,
}

/// List order. UPDATED_AT is oldest change first, for incremental sync.
#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum ServiceOrder {
    /// By name, A to Z (the default).
    #[default]
    Name,
    /// Oldest change first (`updatedAt`, then id): for incremental sync with `updatedSince`;
    /// a record changed while you page moves behind your cursor.
    UpdatedAt,
}

impl ServiceOrder {
    fn ordering(self) -> Ordering<service::Entity> {
        use service::Column::{Id, UpdatedAt};
        match self {
            Self::Name => Ordering::ascending("name", service::Column::Name, Id),
            Self::UpdatedAt => Ordering::by_update(UpdatedAt, Id),
        }
    }
}

fn filtered(principal: &Principal, filter: ServiceFilter) -> ApiResult<Select<service::Entity>> {
    let mut query = principal.read::<service::Entity>()?;
    if let Some(organisation) = filter.organisation_id {
        let organisation =
            ids::decode_as(&organisation, Kind::Organisation, "filter.organisationId")?;
        query = query.filter(service::Column::OrganisationId.eq(organisation));
    }
    if let Some(code) = filter.municipality_code {
        let serving = service_area::Entity::find()
            .select_only()
            .column(service_area::Column::ServiceId)
            .filter(service_area::Column::MunicipalityCode.eq(code))
            .into_query();
        query = query.filter(service::Column::Id.in_subquery(serving));
    }
    if let Some(categories) = filter.category {
        let categories: Vec<entity::enums::ServiceCategory> =
            crate::inputs::distinct(categories.into_iter().map(Into::into).collect());
        query = query.filter(service::Column::Category.is_in(categories));
    }
    if let Some(language) = filter.language {
        let language = write::language(&language, "filter.language")?;
        let speaking = service_language::Entity::find()
            .select_only()
            .column(service_language::Column::ServiceId)
            .filter(service_language::Column::Language.eq(language))
            .into_query();
        query = query.filter(service::Column::Id.in_subquery(speaking));
    }
    if let Some(status) = filter.status {
        let status: Vec<entity::enums::ServiceStatus> =
            crate::inputs::distinct(status.into_iter().map(Into::into).collect());
        query = query.filter(service::Column::Status.is_in(status));
    }
    let name = [service::Column::Name];
    let query = name_contains(
        query,
        &name,
        filter.name_contains.as_deref(),
        "filter.nameContains",
    )?;
    Ok(updated_since(
        query,
        service::Column::UpdatedAt,
        filter.updated_since,
    ))
}

#[derive(Default)]
pub struct DirectoryQuery;

#[Object]
impl DirectoryQuery {
    /// The service directory: every organisation's services, by name. Any token reads it.
    #[allow(clippy::too_many_arguments)]
    async fn services(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Narrows the list; every condition given must hold. Left out: all directory services the token may see."
        )]
        filter: Option<ServiceFilter>,
        #[graphql(
            desc = "How the list is sorted, ties broken by id; a cursor works only in the order it came from. Left out: the value described as the default."
        )]
        order_by: Option<ServiceOrder>,
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
    ) -> async_graphql::Result<Option<ListConnection<Service>>> {
        let query = filtered(ctx.principal()?, filter.unwrap_or_default())?;
        let ordering = order_by.unwrap_or_default().ordering();
        let args = PageArgs::new(first, after, last, before).sorted(direction);
        Ok(Some(
            connection(ctx.db()?, query, ordering, args, Service).await?,
        ))
    }

    /// One directory service by id; `null` when there is none.
    async fn service(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The service's id (`Service.id`).")] id: ID,
    ) -> async_graphql::Result<Option<Service>> {
        Ok(lookup::<service::Entity, _>(ctx, &id, Kind::Service, Service).await?)
    }
}
