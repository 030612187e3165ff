//! The GraphQL fields of a participant and her consents: her personal data (each read through
//! rule 3 of `auth::access` and audited), her referrals and visits. The types and the
//! `participants` query are in `participants`; the fields here reach into the areas they link
//! to, so the area's own module imports none of them.

use crate::pagination::SortDirection;
use crate::{
    audit::Category,
    ids::Kind,
    loaders::{load_by_id, load_children},
    mothers::Mother,
    organisations::Organisation,
    pagination::{ListConnection, PageArgs},
    projects::Project,
    referrals::{self, Referral, ReferralFilter, ReferralOrder},
    visits::{self, Visit, VisitFilter, VisitOrder},
    vocabulary::{ConsentPurpose, ContactMethod},
};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::{mother, organisation, project};

use super::{Consent, ConsentsOfParticipant, LanguagesOfParticipant, Participant};

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
