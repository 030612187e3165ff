//! Every closed vocabulary of the data model, stored as short snake_case strings.
//! The string values are part of the schema: migrations repeat them in CHECK
//! constraints, so a value may be added only together with a migration and never renamed.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// What kind of body an organisation is; decides which data it may see.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    Secretariat,
    Municipality,
    Ngo,
}

/// Lifecycle of a local project.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum ProjectStatus {
    Planned,
    Active,
    Paused,
    Closed,
}

/// Why an organisation is attached to a project it does not operate.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum PartnerRole {
    Partner,
    Funder,
}

/// Where a neighbourhood mother is on her path from trainee to volunteer.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum MotherStatus {
    InTraining,
    Certified,
    Active,
    Inactive,
    Left,
}

/// The basic course certifies; supplementary courses add skills afterwards.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum CourseKind {
    Basic,
    Supplementary,
}

/// A mother's standing on one course; `Completed` requires a certification date.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum EnrolmentStatus {
    Enrolled,
    Completed,
    Withdrawn,
}

/// What volunteer time was spent on, as funders ask for it. `Activity` entries are activity
/// that is not a recorded visit (a visit's duration is activity time by itself); `Other` is
/// time that is neither (administration, travel).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum HoursKind {
    Activity,
    Training,
    Meeting,
    Other,
}

/// How a participant prefers to be reached.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum ContactMethod {
    Phone,
    Sms,
    Email,
    InPerson,
    ViaMother,
}

/// What a consent covers; sharing always names its receiver.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum ConsentPurpose {
    ShareWithReceiver,
    Contact,
    Statistics,
}

/// The form a mother's activity took.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum VisitChannel {
    HomeVisit,
    PhoneCall,
    GroupEvent,
    Accompaniment,
}

/// How the contact behind a visit came about; reported to funders.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum ContactOrigin {
    MotherNetwork,
    Outreach,
    Event,
    SelfReferred,
    MunicipalityReferral,
    OtherOrganisation,
}

/// What was agreed at the end of a visit.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum NextStep {
    None,
    FollowUpVisit,
    Referral,
    Accompaniment,
    GroupActivity,
    Other,
}

/// Subjects talked about on a visit; a visit may have several.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum VisitTopic {
    Children,
    Health,
    MunicipalityContact,
    School,
    Economy,
    Loneliness,
    EducationWork,
    Language,
    Housing,
    Other,
}

/// How soon a referral should be acted on (HL7 FHIR request priority).
#[derive(
    Copy,
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum ReferralPriority {
    #[default]
    Routine,
    Urgent,
    Asap,
    Stat,
}

/// What a timeline event records: a status change, or a handover of who holds the referral
/// (claimed from a pool, released back to it, forwarded to another project or organisation).
#[derive(
    Copy,
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    #[default]
    Transition,
    Claim,
    Release,
    Forward,
    /// A message between requester and performer; the status stays.
    Message,
}

impl TimelineKind {
    /// The kind of a step from `from` to `to` written without other knowledge (generated
    /// history): a pool claim keeps the referral requested, anything else changes status.
    pub fn of_step(from: Option<ReferralStatus>, to: ReferralStatus) -> Self {
        match (from, to) {
            (Some(ReferralStatus::Requested), ReferralStatus::Requested) => Self::Claim,
            _ => Self::Transition,
        }
    }
}

/// Outbound: a project refers a participant to a service; inbound: a service refers her to the mothers.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum ReferralDirection {
    Outbound,
    Inbound,
}

/// The kind of service a referral asks for.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum ServiceCategory {
    HealthVisitor,
    JobCentre,
    School,
    DayCare,
    LanguageSchool,
    FamilyCounselling,
    Housing,
    DebtCounselling,
    CitizenService,
    Health,
    NeighbourhoodMother,
    Other,
}

