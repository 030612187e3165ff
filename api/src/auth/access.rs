//! Authorization: the only place that decides which rows and which personal fields a
//! principal may read. The rules, top to bottom:
//!
//! 1. **Scope.** Reading an entity needs `<area>:read` of its area; organisations,
//!    municipalities and the vocabularies with their labels are reference data any
//!    authenticated caller reads, and so is the service directory (services, their
//!    languages, areas, locations, opening hours and contact points: organisational data,
//!    never personal).
//! 2. **Rows** (`principal.read::<E>()`, the start of every list, loader, count and `node`):
//!    - secretariat: every row;
//!    - NGO: the projects it operates or partners in (any role) and, except where it is only
//!      a funder, everything under them; referrals of those projects, referrals it sent or
//!      receives, and unclaimed pool referrals in the municipalities of its projects;
//!      participants of its projects, registered by it, or on a referral it sees;
//!    - municipality: the projects in its municipality and those anywhere that it partners in
//!      (any role), and everything under them except under a project it only funds;
//!      referrals it sent, receives, or that wait in its pool; participants it registered or
//!      that are on those referrals — never the participants of a project merely because the
//!      project is in its area;
//!    - a **funder** (`project_partner.role = funder`) gets figures, not people: the
//!      project's row, its partners and its statistics (rule 6), but through that partnership
//!      no mothers, courses, enrolments, visits, hours, participants or referrals;
//!    - API clients, tokens and the audit trail: the secretariat only.
//!
//!    A row outside these is absent: lists skip it, counts do not count it, nested fields and
//!    `node` resolve to `null` exactly as for an id that does not exist.
//! 3. **Personal data** (participant name, birth year and decade, contact details, languages,
//!    district, case reference, notes; free-text notes on referrals and their events): needs
//!    `participants:read` and a relationship — the secretariat, the organisation operating her
//!    project, the organisation that registered her, or the receiver of a referral about her
//!    for which she has a live consent to share with that receiver (live: not withdrawn and
//!    its `valid_until`, if any, not passed: [`live_consent`]). Her *pool profile*
//!    (languages, district, birth decade — what a pool needs to decide) is also shown to an
//!    organisation with `participants:read` that sees (rule 2) a `REQUESTED` pool referral
//!    about her, unclaimed or claimed by it; nothing more until her consent covers it.
//!    Claiming never moves her into the claimant's project. A free-text note on a referral or
//!    a timeline event is also shown, with `participants:read`, to the organisation that
//!    wrote it (the referral's requester, the event's actor): its own words in its own
//!    records, whatever became of her consent; nobody else gains anything. Visit notes: the
//!    secretariat or the operator of the visit's project. A mother's contact details: the
//!    secretariat or an organisation operating her project or partnering in it in the
//!    `partner` role (never a funder). Otherwise the
//!    field is `null` with a `FORBIDDEN` error; the rest of the record still loads. Every
//!    record whose personal data a request returns (a participant, including notes about her;
//!    a mother's contact details; a visit's notes) is written to the audit trail, one `read`
//!    event per record and request naming the categories read (`audit::Category`).
//!    Personal data is never pushed: a request that cannot record its reads (it carries no
//!    [`ReadLog`], as a subscription over the websocket) gets `FORBIDDEN` for every field of
//!    this rule, however it is related to her; the partner queries it over HTTP.
//! 4. **Writes.** API clients and tokens are managed by the secretariat with `tokens:admin`
//!    (the scope on any other organisation's token grants nothing; at the OAuth endpoints,
//!    [`TokenInquirer`], a client introspects and revokes its own tokens only, the
//!    secretariat introspects with `tokens:read`); projects and their
//!    partner organisations by the secretariat with `projects:write` (likewise). Inside a
//!    project (mothers, courses, enrolments, attendance, visits, participants, outbound
//!    referrals) writing needs `<area>:write` and the secretariat or the organisation operating the project; a project
//!    the caller cannot see is `NOT_FOUND`, one it sees but does not operate `FORBIDDEN`.
//!    A participant's consents are recorded and withdrawn, and her record corrected
//!    (`participants:write`), by the secretariat, the operator of her project or the
//!    organisation that registered her; the same parties export and erase her record with
//!    `participants:admin`. A municipality that registered her or receives a requested
//!    referral about her keeps its own case reference on her, and no one else writes it.
//!    On a referral the requester organisation drafts, requests, cancels and marks
//!    entered-in-error; the receiver (performer) accepts, rejects, starts, holds, resumes,
//!    completes or fails. An NGO operating a project in a municipality claims that
//!    municipality's pool referrals: it becomes the receiver and the project the referral's,
//!    while she keeps no project (rule 3 then needs her consent to share with the claimant,
//!    which the organisation that registered her records: the claimant is not her operator).
//!    The service directory is written with `directory:write` by the organisation that
//!    provides the service, for its own entries only, and by the secretariat for every
//!    organisation's ([`Principal::may_write_directory`]); an entry is visible to all, so
//!    another organisation's is `FORBIDDEN`, an unknown one `NOT_FOUND`. (That a referral
//!    names only a service of its receiver is input validation: `BAD_USER_INPUT`.)
//! 5. **Webhooks** (`referrals:admin` to read or change): an organisation registers and
//!    manages its own; the secretariat sees and manages all. A referral event is pushed to
//!    exactly the organisations that rule 2 lets see the referral after the change
//!    ([`referral_audience`]); the payload carries ids and statuses only.
//! 6. **Statistics** (`principal.stats()`, `stats:read`): figures about the caller's area,
//!    independent of the other areas' scopes — the secretariat everything, an NGO the projects
//!    it operates or partners in (funders included), a municipality the projects in its
//!    municipality and those it partners in or funds anywhere, and the referrals it sent,
//!    receives or that wait in its pool, besides those of its area's projects. Only the secretariat sees exact figures; everyone else gets them
//!    through disclosure control (`stats::disclosure`). Stale referrals are counted for their
//!    receiver (the secretariat: all of them).
//! 7. **People.** A token bound to a mother (the mothers' app, `Principal::own_work`) sees,
//!    of what rules 1–3 give her organisation, only her own work: her project and its
//!    partners, her own record and languages, her visits and hours, her courses and
//!    enrolments, and the women she supports (those she visited or registered), with their
//!    consents and languages; no referrals, statistics, webhooks or administration. She
//!    records her own visits and hours (`may_record_work`) and registers women she meets;
//!    nothing in another mother's name. A token bound to a staff member reads and writes as
//!    its organisation. Either way the audit trail names the person beside the client, and a
//!    person's token ends with their role (a mother who left, a deactivated staff member).
//! 8. **Surveys** (issue 17). Questionnaires are the programme's shared forms: any caller
//!    with `surveys:read` reads every version (a mother-bound token too, to answer them);
//!    the secretariat alone writes and publishes them (`surveys:admin`,
//!    [`Principal::may_write_questionnaires`]). Survey rounds are rows under their project
//!    (rule 2, not through a funder); the project's operator (or the secretariat) opens and
//!    closes them with `surveys:write`. A response is recorded by the operator for a mother
//!    of its project, or by the mother herself with a token bound to her (rule 7), never in
//!    another's name ([`Principal::may_record_response`]). Responses name a pseudonym, never
//!    the mother; their free-text answers are personal data under the rule of visit notes
//!    (the secretariat or the project's operator, `surveys:read`, audited as `notes`:
//!    [`survey_free_text`]); numbers leave only as figures (rule 6).

use std::{collections::HashSet, sync::Arc};

use async_graphql::Context;
use entity::{
    api_client, api_token, audit_event, client_credential, consent, course, enrolment,
    enums::{ConsentPurpose, OrganisationKind, PartnerRole, ReferralStatus},
    module_attendance, mother, mother_language, municipality, opening_hours, organisation,
    participant, participant_language, project, project_partner, questionnaire, questionnaire_item,
    questionnaire_text, referral, referral_event, scope_ceiling, service, service_area,
    service_contact, service_language, service_location, staff_member, survey_round,
    trusted_issuer, visit, visit_topic, volunteer_hours, webhook, webhook_attempt,
    webhook_delivery,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    Select,
    sea_query::{Expr, ExprTrait, SelectStatement, UnionType},
};
use uuid::Uuid;

