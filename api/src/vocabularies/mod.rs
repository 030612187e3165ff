//! Reference data: every closed vocabulary of the API with Danish and English labels, and
//! the languages Bydel names, so a partner's front end shows words instead of codes.
//!
//! Invariants: a value's `code` is the GraphQL enum value exactly as the schema spells it
//! (`HOME_VISIT`), for LANGUAGE the ISO 639 code; the codes stay stable, labels may be
//! reworded. The values are listed in the schema's declaration order (languages in code
//! order), and a value's `description` is the schema's own documentation of it, so the SDL
//! stays the one place that explains a value. Any authenticated caller reads them
//! (`Principal::may_read_reference_data`).

mod labels;
mod languages;

use async_graphql::{
    Context, Enum, Object,
    registry::{MetaType, Registry},
    resolver_utils::EnumType,
};

use crate::{
    context::RequestContext,
    referrals::{handover::Handover, lifecycle::Action},
    vocabulary::{
        ConsentPurpose, ContactMethod, ContactOrigin, CourseKind, EnrolmentStatus, HoursKind,
        MotherStatus, NextStep, OrganisationKind, PartnerRole, ProjectStatus, ReferralDirection,
        ReferralOutcome, ReferralPriority, ReferralReason, ReferralStatus, ServiceCategory,
        TimelineKind, VisitChannel, VisitTopic,
    },
};
use labels::{Label, Labelled};

/// The language of a label.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "LabelLanguage")]
pub enum Lang {
    /// Danish.
    Da,
    /// English.
    En,
}

/// A closed vocabulary of the API; all but LANGUAGE are the GraphQL enum of the same name.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum VocabularyName {
    /// Kinds of organisation: secretariat, municipality, NGO.
    OrganisationKind,
    /// The statuses of a local project.
    ProjectStatus,
    /// The roles of an organisation in a project it does not operate.
    PartnerRole,
    /// Where a neighbourhood mother stands (in training, certified, ...).
    MotherStatus,
    /// Kinds of course: the basic 15-module course, supplementary ones.
    CourseKind,
    /// Where a mother stands on a course.
    EnrolmentStatus,
    /// What volunteer hours were given to.
    HoursKind,
    /// How a participant prefers to be contacted.
    ContactMethod,
    /// What a consent covers.
    ConsentPurpose,
    /// The forms a visit takes.
    VisitChannel,
    /// The topics of a visit.
    VisitTopic,
    /// How the contact behind a visit came about.
    ContactOrigin,
    /// The next steps agreed at a visit.
    NextStep,
    /// OUTBOUND (to a service) or INBOUND (to the programme).
    ReferralDirection,
    /// The services a referral asks for.
    ServiceCategory,
    /// The statuses of a referral's lifecycle.
    ReferralStatus,
    /// Why a referral was rejected, failed or cancelled.
    ReferralReason,
    /// What came of a completed referral.
    ReferralOutcome,
    /// How soon a referral should be acted on.
    ReferralPriority,
    /// What a timeline event records.
    TimelineKind,
    /// What a party does to a referral (`transitionReferral`), each with its reasons.
    ReferralAction,
    /// How a referral changes hands (claim, release, forward).
    ReferralHandover,
    /// ISO 639 language codes (`languages`, `preferredLanguage`), not an enum: records take
    /// any valid code, these are the ones Bydel names.
    Language,
}

/// One value of a vocabulary.
#[derive(Debug, Clone)]
struct Entry {
    code: &'static str,
    label: Label,
    description: Option<String>,
    deprecated: bool,
}

/// A vocabulary's values and the schema's description of it.
struct Listing {
    enum_type: Option<String>,
    description: Option<String>,
    entries: Vec<Entry>,
}

/// The values of the enum `T`, in declaration order, with the schema's descriptions.
fn listing<T: Labelled>() -> Listing {
    let mut registry = Registry::default();
    T::create_type_info(&mut registry);
    let name = T::type_name().into_owned();
    let (description, values) = match registry.types.get(&name) {
        Some(MetaType::Enum {
            description,
            enum_values,
            ..
        }) => (description.clone(), Some(enum_values)),
        _ => (None, None),
    };
    let entries = T::items()
        .iter()
        .map(|item| {
            let meta = values.and_then(|v| v.get(item.name));
            Entry {
                code: item.name,
                label: item.value.label(),
                description: meta.and_then(|m| m.description.clone()),
                deprecated: meta.is_some_and(|m| m.deprecation.is_deprecated()),
            }
        })
        .collect();
    Listing {
        enum_type: Some(name),
        description,
        entries,
    }
}

