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
/// One referral by `node(id:)` with its note, her personal fields, mother, project, events.
pub const REFERRAL_NODE_DETAILS: &str = include_str!("queries/referral_node_details.graphql");
pub const REFERRAL_COUNT: &str = include_str!("queries/referral_count.graphql");
pub const VISIT_COUNT: &str = include_str!("queries/visit_count.graphql");
pub const PROJECT_NAMES: &str = include_str!("queries/project_names.graphql");
pub const PROJECTS_AND_REFERRALS: &str = include_str!("queries/projects_and_referrals.graphql");
pub const REFERRALS_UNKNOWN_STATUS: &str = include_str!("queries/referrals_unknown_status.graphql");

pub const NODE: &str = include_str!("queries/node.graphql");
pub const REFERRAL: &str = include_str!("queries/referral.graphql");
pub const QUERY_TYPE: &str = include_str!("queries/query_type.graphql");

/// The authorization matrix (`access.rs`): every list, count, nested field and lookup.
pub const ACCESS_LISTS: &str = include_str!("queries/access_lists.graphql");
pub const ACCESS_COUNTS: &str = include_str!("queries/access_counts.graphql");
pub const ACCESS_NESTED: &str = include_str!("queries/access_nested.graphql");
/// Several operations, one per type: send with `operationName`.
pub const ACCESS_LOOKUPS: &str = include_str!("queries/access_lookups.graphql");
pub const ACCESS_PERSONAL_DATA: &str = include_str!("queries/access_personal_data.graphql");
pub const PARTICIPANT_RECORD: &str = include_str!("queries/participant_record.graphql");
pub const REFERRAL_RECORD: &str = include_str!("queries/referral_record.graphql");
pub const SCOPE_PROBE: &str = include_str!("queries/scope_probe.graphql");
pub const NODE_PERSONAL_DATA: &str = include_str!("queries/node_personal_data.graphql");

/// Token management (`tokens:admin`) and the audit trail (`audit:read`).
pub const API_CLIENTS: &str = include_str!("queries/api_clients.graphql");
pub const API_CLIENT: &str = include_str!("queries/api_client.graphql");
pub const CREATE_API_CLIENT: &str = include_str!("queries/create_api_client.graphql");
pub const ISSUE_TOKEN: &str = include_str!("queries/issue_token.graphql");
pub const REVOKE_TOKEN: &str = include_str!("queries/revoke_token.graphql");
pub const REVOKE_API_CLIENT: &str = include_str!("queries/revoke_api_client.graphql");
pub const DELETE_API_CLIENT: &str = include_str!("queries/delete_api_client.graphql");
pub const TOKEN_SCOPE_PROBE: &str = include_str!("queries/token_scope_probe.graphql");
pub const AUDIT_EVENTS: &str = include_str!("queries/audit_events.graphql");
pub const PARTICIPANT_FIRST_NAME: &str = include_str!("queries/participant_first_name.graphql");
pub const NODE_TYPE: &str = include_str!("queries/node_type.graphql");

/// Writing visits (`visits:write`).
pub const RECORD_VISIT: &str = include_str!("queries/record_visit.graphql");
pub const CORRECT_VISIT: &str = include_str!("queries/correct_visit.graphql");
pub const DELETE_VISIT: &str = include_str!("queries/delete_visit.graphql");
pub const IMPORT_VISITS: &str = include_str!("queries/import_visits.graphql");
/// One visit with every field, to read a write back.
pub const VISIT_RECORD: &str = include_str!("queries/visit_record.graphql");

/// Writing participants, consents and referrals (issue 4).
pub const CREATE_REFERRAL: &str = include_str!("queries/create_referral.graphql");
pub const TRANSITION_REFERRAL: &str = include_str!("queries/transition_referral.graphql");
pub const CLAIM_REFERRAL: &str = include_str!("queries/claim_referral.graphql");
pub const REGISTER_PARTICIPANT: &str = include_str!("queries/register_participant.graphql");
pub const RECORD_CONSENT: &str = include_str!("queries/record_consent.graphql");
pub const WITHDRAW_CONSENT: &str = include_str!("queries/withdraw_consent.graphql");

/// Writing mothers (`mothers:write`).
pub const REGISTER_MOTHER: &str = include_str!("queries/register_mother.graphql");
pub const UPDATE_MOTHER: &str = include_str!("queries/update_mother.graphql");
pub const CHANGE_MOTHER_STATUS: &str = include_str!("queries/change_mother_status.graphql");
/// One mother with every field and her enrolments, to read a write back.
pub const MOTHER_RECORD: &str = include_str!("queries/mother_record.graphql");