use super::{Access, Area, Principal, Scope};
use crate::{
    audit::{Category, ReadLog},
    context::{BatchLoad, RequestContext},
    db::Db,
    error::{ApiError, ApiResult},
};

/// A table whose rows are read through these rules.
pub trait Scoped: EntityTrait {
    /// The area whose scope is needed to see any row; `None` for reference data.
    const AREA: Option<Area>;

    /// How much of [`Self::AREA`] reading needs: `read`, except for configuration that only
    /// the area's administrators handle (webhooks).
    const ACCESS: Access = Access::Read;

    /// The condition that keeps the rows `viewer` may see; `None` keeps every row.
    fn visible(viewer: &Viewer) -> Option<Condition>;

    /// Rule 7: of the rows [`Self::visible`] keeps, those a token bound to a mother sees;
    /// `None` keeps them all. Reference data stays visible; every other table shows her
    /// nothing unless it names its rule (`scoped!`), so a new table is closed to her until
    /// someone decides otherwise.
    fn own_work(_work: &OwnWork) -> Option<Condition> {
        if Self::AREA.is_none() {
            None
        } else {
            Some(Condition::any())
        }
    }
}

/// The mother a mother-bound token acts for and her project: rule 7's bounds.
#[derive(Debug, Clone, Copy)]
pub struct OwnWork {
    pub mother: Uuid,
    pub project: Uuid,
}

impl Principal {
    /// The rows of `E` this principal may read: scope check, then row filter.
    pub fn read<E: Scoped>(&self) -> ApiResult<Select<E>> {
        Ok(E::find().filter(self.joined::<E>()?))
    }

    /// What [`Self::read`] filters `E` with, for a statement that joins `E` onto the rows of
    /// another table (`crate::planned`): the same scope check, the same rows, so a joined row
    /// is exactly the row the loader of `E` would return.
    pub fn joined<E: Scoped>(&self) -> ApiResult<Condition> {
        if let Some(area) = E::AREA {
            self.require(Scope {
                area,
                access: E::ACCESS,
            })?;
        }
        Ok(self.row_filter::<E>())
    }

    /// Rule 7's bounds, when this token acts for a mother.
    pub fn own_work(&self) -> Option<OwnWork> {
        self.bound_mother()
            .map(|(mother, project)| OwnWork { mother, project })
    }

    pub fn viewer(&self) -> Viewer {
        let org = &self.organisation;
        Viewer::of(org.id, org.kind, org.municipality_code)
    }
}

/// Who asks `/oauth/introspect` or `/oauth/revoke` about a token (RFC 7662, RFC 7009).
pub enum TokenInquirer<'a> {
    /// An API client that authenticated itself: it learns about and revokes its own tokens
    /// only; another client's token is to it as an unknown one.
    Client(Uuid),
    /// A bearer token: the secretariat's token managers (rule 4).
    Principal(&'a Principal),
}

impl TokenInquirer<'_> {
    /// Rule 4 at the OAuth endpoints: introspection needs the secretariat with `tokens:read`;
    /// a client may always ask about its own tokens. `FORBIDDEN` otherwise.
    pub fn may_introspect(&self) -> ApiResult<()> {
        match self {
            Self::Client(_) => Ok(()),
            Self::Principal(principal) => {
                principal.require(Scope::read(Area::Tokens))?;
                if principal.is_secretariat() {
                    Ok(())
                } else {
                    Err(ApiError::forbidden(
                        "only the national secretariat introspects other clients' tokens",
                    ))
                }
            }
        }
    }

    /// Whether the token of `client` is this inquirer's to learn about (after
    /// [`Self::may_introspect`]): the secretariat's every token, a client its own.
    pub fn sees_tokens_of(&self, client: Uuid) -> bool {
        match self {
            Self::Client(own) => *own == client,
            Self::Principal(_) => true,
        }
    }
}

impl Principal {
    /// Rule 4: only the secretariat, with `tokens:admin`, creates, issues and revokes.
    pub fn may_manage_tokens(&self) -> ApiResult<()> {
        self.require(Scope {
            area: Area::Tokens,
            access: super::Access::Admin,
        })?;
        if self.is_secretariat() {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "only the national secretariat manages API clients and tokens",
            ))
        }
    }
}

impl Principal {
    /// Rule 4: only the secretariat, with `projects:write`, creates and changes projects and
    /// their partners; an operator must not widen its own reach by adding partners.
    pub fn may_manage_projects(&self) -> ApiResult<()> {
        self.require(Scope::write(Area::Projects))?;
        if self.is_secretariat() {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "only the national secretariat creates and changes projects and their partners",
            ))
        }
    }
}

impl Principal {
    /// Rule 4 for the service directory: `directory:write`, and the secretariat or the
    /// organisation `provider` (the one whose service it is, or is to be).
    pub fn may_write_directory(&self, provider: Uuid) -> ApiResult<()> {
        self.require(Scope::write(Area::Directory))?;
        if self.is_secretariat() || self.organisation.id == provider {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "only the organisation providing a service (or the national secretariat) \
                 changes its directory entry",
            ))
        }
    }

    /// Rule 4 for an existing directory entry: `directory:write` first, then the service
    /// (`NOT_FOUND` when there is none: every caller sees every service), then its provider
    /// ([`Self::may_write_directory`]). Returns the service.
    pub async fn may_write_service(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        service_id: Uuid,
    ) -> ApiResult<service::Model> {
        self.require(Scope::write(Area::Directory))?;
        let service = service::Entity::find_by_id(service_id)
            .one(db)
            .await?
            .ok_or_else(|| ApiError::NotFound("service".into()))?;
        self.may_write_directory(service.organisation_id)?;
        Ok(service)
    }
}

/// The side an organisation plays on a referral (rule 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferralSide {
    /// Drafts, requests, cancels, marks entered-in-error.
    Requester,
    /// Accepts, rejects, starts, holds, resumes, completes, fails.
    Performer,
}

impl Principal {
    /// Rule 4 for writes inside a project: `<area>:write`, and the secretariat or the operator.
    /// Returns the project, so callers need not read it again.
    ///
    /// A token bound to a mother (rule 7) writes here only to register a woman she meets
    /// (`participants`); her visits and hours go through [`Self::may_record_work`], and the
    /// rest of the project's records are her organisation's.
    pub async fn may_write_in_project(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        area: Area,
        project_id: Uuid,
    ) -> ApiResult<project::Model> {
        let project = self.project_to_write(db, area, project_id).await?;
        if self.own_work().is_some() && area != Area::Participants {
            return Err(ApiError::forbidden(
                "a token bound to a mother records her own visits and hours and registers the \
                 women she meets; the project's other records are her organisation's",
            ));
        }
        Ok(project)
    }

    /// Rule 4 for a mother's work in a project (a visit, volunteer hours): as
    /// [`Self::may_write_in_project`], and for a token bound to a mother (rule 7) only work
    /// attributed to her.
    pub async fn may_record_work(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        area: Area,
        project_id: Uuid,
        mother_id: Option<Uuid>,
    ) -> ApiResult<project::Model> {
        let project = self.project_to_write(db, area, project_id).await?;
        self.may_attribute_to(mother_id)?;
        Ok(project)
    }

    /// Rule 7 on what a write attributes to a mother: a token bound to a mother records only
    /// her own work (`FORBIDDEN` otherwise, nothing written); other tokens any mother's.
    pub fn may_attribute_to(&self, mother_id: Option<Uuid>) -> ApiResult<()> {
        match self.own_work() {
            Some(work) if mother_id != Some(work.mother) => Err(ApiError::forbidden(
                "a token bound to a mother records her own work only",
            )),
            _ => Ok(()),
        }
    }