/// Whether a directory service is offered (Open Referral HSDS 3.0 `service.status`).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum ServiceStatus {
    Active,
    Inactive,
    Defunct,
    TemporarilyClosed,
}

/// Referral lifecycle, modelled on the HL7 SDOH referral Task statuses.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum ReferralStatus {
    Draft,
    Requested,
    Accepted,
    Rejected,
    InProgress,
    OnHold,
    Failed,
    Completed,
    Cancelled,
    EnteredInError,
}

/// Why a referral was rejected, failed or cancelled (required for those statuses). Which
/// action accepts which reason is `api::referrals::lifecycle`.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum ReferralReason {
    CouldNotContact,
    NotEligible,
    NoCapacity,
    NoLongerInterested,
    ReferredElsewhere,
    ConsentWithdrawn,
    Duplicate,
    Other,
}

/// What came of a completed referral (required once completed).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum ReferralOutcome {
    ServiceProvided,
    PartiallyProvided,
    DeclinedByParticipant,
    Other,
}

/// What an audited request did to personal data.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Read,
    Create,
    Update,
    Delete,
    Transition,
    Revoke,
}

/// Where the first request sent with an idempotency key stands.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum IdempotencyStatus {
    /// The first request is still running.
    Pending,
    /// The first request finished; its response is stored.
    Done,
}

/// Where a webhook delivery stands.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum WebhookDeliveryStatus {
    /// Waiting for its first or next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed; no more are made.
    Failed,
}

/// What happened to a referral, as a webhook names it (the `type` of the payload).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum WebhookEventType {
    /// A referral was created (its first timeline event).
    #[sea_orm(string_value = "referral.created")]
    #[serde(rename = "referral.created")]
    ReferralCreated,
    /// A referral moved from one status to another.
    #[sea_orm(string_value = "referral.transitioned")]
    #[serde(rename = "referral.transitioned")]
    ReferralTransitioned,
    /// A pool referral was claimed by a project (its status stays requested).
    #[sea_orm(string_value = "referral.claimed")]
    #[serde(rename = "referral.claimed")]
    ReferralClaimed,
    /// A party posted a message on the referral.
    #[sea_orm(string_value = "referral.message")]
    #[serde(rename = "referral.message")]
    ReferralMessage,
}

#[cfg(test)]
mod tests {
    //! The stored strings are spelled out here once more because the migrations' CHECK
    //! constraints list them literally: a derive rename that drifted would break writes.

    use super::*;
    use sea_orm::ActiveEnum;

    fn values<E: ActiveEnum<Value = String>>() -> Vec<String> {
        E::iter().map(|v| v.to_value()).collect()
    }