impl VocabularyName {
    fn listing(self) -> Listing {
        match self {
            Self::OrganisationKind => listing::<OrganisationKind>(),
            Self::ProjectStatus => listing::<ProjectStatus>(),
            Self::PartnerRole => listing::<PartnerRole>(),
            Self::MotherStatus => listing::<MotherStatus>(),
            Self::CourseKind => listing::<CourseKind>(),
            Self::EnrolmentStatus => listing::<EnrolmentStatus>(),
            Self::HoursKind => listing::<HoursKind>(),
            Self::ContactMethod => listing::<ContactMethod>(),
            Self::ConsentPurpose => listing::<ConsentPurpose>(),
            Self::VisitChannel => listing::<VisitChannel>(),
            Self::VisitTopic => listing::<VisitTopic>(),
            Self::ContactOrigin => listing::<ContactOrigin>(),
            Self::NextStep => listing::<NextStep>(),
            Self::ReferralDirection => listing::<ReferralDirection>(),
            Self::ServiceCategory => listing::<ServiceCategory>(),
            Self::ReferralStatus => listing::<ReferralStatus>(),
            Self::ReferralReason => listing::<ReferralReason>(),
            Self::ReferralOutcome => listing::<ReferralOutcome>(),
            Self::ReferralPriority => listing::<ReferralPriority>(),
            Self::TimelineKind => listing::<TimelineKind>(),
            Self::ReferralAction => listing::<Action>(),
            Self::ReferralHandover => listing::<Handover>(),
            Self::Language => Listing {
                enum_type: None,
                description: Some(
                    "ISO 639 language codes: two-letter ISO 639-1 where one exists, ISO 639-3 otherwise"
                        .into(),
                ),
                entries: languages::LANGUAGES
                    .iter()
                    .map(|(code, label)| Entry {
                        code,
                        label: *label,
                        description: None,
                        deprecated: false,
                    })
                    .collect(),
            },
        }
    }
}

/// A closed vocabulary and its values.
pub struct Vocabulary {
    name: VocabularyName,
    listing: Listing,
}

impl Vocabulary {
    fn of(name: VocabularyName) -> Self {
        Self {
            name,
            listing: name.listing(),
        }
    }
}

/// A closed vocabulary of the API with each value's code and its Danish and English labels, for
/// front ends (reference data, any valid token).
#[Object]
impl Vocabulary {
    /// Which vocabulary.
    async fn name(&self) -> VocabularyName {
        self.name
    }
    /// The GraphQL enum whose values these are (e.g. `VisitChannel`); null for LANGUAGE.
    async fn enum_type(&self) -> Option<&str> {
        self.listing.enum_type.as_deref()
    }
    /// The schema's description of the vocabulary (English).
    async fn description(&self) -> Option<&str> {
        self.listing.description.as_deref()
    }
    /// In the schema's declaration order; languages in code order.
    async fn values(&self) -> Vec<VocabularyValue<'_>> {
        self.listing.entries.iter().map(VocabularyValue).collect()
    }
}

/// One value of a vocabulary: its stable code and its labels.
pub struct VocabularyValue<'a>(&'a Entry);

/// One value of a vocabulary: its code as the API spells it, its labels and its description.
#[Object]
impl VocabularyValue<'_> {
    /// The value as the API takes and returns it: the GraphQL enum value (`HOME_VISIT`), or
    /// for LANGUAGE the ISO 639 code (`ar`). Stable.
    async fn code(&self) -> &str {
        self.0.code
    }
    /// What a front end shows for it, in Danish or English.
    async fn label(
        &self,
        #[graphql(desc = "The language of the label: Danish or English.")] lang: Lang,
    ) -> &str {
        match lang {
            Lang::Da => self.0.label.da,
            Lang::En => self.0.label.en,
        }
    }
    /// The schema's description of the value (English), where it has one.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Still readable on old records but no longer accepted as input.
    async fn deprecated(&self) -> bool {
        self.0.deprecated
    }
}

#[derive(Default)]
pub struct VocabularyQuery;

#[Object]
impl VocabularyQuery {
    /// The closed vocabularies with Danish and English labels (reference data: any token).
    /// `names` picks some; left out, every vocabulary in `VocabularyName` order.
    async fn vocabularies(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The vocabularies to return; left out, all of them.")] names: Option<
            Vec<VocabularyName>,
        >,
    ) -> async_graphql::Result<Option<Vec<Vocabulary>>> {
        ctx.principal()?.may_read_reference_data()?;
        let names =
            names.unwrap_or_else(|| VocabularyName::items().iter().map(|i| i.value).collect());
        Ok(Some(names.into_iter().map(Vocabulary::of).collect()))
    }

    /// One vocabulary with its labels.
    async fn vocabulary(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which vocabulary.")] name: VocabularyName,
    ) -> async_graphql::Result<Option<Vocabulary>> {
        ctx.principal()?.may_read_reference_data()?;
        Ok(Some(Vocabulary::of(name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vocabulary_lists_its_values_with_the_schemas_words() {
        for item in VocabularyName::items() {
            let listing = item.value.listing();
            assert!(!listing.entries.is_empty(), "{}", item.name);
        }
        let channels = VocabularyName::VisitChannel.listing();
        assert_eq!(channels.enum_type.as_deref(), Some("VisitChannel"));
        assert_eq!(channels.entries[0].code, "HOME_VISIT");
        assert_eq!(channels.entries[0].label.da, "Hjemmebesøg");
        let purposes = VocabularyName::ConsentPurpose.listing();
        let statistics = purposes.entries.iter().find(|e| e.code == "STATISTICS");
        assert!(statistics.is_some_and(|e| e.deprecated));
        let reasons = VocabularyName::ReferralReason.listing();
        assert!(reasons.entries[0].description.is_some());
        let actions = VocabularyName::ReferralAction.listing();
        assert_eq!(actions.enum_type.as_deref(), Some("ReferralAction"));
    }
}
