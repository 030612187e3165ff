//! Neighbourhood fathers beside the mothers (issue 17): a project runs a corps of mothers,
//! of fathers or both, with the same training, visits and referrals; every volunteer is a
//! `Mother` in the API (partners depend on the name) with a `corps`.
//!
//! Invariant: a volunteer's corps is one her project runs, checked when she is registered.

use entity::enums::{Corps, ProjectCorps};

use crate::error::{ApiError, ApiResult};

/// Whether a project running `project` takes a volunteer of `corps`.
pub fn runs(project: ProjectCorps, corps: Corps) -> bool {
    matches!(
        (project, corps),
        (ProjectCorps::Both, _)
            | (ProjectCorps::Mothers, Corps::Mother)
            | (ProjectCorps::Fathers, Corps::Father)
    )
}

/// `BAD_USER_INPUT` on `field` when the project does not run the volunteer's corps.
pub fn check_runs(project: ProjectCorps, corps: Corps, field: &str) -> ApiResult<()> {
    if runs(project, corps) {
        Ok(())
    } else {
        Err(ApiError::validation(
            field,
            "the project does not run this corps (see the project's `corps`)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_takes_the_corps_it_runs() {
        assert!(runs(ProjectCorps::Mothers, Corps::Mother));
        assert!(!runs(ProjectCorps::Mothers, Corps::Father));
        assert!(runs(ProjectCorps::Fathers, Corps::Father));
        assert!(!runs(ProjectCorps::Fathers, Corps::Mother));
        assert!(runs(ProjectCorps::Both, Corps::Father));
        assert!(runs(ProjectCorps::Both, Corps::Mother));
    }
}
