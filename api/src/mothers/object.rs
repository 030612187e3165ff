//! The GraphQL fields of a mother: her project, her enrolments, her contact details (personal
//! data, audited). The type and the `mothers` query are in `mothers`; the fields here reach into
//! the areas they link to, so the area's own module imports none of them.

use crate::{
    auth::access,
    courses::Enrolment,
    ids::Kind,
    loaders::{load_by_id, load_children},
    projects::Project,
    vocabulary::MotherStatus,
};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::project;

use super::{EnrolmentsOfMother, LanguagesOfMother, Mother};

/// A volunteer neighbourhood mother in a project: trained on the basic course, then visiting
/// women (`mothers:read`). Her name is readable by every organisation that sees her project;
/// her contact details only by those running it.
#[Object]
impl Mother {
    /// The mother's global id.
    pub async fn id(&self) -> ID {
        Kind::Mother.id(self.0.id)
    }
    /// Her first name, as the project knows her.
    async fn first_name(&self) -> &str {
        &self.0.first_name
    }
    /// Her last name.
    async fn last_name(&self) -> &str {
        &self.0.last_name
    }
    /// Her phone number. Contact details: shared only with the secretariat and the
    /// organisations running her project, otherwise `null` with `FORBIDDEN`; every read is
    /// audited.
    async fn phone(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        access::mother_contact(ctx, &self.0).await?;
        Ok(self.0.phone.as_deref())
    }
    /// Her e-mail address. Contact details: shared only with the secretariat and the
    /// organisations running her project, otherwise `null` with `FORBIDDEN`; every read is
    /// audited.
    async fn email(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        access::mother_contact(ctx, &self.0).await?;
        Ok(self.0.email.as_deref())
    }
    /// Where she stands: in training, certified, active, inactive, left.
    async fn status(&self) -> MotherStatus {
        self.0.status.into()
    }
    /// The day she joined the project.
    async fn joined_on(&self) -> NaiveDate {
        self.0.joined_on
    }
    /// The day she left the project; `null` while she is in it.
    async fn left_on(&self) -> Option<NaiveDate> {
        self.0.left_on
    }
    /// Her corps: MOTHER, or FATHER for a neighbourhood father (who is a `Mother` in the
    /// API, a name partners depend on).
    async fn corps(&self) -> crate::vocabulary::Corps {
        self.0.corps.into()
    }
    /// Languages she speaks, as ISO 639 codes (e.g. `ar`, `so`, `da`).
    async fn languages(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<String>>> {
        let rows = load_children::<LanguagesOfMother>(ctx, self.0.id).await?;
        Ok(Some(rows.into_iter().map(|l| l.language).collect()))
    }
    /// The project she volunteers in.
    async fn project(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Project>> {
        Ok(load_by_id::<project::Entity>(ctx, self.0.project_id)
            .await?
            .map(Project))
    }
    /// Her places on training courses.
    async fn enrolments(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<Enrolment>>> {
        let rows = load_children::<EnrolmentsOfMother>(ctx, self.0.id).await?;
        Ok(Some(rows.into_iter().map(Enrolment).collect()))
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