    /// `<area>:write`, and the secretariat or the project's operator; `NOT_FOUND` for a
    /// project the caller cannot see, `FORBIDDEN` for one it sees but does not operate.
    async fn project_to_write(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        area: Area,
        project_id: Uuid,
    ) -> ApiResult<project::Model> {
        self.require(Scope::write(area))?;
        // Writing needs the project's row rule, not the `projects` scope.
        let project = project::Entity::find()
            .filter(project::Column::Id.eq(project_id))
            .filter(self.row_filter::<project::Entity>())
            .one(db)
            .await?
            .ok_or_else(|| ApiError::NotFound("project".into()))?;
        match self.viewer().organisation() {
            None => Ok(project),
            Some(org) if project.operator_organisation_id == org => Ok(project),
            Some(_) => Err(ApiError::forbidden(
                "only the organisation operating this project can change its records",
            )),
        }
    }

    /// Rule 4 on referrals: the sides this caller plays (`referrals:write` needed). The
    /// secretariat reads every referral but acts in none it is not a party to.
    pub fn referral_sides(&self, referral: &referral::Model) -> ApiResult<Vec<ReferralSide>> {
        self.require(Scope::write(Area::Referrals))?;
        let org = self.organisation.id;
        let mut sides = Vec::new();
        if referral.requester_organisation_id == org {
            sides.push(ReferralSide::Requester);
        }
        if referral.receiver_organisation_id == Some(org) {
            sides.push(ReferralSide::Performer);
        }
        Ok(sides)
    }

    /// Rule 4 for registering a woman without a project: a municipality (with its code) with
    /// `participants:write` registers the women it refers to the programme.
    pub fn may_register_for_referral(&self) -> ApiResult<()> {
        self.require(Scope::write(Area::Participants))?;
        match self.viewer() {
            Viewer::Municipality { .. } => Ok(()),
            _ => Err(ApiError::validation(
                "input.projectId",
                "a project registers her in the project; only a municipality registers a \
                 woman it refers to the programme without one",
            )),
        }
    }

    /// Rule 4 for a case reference given at registration: a municipality's own.
    pub fn may_give_case_ref(&self) -> ApiResult<()> {
        match self.viewer() {
            Viewer::Municipality { .. } => Ok(()),
            _ => Err(ApiError::forbidden(
                "only a municipality keeps a case reference on her (its own)",
            )),
        }
    }

    /// Rule 4 for inbound referrals: a municipality (with its code) with `referrals:write`
    /// refers women it registered to the programme. Returns its municipality code (its pool).
    pub fn may_refer_to_programme(&self) -> ApiResult<i32> {
        self.require(Scope::write(Area::Referrals))?;
        match self.viewer() {
            Viewer::Municipality { code, .. } => Ok(code),
            _ => Err(ApiError::forbidden(
                "only a municipality refers women to the programme (referToProgramme); a \
                 project refers with createReferral",
            )),
        }
    }

    /// Rule 4 on handovers: only the performer (the organisation holding the referral)
    /// releases it to its pool or forwards it (`referrals:write`).
    pub fn may_hand_over(&self, referral: &referral::Model) -> ApiResult<()> {
        if self
            .referral_sides(referral)?
            .contains(&ReferralSide::Performer)
        {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "only the organisation holding the referral (its receiver) hands it on",
            ))
        }
    }

    /// Rule 4 on pools: an NGO (or municipality) operating a project in the pool's
    /// municipality may claim its unclaimed referrals for that project.
    pub async fn may_claim_for(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        referral: &referral::Model,
        project_id: Uuid,
    ) -> ApiResult<project::Model> {
        let project = self
            .may_write_in_project(db, Area::Referrals, project_id)
            .await?;
        let claimable = referral.receiver_organisation_id.is_none()
            && referral.pool_municipality_code == Some(project.municipality_code);
        if claimable {
            Ok(project)
        } else {
            Err(ApiError::forbidden(
                "only an unclaimed pool referral of the project's municipality can be claimed",
            ))
        }
    }
}

impl Principal {
    /// Rule 2 without rule 1: the condition keeping the rows of `E` this principal sees. For
    /// write paths, which check their own `write` scope (e.g. through [`Self::referral_sides`])
    /// and must not also demand the area's `read` scope of a referenced table.
    pub fn row_filter<E: Scoped>(&self) -> Condition {
        let mut rows = Condition::all();
        if let Some(visible) = E::visible(&self.viewer()) {
            rows = rows.add(visible);
        }
        if let Some(own) = self.own_work().and_then(|work| E::own_work(&work)) {
            rows = rows.add(own);
        }
        rows
    }

    /// Rule 4 for a participant's own records (her consents): `participants:write`, and the
    /// secretariat, the operator of her project or the organisation that registered her. She
    /// is `NOT_FOUND` when invisible, `FORBIDDEN` when visible to a mere reader.
    pub async fn may_write_participant(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        participant_id: Uuid,
    ) -> ApiResult<participant::Model> {
        self.participant_party(db, participant_id, Scope::write(Area::Participants))
            .await
    }

    /// Rule 4 for her rights over her whole record (export, erasure): `participants:admin`,
    /// and the same parties as [`Self::may_write_participant`].
    pub async fn may_administer_participant(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        participant_id: Uuid,
    ) -> ApiResult<participant::Model> {
        let admin = Scope {
            area: Area::Participants,
            access: Access::Admin,
        };
        self.participant_party(db, participant_id, admin).await
    }

    /// Rule 4 for a municipality's own case reference: `participants:write`, and a
    /// municipality that registered her or receives a requested referral about her. Nobody
    /// else writes another organisation's reference, not even the secretariat.
    pub async fn may_keep_case_ref(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        participant: &participant::Model,
    ) -> ApiResult<()> {
        self.require(Scope::write(Area::Participants))?;
        let refused = || {
            ApiError::forbidden(
                "only the municipality that registered her or receives a referral about her \
                 keeps its case reference",
            )
        };
        if !matches!(self.viewer(), Viewer::Municipality { .. }) {
            return Err(refused());
        }
        let org = self.organisation.id;
        if participant.registered_by_organisation_id == org {
            return Ok(());
        }
        let receives = referral::Entity::find()
            .filter(referral::Column::ParticipantId.eq(participant.id))
            .filter(referral::Column::ReceiverOrganisationId.eq(org))
            .filter(referral::Column::RequestedAt.is_not_null())
            .one(db)
            .await?;
        receives.map(drop).ok_or_else(refused)
    }

    /// The parties to her records under `scope`: the secretariat, the operator of her project
    /// or the organisation that registered her. `NOT_FOUND` when she is invisible,
    /// `FORBIDDEN` when visible to a mere reader.
    async fn participant_party(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        participant_id: Uuid,
        scope: Scope,
    ) -> ApiResult<participant::Model> {
        self.require(scope)?;
        let participant = participant::Entity::find()
            .filter(participant::Column::Id.eq(participant_id))
            .filter(self.row_filter::<participant::Entity>())
            .one(db)
            .await?
            .ok_or_else(|| ApiError::NotFound("participant".into()))?;
        let Some(org) = self.viewer().organisation() else {
            return Ok(participant);
        };
        let operates = match participant.project_id {
            Some(project_id) => project::Entity::find()
                .filter(project::Column::Id.eq(project_id))
                .filter(project::Column::OperatorOrganisationId.eq(org))
                .one(db)
                .await?
                .is_some(),
            None => false,
        };
        if operates || participant.registered_by_organisation_id == org {
            Ok(participant)
        } else {
            Err(ApiError::forbidden(
                "only the organisation operating her project or the one that registered her \
                 keeps her records",
            ))
        }
    }
}

/// Rule 5: what a caller's statistics cover. Conditions are on the `project` and `referral`
/// tables, for the statistics queries to join and filter; `None` means everything.
#[derive(Debug, Clone, Copy)]
pub struct StatsScope {
    viewer: Viewer,
}

impl Principal {
    /// Rule 1: reference data that is no row of anyone's (the vocabularies and their labels)
    /// needs only an authenticated caller, whatever its scopes and organisation. Having a
    /// `Principal` is that proof, so this never refuses; it marks the decision here.
    pub fn may_read_reference_data(&self) -> ApiResult<()> {
        Ok(())
    }

