//! Participants (the women the mothers support) and their consents.
//!
//! Pseudonymous by design: a generated pseudonym, never a CPR number. Name, birth year,
//! contact details and notes are special-category personal data; they are read only through
//! the access rules. A consent is specific (purpose, receiver), revocable and may end by
//! itself. Changes are [`write`] (data functions) and [`graphql`] (the mutations); her rights
//! over the whole record are [`export`] (access, portability) and [`erasure`]; [`retention`]
//! erases what is no longer needed.

pub mod erasure;
pub mod export;
pub mod graphql;
pub mod retention;
pub mod write;

pub use graphql::ParticipantMutation;

use crate::pagination::{SortDirection, name_contains};
use async_graphql::{Context, Enum, ID, InputObject, Json, Object};
use chrono::{DateTime, Utc};
use entity::{consent, mother, organisation, participant, project};
use sea_orm::{ColumnTrait, QueryFilter, Select};

use crate::{
    audit::Category,
    auth::{Principal, access},
    child_of,
    context::RequestContext,
    error::ApiResult,
    ids::{self, Kind},
    loaders::lookup,
    loaders::{load_by_id, load_children},
    mothers::Mother,
    organisations::Organisation,
    pagination::{ListConnection, Ordering, PageArgs, connection, updated_since},
    projects::Project,
    referrals::{self, Referral, ReferralFilter, ReferralOrder},
    visits::{self, Visit, VisitFilter, VisitOrder},
    vocabulary::{ConsentPurpose, ContactMethod},
    writes::in_transaction,
};

child_of!(LanguagesOfParticipant: participant_language by ParticipantId ordered by Language);
child_of!(ConsentsOfParticipant: consent by ParticipantId ordered by GivenAt);

/// A participant. Fields other than her pseudonym, project, registering organisation and
/// consents are personal data: they resolve only under the personal-data rule of
/// [`crate::auth::access`] (her languages, district and birth decade, her pool profile, also
/// under its narrower pool clause), and every read is audited.
pub struct Participant(pub participant::Model);

impl Participant {
    async fn personal(&self, ctx: &Context<'_>, category: Category) -> ApiResult<()> {
        access::participant_personal_data(ctx, self.0.id, category).await
    }

    /// Her pool profile: languages, district, birth decade.
    async fn profile(&self, ctx: &Context<'_>, category: Category) -> ApiResult<()> {
        access::pool_profile(ctx, self.0.id, category).await
    }
}

