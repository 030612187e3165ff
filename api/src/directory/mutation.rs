//! The directory mutations (`directory:write`): thin resolvers that decode ids and enums and
//! run one data function of [`super::write`] in one transaction.
//!
//! Ids inside `input` that name the record changed (`id`, `serviceId`) are `NOT_FOUND` when
//! unknown; another organisation's entry is `FORBIDDEN`. A refused mutation answers `null`
//! with its error and writes nothing.

use async_graphql::{Context, ID, InputObject, Object};

use super::{
    Service, ServiceContact, ServiceLocation, Weekday,
    write::{self, LocationChange, NewContact, NewLocation, NewService, Period, ServiceChange},
};
use crate::{
    ids::{self, Kind},
    vocabulary::{ServiceCategory, ServiceStatus},
    writes::{caller, in_transaction},
};

/// A new service in the directory.
#[derive(InputObject)]
pub struct CreateServiceInput {
    /// The providing organisation: the caller's own when left out; only the secretariat
    /// names another.
    pub organisation_id: Option<ID>,
    /// 1 to 200 characters.
    pub name: String,
    /// The kind of service, as referrals name it.
    pub category: ServiceCategory,
    /// ACTIVE when left out.
    pub status: Option<ServiceStatus>,
    /// At most 4000 characters.
    pub description: Option<String>,
    /// ISO 639 codes (e.g. "da", "ar", "so").
    pub languages: Option<Vec<String>>,
    /// The municipalities served, by official code.
    pub municipality_codes: Option<Vec<i32>>,
}

/// Only the fields given change; a list given replaces the old one.
#[derive(InputObject)]
pub struct UpdateServiceInput {
    /// The service to change (`Service.id`).
    pub id: ID,
    /// Its new name, 1 to 200 characters.
    pub name: Option<String>,
    /// Its new category.
    pub category: Option<ServiceCategory>,
    /// Its new status.
    pub status: Option<ServiceStatus>,
    /// An empty text clears it.
    pub description: Option<String>,
    /// ISO 639 codes of the languages it is offered in; replaces all.
    pub languages: Option<Vec<String>>,
    /// The municipalities it serves (official codes); replaces all.
    pub municipality_codes: Option<Vec<i32>>,
}

/// One opening period in local time.
#[derive(InputObject)]
pub struct OpeningHoursInput {
    /// The day of the week.
    pub weekday: Weekday,
    /// `HH:MM`, e.g. "08:30".
    pub opens: String,
    /// `HH:MM`, after `opens`.
    pub closes: String,
}

/// A place where a service is offered, with its address and opening hours.
#[derive(InputObject)]
pub struct AddServiceLocationInput {
    /// The service offered there.
    pub service_id: ID,
    /// The place's name (e.g. `Sundhedshuset`), if it has one.
    pub name: Option<String>,
    /// Street and number, at most 200 characters.
    pub street: String,
    /// Four digits.
    pub postcode: String,
    /// The town.
    pub city: String,
    /// The official code of the municipality it is in (e.g. 101).
    pub municipality_code: i32,
    /// Periods of one day must not overlap.
    pub opening_hours: Option<Vec<OpeningHoursInput>>,
    /// At most 1000 characters.
    pub opening_hours_notes: Option<String>,
}

/// Only the fields given change; `openingHours` given replaces the week; an empty `name` or
/// `openingHoursNotes` clears it.
#[derive(InputObject)]
pub struct UpdateServiceLocationInput {
    /// The location to change (`ServiceLocation.id`).
    pub id: ID,
    /// The place's name; an empty text clears it.
    pub name: Option<String>,
    /// Street and number, at most 200 characters.
    pub street: Option<String>,
    /// Four digits.
    pub postcode: Option<String>,
    /// The town.
    pub city: Option<String>,
    /// The official code of the municipality it is in.
    pub municipality_code: Option<i32>,
    /// Its opening periods; replaces all (periods of one day must not overlap).
    pub opening_hours: Option<Vec<OpeningHoursInput>>,
    /// Notes on the hours (holidays, by appointment), at most 1000 characters; an empty text
    /// clears it.
    pub opening_hours_notes: Option<String>,
}

/// The periods as the data functions take them.
fn periods(hours: Vec<OpeningHoursInput>) -> Vec<Period> {
    hours
        .into_iter()
        .map(|p| Period {
            weekday: p.weekday.number(),
            opens: p.opens,
            closes: p.closes,
        })
        .collect()
}

/// A role or department with at least one of phone, e-mail or website; never a person.
#[derive(InputObject)]
pub struct AddServiceContactInput {
    /// The service the contact point belongs to.
    pub service_id: ID,
    /// The role or department (e.g. `Borgerservice, tidsbestilling`), never a person's name.
    pub name: String,
    /// Its phone number.
    pub phone: Option<String>,
    /// Its e-mail address.
    pub email: Option<String>,
    /// `https://...`
    pub website: Option<String>,
}

#[derive(Default)]
pub struct DirectoryMutation;

