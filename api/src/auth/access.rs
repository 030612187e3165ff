//! Row scoping: the only place that decides which rows of which table a principal may read.
//!
//! `principal.read::<E>()` checks the scope the entity's area needs and returns a `Select`
//! already filtered to the caller's rows; list queries, loaders, `node` and counts all start
//! from it, so there is no way to reach a table that skips these rules.
//!
//! Current rule set: the secretariat sees every row; other organisations are refused until
//! per-organisation scoping lands (a token is then told so with `FORBIDDEN`).

use entity::{
    api_client, api_token, audit_event, consent, course, enrolment, module_attendance, mother,
    mother_language, municipality, organisation, participant, participant_language, project,
    project_partner, referral, referral_event, visit, visit_topic, volunteer_hours,
};
use sea_orm::{EntityTrait, Select};

use super::{Area, Principal, Scope};
use crate::error::{ApiError, ApiResult};

/// A table whose rows are read through the access rules.
pub trait Scoped: EntityTrait {
    /// The area whose `read` scope is needed to see any row; `None` for reference data that
    /// every authenticated caller may read.
    const AREA: Option<Area>;

    /// The rows `principal` may see, assuming its scope was checked.
    fn rows(principal: &Principal) -> ApiResult<Select<Self>>;
}

impl Principal {
    /// The rows of `E` this principal may read: scope check, then row filter.
    pub fn read<E: Scoped>(&self) -> ApiResult<Select<E>> {
        if let Some(area) = E::AREA {
            self.require(Scope::read(area))?;
        }
        E::rows(self)
    }
}

fn whole_table_for_secretariat<E: EntityTrait>(principal: &Principal) -> ApiResult<Select<E>> {
    if principal.is_secretariat() {
        Ok(E::find())
    } else {
        Err(ApiError::forbidden(
            "only secretariat tokens can read data in this release; municipality and NGO tokens \
             get per-organisation access in the next one",
        ))
    }
}

macro_rules! secretariat_scoped {
    ($($module:ident => $area:expr),+ $(,)?) => {
        $(impl Scoped for $module::Entity {
            const AREA: Option<Area> = $area;
            fn rows(principal: &Principal) -> ApiResult<Select<Self>> {
                whole_table_for_secretariat(principal)
            }
        })+
    };
}

secretariat_scoped! {
    municipality => None,
    organisation => None,
    project => Some(Area::Projects),
    project_partner => Some(Area::Projects),
    mother => Some(Area::Mothers),
    mother_language => Some(Area::Mothers),
    volunteer_hours => Some(Area::Mothers),
    course => Some(Area::Courses),
    enrolment => Some(Area::Courses),
    module_attendance => Some(Area::Courses),
    participant => Some(Area::Participants),
    participant_language => Some(Area::Participants),
    consent => Some(Area::Participants),
    visit => Some(Area::Visits),
    visit_topic => Some(Area::Visits),
    referral => Some(Area::Referrals),
    referral_event => Some(Area::Referrals),
    api_client => Some(Area::Tokens),
    api_token => Some(Area::Tokens),
    audit_event => Some(Area::Audit),
}