/// A woman the mothers support, registered only when a referral (or her wish to be contacted
/// again) needs it. Pseudonymous by design, never a CPR number. Her pseudonym, project,
/// registering organisation and consents are readable with `participants:read`; every other
/// field is personal data (special-category under GDPR): readable only by the organisations
/// running her project and, with her live consent, the receiver of a referral about her.
/// Otherwise such a field is `null` with a `FORBIDDEN` error; every read is audited.
#[Object]
impl Participant {
    /// Her global id.
    pub async fn id(&self) -> ID {
        Kind::Participant.id(self.0.id)
    }
    /// The generated pseudonym code by which the programme and partners refer to her.
    async fn pseudonym(&self) -> &str {
        &self.0.pseudonym
    }
    /// Her first name, if she gave it. Personal data: `null` with `FORBIDDEN` for a caller
    /// outside the personal-data rule; every read is audited.
    async fn first_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        self.personal(ctx, Category::Identity).await?;
        Ok(self.0.first_name.as_deref())
    }
    /// The year she was born. Personal data: `null` with `FORBIDDEN` for a caller outside the
    /// personal-data rule; every read is audited.
    async fn birth_year(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<i32>> {
        self.personal(ctx, Category::Identity).await?;
        Ok(self.0.birth_year)
    }
    /// How she prefers to be contacted. Personal data: `null` with `FORBIDDEN` for a caller
    /// outside the personal-data rule; every read is audited.
    async fn preferred_contact(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<ContactMethod>> {
        self.personal(ctx, Category::Contact).await?;
        Ok(self.0.preferred_contact.map(Into::into))
    }
    /// ISO 639 code of the language she prefers to be contacted in; `null` once she is erased.
    /// Personal data: `null` with `FORBIDDEN` for a caller outside the personal-data rule;
    /// every read is audited.
    async fn preferred_language(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        self.personal(ctx, Category::Contact).await?;
        // Kept after her erasure for the figures' LANGUAGE dimension only, never shown.
        Ok(self
            .0
            .preferred_language
            .as_deref()
            .filter(|_| self.0.erased_at.is_none()))
    }
    /// The decade she was born in (1980 for 1984): her pool profile, with her languages and
    /// district, which is all a pool sees of her before her consent covers it. Personal data:
    /// `null` with `FORBIDDEN` for a caller outside the personal-data rule (or the pool
    /// clause); every read is audited.
    async fn birth_decade(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<i32>> {
        self.profile(ctx, Category::Identity).await?;
        Ok(self.0.birth_year.map(|year| year - year.rem_euclid(10)))
    }
    /// ISO 639 codes of the languages she speaks. Pool profile (see `birthDecade`): `null`
    /// with `FORBIDDEN` outside the personal-data rule and the pool clause; reads are audited.
    async fn languages(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<String>>> {
        self.profile(ctx, Category::Languages).await?;
        let rows = load_children::<LanguagesOfParticipant>(ctx, self.0.id).await?;
        Ok(Some(rows.into_iter().map(|l| l.language).collect()))
    }
    /// Her phone number. Personal data: `null` with `FORBIDDEN` for a caller outside the
    /// personal-data rule; every read is audited.
    async fn phone(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        self.personal(ctx, Category::Contact).await?;
        Ok(self.0.phone.as_deref())
    }
    /// Her e-mail address. Personal data: `null` with `FORBIDDEN` for a caller outside the
    /// personal-data rule; every read is audited.
    async fn email(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        self.personal(ctx, Category::Contact).await?;
        Ok(self.0.email.as_deref())
    }
    /// The district she lives in (e.g. `Nørrebro`). Pool profile (see `birthDecade`):
    /// `null` with `FORBIDDEN` outside the personal-data rule and the pool clause; reads are
    /// audited.
    async fn district(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        self.profile(ctx, Category::District).await?;
        Ok(self.0.district.as_deref())
    }
    /// The receiving municipality's own case reference (never a CPR number). Personal data:
    /// `null` with `FORBIDDEN` for a caller outside the personal-data rule; every read is
    /// audited.
    async fn municipality_case_ref(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<&str>> {
        self.personal(ctx, Category::CaseRef).await?;
        Ok(self.0.municipality_case_ref.as_deref())
    }
    /// Free text about her, at most 4000 characters. Personal data: `null` with `FORBIDDEN` for
    /// a caller outside the personal-data rule; every read is audited.
    async fn notes(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        self.personal(ctx, Category::Notes).await?;
        Ok(self.0.notes.as_deref())
    }
    /// The project that registered her; `null` for a woman a municipality registered, also
    /// once a project claimed her pool referral (claiming never moves her into the project:
    /// the claimant reads her through the referral and her consent).
    async fn project(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Project>> {
        let Some(project) = self.0.project_id else {
            return Ok(None);
        };
        Ok(load_by_id::<project::Entity>(ctx, project)
            .await?
            .map(Project))
    }
    /// The organisation that registered her (a project's operator, or a referring
    /// municipality).
    async fn registered_by(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Organisation>> {
        let by = load_by_id::<organisation::Entity>(ctx, self.0.registered_by_organisation_id);
        Ok(by.await?.map(Organisation))
    }
    /// What she agreed to, oldest first, including withdrawn consents.
    async fn consents(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<Consent>>> {
        let rows = load_children::<ConsentsOfParticipant>(ctx, self.0.id).await?;
        Ok(Some(rows.into_iter().map(Consent).collect()))
    }
    /// The referrals about her that the caller sees, newest first (`filter.participantId`
    /// is hers whatever is given).
    #[allow(clippy::too_many_arguments)]
    async fn referrals(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Narrows the list; every condition given must hold. Left out: all referrals the token may see."
        )]
        filter: Option<ReferralFilter>,
        #[graphql(
            desc = "How the list is sorted, ties broken by id; a cursor works only in the order it came from. Left out: the value described as the default."
        )]
        order_by: Option<ReferralOrder>,
        #[graphql(
            desc = "The direction of `orderBy`: ASC (A to Z, oldest first) or DESC. Left out: the order's own direction, as its values describe; a cursor works only in the direction it came from."
        )]
        direction: Option<SortDirection>,
        #[graphql(
            desc = "The first this many items (after `after`): 0 to 100; 20 when neither `first` nor `last` is given."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "A cursor (`pageInfo.endCursor` or an edge's `cursor`) from this list in this order: the items after it."
        )]
        after: Option<String>,
        #[graphql(
            desc = "The last this many items (before `before`), for paging backwards: 0 to 100."
        )]
        last: Option<i32>,
        #[graphql(
            desc = "A cursor (`pageInfo.startCursor` or an edge's `cursor`) from this list in this order: the items before it."
        )]
        before: Option<String>,
    ) -> async_graphql::Result<Option<ListConnection<Referral>>> {
        let filter = ReferralFilter {
            participant_id: Some(Kind::Participant.id(self.0.id)),
            ..filter.unwrap_or_default()
        };
        let args = PageArgs::new(first, after, last, before).sorted(direction);
        Ok(Some(referrals::list(ctx, filter, order_by, args).await?))
    }
    /// The visits linked to her that the caller sees, most recent first.
    #[allow(clippy::too_many_arguments)]
    async fn visits(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Narrows the list; every condition given must hold. Left out: all visits the token may see."
        )]
        filter: Option<VisitFilter>,
        #[graphql(
            desc = "How the list is sorted, ties broken by id; a cursor works only in the order it came from. Left out: the value described as the default."
        )]
        order_by: Option<VisitOrder>,
        #[graphql(
            desc = "The direction of `orderBy`: ASC (A to Z, oldest first) or DESC. Left out: the order's own direction, as its values describe; a cursor works only in the direction it came from."
        )]
        direction: Option<SortDirection>,
        #[graphql(
            desc = "The first this many items (after `after`): 0 to 100; 20 when neither `first` nor `last` is given."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "A cursor (`pageInfo.endCursor` or an edge's `cursor`) from this list in this order: the items after it."
        )]
        after: Option<String>,
        #[graphql(
            desc = "The last this many items (before `before`), for paging backwards: 0 to 100."
        )]
        last: Option<i32>,
        #[graphql(
            desc = "A cursor (`pageInfo.startCursor` or an edge's `cursor`) from this list in this order: the items before it."
        )]
        before: Option<String>,
    ) -> async_graphql::Result<Option<ListConnection<Visit>>> {
        let filter = VisitFilter {
            participant_id: Some(Kind::Participant.id(self.0.id)),
            ..filter.unwrap_or_default()
        };
        let args = PageArgs::new(first, after, last, before).sorted(direction);
        Ok(Some(visits::list(ctx, filter, order_by, args).await?))
    }
    /// Send it back with `updateParticipant`; it grows by one with every change.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When her personal data was erased; from then on every personal field is `null` and
    /// nothing more is recorded about her.
    async fn erased_at(&self) -> Option<DateTime<Utc>> {
        self.0.erased_at
    }
    /// When she was registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When her record last changed (for incremental sync).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One consent: a purpose, for sharing also the receiving organisation; live until withdrawn.