#[Object]
impl DirectoryMutation {
    /// Adds a service to the directory.
    async fn create_service(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The new directory service: its organisation, name, category and description."
        )]
        input: CreateServiceInput,
    ) -> async_graphql::Result<Option<Service>> {
        let (principal, actor) = caller(ctx)?;
        let organisation = input
            .organisation_id
            .map(|id| ids::decode_as(&id, Kind::Organisation, "input.organisationId"))
            .transpose()?;
        let new = NewService {
            organisation_id: organisation,
            name: input.name,
            category: input.category.into(),
            status: input.status.unwrap_or(ServiceStatus::Active).into(),
            description: input.description,
            languages: input.languages.unwrap_or_default(),
            municipality_codes: input.municipality_codes.unwrap_or_default(),
        };
        let service = in_transaction(ctx, async |txn| {
            write::create_service(txn, principal, &actor, new).await
        });
        Ok(Some(Service(service.await?)))
    }

    /// Changes a service's name, category, status, description, languages or area.
    async fn update_service(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The service and the fields to change; fields left out stay as they are."
        )]
        input: UpdateServiceInput,
    ) -> async_graphql::Result<Option<Service>> {
        let (principal, actor) = caller(ctx)?;
        let id = ids::decode_as(&input.id, Kind::Service, "input.id")?;
        let change = ServiceChange {
            name: input.name,
            category: input.category.map(Into::into),
            status: input.status.map(Into::into),
            description: input.description,
            languages: input.languages,
            municipality_codes: input.municipality_codes,
        };
        let service = in_transaction(ctx, async |txn| {
            write::update_service(txn, principal, &actor, id, change).await
        });
        Ok(Some(Service(service.await?)))
    }

    /// Adds a location (address and weekly opening hours) to a service.
    async fn add_service_location(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The service and the location to add to it: address, municipality, opening hours."
        )]
        input: AddServiceLocationInput,
    ) -> async_graphql::Result<Option<ServiceLocation>> {
        let (principal, actor) = caller(ctx)?;
        let new = NewLocation {
            service_id: ids::decode_as(&input.service_id, Kind::Service, "input.serviceId")?,
            name: input.name,
            street: input.street,
            postcode: input.postcode,
            city: input.city,
            municipality_code: input.municipality_code,
            opening_hours: periods(input.opening_hours.unwrap_or_default()),
            opening_hours_notes: input.opening_hours_notes,
        };
        let location = in_transaction(ctx, async |txn| {
            write::add_location(txn, principal, &actor, new).await
        });
        Ok(Some(ServiceLocation(location.await?)))
    }

    /// Changes a location's address, opening hours or notes.
    async fn update_service_location(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The location and the fields to change; fields left out stay as they are."
        )]
        input: UpdateServiceLocationInput,
    ) -> async_graphql::Result<Option<ServiceLocation>> {
        let (principal, actor) = caller(ctx)?;
        let id = ids::decode_as(&input.id, Kind::ServiceLocation, "input.id")?;
        let change = LocationChange {
            name: input.name,
            street: input.street,
            postcode: input.postcode,
            city: input.city,
            municipality_code: input.municipality_code,
            opening_hours: input.opening_hours.map(periods),
            opening_hours_notes: input.opening_hours_notes,
        };
        let location = in_transaction(ctx, async |txn| {
            write::update_location(txn, principal, &actor, id, change).await
        });
        Ok(Some(ServiceLocation(location.await?)))
    }

    /// Removes a location with its opening hours; answers the service.
    async fn remove_service_location(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the location to remove.")] id: ID,
    ) -> async_graphql::Result<Option<Service>> {
        let (principal, actor) = caller(ctx)?;
        let id = ids::decode_as(&id, Kind::ServiceLocation, "id")?;
        let service = in_transaction(ctx, async |txn| {
            write::remove_location(txn, principal, &actor, id).await
        });
        Ok(Some(Service(service.await?)))
    }

    /// Adds a contact point to a service.
    async fn add_service_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The service and the contact point to add to it.")]
        input: AddServiceContactInput,
    ) -> async_graphql::Result<Option<ServiceContact>> {
        let (principal, actor) = caller(ctx)?;
        let new = NewContact {
            service_id: ids::decode_as(&input.service_id, Kind::Service, "input.serviceId")?,
            name: input.name,
            phone: input.phone,
            email: input.email,
            website: input.website,
        };
        let contact = in_transaction(ctx, async |txn| {
            write::add_contact(txn, principal, &actor, new).await
        });
        Ok(Some(ServiceContact(contact.await?)))
    }

    /// Removes a contact point; answers the service.
    async fn remove_service_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the contact point to remove.")] id: ID,
    ) -> async_graphql::Result<Option<Service>> {
        let (principal, actor) = caller(ctx)?;
        let id = ids::decode_as(&id, Kind::ServiceContact, "id")?;
        let service = in_transaction(ctx, async |txn| {
            write::remove_contact(txn, principal, &actor, id).await
        });
        Ok(Some(Service(service.await?)))
    }
}
