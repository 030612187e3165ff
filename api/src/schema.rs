//! The GraphQL schema: the query, mutation and subscription roots merged from the domain
//! areas, and the per-request context every resolver reads (principal, database, loaders,
//! keys). Its cost limits live in `limits` and are checked before execution. It is an Apollo
//! Federation v2 subgraph (`_service`, `_entities`; see `federation`). It exports two SDLs:
//! the federation SDL (`schema.graphql`, for composition) and the client SDL
//! (`schema.client.graphql`, for codegen and linters): the same types without the federation
//! parts, with `Subscription`.

use std::sync::Arc;

use async_graphql::{
    EmptyMutation, MergedObject, MergedSubscription, ObjectType, SDLExportOptions, Schema,
    SchemaBuilder,
};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::DatabaseConnection;

use crate::{
    audit_trail::{AuditEvent, AuditQuery},
    auth::TokenKeys,
    courses::{Course, CourseMutation, CourseQuery},
    directory::{DirectoryMutation, DirectoryQuery, Service},
    events::EventBus,
    federation::FederationQuery,
    hours::HoursMutation,
    mothers::{Mother, MotherMutation, MotherQuery},
    node::NodeQuery,
    oauth::OAuthMutation,
    organisations::{Organisation, OrganisationQuery},
    pagination::ListConnection as Page,
    participants::{Participant, ParticipantMutation, ParticipantQuery},
    projects::{Project, ProjectMutation, ProjectQuery},
    referrals::{Referral, ReferralMutation, ReferralPolicy, ReferralQuery, ReferralSubscription},
    stats::{StatsPolicy, StatsQuery},
    surveys::{SurveyMutation, SurveyQuery},
    tokens::{
        ApiClient, IssuerMutation, IssuerQuery, StaffMutation, StaffQuery, TokenMutation,
        TokenQuery,
    },
    visits::{Visit, VisitMutation, VisitQuery},
    vocabularies::VocabularyQuery,
    webhooks::{Webhook, WebhookDelivery, WebhookMutation, WebhookPolicy, WebhookQuery},
};

/// The query root. Every list is a Relay connection (`first`/`after`, `last`/`before`, at most
/// 100 a page) holding only the rows the token's organisation may see; a single object the
/// token may not see is `null`, as if it did not exist. Each field needs the read scope of its
/// area (`referrals:read`, ...), otherwise it answers `FORBIDDEN`.
// `Federation` is the federation entity resolvers (`_entities`) in the served schema and
// nothing in the client schema (`ClientQuery`); the served root wraps these fields in
// `federation::Entities` so each representation of a batch fails alone.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryFields<Federation: ObjectType = FederationQuery>(
    NodeQuery,
    OrganisationQuery,
    ProjectQuery,
    MotherQuery,
    CourseQuery,
    ParticipantQuery,
    VisitQuery,
    ReferralQuery,
    StatsQuery,
    TokenQuery,
    IssuerQuery,
    StaffQuery,
    AuditQuery,
    WebhookQuery,
    VocabularyQuery,
    DirectoryQuery,
    SurveyQuery,
    Federation,
);

/// The served query root: [`QueryFields`] with `_entities` answering each representation alone.
pub type Query = crate::federation::Entities<QueryFields>;

/// The query root of the client schema: the served fields without `_entities` and `_service`.
pub type ClientQuery = QueryFields<EmptyMutation>;

/// The mutation root: one object per domain area that changes data.
#[derive(MergedObject, Default)]
pub struct Mutation(
    TokenMutation,
    IssuerMutation,
    StaffMutation,
    OAuthMutation,
    ProjectMutation,
    VisitMutation,
    MotherMutation,
    HoursMutation,
    CourseMutation,
    ParticipantMutation,
    ReferralMutation,
    WebhookMutation,
    DirectoryMutation,
    SurveyMutation,
);

/// The subscription root (over graphql-ws, see `websocket`).
#[derive(MergedSubscription, Default)]
pub struct Subscription(ReferralSubscription);

pub type BydelSchema = Schema<Query, Mutation, Subscription>;

/// Builds the schema with the shared database handle, the token keys (`issueToken` signs
/// with them), the referral policy (when a referral is stale), the statistics policy
/// (disclosure control's threshold), the webhook policy (which endpoint URLs registration
/// accepts) and the event bus (writes announce on it, subscriptions listen; with it the
/// replica's token cache, which token mutations clear). Per-request data
/// (principal, loaders, request id, read log, event outbox) is attached to each request by the
/// HTTP layer.
pub fn build(
    db: DatabaseConnection,
    keys: Arc<TokenKeys>,
    referrals: ReferralPolicy,
    stats: StatsPolicy,
    webhooks: WebhookPolicy,
    events: EventBus,
) -> BydelSchema {
    with_types(Schema::build(
        <Query>::default(),
        Mutation::default(),
        Subscription::default(),
    ))
    .data(crate::db::Db::Pool(db.clone()))
    .data(db)
    .data(keys)
    .data(referrals)
    .data(stats)
    .data(webhooks)
    .data(events.tokens().clone())
    .data(events)
    .extension(crate::execution::Execution)
    .enable_federation()
    .finish()
}

