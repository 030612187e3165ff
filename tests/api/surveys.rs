//! Surveys over GraphQL (issue 17): the secretariat writes a versioned questionnaire for the
//! programme's four goals, the operating NGO runs a start and an end round for a course and
//! records its mothers' responses (a mother records her own with a token bound to her),
//! every way of being refused writes nothing, free-text answers are personal data, and
//! `stats.evaluation` gives the secretariat exact figures and a municipality suppressed
//! small cells, with the paired change of the same mothers between start and end.
//!
//! Expected figures are computed here from what the test wrote, independently of the server.

use entity::{
    audit_event, enrolment,
    enums::{AuditAction, PartnerRole, ProjectCorps, VisitChannel, VisitTopic},
    mother, project, survey_answer, survey_response,
};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    harness::{TestApp, fixtures::date},
    queries,
    tokens::{gid, string},
    visits_write::bad_field,
};
use bydel::{
    ids::Kind,
    tokens::{BindTo, MOTHER_SCOPES},
};

const ADMIN: &str = "surveys:admin stats:read";
const OPERATOR: &str = "surveys:write mothers:write mothers:read courses:read projects:read";
const MUNICIPALITY: &str = "surveys:read stats:read projects:read";

/// Item codes of the questionnaire, in order.
const KNOWS: &str = "knows-health";
const NETWORK: &str = "network";
const CLEAR: &str = "clear-on-work";
const PASSES: &str = "passes-on";
const WISH: &str = "wish";
const CHANGED: &str = "what-changed";

/// Nørrebro (København, run by `ngo-red-cross`, both corps, `ngo-partner` partnering) with a
/// basic course of six mothers and Noor, who is not on it; Tingbjerg (København, same
/// operator) with three mothers; Randers Øst with Leyla; `ngo-stranger` runs nothing.
struct World {
    app: TestApp,
    norrebro: project::Model,
    tingbjerg: project::Model,
    course: entity::course::Model,
    cohort: Vec<mother::Model>,
    noor: mother::Model,
    tingbjerg_mothers: Vec<mother::Model>,
    leyla: mother::Model,
    admin: String,
    ngo: String,
    /// Item ids by code.
    items: Vec<(String, String)>,
    questionnaire: String,
}

fn text(da: &str, en: &str) -> Value {
    json!([{ "language": "da", "text": da }, { "language": "en", "text": en }])
}

fn questionnaire_input(key: &str) -> Value {
    json!({
        "key": key,
        "texts": text("Bydelsmødrenes mål", "The neighbourhood mothers' goals"),
        "items": [
            { "code": KNOWS, "goal": "KNOWLEDGE", "scale": "LIKERT_5",
              "texts": text("Jeg ved, hvor jeg kan få hjælp til mit barns sundhed",
                            "I know where to get help with my child's health") },
            { "code": NETWORK, "goal": "NETWORK", "scale": "LIKERT_5",
              "texts": text("Jeg føler mig som en del af et netværk",
                            "I feel part of a network") },
            { "code": CLEAR, "goal": "EDUCATION_WORK", "scale": "YES_NO",
              "texts": text("Jeg ved, hvad jeg vil med uddannelse og arbejde",
                            "I know what I want in education and work") },
            { "code": PASSES, "goal": "PASSING_ON", "scale": "LIKERT_5",
              "texts": text("Jeg giver min viden videre til andre kvinder",
                            "I pass my knowledge on to other women"),
              "choices": [] },
            { "code": WISH, "goal": "EDUCATION_WORK", "scale": "CHOICE",
              "choices": ["job", "education", "language-school"],
              "texts": text("Hvad er dit næste skridt?", "What is your next step?") },
            { "code": CHANGED, "goal": "NETWORK", "scale": "FREE_TEXT",
              "texts": text("Hvad har forandret sig for dig?", "What has changed for you?") },
        ],
    })
}