pub struct Consent(pub consent::Model);

/// What a participant agreed to (sharing with one named receiver, being contacted), when,
/// recorded by whom, and when she withdrew it. Specific and revocable; a referral leaves DRAFT
/// only with her live consent to share with its receiver.
#[Object]
impl Consent {
    /// The consent's global id (`withdrawConsent(id:)`).
    pub async fn id(&self) -> ID {
        Kind::Consent.id(self.0.id)
    }
    /// What she agreed to.
    async fn purpose(&self) -> ConsentPurpose {
        self.0.purpose.into()
    }
    /// For SHARE_WITH_RECEIVER: the organisation she agreed to share her data with.
    async fn receiver(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        let Some(receiver) = self.0.receiver_organisation_id else {
            return Ok(None);
        };
        Ok(load_by_id::<organisation::Entity>(ctx, receiver)
            .await?
            .map(Organisation))
    }
    /// When she gave it: the recording time, or the date on the paper form (at most 92 days
    /// back).
    async fn given_at(&self) -> DateTime<Utc> {
        self.0.given_at
    }
    /// When she withdrew it; `null` while she has not. Withdrawing sharing cancels her open
    /// referrals to that receiver.
    async fn withdrawn_at(&self) -> Option<DateTime<Utc>> {
        self.0.withdrawn_at
    }
    /// The end of the period she agreed to; `null`: until withdrawn.
    async fn valid_until(&self) -> Option<DateTime<Utc>> {
        self.0.valid_until
    }
    /// True until the consent is withdrawn or its period ends.
    async fn is_live(&self) -> bool {
        self.0.withdrawn_at.is_none()
            && self
                .0
                .valid_until
                .is_none_or(|until| until > crate::db::now())
    }
    /// The mother who took it (on paper), when one did.
    async fn recorded_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Mother>> {
        let Some(mother) = self.0.recorded_by_mother_id else {
            return Ok(None);
        };
        Ok(load_by_id::<mother::Entity>(ctx, mother).await?.map(Mother))
    }
}

/// Conditions on the participants listed; every one given must hold.
#[derive(InputObject, Default)]
pub struct ParticipantFilter {
    /// Only participants registered by this project.
    pub project_id: Option<ID>,
    /// Exact pseudonym code.
    pub pseudonym: Option<String>,
    /// Only participants changed at or after this time (for incremental sync).
    pub updated_since: Option<DateTime<Utc>>,
    /// Only participants whose first name contains this text, ignoring case (1 to 100
    /// characters). Personal data: it matches only the women whose personal data your
    /// organisation may read (needs `participants:read`, otherwise `FORBIDDEN`), and every
    /// match is audited as a read of her identity.
    pub first_name_contains: Option<String>,
}