/// Training (`courses:write`).
pub const CREATE_COURSE: &str = include_str!("queries/create_course.graphql");
pub const ENROL_MOTHER: &str = include_str!("queries/enrol_mother.graphql");
pub const RECORD_ATTENDANCE: &str = include_str!("queries/record_attendance.graphql");
pub const CERTIFY: &str = include_str!("queries/certify.graphql");
pub const UPDATE_COURSE: &str = include_str!("queries/update_course.graphql");
pub const WITHDRAW_ENROLMENT: &str = include_str!("queries/withdraw_enrolment.graphql");
/// One course with its enrolments, to read a write back.
pub const COURSE_RECORD: &str = include_str!("queries/course_record.graphql");

/// Referrals with their stale flag and due date, filtered by `stale` (issue 4).
pub const STALE_REFERRALS: &str = include_str!("queries/stale_referrals.graphql");

/// Writing projects and their partners (`projects:write`, secretariat).
pub const CREATE_PROJECT: &str = include_str!("queries/create_project.graphql");
pub const UPDATE_PROJECT: &str = include_str!("queries/update_project.graphql");
pub const SET_PROJECT_PARTNER: &str = include_str!("queries/set_project_partner.graphql");
pub const REMOVE_PROJECT_PARTNER: &str = include_str!("queries/remove_project_partner.graphql");
/// One project with its partners, to read a write back.
pub const PROJECT_RECORD: &str = include_str!("queries/project_record.graphql");

/// Webhooks (`referrals:admin`).
pub const REGISTER_WEBHOOK: &str = include_str!("queries/register_webhook.graphql");
pub const UPDATE_WEBHOOK: &str = include_str!("queries/update_webhook.graphql");
pub const ROTATE_WEBHOOK_SECRET: &str = include_str!("queries/rotate_webhook_secret.graphql");
pub const DELETE_WEBHOOK: &str = include_str!("queries/delete_webhook.graphql");
pub const WEBHOOKS: &str = include_str!("queries/webhooks.graphql");
/// Referral events over graphql-ws (`referralEvents`).
pub const REFERRAL_EVENTS: &str = include_str!("queries/referral_events.graphql");
pub const REFERRAL_EVENTS_PERSONAL_DATA: &str =
    include_str!("queries/referral_events_personal_data.graphql");
/// Limits and GraphQL over HTTP.
pub const INTROSPECTION: &str = include_str!("queries/introspection.graphql");
pub const DEEP_NESTING: &str = include_str!("queries/deep_nesting.graphql");
pub const HUGE_PAGE: &str = include_str!("queries/huge_page.graphql");
/// Apollo Federation: `_service` and `_entities` straight against Bydel, and the queries a
/// municipality sends through its gateway (tests/federation).
pub const FEDERATION_SERVICE: &str = include_str!("queries/federation_service.graphql");
pub const FEDERATION_ENTITIES: &str = include_str!("queries/federation_entities.graphql");
pub const GATEWAY_CASES: &str = include_str!("queries/gateway_cases.graphql");
pub const GATEWAY_REFERRALS: &str = include_str!("queries/gateway_referrals.graphql");

/// Operations: a named query whose variable must never reach the logs.
pub const PARTICIPANT_BY_PSEUDONYM: &str = include_str!("queries/participant_by_pseudonym.graphql");
/// Statistics (`stats`): the demo's published figures, one figure at a time, every figure,
/// the benchmark's dashboard query, stale referrals, and a probe that runs no figure.
pub const STATS_DEMO: &str = include_str!("queries/stats_demo.graphql");
pub const STATS_VISITS: &str = include_str!("queries/stats_visits.graphql");
pub const STATS_REFERRALS: &str = include_str!("queries/stats_referrals.graphql");
pub const STATS_FIGURES: &str = include_str!("queries/stats_figures.graphql");
pub const STATS_DASHBOARD: &str = include_str!("queries/stats_dashboard.graphql");
pub const STATS_STALE: &str = include_str!("queries/stats_stale.graphql");
pub const STATS_PROBE: &str = include_str!("queries/stats_probe.graphql");
pub const STATS_PERIOD: &str = include_str!("queries/stats_period.graphql");

/// Issue 12, leaks to close (`leaks.rs`).
pub const REFERRAL_ACTIONS: &str = include_str!("queries/referral_actions.graphql");
pub const READ_AUDIT: &str = include_str!("queries/read_audit.graphql");
pub const READ_AUDIT_TRAIL: &str = include_str!("queries/read_audit_trail.graphql");
pub const POOL_PROFILE: &str = include_str!("queries/pool_profile.graphql");
pub const FUNDED_PROJECT: &str = include_str!("queries/funded_project.graphql");