impl World {
    fn item(&self, code: &str) -> String {
        self.items
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, id)| id.clone())
            .unwrap_or_else(|| panic!("no item {code}"))
    }

    async fn open(
        &self,
        token: &str,
        project: &project::Model,
        course: bool,
        moment: &str,
    ) -> String {
        let mut input = json!({
            "questionnaireId": self.questionnaire,
            "projectId": gid(Kind::Project, project.id),
            "moment": moment,
        });
        if course {
            input["courseId"] = json!(gid(Kind::Course, self.course.id));
        }
        let response = self
            .app
            .graphql(
                Some(token),
                queries::OPEN_SURVEY_ROUND,
                json!({ "input": input }),
            )
            .await;
        let round = &response.data()["openSurveyRound"];
        assert_eq!(round["moment"], moment);
        assert!(round["closedAt"].is_null());
        string(&round["id"])
    }

    /// The answers of mother number `i` at the start (`end == false`) or end of the course.
    fn answers(&self, i: usize, end: bool) -> Value {
        let odd = (i % 2) as i64;
        let mut answers = vec![
            json!({ "itemId": self.item(KNOWS), "value": if end { 4 } else { 2 } }),
            json!({ "itemId": self.item(NETWORK), "value": if end { 4 + odd } else { 1 + odd } }),
            json!({ "itemId": self.item(CLEAR), "value": i64::from(end && i < 4) }),
            json!({ "itemId": self.item(PASSES), "value": if end { 3 + odd } else { 2 } }),
            json!({ "itemId": self.item(WISH), "value": (i % 3) as i64 }),
        ];
        if end {
            answers
                .push(json!({ "itemId": self.item(CHANGED), "text": "Jeg kender flere mødre nu" }));
        }
        Value::Array(answers)
    }

    async fn record(
        &self,
        token: &str,
        round: &str,
        mother: &mother::Model,
        answers: Value,
    ) -> crate::harness::GqlResponse {
        let input = json!({
            "roundId": round,
            "motherId": gid(Kind::Mother, mother.id),
            "answers": answers,
        });
        self.app
            .graphql(
                Some(token),
                queries::RECORD_SURVEY_RESPONSE,
                json!({ "input": input }),
            )
            .await
    }

    async fn responses(&self) -> u64 {
        survey_response::Entity::find()
            .count(&self.app.db)
            .await
            .unwrap()
    }

    async fn answers_stored(&self) -> u64 {
        survey_answer::Entity::find()
            .count(&self.app.db)
            .await
            .unwrap()
    }

    async fn mother_token(&self, mother: &mother::Model) -> String {
        let ngo = bydel::organisations::find_by_reference(&self.app.db, "ngo-red-cross")
            .await
            .unwrap();
        let scopes = bydel::auth::ScopeSet::parse(MOTHER_SCOPES).unwrap();
        bydel::tokens::issue_for_person(
            &self.app.db,
            &self.app.keys,
            &ngo,
            "mothers-app",
            &scopes,
            chrono::Duration::hours(1),
            Some(BindTo::Mother(mother.id)),
        )
        .await
        .unwrap_or_else(|err| panic!("cannot issue a mother's token: {err}"))
        .token
    }

    async fn evaluation(&self, token: &str, group_by: &[&str], filter: Value) -> Value {
        let response = self
            .app
            .graphql(
                Some(token),
                queries::STATS_EVALUATION,
                json!({ "groupBy": group_by, "filter": filter }),
            )
            .await;
        response.data()["stats"]["evaluation"].clone()
    }
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let f = app.fixtures();
    let base = f.base().await;
    let norrebro = f
        .project("Nørrebro", 101, &base.ngo, |p| {
            p.corps = Set(ProjectCorps::Both)
        })
        .await;
    let tingbjerg = f.project("Tingbjerg", 101, &base.ngo, |_| {}).await;
    let randers = f.project("Randers Øst", 730, &base.ngo, |_| {}).await;
    let partner = f
        .organisation("ngo-partner", entity::enums::OrganisationKind::Ngo, None)
        .await;
    f.partner(&norrebro, &partner, PartnerRole::Partner).await;
    f.organisation("ngo-stranger", entity::enums::OrganisationKind::Ngo, None)
        .await;
    let course = f
        .course(&norrebro, "Grundforløb 2024", date(2024, 1, 8), |_| {})
        .await;
    let mut cohort = Vec::new();
    for name in ["Amina", "Fatima", "Hodan", "Samira", "Zahra", "Nadia"] {
        let m = f.mother(&norrebro, name, &["ar"], |_| {}).await;
        f.enrolment(&course, &m, None).await;
        cohort.push(m);
    }
    let noor = f.mother(&norrebro, "Noor", &["so"], |_| {}).await;
    let mut tingbjerg_mothers = Vec::new();
    for name in ["Asha", "Layla", "Maryam"] {
        tingbjerg_mothers.push(f.mother(&tingbjerg, name, &["so"], |_| {}).await);
    }
    let leyla = f.mother(&randers, "Leyla", &["tr"], |_| {}).await;

    let admin = app.token("secretariat", ADMIN).await;
    let ngo = app.token("ngo-red-cross", OPERATOR).await;
    let created = app
        .graphql(
            Some(&admin),
            queries::CREATE_QUESTIONNAIRE,
            json!({ "input": questionnaire_input("goals") }),
        )
        .await;
    let q = created.data()["createQuestionnaire"].clone();
    assert_eq!(q["version"], 1);
    assert_eq!(q["status"], "DRAFT");
    assert_eq!(q["title"], "The neighbourhood mothers' goals");
    let items: Vec<(String, String)> = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (string(&i["code"]), string(&i["id"])))
        .collect();
    assert_eq!(items.len(), 6);
    assert_eq!(
        q["items"][4]["choices"],
        json!(["job", "education", "language-school"])
    );
    let questionnaire = string(&q["id"]);
    let published = app
        .graphql(
            Some(&admin),
            queries::PUBLISH_QUESTIONNAIRE,
            json!({ "id": questionnaire }),
        )
        .await;
    assert_eq!(
        published.data()["publishQuestionnaire"]["status"],
        "PUBLISHED"
    );
    World {
        app,
        norrebro,
        tingbjerg,
        course,
        cohort,
        noor,
        tingbjerg_mothers,
        leyla,
        admin,
        ngo,
        items,
        questionnaire,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questionnaires_are_versioned_and_a_published_one_never_changes() {
    let w = world().await;
    let app = &w.app;
    // Only the secretariat writes questionnaires: an NGO's token cannot even hold the scope,
    // and `surveys:write` is not enough.
    let ngo = app
        .graphql(
            Some(&w.ngo),
            queries::CREATE_QUESTIONNAIRE,
            json!({ "input": questionnaire_input("ngo-own") }),
        )
        .await;
    ngo.expect_error("FORBIDDEN");
    // Editing the published version is refused with a code; nothing changes.
    let edit = app
        .graphql(
            Some(&w.admin),
            queries::UPDATE_QUESTIONNAIRE,
            json!({ "input": {
                "id": w.questionnaire,
                "texts": text("Ny titel", "New title"),
                "items": questionnaire_input("goals")["items"],
            }}),
        )
        .await;
    edit.expect_error("CONFLICT");
    let again = app
        .graphql(
            Some(&w.admin),
            queries::PUBLISH_QUESTIONNAIRE,
            json!({ "id": w.questionnaire }),
        )
        .await;
    again.expect_error("INVALID_TRANSITION");
    // A change is a new version of the key: a draft, changed in place until published.
    let v2 = app
        .graphql(
            Some(&w.admin),
            queries::CREATE_QUESTIONNAIRE,
            json!({ "input": questionnaire_input("goals") }),
        )
        .await;
    let v2 = v2.data()["createQuestionnaire"].clone();
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["status"], "DRAFT");
    let third = app
        .graphql(
            Some(&w.admin),
            queries::CREATE_QUESTIONNAIRE,
            json!({ "input": questionnaire_input("goals") }),
        )
        .await;
    third.expect_error("CONFLICT");
    let mut fewer = questionnaire_input("goals");
    fewer["items"].as_array_mut().unwrap().truncate(2);
    let updated = app
        .graphql(
            Some(&w.admin),
            queries::UPDATE_QUESTIONNAIRE,
            json!({ "input": { "id": v2["id"], "texts": fewer["texts"], "items": fewer["items"] } }),
        )
        .await;
    assert_eq!(
        updated.data()["updateQuestionnaire"]["items"],
        json!([{ "code": KNOWS }, { "code": NETWORK }])
    );
    // The published version 1 still has its six items.
    let listed = app
        .graphql(
            Some(&w.ngo),
            queries::QUESTIONNAIRES,
            json!({ "key": "goals" }),
        )
        .await;
    let versions = listed.data()["questionnaires"].as_array().unwrap().clone();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], 1);
    assert_eq!(versions[0]["items"].as_array().unwrap().len(), 6);
    assert_eq!(versions[0]["title"], "Bydelsmødrenes mål");
    assert_eq!(versions[1]["items"].as_array().unwrap().len(), 2);
    // Bad content: no English text, a CHOICE without choices, choices on a LIKERT item.
    let mut no_english = questionnaire_input("other");
    no_english["texts"] = json!([{ "language": "da", "text": "Kun dansk" }]);
    let mut no_choices = questionnaire_input("other");
    no_choices["items"][4]["choices"] = json!([]);
    let mut likert_choices = questionnaire_input("other");
    likert_choices["items"][0]["choices"] = json!(["a", "b"]);
    for (input, field) in [
        (no_english, "input.texts"),
        (no_choices, "input.items.4.choices"),
        (likert_choices, "input.items.0.choices"),
    ] {
        let refused = app
            .graphql(
                Some(&w.admin),
                queries::CREATE_QUESTIONNAIRE,
                json!({ "input": input }),
            )
            .await;
        assert_eq!(bad_field(&refused), field);
    }
    // A draft cannot be given to anyone.
    let draft_round = app
        .graphql(
            Some(&w.ngo),
            queries::OPEN_SURVEY_ROUND,
            json!({ "input": {
                "questionnaireId": v2["id"],
                "projectId": gid(Kind::Project, w.norrebro.id),
                "moment": "COURSE_START",
            }}),
        )
        .await;
    assert_eq!(bad_field(&draft_round), "input.questionnaireId");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_are_refused_with_nothing_written() {
    let w = world().await;
    let app = &w.app;
    // Rounds are the operator's: a partner sees the project but does not run it, a stranger
    // does not see it at all.
    let partner = app.token("ngo-partner", "surveys:write").await;
    let stranger = app.token("ngo-stranger", "surveys:write").await;
    let open = |token: &str| {
        let token = token.to_owned();
        let input = json!({ "input": {
            "questionnaireId": w.questionnaire,
            "projectId": gid(Kind::Project, w.norrebro.id),
            "courseId": gid(Kind::Course, w.course.id),
            "moment": "COURSE_START",
        }});
        async move {
            app.graphql(Some(&token), queries::OPEN_SURVEY_ROUND, input)
                .await
        }
    };
    open(&partner).await.expect_error("FORBIDDEN");
    open(&stranger).await.expect_error("NOT_FOUND");
    let start = w.open(&w.ngo, &w.norrebro, true, "COURSE_START").await;

    let amina = &w.cohort[0];
    // The partner and the stranger record nothing.
    w.record(&partner, &start, amina, w.answers(0, false))
        .await
        .expect_error("FORBIDDEN");
    w.record(&stranger, &start, amina, w.answers(0, false))
        .await
        .expect_error("NOT_FOUND");
    assert_eq!(w.responses().await, 0);
    // An answer out of its scale, an unknown item, an item twice, text on a number.
    let mut out_of_scale = w.answers(0, false);
    out_of_scale[1]["value"] = json!(6);
    let mut yes_no_two = w.answers(0, false);
    yes_no_two[2]["value"] = json!(2);
    let mut choice_too_far = w.answers(0, false);
    choice_too_far[4]["value"] = json!(3);
    let mut twice = w.answers(0, false);
    twice[1]["itemId"] = twice[0]["itemId"].clone();
    let mut text_on_number = w.answers(0, false);
    text_on_number[0] = json!({ "itemId": w.item(KNOWS), "text": "meget" });
    let mut foreign_item = w.answers(0, false);
    foreign_item[0]["itemId"] = json!(gid(Kind::QuestionnaireItem, Uuid::now_v7()));
    for (answers, field) in [
        (out_of_scale, "input.answers.1.value"),
        (yes_no_two, "input.answers.2.value"),
        (choice_too_far, "input.answers.4.value"),
        (twice, "input.answers.1.itemId"),
        (text_on_number, "input.answers.0.text"),
        (foreign_item, "input.answers.0.itemId"),
        (json!([]), "input.answers"),
    ] {
        let refused = w.record(&w.ngo, &start, amina, answers).await;
        assert_eq!(bad_field(&refused), field);
    }
    // A mother of another project, and one of the project who is not on the round's course.
    let leyla = w
        .record(&w.ngo, &start, &w.leyla, w.answers(0, false))
        .await;
    assert_eq!(bad_field(&leyla), "input.motherId");
    let noor = w.record(&w.ngo, &start, &w.noor, w.answers(0, false)).await;
    assert_eq!(bad_field(&noor), "input.motherId");
    assert_eq!(w.responses().await, 0);
    assert_eq!(w.answers_stored().await, 0);

    // Recorded once; the second response of the same mother in the round is a conflict.
    let first = w.record(&w.ngo, &start, amina, w.answers(0, false)).await;
    assert_eq!(first.data()["recordSurveyResponse"]["roundId"], start);
    w.record(&w.ngo, &start, amina, w.answers(0, false))
        .await
        .expect_error("CONFLICT");
    assert_eq!(w.responses().await, 1);
    assert_eq!(w.answers_stored().await, 5);
    // The response names a pseudonym, never her.
    let stored = survey_response::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.respondent.len(), 64);
    assert!(!stored.respondent.contains(&amina.id.simple().to_string()));

    // A mother records her own response, and nobody else's.
    let fatima = &w.cohort[1];
    let her = w.mother_token(fatima).await;
    w.record(&her, &start, amina, w.answers(0, false))
        .await
        .expect_error("FORBIDDEN");
    let own = w.record(&her, &start, fatima, w.answers(1, false)).await;
    assert!(own.data()["recordSurveyResponse"]["id"].is_string());
    assert_eq!(w.responses().await, 2);
    // Her token runs no rounds and reads no figures.
    app.graphql(
        Some(&her),
        queries::CLOSE_SURVEY_ROUND,
        json!({ "id": start }),
    )
    .await
    .expect_error("FORBIDDEN");

    // A closed round takes nothing more, and closes once.
    let closed = app
        .graphql(
            Some(&w.ngo),
            queries::CLOSE_SURVEY_ROUND,
            json!({ "id": start }),
        )
        .await;
    assert!(closed.data()["closeSurveyRound"]["closedAt"].is_string());
    app.graphql(
        Some(&w.ngo),
        queries::CLOSE_SURVEY_ROUND,
        json!({ "id": start }),
    )
    .await
    .expect_error("INVALID_TRANSITION");
    w.record(&w.ngo, &start, &w.cohort[2], w.answers(2, false))
        .await
        .expect_error("CONFLICT");
    assert_eq!(w.responses().await, 2);
}

