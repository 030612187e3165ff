//! The GraphQL documents the tests send, kept as `.graphql` files so they read like a
//! partner's client code.

pub const ORGANISATIONS: &str = include_str!("queries/organisations.graphql");
pub const PROJECTS: &str = include_str!("queries/projects.graphql");
pub const MOTHERS: &str = include_str!("queries/mothers.graphql");
pub const COURSES: &str = include_str!("queries/courses.graphql");
pub const PARTICIPANTS: &str = include_str!("queries/participants.graphql");
pub const VISITS: &str = include_str!("queries/visits.graphql");
pub const REFERRALS: &str = include_str!("queries/referrals.graphql");

/// Referrals with mother, project (and operator), participant, events (and actor), requester.
pub const REFERRALS_WITH_DETAILS: &str = include_str!("queries/referrals_with_details.graphql");
pub const REFERRAL_COUNT: &str = include_str!("queries/referral_count.graphql");
pub const VISIT_COUNT: &str = include_str!("queries/visit_count.graphql");
pub const PROJECT_NAMES: &str = include_str!("queries/project_names.graphql");
pub const PROJECTS_AND_REFERRALS: &str = include_str!("queries/projects_and_referrals.graphql");
pub const REFERRALS_UNKNOWN_STATUS: &str = include_str!("queries/referrals_unknown_status.graphql");

pub const NODE: &str = include_str!("queries/node.graphql");
pub const REFERRAL: &str = include_str!("queries/referral.graphql");
pub const QUERY_TYPE: &str = include_str!("queries/query_type.graphql");