    /// Rule 5: `stats:read`, then the caller's area. A token bound to a mother reads no
    /// statistics (rule 7): figures of her project are other mothers' work too.
    pub fn stats(&self) -> ApiResult<StatsScope> {
        self.require(Scope::read(Area::Stats))?;
        if self.own_work().is_some() {
            return Err(ApiError::forbidden(
                "a token bound to a mother reads no statistics",
            ));
        }
        Ok(StatsScope {
            viewer: self.viewer(),
        })
    }
}

impl StatsScope {
    /// Exact figures (no disclosure control): the secretariat only.
    pub fn exact(&self) -> bool {
        matches!(self.viewer, Viewer::Secretariat)
    }

    /// The projects whose mothers, training, visits and hours the figures count.
    pub fn projects(&self) -> Option<Condition> {
        projects(&self.viewer)
    }

    /// The referrals the figures count: those the caller sees as a party, and those of the
    /// projects in its area.
    pub fn referrals(&self) -> Option<Condition> {
        let parties = referrals(&self.viewer)?;
        let own_projects = under::<project::Entity, _>(
            referral::Column::ProjectId,
            project::Column::Id,
            &self.viewer,
        )?;
        Some(Condition::any().add(parties).add(own_projects))
    }

    /// The referrals waiting for the caller's answer: addressed to it (everyone's for the
    /// secretariat).
    pub fn awaiting_answer(&self) -> Option<Condition> {
        self.viewer
            .organisation()
            .map(|org| Condition::all().add(referral::Column::ReceiverOrganisationId.eq(org)))
    }
}

/// The organisation rows are filtered for.
#[derive(Debug, Clone, Copy)]
pub enum Viewer {
    Secretariat,
    Ngo { id: Uuid },
    Municipality { id: Uuid, code: i32 },
}

impl Viewer {
    /// How rows are filtered for the organisation `id` of `kind` (with its municipality code).
    pub fn of(id: Uuid, kind: OrganisationKind, municipality_code: Option<i32>) -> Viewer {
        match (kind, municipality_code) {
            (OrganisationKind::Secretariat, _) => Viewer::Secretariat,
            (OrganisationKind::Municipality, Some(code)) => Viewer::Municipality { id, code },
            // A municipality without a code cannot exist (CHECK constraint); seeing it as an
            // NGO would only narrow its rows. [`referral_audience`] mirrors this.
            (OrganisationKind::Municipality, None) | (OrganisationKind::Ngo, _) => {
                Viewer::Ngo { id }
            }
        }
    }

    fn organisation(self) -> Option<Uuid> {
        match self {
            Viewer::Secretariat => None,
            Viewer::Ngo { id } | Viewer::Municipality { id, .. } => Some(id),
        }
    }
}

fn ids<E: EntityTrait>(column: E::Column, condition: Condition) -> SelectStatement {
    E::find()
        .select_only()
        .column(column)
        .filter(condition)
        .into_query()
}

/// The project rows (and statistics) `viewer` sees: operated or partnered in any role (NGO),
/// in its municipality or partnered in any role (municipality). A funder sees the project it
/// funds; what is under it needs [`run_projects`].
fn projects(viewer: &Viewer) -> Option<Condition> {
    project_rows(viewer, None)
}

/// The projects whose people (mothers, courses, visits, hours, participants, referrals)
/// `viewer` sees: as [`projects`], but a partnership counts only in the `partner` role —
/// a funder gets figures, not people.
fn run_projects(viewer: &Viewer) -> Option<Condition> {
    project_rows(viewer, Some(PartnerRole::Partner))
}

/// [`projects`] and [`run_projects`]: partnerships in `role`, or in any role for `None`.
fn project_rows(viewer: &Viewer, role: Option<PartnerRole>) -> Option<Condition> {
    let partnered = |org: Uuid| {
        let mut partnership = Condition::all().add(project_partner::Column::OrganisationId.eq(org));
        if let Some(role) = role {
            partnership = partnership.add(project_partner::Column::Role.eq(role));
        }
        project::Column::Id.in_subquery(ids::<project_partner::Entity>(
            project_partner::Column::ProjectId,
            partnership,
        ))
    };
    match *viewer {
        Viewer::Secretariat => None,
        Viewer::Ngo { id } => Some(
            Condition::any()
                .add(project::Column::OperatorOrganisationId.eq(id))
                .add(partnered(id)),
        ),
        Viewer::Municipality { id, code } => Some(
            Condition::any()
                .add(project::Column::MunicipalityCode.eq(code))
                .add(partnered(id)),
        ),
    }
}

/// Rows whose `column` points at a project whose people `viewer` sees ([`run_projects`]).
fn under_run<C: ColumnTrait>(column: C, viewer: &Viewer) -> Option<Condition> {
    run_projects(viewer).map(|run| {
        Condition::all().add(column.in_subquery(ids::<project::Entity>(project::Column::Id, run)))
    })
}

/// Rows whose `column` points at a row of `E` that `viewer` sees.
fn under<E: Scoped, C: ColumnTrait>(
    column: C,
    id: E::Column,
    viewer: &Viewer,
) -> Option<Condition> {
    E::visible(viewer)
        .map(|visible| Condition::all().add(column.in_subquery(ids::<E>(id, visible))))
}

fn referrals(viewer: &Viewer) -> Option<Condition> {
    match *viewer {
        Viewer::Secretariat => None,
        Viewer::Ngo { id } => {
            let project_codes = run_projects(viewer)
                .map(|run| ids::<project::Entity>(project::Column::MunicipalityCode, run));
            let mut condition =
                Condition::any().add(referral::Column::ReceiverOrganisationId.eq(id));
            if let Some(own) = under_run(referral::Column::ProjectId, viewer) {
                condition = condition.add(own);
            }
            if let Some(codes) = project_codes {
                condition = condition.add(
                    Condition::all()
                        .add(referral::Column::ReceiverOrganisationId.is_null())
                        .add(referral::Column::PoolMunicipalityCode.in_subquery(codes)),
                );
            }
            Some(requester_or_once_requested(id, condition))
        }
        Viewer::Municipality { id, code } => Some(requester_or_once_requested(
            id,
            Condition::any()
                .add(referral::Column::ReceiverOrganisationId.eq(id))
                .add(referral::Column::PoolMunicipalityCode.eq(code)),
        )),
    }
}

/// The requester sees its referrals from the first draft; every other party (receiver, pool,
/// the project's people) only once it was requested: a draft is the requester's own working
/// copy, written before consent may cover anyone else.
fn requester_or_once_requested(requester: Uuid, others: Condition) -> Condition {
    Condition::any()
        .add(referral::Column::RequesterOrganisationId.eq(requester))
        .add(
            Condition::all()
                .add(referral::Column::RequestedAt.is_not_null())
                .add(others),
        )
}

/// Participants on a referral `viewer` sees, as a correlated `EXISTS`. Not [`under`]'s
/// `IN (subquery)`: beside "registered by" it sits under an OR, where PostgreSQL cannot turn
/// `IN` into a semi-join and hashes every referral of the municipality (25 ms for one
/// participant at national scale); `EXISTS` probes `referral(participant_id)` per participant.
fn on_visible_referral(viewer: &Viewer) -> Option<Condition> {
    referral::Entity::visible(viewer).map(|visible| {
        let mut referrals = referral::Entity::find()
            .select_only()
            .expr(Expr::val(1))
            .filter(visible)
            .into_query();
        referrals.and_where(
            Expr::col(referral::Column::ParticipantId.as_column_ref())
                .equals(participant::Column::Id.as_column_ref()),
        );
        Condition::all().add(Expr::exists(referrals))
    })
}