/// Records the whole cohort at start and end (Nadia, the sixth, with her own token at the
/// end), Tingbjerg's three mothers at the start of a project-wide round.
async fn run_rounds(w: &World) -> (String, String, String) {
    let start = w.open(&w.ngo, &w.norrebro, true, "COURSE_START").await;
    let end = w.open(&w.ngo, &w.norrebro, true, "COURSE_END").await;
    let tingbjerg = w.open(&w.ngo, &w.tingbjerg, false, "COURSE_START").await;
    for (i, m) in w.cohort.iter().enumerate() {
        w.record(&w.ngo, &start, m, w.answers(i, false))
            .await
            .data();
    }
    for (i, m) in w.cohort.iter().enumerate().take(5) {
        w.record(&w.ngo, &end, m, w.answers(i, true)).await.data();
    }
    let nadia = w.mother_token(&w.cohort[5]).await;
    w.record(&nadia, &end, &w.cohort[5], w.answers(5, true))
        .await
        .data();
    for (i, m) in w.tingbjerg_mothers.iter().enumerate() {
        w.record(&w.ngo, &tingbjerg, m, w.answers(i, false))
            .await
            .data();
    }
    (start, end, tingbjerg)
}

fn cell<'a>(table: &'a Value, matches: &[(&str, &str)]) -> &'a Value {
    table["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| matches.iter().all(|(k, v)| c[*k] == *v))
        .unwrap_or_else(|| panic!("no cell {matches:?} in {table:#}"))
}

