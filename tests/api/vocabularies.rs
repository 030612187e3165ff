//! The vocabularies as reference data: every closed vocabulary of the schema is listed, every
//! value has a Danish and an English label, the codes are the enum values the API takes, any
//! token reads them and no token reads nothing.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::{
    harness::{GqlResponse, TestApp},
    queries,
};

/// The enums of the schema that are closed vocabularies a front end labels, by
/// `VocabularyName`; the rest (orders, webhook and audit plumbing) are not listed.
const EXPECTED: &[(&str, &str)] = &[
    ("ORGANISATION_KIND", "OrganisationKind"),
    ("PROJECT_STATUS", "ProjectStatus"),
    ("PARTNER_ROLE", "PartnerRole"),
    ("MOTHER_STATUS", "MotherStatus"),
    ("COURSE_KIND", "CourseKind"),
    ("ENROLMENT_STATUS", "EnrolmentStatus"),
    ("HOURS_KIND", "HoursKind"),
    ("CONTACT_METHOD", "ContactMethod"),
    ("CONSENT_PURPOSE", "ConsentPurpose"),
    ("VISIT_CHANNEL", "VisitChannel"),
    ("VISIT_TOPIC", "VisitTopic"),
    ("CONTACT_ORIGIN", "ContactOrigin"),
    ("NEXT_STEP", "NextStep"),
    ("REFERRAL_DIRECTION", "ReferralDirection"),
    ("SERVICE_CATEGORY", "ServiceCategory"),
    ("REFERRAL_STATUS", "ReferralStatus"),
    ("REFERRAL_REASON", "ReferralReason"),
    ("REFERRAL_OUTCOME", "ReferralOutcome"),
    ("REFERRAL_PRIORITY", "ReferralPriority"),
    ("TIMELINE_KIND", "TimelineKind"),
    ("REFERRAL_ACTION", "ReferralAction"),
    ("REFERRAL_HANDOVER", "ReferralHandover"),
];

/// The values of the enum `name` as the server's own SDL lists them (`_service { sdl }`, what
/// a supergraph composes; an enum no field returns yet, as HoursKind, is there but not in
/// introspection).
fn enum_values(sdl: &str, name: &str) -> BTreeSet<String> {
    let start = sdl
        .find(&format!("enum {name} {{"))
        .unwrap_or_else(|| panic!("{name} is not an enum of the schema"));
    let body = &sdl[start..];
    let body = &body[body.find('{').unwrap_or(0) + 1..body.find("\n}").unwrap_or(body.len())];
    // Drop descriptions, then keep each line's first word when it is an enum value.
    let mut text = String::new();
    for (i, part) in body.split("\"\"\"").enumerate() {
        if i % 2 == 0 {
            text.push_str(part);
        }
    }
    text.lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|word| word.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
        .map(str::to_owned)
        .collect()
}

fn vocabulary<'a>(data: &'a Value, name: &str) -> &'a Value {
    data["vocabularies"]
        .as_array()
        .and_then(|all| all.iter().find(|v| v["name"] == name))
        .unwrap_or_else(|| panic!("no vocabulary {name}"))
}