fn participants(viewer: &Viewer) -> Option<Condition> {
    match *viewer {
        Viewer::Secretariat => None,
        Viewer::Ngo { id } => {
            let mut condition =
                Condition::any().add(participant::Column::RegisteredByOrganisationId.eq(id));
            for part in [
                under_run(participant::Column::ProjectId, viewer),
                on_visible_referral(viewer),
            ]
            .into_iter()
            .flatten()
            {
                condition = condition.add(part);
            }
            Some(condition)
        }
        Viewer::Municipality { id, .. } => {
            let mut condition =
                Condition::any().add(participant::Column::RegisteredByOrganisationId.eq(id));
            if let Some(part) = on_visible_referral(viewer) {
                condition = condition.add(part);
            }
            Some(condition)
        }
    }
}

/// Rule 2 in time for pushed notices: a referral reaches anyone but its requester (and the
/// secretariat) only from its request on, so the steps it took while still a draft (created,
/// marked in error or cancelled before it was sent) are told to the requester alone, even when
/// a subscriber reads the notice after the request made the referral visible to it. Webhooks
/// get this from [`referral_audience`] at write time; subscriptions resolve notices later.
pub fn hears_of_step(
    principal: &Principal,
    referral: &referral::Model,
    step: &entity::referral_event::Model,
) -> bool {
    let before_request = matches!(step.from_status, None | Some(ReferralStatus::Draft))
        && step.to_status != ReferralStatus::Requested;
    !before_request
        || principal.is_secretariat()
        || principal.organisation.id == referral.requester_organisation_id
}

/// Rule 5: the organisations whose tokens rule 2 lets read `referral` as it now stands, as a
/// condition on `organisation` rows. It is [`referrals`] turned around and must stay its exact
/// mirror (an integration test compares the two on every organisation and referral of the
/// authorization world):
/// - the secretariat; the requester; and only once it was requested (never a draft):
/// - the receiver;
/// - a municipality (with its code) whose pool the referral is in;
/// - an NGO (or a municipality without a code, seen as one) operating or partnering (in the
///   `partner` role, not as a funder) in the referral's project, or — while the referral is
///   unclaimed — in any project of its pool's municipality.
pub fn referral_audience(referral: &referral::Model) -> Condition {
    if referral.requested_at.is_none() {
        return Condition::any()
            .add(organisation::Column::Kind.eq(OrganisationKind::Secretariat))
            .add(organisation::Column::Id.eq(referral.requester_organisation_id));
    }
    let ngo_like = || {
        Condition::any()
            .add(organisation::Column::Kind.eq(OrganisationKind::Ngo))
            .add(
                Condition::all()
                    .add(organisation::Column::Kind.eq(OrganisationKind::Municipality))
                    .add(organisation::Column::MunicipalityCode.is_null()),
            )
    };
    // Operators and partners (not funders: `run_projects`) of the projects matching
    // `projects`, as an organisation filter.
    let running = |projects: Condition| {
        let operators =
            ids::<project::Entity>(project::Column::OperatorOrganisationId, projects.clone());
        let partners = ids::<project_partner::Entity>(
            project_partner::Column::OrganisationId,
            Condition::all()
                .add(project_partner::Column::Role.eq(PartnerRole::Partner))
                .add(
                    project_partner::Column::ProjectId
                        .in_subquery(ids::<project::Entity>(project::Column::Id, projects)),
                ),
        );
        Condition::all().add(ngo_like()).add(
            Condition::any()
                .add(organisation::Column::Id.in_subquery(operators))
                .add(organisation::Column::Id.in_subquery(partners)),
        )
    };
    let mut audience = Condition::any()
        .add(organisation::Column::Kind.eq(OrganisationKind::Secretariat))
        .add(organisation::Column::Id.eq(referral.requester_organisation_id));
    if let Some(receiver) = referral.receiver_organisation_id {
        audience = audience.add(organisation::Column::Id.eq(receiver));
    }
    if let Some(code) = referral.pool_municipality_code {
        audience = audience.add(
            Condition::all()
                .add(organisation::Column::Kind.eq(OrganisationKind::Municipality))
                .add(organisation::Column::MunicipalityCode.eq(code)),
        );
        if referral.receiver_organisation_id.is_none() {
            audience = audience.add(running(
                Condition::all().add(project::Column::MunicipalityCode.eq(code)),
            ));
        }
    }
    if let Some(project_id) = referral.project_id {
        audience = audience.add(running(
            Condition::all().add(project::Column::Id.eq(project_id)),
        ));
    }
    audience
}

/// Rule 5's rows: the organisation's own webhooks (all of them for the secretariat).
fn webhooks(viewer: &Viewer) -> Option<Condition> {
    viewer
        .organisation()
        .map(|org| Condition::all().add(webhook::Column::OrganisationId.eq(org)))
}

fn secretariat_only(viewer: &Viewer) -> Option<Condition> {
    match viewer {
        Viewer::Secretariat => None,
        // No row matches: the caller learns nothing, not even that rows exist.
        _ => Some(Condition::any()),
    }
}

macro_rules! scoped {
    ($($module:ident: $area:expr => |$viewer:ident| $rule:expr
        $(, own |$work:ident| $own:expr)?;)+) => {
        $(impl Scoped for $module::Entity {
            const AREA: Option<Area> = $area;
            fn visible($viewer: &Viewer) -> Option<Condition> {
                $rule
            }
            $(fn own_work($work: &OwnWork) -> Option<Condition> {
                Some(Condition::all().add($own))
            })?
        })+
    };
}

/// Rule 7: the women a mother supports — those she visited, and those she registered.
fn supported(work: &OwnWork) -> Condition {
    let visited = ids::<visit::Entity>(
        visit::Column::ParticipantId,
        Condition::all()
            .add(visit::Column::MotherId.eq(work.mother))
            .add(visit::Column::ParticipantId.is_not_null()),
    );
    Condition::any()
        .add(participant::Column::Id.in_subquery(visited))
        .add(participant::Column::RegisteredByMotherId.eq(work.mother))
}

/// Rule 7: rows whose `column` names one of the women she supports.
fn about_supported<C: ColumnTrait>(column: C, work: &OwnWork) -> Condition {
    Condition::all().add(column.in_subquery(ids::<participant::Entity>(
        participant::Column::Id,
        supported(work),
    )))
}

/// Rule 7: her own enrolments.
fn her_enrolments(work: &OwnWork) -> SelectStatement {
    ids::<enrolment::Entity>(
        enrolment::Column::Id,
        Condition::all().add(enrolment::Column::MotherId.eq(work.mother)),
    )
}

