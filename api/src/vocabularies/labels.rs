//! The Danish and English labels of every closed vocabulary, one table per vocabulary.
//!
//! Each table is an exhaustive `match` on the GraphQL enum, so a value added to
//! `vocabulary.rs` without its labels is a compile error; the unit tests below check that no
//! label is empty and that no two values of a vocabulary share a label in either language
//! (a copy-paste slip a front end would show as two identical choices). Labels are what a
//! partner's front end shows a volunteer or a caseworker: plain words, not definitions.

use crate::{
    referrals::{handover::Handover, lifecycle::Action},
    vocabulary::{
        ConsentPurpose, ContactMethod, ContactOrigin, CourseKind, EnrolmentStatus, HoursKind,
        MotherStatus, NextStep, OrganisationKind, PartnerRole, ProjectStatus, ReferralDirection,
        ReferralOutcome, ReferralPriority, ReferralReason, ReferralStatus, ServiceCategory,
        TimelineKind, VisitChannel, VisitTopic,
    },
};

/// A value's label in Danish and in English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    pub da: &'static str,
    pub en: &'static str,
}

const fn l(da: &'static str, en: &'static str) -> Label {
    Label { da, en }
}

/// A GraphQL enum with a label for each of its values.
pub trait Labelled: async_graphql::resolver_utils::EnumType + async_graphql::OutputType {
    fn label(self) -> Label;
}

macro_rules! labels {
    ($($enum:ident { $($variant:ident => $da:literal, $en:literal;)+ })+) => {
        $(
            impl Labelled for $enum {
                fn label(self) -> Label {
                    match self { $($enum::$variant => l($da, $en)),+ }
                }
            }
        )+
    };
}