    #[test]
    fn stored_values_match_the_schema() {
        assert_eq!(
            values::<OrganisationKind>(),
            ["secretariat", "municipality", "ngo"]
        );
        assert_eq!(
            values::<ProjectStatus>(),
            ["planned", "active", "paused", "closed"]
        );
        assert_eq!(values::<PartnerRole>(), ["partner", "funder"]);
        assert_eq!(
            values::<MotherStatus>(),
            ["in_training", "certified", "active", "inactive", "left"]
        );
        assert_eq!(values::<CourseKind>(), ["basic", "supplementary"]);
        assert_eq!(
            values::<EnrolmentStatus>(),
            ["enrolled", "completed", "withdrawn"]
        );
        assert_eq!(
            values::<HoursKind>(),
            ["activity", "training", "meeting", "other"]
        );
        assert_eq!(
            values::<ContactMethod>(),
            ["phone", "sms", "email", "in_person", "via_mother"]
        );
        assert_eq!(
            values::<ConsentPurpose>(),
            ["share_with_receiver", "contact", "statistics"]
        );
        assert_eq!(
            values::<VisitChannel>(),
            ["home_visit", "phone_call", "group_event", "accompaniment"]
        );
        assert_eq!(
            values::<ContactOrigin>(),
            [
                "mother_network",
                "outreach",
                "event",
                "self_referred",
                "municipality_referral",
                "other_organisation"
            ]
        );
        assert_eq!(
            values::<NextStep>(),
            [
                "none",
                "follow_up_visit",
                "referral",
                "accompaniment",
                "group_activity",
                "other"
            ]
        );
        assert_eq!(
            values::<VisitTopic>(),
            [
                "children",
                "health",
                "municipality_contact",
                "school",
                "economy",
                "loneliness",
                "education_work",
                "language",
                "housing",
                "other"
            ]
        );
        assert_eq!(values::<ReferralDirection>(), ["outbound", "inbound"]);
        assert_eq!(
            values::<ServiceStatus>(),
            ["active", "inactive", "defunct", "temporarily_closed"]
        );
        assert_eq!(
            values::<ServiceCategory>(),
            [
                "health_visitor",
                "job_centre",
                "school",
                "day_care",
                "language_school",
                "family_counselling",
                "housing",
                "debt_counselling",
                "citizen_service",
                "health",
                "neighbourhood_mother",
                "other"
            ]
        );
        assert_eq!(
            values::<ReferralStatus>(),
            [
                "draft",
                "requested",
                "accepted",
                "rejected",
                "in_progress",
                "on_hold",
                "failed",
                "completed",
                "cancelled",
                "entered_in_error"
            ]
        );
        assert_eq!(
            values::<ReferralReason>(),
            [
                "could_not_contact",
                "not_eligible",
                "no_capacity",
                "no_longer_interested",
                "referred_elsewhere",
                "consent_withdrawn",
                "duplicate",
                "other",
            ]
        );
        assert_eq!(
            values::<ReferralPriority>(),
            ["routine", "urgent", "asap", "stat"]
        );
        assert_eq!(
            values::<TimelineKind>(),
            ["transition", "claim", "release", "forward", "message"]
        );
        assert_eq!(
            values::<ReferralOutcome>(),
            [
                "service_provided",
                "partially_provided",
                "declined_by_participant",
                "other"
            ]
        );
        assert_eq!(
            values::<AuditAction>(),
            ["read", "create", "update", "delete", "transition", "revoke"]
        );
        assert_eq!(
            values::<WebhookDeliveryStatus>(),
            ["pending", "delivered", "failed"]
        );
        assert_eq!(
            values::<WebhookEventType>(),
            [
                "referral.created",
                "referral.transitioned",
                "referral.claimed",
                "referral.message"
            ]
        );
    }

    #[test]
    fn serde_uses_the_stored_values() {
        let parsed = ReferralStatus::deserialize(Json::String("entered_in_error".to_owned()));
        assert!(matches!(parsed, Ok(ReferralStatus::EnteredInError)));
    }
}

/// What an OAuth client credential proves the client with.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A client secret (`client_secret_basic` / `client_secret_post`), stored hashed.
    Secret,
    /// A registered public key for signed client assertions (`private_key_jwt`).
    PublicKey,
}

/// The programme's four measurable goals (the evaluations of 2010 and 2012), each
/// questionnaire item measuring one.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum SurveyGoal {
    Knowledge,
    Network,
    EducationWork,
    PassingOn,
}

/// How a questionnaire item is answered.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum ItemScale {
    #[sea_orm(string_value = "likert_5")]
    Likert5,
    YesNo,
    Choice,
    FreeText,
}

/// Whether a questionnaire version may still change.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum QuestionnaireStatus {
    Draft,
    Published,
}

/// When in a mother's path a survey round is given.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum SurveyMoment {
    CourseStart,
    CourseEnd,
    OneYearAfter,
}

/// Which corps a volunteer belongs to: neighbourhood mothers or neighbourhood fathers.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum Corps {
    Mother,
    Father,
}

/// Which corps a project runs.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(32))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum ProjectCorps {
    Mothers,
    Fathers,
    Both,
}