scoped! {
    municipality: None => |_viewer| None;
    organisation: None => |_viewer| None;
    service: None => |_viewer| None;
    service_language: None => |_viewer| None;
    service_area: None => |_viewer| None;
    service_location: None => |_viewer| None;
    opening_hours: None => |_viewer| None;
    service_contact: None => |_viewer| None;
    project: Some(Area::Projects) => |viewer| projects(viewer),
        own |work| project::Column::Id.eq(work.project);
    project_partner: Some(Area::Projects) => |viewer|
        under::<project::Entity, _>(project_partner::Column::ProjectId, project::Column::Id, viewer),
        own |work| project_partner::Column::ProjectId.eq(work.project);
    mother: Some(Area::Mothers) => |viewer| under_run(mother::Column::ProjectId, viewer),
        own |work| mother::Column::Id.eq(work.mother);
    mother_language: Some(Area::Mothers) => |viewer|
        under::<mother::Entity, _>(mother_language::Column::MotherId, mother::Column::Id, viewer),
        own |work| mother_language::Column::MotherId.eq(work.mother);
    volunteer_hours: Some(Area::Mothers) => |viewer|
        under_run(volunteer_hours::Column::ProjectId, viewer),
        own |work| volunteer_hours::Column::MotherId.eq(work.mother);
    course: Some(Area::Courses) => |viewer| under_run(course::Column::ProjectId, viewer),
        own |work| course::Column::Id.in_subquery(ids::<enrolment::Entity>(
            enrolment::Column::CourseId,
            Condition::all().add(enrolment::Column::MotherId.eq(work.mother)),
        ));
    enrolment: Some(Area::Courses) => |viewer|
        under::<course::Entity, _>(enrolment::Column::CourseId, course::Column::Id, viewer),
        own |work| enrolment::Column::MotherId.eq(work.mother);
    module_attendance: Some(Area::Courses) => |viewer|
        under::<enrolment::Entity, _>(module_attendance::Column::EnrolmentId, enrolment::Column::Id, viewer),
        own |work| module_attendance::Column::EnrolmentId.in_subquery(her_enrolments(work));
    visit: Some(Area::Visits) => |viewer| under_run(visit::Column::ProjectId, viewer),
        own |work| visit::Column::MotherId.eq(work.mother);
    visit_topic: Some(Area::Visits) => |viewer|
        under::<visit::Entity, _>(visit_topic::Column::VisitId, visit::Column::Id, viewer),
        own |work| visit_topic::Column::VisitId.in_subquery(ids::<visit::Entity>(
            visit::Column::Id,
            Condition::all().add(visit::Column::MotherId.eq(work.mother)),
        ));
    referral: Some(Area::Referrals) => |viewer| referrals(viewer);
    referral_event: Some(Area::Referrals) => |viewer|
        under::<referral::Entity, _>(referral_event::Column::ReferralId, referral::Column::Id, viewer);
    participant: Some(Area::Participants) => |viewer| participants(viewer),
        own |work| supported(work);
    participant_language: Some(Area::Participants) => |viewer|
        under::<participant::Entity, _>(participant_language::Column::ParticipantId, participant::Column::Id, viewer),
        own |work| about_supported(participant_language::Column::ParticipantId, work);
    consent: Some(Area::Participants) => |viewer|
        under::<participant::Entity, _>(consent::Column::ParticipantId, participant::Column::Id, viewer),
        own |work| about_supported(consent::Column::ParticipantId, work);
    api_client: Some(Area::Tokens) => |viewer| secretariat_only(viewer);
    client_credential: Some(Area::Tokens) => |viewer| secretariat_only(viewer);
    api_token: Some(Area::Tokens) => |viewer| secretariat_only(viewer);
    audit_event: Some(Area::Audit) => |viewer| secretariat_only(viewer);
    trusted_issuer: Some(Area::Tokens) => |viewer| secretariat_only(viewer);
    scope_ceiling: Some(Area::Tokens) => |viewer| secretariat_only(viewer);
    staff_member: Some(Area::Tokens) => |viewer| secretariat_only(viewer);
    questionnaire: Some(Area::Surveys) => |_viewer| None,
        own |_work| questionnaire::Column::Id.is_not_null();
    questionnaire_item: Some(Area::Surveys) => |_viewer| None,
        own |_work| questionnaire_item::Column::Id.is_not_null();
    questionnaire_text: Some(Area::Surveys) => |_viewer| None,
        own |_work| questionnaire_text::Column::Id.is_not_null();
    survey_round: Some(Area::Surveys) => |viewer| under_run(survey_round::Column::ProjectId, viewer),
        own |work| survey_round::Column::ProjectId.eq(work.project);
}

/// Webhooks, their deliveries and attempts: configuration of the referral area's
/// administrators (`referrals:admin`), per organisation (rule 5).
macro_rules! admin_scoped {
    ($($module:ident => |$viewer:ident| $rule:expr;)+) => {
        $(impl Scoped for $module::Entity {
            const AREA: Option<Area> = Some(Area::Referrals);
            const ACCESS: Access = Access::Admin;
            fn visible($viewer: &Viewer) -> Option<Condition> {
                $rule
            }
        })+
    };
}

admin_scoped! {
    webhook => |viewer| webhooks(viewer);
    webhook_delivery => |viewer|
        under::<webhook::Entity, _>(webhook_delivery::Column::WebhookId, webhook::Column::Id, viewer);
    webhook_attempt => |viewer|
        under::<webhook_delivery::Entity, _>(webhook_attempt::Column::DeliveryId, webhook_delivery::Column::Id, viewer);
}

impl Principal {
    /// Rule 5: registering and changing webhooks needs `referrals:admin`; which ones a caller
    /// may change is [`Scoped::visible`] of `webhook` (its own, or all for the secretariat).
    pub fn may_manage_webhooks(&self) -> ApiResult<()> {
        self.require(Scope {
            area: Area::Referrals,
            access: Access::Admin,
        })
    }
}

/// How much of a participant's personal data the principal may see (rule 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Disclosure {
    Nothing,
    /// Her pool profile only: languages, district, birth decade.
    PoolProfile,
    /// All of it.
    Everything,
}

/// How much of each participant's personal data the principal may see, decided for a whole
/// batch in at most two queries (none for the secretariat or without `participants:read`;
/// the second only for those the first did not allow in full).
pub struct PersonalData {
    db: Db,
    principal: Arc<Principal>,
}

impl BatchLoad for PersonalData {
    type Key = Uuid;
    type Value = Disclosure;

    fn new(db: Db, principal: Arc<Principal>) -> Self {
        Self { db, principal }
    }

    async fn load(
        &self,
        keys: Vec<Uuid>,
    ) -> ApiResult<std::collections::HashMap<Uuid, Disclosure>> {
        if !self.principal.has(Scope::read(Area::Participants)) {
            return Ok(keys.into_iter().map(|k| (k, Disclosure::Nothing)).collect());
        }
        let viewer = self.principal.viewer();
        let Some(org) = viewer.organisation() else {
            return Ok(keys
                .into_iter()
                .map(|k| (k, Disclosure::Everything))
                .collect());
        };
        let everything = self.ids(&personal_data_query(org, &keys)).await?;
        let rest: Vec<Uuid> = keys
            .iter()
            .copied()
            .filter(|k| !everything.contains(k))
            .collect();
        let pool = if rest.is_empty() {
            HashSet::new()
        } else {
            self.ids(&pool_profile_query(&viewer, org, &rest)).await?
        };
        Ok(keys
            .into_iter()
            .map(|k| {
                let disclosure = if everything.contains(&k) {
                    Disclosure::Everything
                } else if pool.contains(&k) {
                    Disclosure::PoolProfile
                } else {
                    Disclosure::Nothing
                };
                (k, disclosure)
            })
            .collect())
    }
}

impl PersonalData {
    async fn ids(&self, query: &SelectStatement) -> ApiResult<HashSet<Uuid>> {
        let rows = self.db.query_all(query).await?;
        rows.iter()
            .map(|row| Ok(row.try_get_by_index::<Uuid>(0)?))
            .collect()
    }
}

/// Rule 3's pool profile for an organisation, as one statement: which of `keys` are on a
/// pool referral still `REQUESTED` that it sees (rule 2) — unclaimed, or claimed by it. What
/// a pool needs to decide whether to take her on, before her consent covers anyone there.
/// Only pool referrals: an outbound referral's receiver reads her under her consent or not
/// at all, also when that consent was withdrawn before the referral was cancelled.
fn pool_profile_query(viewer: &Viewer, org: Uuid, keys: &[Uuid]) -> SelectStatement {
    let mut waiting = Condition::all()
        .add(referral::Column::ParticipantId.is_in(keys.iter().copied()))
        .add(referral::Column::Status.eq(ReferralStatus::Requested))
        .add(referral::Column::PoolMunicipalityCode.is_not_null())
        .add(
            Condition::any()
                .add(referral::Column::ReceiverOrganisationId.is_null())
                .add(referral::Column::ReceiverOrganisationId.eq(org)),
        );
    if let Some(visible) = referrals(viewer) {
        waiting = waiting.add(visible);
    }
    let mut query = ids::<referral::Entity>(referral::Column::ParticipantId, waiting);
    query.distinct();
    query
}

/// Rule 3 for an organisation as one statement: which of `keys` it may see the personal data
/// of. The participants it registered or whose project it operates (own), united with those
/// on a referral addressed to it for which they have a live consent to share with it
/// (shared). One round trip however the answer is made up; `UNION` (not `UNION ALL`) also
/// answers each participant once.
fn personal_data_query(org: Uuid, keys: &[Uuid]) -> SelectStatement {
    personal_data_of(org, Some(keys))
}