labels! {
    OrganisationKind {
        Secretariat => "Sekretariat", "Secretariat";
        Municipality => "Kommune", "Municipality";
        Ngo => "Frivillig organisation (NGO)", "NGO";
    }
    ProjectStatus {
        Planned => "Planlagt", "Planned";
        Active => "Aktiv", "Active";
        Paused => "Sat på pause", "Paused";
        Closed => "Afsluttet", "Closed";
    }
    PartnerRole {
        Partner => "Samarbejdspartner", "Partner";
        Funder => "Bevillingsgiver", "Funder";
    }
    MotherStatus {
        InTraining => "Under uddannelse", "In training";
        Certified => "Certificeret", "Certified";
        Active => "Aktiv", "Active";
        Inactive => "Inaktiv", "Inactive";
        Left => "Stoppet", "Left";
    }
    CourseKind {
        Basic => "Grunduddannelse", "Basic course";
        Supplementary => "Supplerende kursus", "Supplementary course";
    }
    EnrolmentStatus {
        Enrolled => "Tilmeldt", "Enrolled";
        Completed => "Gennemført", "Completed";
        Withdrawn => "Udmeldt", "Withdrawn";
    }
    HoursKind {
        Activity => "Aktivitet", "Activity";
        Training => "Uddannelse", "Training";
        Meeting => "Møde", "Meeting";
        Other => "Andet", "Other";
    }
    ContactMethod {
        Phone => "Telefon", "Phone";
        Sms => "SMS", "Text message (SMS)";
        Email => "E-mail", "Email";
        InPerson => "Personligt", "In person";
        ViaMother => "Via bydelsmoren", "Through her neighbourhood mother";
    }
    ConsentPurpose {
        ShareWithReceiver => "Deling med modtageren", "Sharing with the receiver";
        Contact => "Kontakt igen", "Being contacted again";
        Statistics => "Statistik", "Statistics";
    }
    VisitChannel {
        HomeVisit => "Hjemmebesøg", "Home visit";
        PhoneCall => "Telefonsamtale", "Phone call";
        GroupEvent => "Gruppearrangement eller kvindecafé", "Group event or women's café";
        Accompaniment => "Ledsagelse til myndighed", "Accompaniment to an authority";
    }
    VisitTopic {
        Children => "Børn", "Children";
        Health => "Sundhed", "Health";
        MunicipalityContact => "Kontakt med kommunen", "Contact with the municipality";
        School => "Skole", "School";
        Economy => "Økonomi", "Economy";
        Loneliness => "Ensomhed", "Loneliness";
        EducationWork => "Uddannelse og arbejde", "Education and work";
        Language => "Sprog", "Language";
        Housing => "Bolig", "Housing";
        Other => "Andet", "Other";
    }
    ContactOrigin {
        MotherNetwork => "Bydelsmorens netværk", "The mother's own network";
        Outreach => "Opsøgende arbejde", "Outreach";
        Event => "Arrangement", "Event";
        SelfReferred => "Henvendte sig selv", "Came on her own";
        MunicipalityReferral => "Henvist af kommunen", "Referred by the municipality";
        OtherOrganisation => "Anden organisation", "Another organisation";
    }
    NextStep {
        None => "Intet", "None";
        FollowUpVisit => "Opfølgende besøg", "Follow-up visit";
        Referral => "Henvisning", "Referral";
        Accompaniment => "Ledsagelse", "Accompaniment";
        GroupActivity => "Gruppeaktivitet", "Group activity";
        Other => "Andet", "Other";
    }
    ReferralDirection {
        Outbound => "Udgående (fra projektet)", "Outbound (from the project)";
        Inbound => "Indgående (til programmet)", "Inbound (to the programme)";
    }
    ServiceCategory {
        HealthVisitor => "Sundhedsplejerske", "Health visitor";
        JobCentre => "Jobcenter", "Job centre";
        School => "Skole", "School";
        DayCare => "Dagtilbud", "Day care";
        LanguageSchool => "Sprogcenter", "Language school";
        FamilyCounselling => "Familierådgivning", "Family counselling";
        Housing => "Bolig", "Housing";
        DebtCounselling => "Gældsrådgivning", "Debt counselling";
        CitizenService => "Borgerservice", "Citizen service";
        Health => "Sundhed", "Health";
        NeighbourhoodMother => "Bydelsmor", "Neighbourhood mother";
        Other => "Andet", "Other";
    }
    ReferralStatus {
        Draft => "Kladde", "Draft";
        Requested => "Anmodet", "Requested";
        Accepted => "Accepteret", "Accepted";
        Rejected => "Afvist", "Rejected";
        InProgress => "I gang", "In progress";
        OnHold => "Sat i bero", "On hold";
        Failed => "Mislykket", "Failed";
        Completed => "Gennemført", "Completed";
        Cancelled => "Annulleret", "Cancelled";
        EnteredInError => "Oprettet ved en fejl", "Entered in error";
    }
    ReferralReason {
        CouldNotContact => "Kunne ikke kontaktes", "Could not be contacted";
        NotEligible => "Ikke berettiget", "Not eligible";
        NoCapacity => "Ingen kapacitet", "No capacity";
        NoLongerInterested => "Ikke længere interesseret", "No longer interested";
        ReferredElsewhere => "Henvist andetsteds", "Referred elsewhere";
        ConsentWithdrawn => "Samtykke trukket tilbage", "Consent withdrawn";
        Duplicate => "Dublet", "Duplicate";
        Other => "Andet", "Other";
    }
    ReferralPriority {
        Routine => "Almindelig", "Routine";
        Urgent => "Haster", "Urgent";
        Asap => "Hurtigst muligt", "As soon as possible";
        Stat => "Straks", "Immediately";
    }
    TimelineKind {
        Transition => "Statusændring", "Status change";
        Claim => "Overtaget fra puljen", "Claimed from the pool";
        Release => "Givet tilbage til puljen", "Released to the pool";
        Forward => "Videresendt", "Forwarded";
        Message => "Besked", "Message";
    }
    Handover {
        Claim => "Overtag", "Claim";
        Release => "Giv tilbage til puljen", "Release to the pool";
        Forward => "Videresend", "Forward";
    }
    ReferralOutcome {
        ServiceProvided => "Ydelsen er givet", "Service provided";
        PartiallyProvided => "Delvist givet", "Partially provided";
        DeclinedByParticipant => "Kvinden takkede nej", "Declined by the woman";
        Other => "Andet", "Other";
    }
    Action {
        Request => "Send anmodning", "Request";
        Accept => "Acceptér", "Accept";
        Reject => "Afvis", "Reject";
        Start => "Påbegynd", "Start";
        Hold => "Sæt i bero", "Put on hold";
        Resume => "Genoptag", "Resume";
        Complete => "Afslut", "Complete";
        Fail => "Markér som mislykket", "Mark as failed";
        Cancel => "Annullér", "Cancel";
        MarkEnteredInError => "Markér som oprettet ved en fejl", "Mark as entered in error";
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Every value of `T` (as async-graphql lists them) has two non-empty labels, distinct
    /// within the vocabulary in each language.
    fn check<T: Labelled>() {
        let items = T::items();
        assert!(!items.is_empty());
        let (mut da, mut en) = (HashSet::new(), HashSet::new());
        for item in items {
            let label = item.value.label();
            assert!(
                !label.da.trim().is_empty(),
                "{}: no Danish label",
                item.name
            );
            assert!(
                !label.en.trim().is_empty(),
                "{}: no English label",
                item.name
            );
            assert!(da.insert(label.da), "{}: Danish label repeated", item.name);
            assert!(en.insert(label.en), "{}: English label repeated", item.name);
        }
    }

    #[test]
    fn every_value_of_every_vocabulary_has_both_labels() {
        check::<OrganisationKind>();
        check::<ProjectStatus>();
        check::<PartnerRole>();
        check::<MotherStatus>();
        check::<CourseKind>();
        check::<EnrolmentStatus>();
        check::<HoursKind>();
        check::<ContactMethod>();
        check::<ConsentPurpose>();
        check::<VisitChannel>();
        check::<VisitTopic>();
        check::<ContactOrigin>();
        check::<NextStep>();
        check::<ReferralDirection>();
        check::<ServiceCategory>();
        check::<ReferralStatus>();
        check::<ReferralReason>();
        check::<ReferralOutcome>();
        check::<ReferralPriority>();
        check::<TimelineKind>();
        check::<Action>();
        check::<Handover>();
    }

    #[test]
    fn a_few_labels_are_the_programmes_own_words() {
        assert_eq!(
            VisitChannel::HomeVisit.label(),
            l("Hjemmebesøg", "Home visit")
        );
        assert_eq!(
            ServiceCategory::HealthVisitor.label().da,
            "Sundhedsplejerske"
        );
        assert_eq!(MotherStatus::InTraining.label().en, "In training");
    }
}