/// Within the noise of the cell-key method (±2), and never the exact count for free.
fn near(value: &Value, exact: i64) {
    let v = value
        .as_i64()
        .unwrap_or_else(|| panic!("expected a count, got {value}"));
    assert!((v - exact).abs() <= 2, "{v} is not within 2 of {exact}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_are_exact_for_the_secretariat_and_suppressed_for_a_municipality() {
    let w = world().await;
    run_rounds(&w).await;
    let norrebro = gid(Kind::Project, w.norrebro.id);
    let tingbjerg = gid(Kind::Project, w.tingbjerg.id);

    // The secretariat: exact, with the paired change of the same six mothers.
    let by_item = w
        .evaluation(
            &w.admin,
            &["ITEM", "ROUND"],
            json!({ "projectIds": [norrebro] }),
        )
        .await;
    assert_eq!(by_item["suppressedCells"], 0);
    let network_end = &cell(&by_item, &[("itemCode", NETWORK), ("round", "COURSE_END")])["values"];
    assert_eq!(network_end["respondents"], 6);
    assert_eq!(network_end["mean"], 4.5);
    assert_eq!(network_end["change"]["pairedRespondents"], 6);
    assert_eq!(network_end["change"]["meanChange"], 3.0);
    assert_eq!(network_end["change"]["scoreChange"], 0.75);
    assert_eq!(
        network_end["distribution"],
        json!([
            { "value": 4, "count": 3, "suppressed": false },
            { "value": 5, "count": 3, "suppressed": false },
        ])
    );
    let network_start = &cell(
        &by_item,
        &[("itemCode", NETWORK), ("round", "COURSE_START")],
    )["values"];
    assert_eq!(network_start["mean"], 1.5);
    assert_eq!(network_start["change"]["pairedRespondents"], 0);
    let clear_end = &cell(&by_item, &[("itemCode", CLEAR), ("round", "COURSE_END")])["values"];
    assert_eq!(
        clear_end["mean"], 0.667,
        "four of six are clear on work at the end"
    );
    assert_eq!(clear_end["change"]["meanChange"], 0.667);
    // A CHOICE item has a distribution, no mean and no score; free text is no figure.
    let wish_end = &cell(&by_item, &[("itemCode", WISH), ("round", "COURSE_END")])["values"];
    assert!(wish_end["mean"].is_null() && wish_end["score"].is_null());
    assert_eq!(wish_end["distribution"].as_array().unwrap().len(), 3);
    assert!(
        by_item["cells"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["itemCode"] != CHANGED)
    );

    // By goal: EDUCATION_WORK mixes YES_NO and CHOICE items, so no raw mean there.
    let by_goal = w.evaluation(&w.admin, &["GOAL"], json!({})).await;
    let education = &cell(&by_goal, &[("goal", "EDUCATION_WORK")])["values"];
    assert!(education["mean"].is_null());
    assert_eq!(education["respondents"], 9);
    assert_eq!(by_goal["total"]["respondents"], 9);

    let by_project = w.evaluation(&w.admin, &["PROJECT"], json!({})).await;
    assert_eq!(
        cell(&by_project, &[("projectId", tingbjerg.as_str())])["values"]["respondents"],
        3
    );
    assert_eq!(
        cell(&by_project, &[("projectId", norrebro.as_str())])["values"]["respondents"],
        6
    );

    // The municipality: Tingbjerg's three respondents are hidden, and so is Nørrebro's cell,
    // which would give them away as total minus Nørrebro; the total stands (with noise).
    let kommune = w.app.token("kommune-101", MUNICIPALITY).await;
    let seen = w.evaluation(&kommune, &["PROJECT"], json!({})).await;
    assert_eq!(seen["suppressedCells"], 2);
    for c in seen["cells"].as_array().unwrap() {
        let v = &c["values"];
        assert_eq!(v["suppressed"], true, "{c:#}");
        assert!(v["respondents"].is_null() && v["mean"].is_null() && v["distribution"].is_null());
    }
    assert_eq!(seen["total"]["suppressed"], false);
    near(&seen["total"]["respondents"], 9);

    // Nørrebro on its own: six respondents each round, published with noise; the paired
    // change is there (means are over at least the threshold and exact); buckets of three
    // answers are hidden, two in the line, so neither is the total minus the other.
    let own = w
        .evaluation(
            &kommune,
            &["ITEM", "ROUND"],
            json!({ "projectIds": [norrebro] }),
        )
        .await;
    let end = &cell(&own, &[("itemCode", NETWORK), ("round", "COURSE_END")])["values"];
    assert_eq!(end["suppressed"], false);
    near(&end["respondents"], 6);
    near(&end["change"]["pairedRespondents"], 6);
    assert_eq!(end["change"]["meanChange"], 3.0);
    assert_eq!(end["mean"], 4.5);
    let buckets = end["distribution"].as_array().unwrap();
    assert_eq!(buckets.len(), 2);
    assert!(
        buckets
            .iter()
            .all(|b| b["suppressed"] == true && b["count"].is_null())
    );

    // A municipality elsewhere sees none of it; a mother's token reads no figures.
    let randers = w.app.token("kommune-730", MUNICIPALITY).await;
    let none = w.evaluation(&randers, &["PROJECT"], json!({})).await;
    assert_eq!(none["cells"], json!([]));
    assert_eq!(none["total"]["respondents"], 0);
    let nadia = w.mother_token(&w.cohort[5]).await;
    w.app
        .graphql(Some(&nadia), queries::STATS_EVALUATION, json!({}))
        .await
        .expect_error("FORBIDDEN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_text_answers_are_personal_data_read_under_audit() {
    let w = world().await;
    run_rounds(&w).await;
    let norrebro = gid(Kind::Project, w.norrebro.id);
    let ngo = w.app.token("ngo-red-cross", "surveys:read").await;
    let read = w
        .app
        .graphql(
            Some(&ngo),
            queries::SURVEY_FREE_TEXT,
            json!({ "projectId": norrebro }),
        )
        .await;
    let rounds = read.data()["surveyRounds"].as_array().unwrap().clone();
    assert_eq!(rounds.len(), 2);
    let end = rounds.iter().find(|r| r["moment"] == "COURSE_END").unwrap();
    let texts = end["freeTextAnswers"].as_array().unwrap();
    assert_eq!(texts.len(), 6);
    assert!(
        texts
            .iter()
            .all(|t| t["itemCode"] == CHANGED && t["text"] == "Jeg kender flere mødre nu")
    );
    let reads = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(AuditAction::Read))
        .filter(audit_event::Column::EntityType.eq("survey_answer"))
        .count(&w.app.db)
        .await
        .unwrap();
    assert_eq!(reads, 6, "one read event per free-text answer read");

    // The municipality sees the rounds of its area, not the women's words.
    let kommune = w.app.token("kommune-101", MUNICIPALITY).await;
    let counted = w
        .app
        .graphql(
            Some(&kommune),
            queries::SURVEY_ROUNDS,
            json!({ "projectId": norrebro }),
        )
        .await;
    let counts: Vec<i64> = counted.data()["surveyRounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["responseCount"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, vec![6, 6]);
    let refused = w
        .app
        .graphql(
            Some(&kommune),
            queries::SURVEY_FREE_TEXT,
            json!({ "projectId": norrebro }),
        )
        .await;
    refused.expect_error("FORBIDDEN");
    let still = audit_event::Entity::find()
        .filter(audit_event::Column::EntityType.eq("survey_answer"))
        .count(&w.app.db)
        .await
        .unwrap();
    assert_eq!(still, 6, "a refused read records nothing");
    // A stranger does not even see the rounds.
    let stranger = w.app.token("ngo-stranger", "surveys:read").await;
    let hidden = w
        .app
        .graphql(
            Some(&stranger),
            queries::SURVEY_ROUNDS,
            json!({ "projectId": norrebro }),
        )
        .await;
    assert_eq!(hidden.data()["surveyRounds"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_runs_a_corps_of_fathers_and_figures_group_by_corps() {
    let w = world().await;
    let app = &w.app;
    let ngo = &w.ngo;
    let register = |project: &project::Model, corps: &str| {
        let input = json!({ "input": {
            "projectId": gid(Kind::Project, project.id),
            "firstName": "Yusuf",
            "lastName": "Ali",
            "languages": ["ar"],
            "joinedOn": "2024-01-02",
            "corps": corps,
        }});
        async move {
            app.graphql(Some(ngo), queries::REGISTER_VOLUNTEER, input)
                .await
        }
    };
    // Tingbjerg runs a corps of mothers only.
    let refused = register(&w.tingbjerg, "FATHER").await;
    assert_eq!(bad_field(&refused), "input.corps");
    let yusuf = register(&w.norrebro, "FATHER").await;
    let yusuf = yusuf.data()["registerMother"].clone();
    assert_eq!(yusuf["corps"], "FATHER");
    assert_eq!(yusuf["project"]["corps"], "BOTH");
    let id = bydel::ids::decode_as(&string(&yusuf["id"]), Kind::Mother, "id").unwrap();
    let father = mother::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    // Enrolled on the same course as the mothers, he answers the same round.
    w.app.fixtures().enrolment(&w.course, &father, None).await;
    let start = w.open(&w.ngo, &w.norrebro, true, "COURSE_START").await;
    for (i, m) in w.cohort.iter().enumerate() {
        w.record(&w.ngo, &start, m, w.answers(i, false))
            .await
            .data();
    }
    w.record(&w.ngo, &start, &father, w.answers(0, false))
        .await
        .data();
    let enrolled = enrolment::Entity::find()
        .filter(enrolment::Column::CourseId.eq(w.course.id))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(enrolled, 7);

    let exact = w.evaluation(&w.admin, &["CORPS"], json!({})).await;
    assert_eq!(
        cell(&exact, &[("corps", "FATHER")])["values"]["respondents"],
        1
    );
    assert_eq!(
        cell(&exact, &[("corps", "MOTHER")])["values"]["respondents"],
        6
    );
    let kommune = w.app.token("kommune-101", MUNICIPALITY).await;
    let seen = w.evaluation(&kommune, &["CORPS"], json!({})).await;
    assert_eq!(
        seen["suppressedCells"], 2,
        "one father, and the cell that would reveal him"
    );
    near(&seen["total"]["respondents"], 7);

    // Every other figure groups by corps too: two visits by Yusuf, six by the mothers; a
    // certified mother; visits count as activity hours of their mother's corps.
    let f = app.fixtures();
    for m in w.cohort.iter().chain([&father, &father]) {
        f.visit(
            m,
            date(2024, 3, 4),
            VisitChannel::HomeVisit,
            &[VisitTopic::School],
            |_| {},
        )
        .await;
    }
    f.enrolment(&w.course, &w.noor, Some(date(2024, 5, 1)))
        .await;
    let admin = app.token("secretariat", "stats:read").await;
    let figures = app
        .graphql(Some(&admin), queries::STATS_BY_CORPS, json!({}))
        .await;
    let stats = &figures.data()["stats"];
    let value = |figure: &str, corps: &str| {
        stats[figure]["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["corps"] == corps)
            .map(|c| c["value"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(value("visits", "FATHER"), 2.0);
    assert_eq!(value("visits", "MOTHER"), 6.0);
    assert_eq!(stats["visits"]["total"]["value"], 8.0);
    assert_eq!(
        value("volunteerHours", "FATHER"),
        2.0,
        "two visits of an hour"
    );
    assert_eq!(value("mothersTrained", "MOTHER"), 1.0);
    // The municipality: two visits by one father are suppressed, with their partner.
    let kommune_stats = w.app.token("kommune-101", "stats:read").await;
    let seen = app
        .graphql(Some(&kommune_stats), queries::STATS_BY_CORPS, json!({}))
        .await;
    let visits = &seen.data()["stats"]["visits"];
    assert_eq!(visits["suppressedCells"], 2, "{visits:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_surveys_tell_the_evaluations_story() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let admin = app.token("secretariat", ADMIN).await;
    let response = app
        .graphql(
            Some(&admin),
            queries::STATS_EVALUATION,
            json!({ "groupBy": ["GOAL", "ROUND"] }),
        )
        .await;
    let table = response.data()["stats"]["evaluation"].clone();
    let change = |goal: &str| {
        let end = &cell(&table, &[("goal", goal), ("round", "COURSE_END")])["values"];
        let start = &cell(&table, &[("goal", goal), ("round", "COURSE_START")])["values"];
        // Those who left the course answered only the start.
        let paired = end["change"]["pairedRespondents"].as_i64().unwrap();
        assert!(paired >= 20, "{goal}: {paired} pairs");
        assert!(paired < start["respondents"].as_i64().unwrap(), "{goal}");
        end["change"]["scoreChange"].as_f64().unwrap()
    };
    let (knowledge, network, work, passing) = (
        change("KNOWLEDGE"),
        change("NETWORK"),
        change("EDUCATION_WORK"),
        change("PASSING_ON"),
    );
    // Every goal moved; network (pride, self-confidence) the most, education and work least.
    for moved in [knowledge, network, work, passing] {
        assert!(moved > 0.0, "{knowledge} {network} {work} {passing}");
    }
    assert!(
        network > knowledge && network > passing && work < knowledge,
        "{table:#}"
    );
    // A municipality reads its own area's figures under disclosure control.
    let kommune = app.token("kommune-101", MUNICIPALITY).await;
    let seen = app
        .graphql(
            Some(&kommune),
            queries::STATS_EVALUATION,
            json!({ "groupBy": ["YEAR", "ROUND"] }),
        )
        .await;
    let seen = &seen.data()["stats"];
    assert_eq!(seen["perturbed"], true);
    assert!(!seen["evaluation"]["cells"].as_array().unwrap().is_empty());
}