/// [`personal_data_query`] over `keys`, or over every participant when `None` (a search).
fn personal_data_of(org: Uuid, keys: Option<&[Uuid]>) -> SelectStatement {
    let among = |column: participant::Column| match keys {
        Some(keys) => Condition::all().add(column.is_in(keys.iter().copied())),
        None => Condition::all(),
    };
    let operated = ids::<project::Entity>(
        project::Column::Id,
        Condition::all().add(project::Column::OperatorOrganisationId.eq(org)),
    );
    let mut own = ids::<participant::Entity>(
        participant::Column::Id,
        among(participant::Column::Id).add(
            Condition::any()
                .add(participant::Column::RegisteredByOrganisationId.eq(org))
                .add(participant::Column::ProjectId.in_subquery(operated)),
        ),
    );
    // A correlated EXISTS, not `IN (consents of the organisation)`: with a prepared
    // statement PostgreSQL hashed every live consent to the municipality for each batch
    // (15-25 ms for an inbox page at national x10); EXISTS probes
    // `consent(participant_id, purpose)` per referral (about 1 ms).
    let mut consented = ids::<consent::Entity>(
        consent::Column::Id,
        Condition::all()
            .add(consent::Column::Purpose.eq(ConsentPurpose::ShareWithReceiver))
            .add(consent::Column::ReceiverOrganisationId.eq(org))
            .add(live_consent(crate::db::now())),
    );
    consented.and_where(
        Expr::col(consent::Column::ParticipantId.as_column_ref())
            .equals(referral::Column::ParticipantId.as_column_ref()),
    );
    let mut to_org = Condition::all();
    if let Some(keys) = keys {
        to_org = to_org.add(referral::Column::ParticipantId.is_in(keys.iter().copied()));
    }
    let shared = ids::<referral::Entity>(
        referral::Column::ParticipantId,
        to_org
            .add(referral::Column::ReceiverOrganisationId.eq(org))
            .add(Expr::exists(consented)),
    );
    own.union(UnionType::Distinct, shared);
    own
}

impl Principal {
    /// Rule 3 as a condition on `participant`, for a search on her personal data
    /// (`participants(filter: {firstNameContains})`): only the women whose personal data the
    /// caller may read can match, so a search never answers for the others. `FORBIDDEN`
    /// without `participants:read`; `None` (every row) for the secretariat.
    pub fn may_search_personal_data(&self) -> ApiResult<Option<Condition>> {
        self.require(Scope::read(Area::Participants))?;
        Ok(self.viewer().organisation().map(|org| {
            Condition::all().add(participant::Column::Id.in_subquery(personal_data_of(org, None)))
        }))
    }
}

/// Records that a search on her first name matched these participants: each match is a read
/// of her identity, whether or not the page shows the name.
pub fn searched_by_name(
    ctx: &Context<'_>,
    matches: impl IntoIterator<Item = Uuid>,
) -> ApiResult<()> {
    let log = audited_reads(ctx)?;
    for participant in matches {
        log.participant(participant, Category::Identity);
    }
    Ok(())
}

/// A consent that holds at `now`: not withdrawn, and its period (if any) not over. The one
/// definition of "live" for rule 3, for `REQUEST` and for `Consent.isLive`.
pub fn live_consent(now: chrono::DateTime<chrono::Utc>) -> Condition {
    Condition::all()
        .add(consent::Column::WithdrawnAt.is_null())
        .add(
            Condition::any()
                .add(consent::Column::ValidUntil.is_null())
                .add(consent::Column::ValidUntil.gt(now)),
        )
}

fn personal_data_refused() -> ApiError {
    ApiError::forbidden(
        "this participant's personal data is not shared with your organisation: it needs \
         participants:read and either a project your organisation operates, her registration by \
         your organisation, or her live consent to share with your organisation on a referral",
    )
}

/// The request's record of personal-data reads; without one (a subscription) rule 3 refuses.
fn audited_reads<'c>(ctx: &'c Context<'_>) -> ApiResult<&'c ReadLog> {
    ctx.read_log().ok_or_else(|| {
        ApiError::forbidden(
            "personal data is not pushed over subscriptions; query it over HTTP \
             (POST /graphql), where every read is audited",
        )
    })
}

/// How much of her personal data the caller may see (rule 3), batched per request.
async fn disclosure_of(ctx: &Context<'_>, participant: Uuid) -> ApiResult<Disclosure> {
    Ok(ctx
        .loader::<PersonalData>()?
        .load_one(participant)
        .await?
        .unwrap_or(Disclosure::Nothing))
}

/// Allows reading a participant's personal data of `category` (and records the read), or
/// refuses it.
pub async fn participant_personal_data(
    ctx: &Context<'_>,
    participant: Uuid,
    category: Category,
) -> ApiResult<()> {
    let log = audited_reads(ctx)?;
    let disclosure = disclosure_of(ctx, participant).await?;
    if disclosure != Disclosure::Everything {
        return Err(personal_data_refused());
    }
    log.participant(participant, category);
    Ok(())
}

/// Allows reading a free-text note about `participant` on a referral or a timeline event
/// that `author` wrote (and records the read, category `notes`), or refuses it: rule 3, or
/// the author itself (with `participants:read`), which keeps reading its own words after
/// her consent is withdrawn.
pub async fn referral_note(ctx: &Context<'_>, participant: Uuid, author: Uuid) -> ApiResult<()> {
    let log = audited_reads(ctx)?;
    let principal = ctx.principal()?;
    if principal.organisation.id == author && principal.has(Scope::read(Area::Participants)) {
        log.participant(participant, Category::Notes);
        return Ok(());
    }
    participant_personal_data(ctx, participant, Category::Notes).await
}

/// Allows reading a field of her pool profile (languages, district, birth decade) of
/// `category` (and records the read), or refuses it: rule 3's narrower clause.
pub async fn pool_profile(
    ctx: &Context<'_>,
    participant: Uuid,
    category: Category,
) -> ApiResult<()> {
    let log = audited_reads(ctx)?;
    let disclosure = disclosure_of(ctx, participant).await?;
    if disclosure == Disclosure::Nothing {
        return Err(ApiError::forbidden(
            "this participant's profile is not shared with your organisation: it needs \
             participants:read and either access to her personal data or a REQUESTED referral \
             about her that waits for your organisation's answer (unclaimed in a pool you see, \
             or claimed by you)",
        ));
    }
    log.participant(participant, category);
    Ok(())
}

/// How the viewer's organisation runs a project, for the field rules above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectRole {
    Operator,
    Partner,
}

/// The viewer's role in each project of a batch, in at most two queries. Internal: it decides
/// field rules and discloses nothing, so it needs no scope.
pub struct ProjectRoles {
    db: Db,
    principal: Arc<Principal>,
}

impl BatchLoad for ProjectRoles {
    type Key = Uuid;
    type Value = ProjectRole;

    fn new(db: Db, principal: Arc<Principal>) -> Self {
        Self { db, principal }
    }

    async fn load(
        &self,
        keys: Vec<Uuid>,
    ) -> ApiResult<std::collections::HashMap<Uuid, ProjectRole>> {
        let Some(org) = self.principal.viewer().organisation() else {
            return Ok(Default::default());
        };
        let operated: Vec<Uuid> = project::Entity::find()
            .select_only()
            .column(project::Column::Id)
            .filter(project::Column::Id.is_in(keys.iter().copied()))
            .filter(project::Column::OperatorOrganisationId.eq(org))
            .into_tuple()
            .all(&self.db)
            .await?;
        // A funder has no role here: it gets figures, not people.
        let partnered: Vec<Uuid> = project_partner::Entity::find()
            .select_only()
            .column(project_partner::Column::ProjectId)
            .filter(project_partner::Column::ProjectId.is_in(keys))
            .filter(project_partner::Column::OrganisationId.eq(org))
            .filter(project_partner::Column::Role.eq(PartnerRole::Partner))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(partnered
            .into_iter()
            .map(|id| (id, ProjectRole::Partner))
            .chain(operated.into_iter().map(|id| (id, ProjectRole::Operator)))
            .collect())
    }
}