/// List order. UPDATED_AT is oldest change first, for incremental sync.
#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum ParticipantOrder {
    /// Most recently registered first (the default).
    #[default]
    CreatedAt,
    /// Oldest change first (`updatedAt`, then id): for incremental sync with `updatedSince`;
    /// a record changed while you page moves behind your cursor.
    UpdatedAt,
}

impl ParticipantOrder {
    fn ordering(self) -> Ordering<participant::Entity> {
        use participant::Column::{Id, UpdatedAt};
        match self {
            Self::CreatedAt => {
                Ordering::descending("created_at", participant::Column::CreatedAt, Id)
            }
            Self::UpdatedAt => Ordering::by_update(UpdatedAt, Id),
        }
    }
}

fn filtered(
    principal: &Principal,
    filter: ParticipantFilter,
) -> ApiResult<Select<participant::Entity>> {
    let mut query = principal.read::<participant::Entity>()?;
    if let Some(project) = filter.project_id {
        let project = ids::decode_as(&project, Kind::Project, "filter.projectId")?;
        query = query.filter(participant::Column::ProjectId.eq(project));
    }
    if let Some(pseudonym) = filter.pseudonym {
        crate::writes::displayable(&pseudonym, "filter.pseudonym", true)?;
        query = query.filter(participant::Column::Pseudonym.eq(pseudonym.trim().to_uppercase()));
    }
    if let Some(text) = filter.first_name_contains.as_deref() {
        if let Some(readable) = principal.may_search_personal_data()? {
            query = query.filter(readable);
        }
        let name = [participant::Column::FirstName];
        query = name_contains(query, &name, Some(text), "filter.firstNameContains")?;
    }
    Ok(updated_since(
        query,
        participant::Column::UpdatedAt,
        filter.updated_since,
    ))
}

#[derive(Default)]
pub struct ParticipantQuery;

#[Object]
impl ParticipantQuery {
    /// Participants, most recently registered first.
    #[allow(clippy::too_many_arguments)]
    async fn participants(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Narrows the list; every condition given must hold. Left out: all participants the token may see."
        )]
        filter: Option<ParticipantFilter>,
        #[graphql(
            desc = "How the list is sorted, ties broken by id; a cursor works only in the order it came from. Left out: the value described as the default."
        )]
        order_by: Option<ParticipantOrder>,
        #[graphql(
            desc = "The direction of `orderBy`: ASC (A to Z, oldest first) or DESC. Left out: the order's own direction, as its values describe; a cursor works only in the direction it came from."
        )]
        direction: Option<SortDirection>,
        #[graphql(
            desc = "The first this many items (after `after`): 0 to 100; 20 when neither `first` nor `last` is given."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "A cursor (`pageInfo.endCursor` or an edge's `cursor`) from this list in this order: the items after it."
        )]
        after: Option<String>,
        #[graphql(
            desc = "The last this many items (before `before`), for paging backwards: 0 to 100."
        )]
        last: Option<i32>,
        #[graphql(
            desc = "A cursor (`pageInfo.startCursor` or an edge's `cursor`) from this list in this order: the items before it."
        )]
        before: Option<String>,
    ) -> async_graphql::Result<Option<ListConnection<Participant>>> {
        let filter = filter.unwrap_or_default();
        let searched = filter.first_name_contains.is_some();
        let query = filtered(ctx.principal()?, filter)?;
        let ordering = order_by.unwrap_or_default().ordering();
        let args = PageArgs::new(first, after, last, before).sorted(direction);
        let page = connection(ctx.db()?, query, ordering, args, Participant).await?;
        if searched {
            access::searched_by_name(ctx, page.edges.iter().map(|edge| edge.node.0.id))?;
        }
        Ok(Some(page))
    }

    /// One participant by id (`participants:read`); `null` when there is none the token may
    /// see. Her personal fields follow her own rules.
    async fn participant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Her id (`Participant.id`).")] id: ID,
    ) -> async_graphql::Result<Option<Participant>> {
        Ok(lookup::<participant::Entity, _>(ctx, &id, Kind::Participant, Participant).await?)
    }

    /// Everything Bydel holds about her, as one JSON document (GDPR Art. 15 and 20): her
    /// fields, consents with their history, referrals with timelines and notes, the visits
    /// linked to her and every audit event about her. `format` names the document's
    /// version. Needs `participants:admin` (the secretariat, the operator of her project or
    /// the organisation that registered her); the export is itself audited.
    async fn participant_data_export(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Her id (`Participant.id`).")] participant_id: ID,
    ) -> async_graphql::Result<Option<Json<serde_json::Value>>> {
        let principal = ctx.principal()?;
        let id = ids::decode_as(&participant_id, Kind::Participant, "participantId")?;
        let actor = principal.actor(ctx.request_id());
        let document = in_transaction(ctx, async |txn| {
            export::export(txn, principal, &actor, id).await
        });
        Ok(Some(Json(document.await?)))
    }
}