/// The federation v2 subgraph SDL that `bydel schema` writes to `schema.graphql`: what a
/// supergraph composes (`_service { sdl }` answers the same schema, unsorted).
pub fn sdl() -> String {
    with_types(Schema::build(
        <Query>::default(),
        Mutation::default(),
        Subscription::default(),
    ))
    .enable_federation()
    .finish()
    .sdl_with_options(
        SDLExportOptions::new()
            .federation()
            .sorted_fields()
            .sorted_enum_items(),
    )
}

/// The client SDL that `bydel schema --client` writes to `schema.client.graphql`: plain GraphQL
/// for code generators, linters and editors. The served schema without what only a federation
/// gateway uses (`_entities`, `_service`, `_Any`, `_Entity`, `_Service`, `@key`, `@shareable`,
/// `@link`), with the `Subscription` root the federation SDL leaves out and `@specifiedBy` on
/// the scalars that have a specification.
pub fn client_sdl() -> String {
    with_types(Schema::build(
        ClientQuery::default(),
        Mutation::default(),
        Subscription::default(),
    ))
    .finish()
    .sdl_with_options(
        SDLExportOptions::new()
            .sorted_fields()
            .sorted_enum_items()
            .include_specified_by(),
    )
}

/// What every export of the schema shares with the served one: types registered beside the
/// roots and the descriptions of scalars that come from libraries.
fn with_types<Q: ObjectType + 'static>(
    builder: SchemaBuilder<Q, Mutation, Subscription>,
) -> SchemaBuilder<Q, Mutation, Subscription> {
    builder
        // Listed by `vocabularies` before any field returns it (volunteer hours).
        .register_output_type::<crate::vocabulary::HoursKind>()
        .override_output_type_description::<DateTime<Utc>>(DATE_TIME)
        .override_output_type_description::<NaiveDate>(DATE)
        .override_output_type_description::<Page<ApiClient>>(
            "A page of API clients the token may see (`tokens:read`).",
        )
        .override_output_type_description::<Page<AuditEvent>>(
            "A page of audit events: who read or changed personal data, when, through which request.",
        )
        .override_output_type_description::<Page<Course>>(
            "A page of training courses the token may see.",
        )
        .override_output_type_description::<Page<Mother>>(
            "A page of neighbourhood mothers the token may see.",
        )
        .override_output_type_description::<Page<Organisation>>(
            "A page of organisations the token may see.",
        )
        .override_output_type_description::<Page<Participant>>(
            "A page of participants the token may see; personal fields follow each one's own rules.",
        )
        .override_output_type_description::<Page<Project>>(
            "A page of local projects the token may see.",
        )
        .override_output_type_description::<Page<Referral>>(
            "A page of referrals the token may see.",
        )
        .override_output_type_description::<Page<Service>>(
            "A page of the service directory.",
        )
        .override_output_type_description::<Page<Visit>>(
            "A page of visits the token may see.",
        )
        .override_output_type_description::<Page<Webhook>>(
            "A page of the organisation's webhooks (all of them for the secretariat).",
        )
        .override_output_type_description::<Page<WebhookDelivery>>(
            "A page of a webhook's deliveries, newest first.",
        )
}

/// The `DateTime` scalar (chrono's `DateTime<Utc>`); the wire format is chrono's.
const DATE_TIME: &str = "An instant, as an RFC 3339 date-time string in UTC: when something \
happened or was recorded. Answers carry the offset `+00:00` and as many fractional digits as \
needed, up to microseconds (`2024-11-25T08:00:00.123456+00:00`); arguments may use any offset \
(`2024-11-25T09:00:00+01:00`, `2024-11-25T08:00:00Z`) and are taken as that instant.";

/// The `NaiveDate` scalar (chrono's `NaiveDate`).
const DATE: &str = "A calendar date without time or time zone, ISO 8601 `YYYY-MM-DD`, e.g. \
`2024-11-25`: the day of a visit, a course's start, a project's end. Danish local dates as \
the parties record them.";

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The client schema is the served one without what only a gateway uses: the same types,
    /// fields, arguments and enum values, so code generated from it fits the server.
    #[test]
    fn the_client_schema_is_the_served_schema_without_federation() {
        let names = |names: Vec<String>| names.into_iter().collect::<BTreeSet<_>>();
        let served = names(
            with_types(Schema::build(
                <Query>::default(),
                Mutation::default(),
                Subscription::default(),
            ))
            .enable_federation()
            .finish()
            .names(),
        );
        let client = names(
            with_types(Schema::build(
                ClientQuery::default(),
                Mutation::default(),
                Subscription::default(),
            ))
            .finish()
            .names(),
        );
        let only_served: BTreeSet<&str> = served.difference(&client).map(String::as_str).collect();
        assert!(
            client.is_subset(&served),
            "{:?}",
            client.difference(&served)
        );
        assert_eq!(
            only_served,
            BTreeSet::from([
                "_Any",
                "_Entity",
                "_Service",
                "_entities",
                "_service",
                "representations",
                "sdl"
            ]),
            "what the served schema has beyond the client schema"
        );
    }
}
