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
    OrganisationKind {
        /// The national secretariat: runs the programme and may read every row.
        Secretariat,
        /// A Danish municipality (with its official municipality code): receives referrals
        /// and sees the projects and statistics of its area.
        Municipality,
        /// A partner NGO: operates or partners in local projects and sees what is under them.
        Ngo,
    }
    /// Lifecycle of a local project.
    ProjectStatus {
        /// Agreed but not started: no activity yet.
        Planned,
        /// Running: mothers are trained and visit.
        Active,
        /// Temporarily halted (funding, staffing); may become ACTIVE again.
        Paused,
        /// Ended; its records stay for history and statistics.
        Closed,
    }
    /// How an organisation takes part in a project it does not operate.
    PartnerRole {
        /// Works with the operator on the project (premises, outreach, training).
        Partner,
        /// Pays for the project; funders are told the hours mothers give.
        Funder,
    }
    /// Where a neighbourhood mother stands: in training, certified, active, inactive, or left.
    MotherStatus {
        /// On the basic course, not yet certified.
        InTraining,
        /// Completed the basic course and received her diploma, not yet visiting.
        Certified,
        /// Certified and visiting women.
        Active,
        /// Certified but not visiting for now (a break); may become ACTIVE again.
        Inactive,
        /// No longer a volunteer in the project.
        Left,
    }
    /// The basic 15-module course, or a supplementary one.
    CourseKind {
        /// The basic training of 15 modules that leads to the diploma (certification).
        Basic,
        /// Further training for certified mothers; no diploma.
        Supplementary,
    }
    /// A mother's place on a course; COMPLETED means she received her diploma.
    EnrolmentStatus {
        /// On the course now.
        Enrolled,
        /// Finished the course; on a basic course she received her diploma.
        Completed,
        /// Left the course before finishing it.
        Withdrawn,
    }
    /// How a participant prefers to be contacted.
    ContactMethod {
        /// A phone call to her number.
        Phone,
        /// A text message to her number.
        Sms,
        /// An e-mail to her address.
        Email,
        /// In person, e.g. at a women's café or at home.
        InPerson,
        /// Through the neighbourhood mother she knows, not directly.
        ViaMother,
    }
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
    VisitChannel {
        /// A visit in the woman's home.
        HomeVisit,
        /// A phone call.
        PhoneCall,
        /// A group event or women's café; `attendeeCount` says how many came.
        GroupEvent,
        /// Going with her to an authority (the municipality, a school, a doctor).
        Accompaniment,
    }
    /// A topic discussed on a visit (the evaluation's topics).
    VisitTopic {
        /// Children and their upbringing.
        Children,
        /// Health and the health services.
        Health,
        /// Contact with the municipality and its services.
        MunicipalityContact,
        /// School and the children's schooling.
        School,
        /// Money, benefits and debt.
        Economy,
        /// Loneliness and isolation.
        Loneliness,
        /// Education and work.
        EducationWork,
        /// Learning Danish.
        Language,
        /// Housing.
        Housing,
        /// Anything else.
        Other,
    }
    /// How the contact behind a visit came about.
    ContactOrigin {
        /// Through the mother's own network (family, neighbours, friends).
        MotherNetwork,
        /// Outreach: the mother approached her (a market, a playground, a housing estate).
        Outreach,
        /// She met the programme at an event or women's café.
        Event,
        /// She contacted the programme herself.
        SelfReferred,
        /// The municipality referred her to the programme.
        MunicipalityReferral,
        /// Another organisation (an NGO, a school, a doctor) sent her.
        OtherOrganisation,
    }
    /// The next step agreed at a visit.
    NextStep {
        /// Nothing further was agreed.
        None,
        /// Another visit.
        FollowUpVisit,
        /// A referral to a service (see `referrals`).
        Referral,
        /// Going with her to an authority.
        Accompaniment,
        /// Joining a group activity or women's café.
        GroupActivity,
        /// Something else (say what in the note).
        Other,
    }
    /// OUTBOUND: a project refers a woman to a service; INBOUND: a municipality refers a woman to the programme.
    ReferralDirection {
        /// A project refers a participant to a receiving organisation's service.
        Outbound,
        /// A municipality refers a woman to the programme: to a project or its pool.
        Inbound,
    }
    /// The service a referral asks for.
    ServiceCategory {
        /// The municipal health visitor (sundhedsplejerske).
        HealthVisitor,
        /// The job centre (jobcenter).
        JobCentre,
        /// A school or the school services.
        School,
        /// Day care (dagtilbud): nursery, kindergarten.
        DayCare,
        /// Danish language school (sprogcenter).
        LanguageSchool,
        /// Family counselling (familierådgivning).
        FamilyCounselling,
        /// Housing (boligsocial indsats, the housing office).
        Housing,
        /// Debt counselling (gældsrådgivning).
        DebtCounselling,
        /// Citizen service (borgerservice).
        CitizenService,
        /// Health care: a doctor, a clinic, the region's services.
        Health,
        /// The neighbourhood mothers programme itself: what an INBOUND referral asks for.
        NeighbourhoodMother,
        /// Any other service (say which in the note).
        Other,
    }
    /// Whether a directory service is offered (Open Referral HSDS `service.status`).
    ServiceStatus {
        /// Offered now.
        Active,
        /// Not offered now, but not discontinued.
        Inactive,
        /// Discontinued for good; kept so old referrals still name it.
        Defunct,
        /// Closed for a while (holidays, renovation).
        TemporarilyClosed,
    }
    /// Referral lifecycle (the statuses HL7 SDOH Clinical Care allows for referral Tasks).
    ReferralStatus {
        /// Written by the requester, not yet sent; the receiver does not see it.
        Draft,
        /// Sent to the receiver, waiting for an answer; stale after the response time.
        Requested,
        /// The receiver (performer) agreed to act on it.
        Accepted,
        /// The receiver declined it before any work (with a reason). Final.
        Rejected,
        /// The receiver is working on it.
        InProgress,
        /// The receiver paused the work; RESUME returns it to IN_PROGRESS.
        OnHold,
        /// The receiver attempted the work and could not do it (with a reason). Final.
        Failed,
        /// The receiver did the work (with an outcome). Final.
        Completed,
        /// The requester withdrew it (with a reason), or her consent was withdrawn. Final.
        Cancelled,
        /// The requester marked it as never meant to exist. Final.
        EnteredInError,
    }
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
    WebhookDeliveryStatus {
        /// Not delivered yet: waiting for its first attempt or for a retry.
        Pending,
        /// The endpoint answered 2xx.
        Delivered,
        /// Every attempt failed; no more retries.
        Failed,
    }
    /// What happened to a referral, as a webhook delivery names it (`referral.created`, ...).
    WebhookEventType {
        /// `referral.created`: a referral was created.
        ReferralCreated,
        /// `referral.transitioned`: a referral changed status.
        ReferralTransitioned,
        /// `referral.claimed`: a project claimed a referral from a pool.
        ReferralClaimed,
        /// `referral.message`: a message was posted on a referral.
        ReferralMessage,
    }
    /// How soon a referral should be acted on (HL7 FHIR request priority).
    ReferralPriority {
        /// Normal priority.
        Routine,
        /// Sooner than routine.
        Urgent,
        /// As soon as possible, before urgent ones.
        Asap,
        /// Immediately: the highest priority.
        Stat,
    }
    /// What a timeline event records: a status change, or a handover of who holds the
    /// referral (claimed from a pool, released back to it, forwarded).
    TimelineKind {
        /// A status change (`fromStatus` to `toStatus`).
        Transition,
        /// A project claimed the referral from a pool.
        Claim,
        /// The holder released the referral back to its pool.
        Release,
        /// The holder forwarded the referral to another project or pool.
        Forward,
        /// A message between the two parties.
        Message,
    }
    /// What came of a completed referral.
    ReferralOutcome {
        /// She received the service asked for.
        ServiceProvided,
        /// She received part of it.
        PartiallyProvided,
        /// She declined it once it was offered.
        DeclinedByParticipant,
        /// Something else (say what in the note).
        Other,
    }
    /// What an audit event records: a read of personal data, or a change to a record.
    AuditAction {
        /// Personal data was read.
        Read,
        /// A record was created.
        Create,
        /// A record was changed (rectification names the fields, never their values).
        Update,
        /// A record was deleted or erased.
        Delete,
        /// A referral changed status.
        Transition,
        /// A token or API client was revoked, a signing key retired, or a consent withdrawn.
        Revoke,
    }
}

