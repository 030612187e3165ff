//! sea-orm entities for Bydel: one module per table, closed vocabularies in [`enums`].
//! Entities carry no relations; foreign keys, CHECKs and indexes live in the `migration`
//! crate, which is the source of truth for the schema.

pub mod enums;

pub mod api_client;
pub mod api_token;
pub mod audit_event;
pub mod client_assertion_jti;
pub mod client_credential;
pub mod consent;
pub mod course;
pub mod enrolment;
pub mod idempotency_key;
pub mod maintenance_lease;
pub mod module_attendance;
pub mod mother;
pub mod mother_language;
pub mod municipality;
pub mod opening_hours;
pub mod organisation;
pub mod participant;
pub mod participant_language;
pub mod project;
pub mod project_partner;
pub mod questionnaire;
pub mod questionnaire_item;
pub mod questionnaire_text;
pub mod referral;
pub mod referral_event;
pub mod scope_ceiling;
pub mod service;
pub mod service_area;
pub mod service_contact;
pub mod service_language;
pub mod service_location;
pub mod signing_key;
pub mod staff_member;
pub mod stats_secret;
pub mod survey_answer;
pub mod survey_response;
pub mod survey_round;
pub mod trusted_issuer;
pub mod visit;
pub mod visit_month;
pub mod visit_topic;
pub mod visit_topic_month;
pub mod volunteer_hours;
pub mod webhook;
pub mod webhook_attempt;
pub mod webhook_delivery;

pub use enums::*;

/// `use entity::prelude::*` brings every entity in as its table's CamelCase name.
pub mod prelude {
    pub use crate::api_client::Entity as ApiClient;
    pub use crate::api_token::Entity as ApiToken;
    pub use crate::audit_event::Entity as AuditEvent;
    pub use crate::client_assertion_jti::Entity as ClientAssertionJti;
    pub use crate::client_credential::Entity as ClientCredential;
    pub use crate::consent::Entity as Consent;
    pub use crate::course::Entity as Course;
    pub use crate::enrolment::Entity as Enrolment;
    pub use crate::maintenance_lease::Entity as MaintenanceLease;
    pub use crate::module_attendance::Entity as ModuleAttendance;
    pub use crate::mother::Entity as Mother;
    pub use crate::mother_language::Entity as MotherLanguage;
    pub use crate::municipality::Entity as Municipality;
    pub use crate::opening_hours::Entity as OpeningHours;
    pub use crate::organisation::Entity as Organisation;
    pub use crate::participant::Entity as Participant;
    pub use crate::participant_language::Entity as ParticipantLanguage;
    pub use crate::project::Entity as Project;
    pub use crate::project_partner::Entity as ProjectPartner;
    pub use crate::questionnaire::Entity as Questionnaire;
    pub use crate::questionnaire_item::Entity as QuestionnaireItem;
    pub use crate::questionnaire_text::Entity as QuestionnaireText;
    pub use crate::referral::Entity as Referral;
    pub use crate::referral_event::Entity as ReferralEvent;
    pub use crate::scope_ceiling::Entity as ScopeCeiling;
    pub use crate::service::Entity as Service;
    pub use crate::service_area::Entity as ServiceArea;
    pub use crate::service_contact::Entity as ServiceContact;
    pub use crate::service_language::Entity as ServiceLanguage;
    pub use crate::service_location::Entity as ServiceLocation;
    pub use crate::signing_key::Entity as SigningKey;
    pub use crate::staff_member::Entity as StaffMember;
    pub use crate::stats_secret::Entity as StatsSecret;
    pub use crate::survey_answer::Entity as SurveyAnswer;
    pub use crate::survey_response::Entity as SurveyResponse;
    pub use crate::survey_round::Entity as SurveyRound;
    pub use crate::trusted_issuer::Entity as TrustedIssuer;
    pub use crate::visit::Entity as Visit;
    pub use crate::visit_month::Entity as VisitMonth;
    pub use crate::visit_topic::Entity as VisitTopic;
    pub use crate::visit_topic_month::Entity as VisitTopicMonth;
    pub use crate::volunteer_hours::Entity as VolunteerHours;
    pub use crate::webhook::Entity as Webhook;
    pub use crate::webhook_attempt::Entity as WebhookAttempt;
    pub use crate::webhook_delivery::Entity as WebhookDelivery;
}