/// (da, en) of `code` in the vocabulary `name`.
fn labels(data: &Value, name: &str, code: &str) -> (String, String) {
    let value = vocabulary(data, name)["values"]
        .as_array()
        .and_then(|values| values.iter().find(|v| v["code"] == code))
        .unwrap_or_else(|| panic!("{name} has no {code}"));
    let text = |lang: &str| value[lang].as_str().unwrap_or_default().to_owned();
    (text("da"), text("en"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_vocabulary_is_listed_with_both_labels_of_every_value() {
    let app = TestApp::spawn().await;
    app.fixtures().base().await;
    // A token with a scope that reads nothing else: reference data needs none.
    let token = app.token("kommune-101", "stats:read").await;
    let response = app
        .graphql(Some(&token), queries::VOCABULARIES, json!({}))
        .await;
    let data = response.data();
    let sdl = app
        .graphql(Some(&token), "{ _service { sdl } }", json!({}))
        .await;
    let sdl = sdl.data()["_service"]["sdl"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let listed = data["vocabularies"].as_array().expect("a list");
    assert_eq!(
        listed.len(),
        EXPECTED.len() + 1,
        "every vocabulary and LANGUAGE"
    );

    for (name, enum_type) in EXPECTED {
        let vocabulary = vocabulary(data, name);
        assert_eq!(vocabulary["enumType"], *enum_type);
        let codes: BTreeSet<String> = vocabulary["values"]
            .as_array()
            .expect("values")
            .iter()
            .map(|v| {
                for lang in ["da", "en"] {
                    let label = v[lang].as_str().unwrap_or_default();
                    assert!(
                        !label.trim().is_empty(),
                        "{name} {}: no {lang} label",
                        v["code"]
                    );
                }
                v["code"].as_str().unwrap_or_default().to_owned()
            })
            .collect();
        assert_eq!(
            codes,
            enum_values(&sdl, enum_type),
            "{name} lists exactly the values of the enum {enum_type}"
        );
    }

    let exact = [
        ("VISIT_CHANNEL", "HOME_VISIT", "Hjemmebesøg", "Home visit"),
        ("VISIT_TOPIC", "LONELINESS", "Ensomhed", "Loneliness"),
        (
            "SERVICE_CATEGORY",
            "HEALTH_VISITOR",
            "Sundhedsplejerske",
            "Health visitor",
        ),
        ("SERVICE_CATEGORY", "JOB_CENTRE", "Jobcenter", "Job centre"),
        (
            "MOTHER_STATUS",
            "IN_TRAINING",
            "Under uddannelse",
            "In training",
        ),
        ("ENROLMENT_STATUS", "WITHDRAWN", "Udmeldt", "Withdrawn"),
        ("REFERRAL_STATUS", "ON_HOLD", "Sat i bero", "On hold"),
        ("LANGUAGE", "ar", "Arabisk", "Arabic"),
        ("LANGUAGE", "so", "Somali", "Somali"),
        ("LANGUAGE", "prs", "Dari", "Dari"),
        ("LANGUAGE", "da", "Dansk", "Danish"),
    ];
    for (name, code, da, en) in exact {
        assert_eq!(
            labels(data, name, code),
            (da.into(), en.into()),
            "{name} {code}"
        );
    }

    // The schema's own words come along: a deprecated value says so, a documented one says why.
    let statistics = vocabulary(data, "CONSENT_PURPOSE")["values"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["code"] == "STATISTICS"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(statistics["deprecated"], true);
    let language = vocabulary(data, "LANGUAGE");
    assert!(language["enumType"].is_null());
    let codes: Vec<&str> = language["values"]
        .as_array()
        .expect("languages")
        .iter()
        .filter_map(|v| v["code"].as_str())
        .collect();
    for code in [
        "ar", "so", "tr", "ur", "fa", "prs", "ps", "ku", "kmr", "ckb", "ti", "am", "pl", "ro",
        "uk", "ru", "bs", "sr", "hr", "sq", "vi", "th", "tl", "ta", "pa", "hi", "bn", "en", "da",
        "de", "fr", "es",
    ] {
        assert!(codes.contains(&code), "LANGUAGE names {code}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_vocabulary_or_some_are_picked_by_name() {
    let app = TestApp::spawn().await;
    app.fixtures().base().await;
    let token = app.token("ngo-red-cross", "visits:read").await;
    let response = app
        .graphql(
            Some(&token),
            queries::VOCABULARY,
            json!({ "name": "NEXT_STEP" }),
        )
        .await;
    let one = &response.data()["vocabulary"];
    assert_eq!(one["name"], "NEXT_STEP");
    assert_eq!(
        one["values"][1],
        json!({ "code": "FOLLOW_UP_VISIT", "label": "Follow-up visit" })
    );

    let names = json!({ "names": ["REFERRAL_REASON", "LANGUAGE"] });
    let response = app
        .graphql(Some(&token), queries::VOCABULARIES, names)
        .await;
    let picked: Vec<&Value> = response.data()["vocabularies"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| &v["name"])
        .collect();
    assert_eq!(picked, [&json!("REFERRAL_REASON"), &json!("LANGUAGE")]);
}

/// The same refusal as another piece of reference data, `organisations`.
fn refusal(response: &GqlResponse) -> (u16, Option<String>, bool) {
    (
        response.status,
        response.code().map(str::to_owned),
        response.has_no_data(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_reads_no_vocabulary_and_an_unknown_language_is_refused() {
    let app = TestApp::spawn().await;
    app.fixtures().base().await;
    let anonymous = app.graphql(None, queries::VOCABULARIES, json!({})).await;
    assert_eq!(
        anonymous.code(),
        Some("UNAUTHENTICATED"),
        "{:#}",
        anonymous.body
    );
    assert!(
        anonymous.body["data"]["vocabularies"].is_null(),
        "{:#}",
        anonymous.body
    );
    let organisations = app.graphql(None, queries::ORGANISATIONS, json!({})).await;
    assert_eq!(refusal(&anonymous), refusal(&organisations));
    let anonymous = app
        .graphql(None, queries::VOCABULARY, json!({ "name": "LANGUAGE" }))
        .await;
    assert_eq!(anonymous.code(), Some("UNAUTHENTICATED"));

    let token = app.token("ngo-red-cross", "visits:read").await;
    let response = app
        .graphql(Some(&token), queries::VOCABULARY_BAD_LANG, json!({}))
        .await;
    let message = response.expect_error("BAD_USER_INPUT");
    assert!(message.contains("TLH"), "{message}");
    assert!(
        response.has_no_data(),
        "validation fails before execution: {:#}",
        response.body
    );
    let response = app
        .graphql(
            Some(&token),
            queries::VOCABULARY,
            json!({ "name": "WEBHOOK_EVENT_TYPE" }),
        )
        .await;
    response.expect_error("BAD_USER_INPUT");
}