/// The vocabularies with both labels of every value; one vocabulary; a label in no language.
pub const VOCABULARIES: &str = include_str!("queries/vocabularies.graphql");
pub const VOCABULARY: &str = include_str!("queries/vocabulary.graphql");
pub const VOCABULARY_BAD_LANG: &str = include_str!("queries/vocabulary_bad_lang.graphql");
/// Volunteer hours: the writes, one entry by `node(id:)`, and the figure by kind.
pub const RECORD_VOLUNTEER_HOURS: &str = include_str!("queries/record_volunteer_hours.graphql");
pub const CORRECT_VOLUNTEER_HOURS: &str = include_str!("queries/correct_volunteer_hours.graphql");
pub const DELETE_VOLUNTEER_HOURS: &str = include_str!("queries/delete_volunteer_hours.graphql");
pub const IMPORT_VOLUNTEER_HOURS: &str = include_str!("queries/import_volunteer_hours.graphql");
pub const VOLUNTEER_HOURS_RECORD: &str = include_str!("queries/volunteer_hours_record.graphql");
pub const STATS_HOURS: &str = include_str!("queries/stats_hours.graphql");
/// The service directory: writes by the provider, the list and lookups any token reads.
pub const CREATE_SERVICE: &str = include_str!("queries/create_service.graphql");
pub const UPDATE_SERVICE: &str = include_str!("queries/update_service.graphql");
pub const ADD_SERVICE_LOCATION: &str = include_str!("queries/add_service_location.graphql");
pub const UPDATE_SERVICE_LOCATION: &str = include_str!("queries/update_service_location.graphql");
pub const ADD_SERVICE_CONTACT: &str = include_str!("queries/add_service_contact.graphql");
/// Several operations: send with `operationName`.
pub const REMOVE_SERVICE_ENTRIES: &str = include_str!("queries/remove_service_entries.graphql");
pub const SERVICES: &str = include_str!("queries/services.graphql");
pub const DIRECTORY_NODES: &str = include_str!("queries/directory_nodes.graphql");
pub const CREATE_REFERRAL_FOR_SERVICE: &str =
    include_str!("queries/create_referral_for_service.graphql");

/// Trusted issuers: `Register`, `Revoke`, `Ceiling`, `List`, `ClientAudit` (use operationName).
pub const TRUSTED_ISSUERS: &str = include_str!("queries/trusted_issuers.graphql");
/// Projects and the referral count, as an external token reads them.
pub const ISSUER_READS: &str = include_str!("queries/issuer_reads.graphql");

/// OAuth client credentials (issue 15 part 2).
pub const CREATE_CLIENT_SECRET: &str = include_str!("queries/create_client_secret.graphql");
pub const REGISTER_CLIENT_KEY: &str = include_str!("queries/register_client_key.graphql");
pub const REVOKE_CLIENT_CREDENTIAL: &str = include_str!("queries/revoke_client_credential.graphql");
pub const CLIENT_CREDENTIALS: &str = include_str!("queries/client_credentials.graphql");

/// Tokens bound to a mother or a staff member (issue 15 part 3).
pub const OWN_WORK: &str = include_str!("queries/own_work.graphql");
pub const OWN_LOOKUPS: &str = include_str!("queries/own_lookups.graphql");
pub const ISSUE_PERSON_TOKEN: &str = include_str!("queries/issue_person_token.graphql");
pub const REGISTER_STAFF_MEMBER: &str = include_str!("queries/register_staff_member.graphql");
pub const DEACTIVATE_STAFF_MEMBER: &str = include_str!("queries/deactivate_staff_member.graphql");
pub const STAFF_MEMBERS: &str = include_str!("queries/staff_members.graphql");
pub const AUDIT_PEOPLE: &str = include_str!("queries/audit_people.graphql");

/// Surveys (issue 17): questionnaires, rounds, responses and `stats.evaluation`.
pub const CREATE_QUESTIONNAIRE: &str = include_str!("queries/create_questionnaire.graphql");
pub const UPDATE_QUESTIONNAIRE: &str = include_str!("queries/update_questionnaire.graphql");
pub const PUBLISH_QUESTIONNAIRE: &str = include_str!("queries/publish_questionnaire.graphql");
pub const OPEN_SURVEY_ROUND: &str = include_str!("queries/open_survey_round.graphql");
pub const CLOSE_SURVEY_ROUND: &str = include_str!("queries/close_survey_round.graphql");
pub const RECORD_SURVEY_RESPONSE: &str = include_str!("queries/record_survey_response.graphql");
pub const SURVEY_ROUNDS: &str = include_str!("queries/survey_rounds.graphql");
pub const SURVEY_FREE_TEXT: &str = include_str!("queries/survey_free_text.graphql");
pub const QUESTIONNAIRES: &str = include_str!("queries/questionnaires.graphql");
pub const STATS_EVALUATION: &str = include_str!("queries/stats_evaluation.graphql");
/// `registerMother` with the corps of the volunteer and of her project.
pub const REGISTER_VOLUNTEER: &str = include_str!("queries/register_volunteer.graphql");
/// Every figure grouped by corps (mothers and fathers).
pub const STATS_BY_CORPS: &str = include_str!("queries/stats_by_corps.graphql");
