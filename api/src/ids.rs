//! Global object IDs (Relay): an opaque string naming the type and the row's UUID.
//!
//! Every `id` in the schema and every ID argument is one of these, so `node(id:)` can route
//! any id, and an id of the wrong type is a clear `BAD_USER_INPUT` instead of a silent miss.

use async_graphql::ID;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// The object types that have global IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Organisation,
    Project,
    Mother,
    Course,
    Enrolment,
    Participant,
    Consent,
    Visit,
    Referral,
    ReferralEvent,
    ApiClient,
    ApiToken,
    AuditEvent,
    Webhook,
    WebhookDelivery,
    VolunteerHours,
    Service,
    ServiceLocation,
    ServiceContact,
    TrustedIssuer,
    StaffMember,
    ClientCredential,
    Questionnaire,
    QuestionnaireItem,
    SurveyRound,
    SurveyResponse,
}

impl Kind {
    const ALL: [Kind; 26] = [
        Kind::Organisation,
        Kind::Project,
        Kind::Mother,
        Kind::Course,
        Kind::Enrolment,
        Kind::Participant,
        Kind::Consent,
        Kind::Visit,
        Kind::Referral,
        Kind::ReferralEvent,
        Kind::ApiClient,
        Kind::ApiToken,
        Kind::AuditEvent,
        Kind::Webhook,
        Kind::WebhookDelivery,
        Kind::VolunteerHours,
        Kind::Service,
        Kind::ServiceLocation,
        Kind::ServiceContact,
        Kind::TrustedIssuer,
        Kind::StaffMember,
        Kind::ClientCredential,
        Kind::Questionnaire,
        Kind::QuestionnaireItem,
        Kind::SurveyRound,
        Kind::SurveyResponse,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Organisation => "Organisation",
            Kind::Project => "Project",
            Kind::Mother => "Mother",
            Kind::Course => "Course",
            Kind::Enrolment => "Enrolment",
            Kind::Participant => "Participant",
            Kind::Consent => "Consent",
            Kind::Visit => "Visit",
            Kind::Referral => "Referral",
            Kind::ReferralEvent => "ReferralEvent",
            Kind::ApiClient => "ApiClient",
            Kind::ApiToken => "ApiToken",
            Kind::AuditEvent => "AuditEvent",
            Kind::Webhook => "Webhook",
            Kind::WebhookDelivery => "WebhookDelivery",
            Kind::VolunteerHours => "VolunteerHours",
            Kind::Service => "Service",
            Kind::ServiceLocation => "ServiceLocation",
            Kind::ServiceContact => "ServiceContact",
            Kind::TrustedIssuer => "TrustedIssuer",
            Kind::StaffMember => "StaffMember",
            Kind::ClientCredential => "ClientCredential",
            Kind::Questionnaire => "Questionnaire",
            Kind::QuestionnaireItem => "QuestionnaireItem",
            Kind::SurveyRound => "SurveyRound",
            Kind::SurveyResponse => "SurveyResponse",
        }
    }

    pub fn id(self, uuid: Uuid) -> ID {
        ID(URL_SAFE_NO_PAD.encode(format!("{}:{uuid}", self.name())))
    }
}

/// Splits a global id into its type and UUID; `field` names the argument in the error.
pub fn decode(id: &str, field: &str) -> ApiResult<(Kind, Uuid)> {
    let bad = || ApiError::validation(field, format!("{id:?} is not a Bydel id"));
    let bytes = URL_SAFE_NO_PAD.decode(id).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (name, uuid) = text.split_once(':').ok_or_else(bad)?;
    let kind = Kind::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(bad)?;
    let uuid = Uuid::parse_str(uuid).map_err(|_| bad())?;
    Ok((kind, uuid))
}

/// Decodes an id that must be of one type, e.g. the `projectId` of a filter.
pub fn decode_as(id: &str, expected: Kind, field: &str) -> ApiResult<Uuid> {
    match decode(id, field)? {
        (kind, uuid) if kind == expected => Ok(uuid),
        (kind, _) => Err(ApiError::validation(
            field,
            format!(
                "expected the id of a {}, got the id of a {}",
                expected.name(),
                kind.name()
            ),
        )),
    }
}

/// A row's *record key* for the statistics' cell-key perturbation (`stats::perturbation`):
/// the low 24 bits of its id, random in v4 and v7 UUIDs and fixed for the row's life.
/// `stats::sql::record_key` computes the same in SQL, and migration 14 did for the tallies.
pub fn record_key(id: Uuid) -> i64 {
    (id.as_u128() & 0xff_ffff) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_kind() {
        let uuid = Uuid::now_v7();
        for kind in Kind::ALL {
            assert_eq!(decode(&kind.id(uuid), "id").unwrap(), (kind, uuid));
        }
    }

    #[test]
    fn wrong_kind_and_garbage_are_bad_input() {
        let project = Kind::Project.id(Uuid::now_v7());
        let err = decode_as(&project, Kind::Referral, "referralId").unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
        assert!(err.to_string().contains("expected the id of a Referral"));
        for garbage in ["", "!!", "UHJvamVjdA", "Tm9wZTo0Mg"] {
            assert_eq!(decode(garbage, "id").unwrap_err().code(), "BAD_USER_INPUT");
        }
    }

    #[test]
    fn a_record_key_is_the_low_24_bits_of_the_id() {
        let id = Uuid::from_u128(0x0123_4567_89ab_cdef_0011_2233_44ab_cdef);
        assert_eq!(record_key(id), 0xab_cdef);
        assert_eq!(record_key(Uuid::nil()), 0);
        assert_eq!(record_key(Uuid::max()), (1 << 24) - 1);
    }
}
