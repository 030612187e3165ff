//! The domain's closed vocabularies as GraphQL enums, mirrored from the entity enums.
//!
//! The API and the database change for different reasons, so the GraphQL enums are their own
//! types; the macro writes both conversions, and a missing variant is a compile error.

macro_rules! vocabulary {
    ($($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? })+) => {
        $(
            $(#[$meta])*
            #[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
            pub enum $name { $($(#[$vmeta])* $variant),+ }

            impl From<entity::enums::$name> for $name {
                fn from(value: entity::enums::$name) -> Self {
                    match value { $(entity::enums::$name::$variant => Self::$variant),+ }
                }
            }

            impl From<$name> for entity::enums::$name {
                fn from(value: $name) -> Self {
                    match value { $($name::$variant => Self::$variant),+ }
                }
            }
        )+
    };
}

vocabulary! {
    /// What kind of body an organisation is.
    OrganisationKind { Secretariat, Municipality, Ngo }
    /// Lifecycle of a local project.
    ProjectStatus { Planned, Active, Paused, Closed }
    /// How an organisation takes part in a project it does not operate.
    PartnerRole { Partner, Funder }
    /// Where a neighbourhood mother stands: in training, certified, active, inactive, or left.
    MotherStatus { InTraining, Certified, Active, Inactive, Left }
    /// The basic 15-module course, or a supplementary one.
    CourseKind { Basic, Supplementary }
    /// A mother's place on a course; COMPLETED means she received her diploma.
    EnrolmentStatus { Enrolled, Completed, Withdrawn }
    /// How a participant prefers to be contacted.
    ContactMethod { Phone, Sms, Email, InPerson, ViaMother }
    /// What a consent covers.
    ConsentPurpose {
        /// Sharing her personal data with one receiving organisation (named on the consent).
        ShareWithReceiver,
        /// Being contacted again by the programme.
        Contact,
        /// History only: figures are anonymous aggregates under disclosure control and need
        /// no consent, so `recordConsent` refuses it; consents recorded with it earlier stay
        /// in her history.
        #[graphql(deprecation = "figures need no consent; recordConsent refuses STATISTICS")]
        Statistics,
    }
    /// What volunteer time was given to. ACTIVITY recorded as hours is only activity that is
    /// not a recorded visit: visits count as activity by their own duration.
    HoursKind {
        /// Activity that is not a recorded visit (preparing a café, outreach at a market).
        Activity,
        /// Attending course modules.
        Training,
        /// The project's meetings.
        Meeting,
        /// Anything else a funder counts (administration, travel).
        Other,
    }
    /// The form a visit took.
    VisitChannel { HomeVisit, PhoneCall, GroupEvent, Accompaniment }
    /// A topic discussed on a visit (the evaluation's topics).
    VisitTopic { Children, Health, MunicipalityContact, School, Economy, Loneliness, EducationWork, Language, Housing, Other }
    /// How the contact behind a visit came about.
    ContactOrigin { MotherNetwork, Outreach, Event, SelfReferred, MunicipalityReferral, OtherOrganisation }
    /// The next step agreed at a visit.
    NextStep { None, FollowUpVisit, Referral, Accompaniment, GroupActivity, Other }
    /// OUTBOUND: a project refers a woman to a service; INBOUND: a municipality refers a woman to the programme.
    ReferralDirection { Outbound, Inbound }
    /// The service a referral asks for.
    ServiceCategory { HealthVisitor, JobCentre, School, DayCare, LanguageSchool, FamilyCounselling, Housing, DebtCounselling, CitizenService, Health, NeighbourhoodMother, Other }
    /// Whether a directory service is offered (Open Referral HSDS `service.status`).
    ServiceStatus { Active, Inactive, Defunct, TemporarilyClosed }
    /// Referral lifecycle (the statuses HL7 SDOH Clinical Care allows for referral Tasks).
    ReferralStatus { Draft, Requested, Accepted, Rejected, InProgress, OnHold, Failed, Completed, Cancelled, EnteredInError }
    /// Why a referral was rejected, failed or cancelled (or, optionally, marked entered in
    /// error). Each action accepts only the reasons that belong to it (HL7 SDOH Clinical Care:
    /// REJECT is the performer declining before any work, FAIL work that was attempted and
    /// could not be done, CANCEL the requester withdrawing, MARK_ENTERED_IN_ERROR a referral
    /// that should never have existed); `referralActions` lists them.
    ReferralReason {
        /// She could not be reached. FAIL.
        CouldNotContact,
        /// She is not eligible for the service. REJECT, FAIL.
        NotEligible,
        /// The receiver has no room for her. REJECT.
        NoCapacity,
        /// She no longer wants the service. REJECT, FAIL, CANCEL.
        NoLongerInterested,
        /// She is getting the service elsewhere. REJECT, CANCEL.
        ReferredElsewhere,
        /// She withdrew her consent to share with the receiver. CANCEL; the system also uses it
        /// when a withdrawal or her erasure cancels her open referrals.
        ConsentWithdrawn,
        /// The referral repeats another one. CANCEL, MARK_ENTERED_IN_ERROR.
        Duplicate,
        /// Anything else (say what in the note). REJECT, FAIL, CANCEL, MARK_ENTERED_IN_ERROR.
        Other,
    }
    /// Where a webhook delivery stands: waiting for an attempt, delivered (2xx), or failed for good.
    WebhookDeliveryStatus { Pending, Delivered, Failed }
    /// What happened to a referral, as a webhook delivery names it (`referral.created`, ...).
    WebhookEventType { ReferralCreated, ReferralTransitioned, ReferralClaimed, ReferralMessage }
    /// How soon a referral should be acted on (HL7 FHIR request priority).
    ReferralPriority { Routine, Urgent, Asap, Stat }
    /// What a timeline event records: a status change, or a handover of who holds the
    /// referral (claimed from a pool, released back to it, forwarded).
    TimelineKind { Transition, Claim, Release, Forward, Message }
    /// What came of a completed referral.
    ReferralOutcome { ServiceProvided, PartiallyProvided, DeclinedByParticipant, Other }
    /// What an audit event records: a read of personal data, or a change to a record.
    AuditAction { Read, Create, Update, Delete, Transition, Revoke }
}