vocabulary! {
    /// Which corps a volunteer belongs to. The API keeps the name `Mother` for every
    /// volunteer (partners' clients depend on it); a neighbourhood father is a `Mother` with
    /// `corps: FATHER`.
    Corps {
        /// A neighbourhood mother.
        Mother,
        /// A neighbourhood father (the 2012 evaluation's recommendation).
        Father,
    }
    /// Which corps a project runs.
    ProjectCorps {
        /// Neighbourhood mothers only (every project before issue 17).
        Mothers,
        /// Neighbourhood fathers only.
        Fathers,
        /// Both corps, with the same training, visits and referrals.
        Both,
    }
    /// The programme's four measurable goals (the evaluations of 2010 and 2012).
    SurveyGoal {
        /// More knowledge of children's well-being, health, schools and society.
        Knowledge,
        /// Feeling more attached to a network.
        Network,
        /// Becoming clearer on education and work.
        EducationWork,
        /// Passing knowledge on to other women.
        PassingOn,
    }
    /// How a questionnaire item is answered.
    ItemScale {
        /// 1 (not at all) to 5 (very much).
        #[graphql(name = "LIKERT_5")]
        Likert5,
        /// 0 no, 1 yes.
        YesNo,
        /// One of the item's choices, by index from 0.
        Choice,
        /// Free text: personal data, read under the rules of notes.
        FreeText,
    }
    /// Whether a questionnaire version may still change.
    QuestionnaireStatus {
        /// Being written; changes in place.
        Draft,
        /// Given to respondents; never changes (a change is a new version).
        Published,
    }
    /// When in a volunteer's path a survey round is given.
    SurveyMoment {
        /// At the start of the basic course.
        CourseStart,
        /// At the end of the basic course.
        CourseEnd,
        /// One year after certification.
        OneYearAfter,
    }
}