/// Whether the viewer may claim pool referrals of each municipality of a batch (rule 4: it
/// operates a project there and holds `referrals:write`), in one query.
pub struct PoolClaims {
    db: Db,
    principal: Arc<Principal>,
}

impl BatchLoad for PoolClaims {
    type Key = i32;
    type Value = bool;

    fn new(db: Db, principal: Arc<Principal>) -> Self {
        Self { db, principal }
    }

    async fn load(&self, keys: Vec<i32>) -> ApiResult<std::collections::HashMap<i32, bool>> {
        let org = self.principal.viewer().organisation();
        let (Some(org), true) = (org, self.principal.has(Scope::write(Area::Referrals))) else {
            return Ok(keys.into_iter().map(|k| (k, false)).collect());
        };
        let running: HashSet<i32> = project::Entity::find()
            .select_only()
            .column(project::Column::MunicipalityCode)
            .filter(project::Column::MunicipalityCode.is_in(keys.iter().copied()))
            .filter(project::Column::OperatorOrganisationId.eq(org))
            .into_tuple()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        Ok(keys
            .into_iter()
            .map(|k| (k, running.contains(&k)))
            .collect())
    }
}

/// Whether the viewer may claim the pool referrals of municipality `code`.
pub async fn may_claim_in(ctx: &Context<'_>, code: i32) -> ApiResult<bool> {
    Ok(ctx
        .loader::<PoolClaims>()?
        .load_one(code)
        .await?
        .unwrap_or(false))
}

/// The viewer's role in a project; the secretariat counts as operator of every project.
async fn role_in(ctx: &Context<'_>, project: Uuid) -> ApiResult<Option<ProjectRole>> {
    if ctx.principal()?.is_secretariat() {
        return Ok(Some(ProjectRole::Operator));
    }
    ctx.loader::<ProjectRoles>()?.load_one(project).await
}

/// Free-text notes on a visit: the secretariat or the operator of the visit's project.
pub async fn visit_notes(ctx: &Context<'_>, visit: &visit::Model) -> ApiResult<()> {
    let log = audited_reads(ctx)?;
    match role_in(ctx, visit.project_id).await? {
        Some(ProjectRole::Operator) => {
            log.visit_notes(visit.id, visit.participant_id);
            Ok(())
        }
        _ => Err(ApiError::forbidden(
            "visit notes are shared only with the organisation operating the project",
        )),
    }
}

/// A mother's contact details: the secretariat or an organisation running her project.
pub async fn mother_contact(ctx: &Context<'_>, mother: &mother::Model) -> ApiResult<()> {
    let log = audited_reads(ctx)?;
    match role_in(ctx, mother.project_id).await? {
        Some(_) => {
            log.mother(mother.id);
            Ok(())
        }
        None => Err(ApiError::forbidden(
            "a mother's contact details are shared only with the organisations running her project",
        )),
    }
}

/// Rule 8: a round's free-text answers: `surveys:read`, and the secretariat or the operator of
/// the round's project; each answer read is recorded (category `notes`).
pub async fn survey_free_text(
    ctx: &Context<'_>,
    round: &survey_round::Model,
    answers: &[Uuid],
) -> ApiResult<()> {
    let log = audited_reads(ctx)?;
    ctx.principal()?.require(Scope::read(Area::Surveys))?;
    match role_in(ctx, round.project_id).await? {
        Some(ProjectRole::Operator) => {
            for answer in answers {
                log.survey_answer(*answer);
            }
            Ok(())
        }
        _ => Err(ApiError::forbidden(
            "free-text survey answers are shared only with the organisation operating the \
             project (and the national secretariat)",
        )),
    }
}

impl Principal {
    /// Rule 8: only the secretariat, with `surveys:admin`, writes and publishes questionnaires.
    pub fn may_write_questionnaires(&self) -> ApiResult<()> {
        self.require(Scope {
            area: Area::Surveys,
            access: Access::Admin,
        })?;
        if self.is_secretariat() {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "only the national secretariat writes and publishes questionnaires",
            ))
        }
    }

    /// Rule 8: opening and closing a project's rounds is the operator's (or the
    /// secretariat's), with `surveys:write`; a mother-bound token answers, it does not run
    /// rounds. `NOT_FOUND` for a project the caller cannot see.
    pub async fn may_run_rounds(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        project_id: Uuid,
    ) -> ApiResult<project::Model> {
        self.may_write_in_project(db, Area::Surveys, project_id)
            .await
    }

    /// Rule 8: a response in a round of `project_id` for `mother_id`: the operator (or the
    /// secretariat) for any mother, a token bound to a mother for herself only.
    pub async fn may_record_response(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        project_id: Uuid,
        mother_id: Uuid,
    ) -> ApiResult<project::Model> {
        self.may_record_work(db, Area::Surveys, project_id, Some(mother_id))
            .await
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use entity::enums::{ReferralDirection, ReferralPriority, ServiceCategory, TimelineKind};
    use entity::{referral, referral_event};
    use uuid::Uuid;

    use super::{OrganisationKind, Principal, ReferralStatus, hears_of_step};
    use crate::auth::{OrganisationRef, ScopeSet};

    fn principal(id: Uuid, kind: OrganisationKind) -> Principal {
        let organisation = OrganisationRef {
            id,
            kind,
            municipality_code: Some(101),
        };
        Principal::new(
            Uuid::nil(),
            Uuid::nil(),
            organisation,
            ScopeSet::everything(),
        )
    }

    fn referral(requester: Uuid, receiver: Uuid) -> referral::Model {
        let now = Utc::now();
        referral::Model {
            id: Uuid::now_v7(),
            direction: ReferralDirection::Outbound,
            requester_organisation_id: requester,
            receiver_organisation_id: Some(receiver),
            pool_municipality_code: None,
            project_id: None,
            participant_id: Uuid::now_v7(),
            mother_id: None,
            visit_id: None,
            service_category: ServiceCategory::JobCentre,
            priority: ReferralPriority::Routine,
            service_id: None,
            status: ReferralStatus::Requested,
            status_reason: None,
            outcome: None,
            note: None,
            requested_at: Some(now),
            accepted_at: None,
            closed_at: None,
            version: 2,
            created_at: now,
            updated_at: now,
        }
    }

    fn step(from: Option<ReferralStatus>, to: ReferralStatus) -> referral_event::Model {
        let now = Utc::now();
        referral_event::Model {
            id: Uuid::now_v7(),
            referral_id: Uuid::now_v7(),
            sequence: 1,
            actor_organisation_id: Uuid::now_v7(),
            actor_client_id: None,
            from_status: from,
            to_status: to,
            kind: TimelineKind::Transition,
            reason: None,
            note: None,
            occurred_at: now,
            created_at: now,
        }
    }

    /// A receiver that reads the draft's first notice only after the request made the
    /// referral visible still does not hear of the draft; the request and what follows, yes.
    #[test]
    fn only_the_requester_hears_of_the_steps_before_the_request() {
        use ReferralStatus::{Accepted, Draft, EnteredInError, Requested};
        let (ngo, kommune) = (Uuid::now_v7(), Uuid::now_v7());
        let referral = referral(ngo, kommune);
        let requester = principal(ngo, OrganisationKind::Ngo);
        let receiver = principal(kommune, OrganisationKind::Municipality);
        let secretariat = principal(Uuid::now_v7(), OrganisationKind::Secretariat);
        let drafted = [step(None, Draft), step(Some(Draft), EnteredInError)];
        for step in &drafted {
            assert!(hears_of_step(&requester, &referral, step));
            assert!(hears_of_step(&secretariat, &referral, step));
            assert!(!hears_of_step(&receiver, &referral, step));
        }
        for step in [
            step(Some(Draft), Requested),
            step(Some(Requested), Accepted),
        ] {
            assert!(hears_of_step(&receiver, &referral, &step));
        }
    }
}
