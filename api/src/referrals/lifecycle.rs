//! The referral lifecycle: which action moves a referral from which status to which, and
//! which side may take it. Pure (no database), so the whole table is unit-tested here and
//! every write path (`transitionReferral`, consent withdrawal) decides through [`decide`].
//!
//! The table (DESIGN.md, HL7 SDOH referral Task statuses):
//!
//! | action                  | side      | from                                            | to               | needs   |
//! | ----------------------- | --------- | ----------------------------------------------- | ---------------- | ------- |
//! | `REQUEST`               | requester | draft                                           | requested        |         |
//! | `CANCEL`                | requester | draft, requested, accepted, in_progress, on_hold | cancelled       | reason  |
//! | `MARK_ENTERED_IN_ERROR` | requester | every non-final status                          | entered_in_error |         |
//! | `ACCEPT`                | performer | requested                                       | accepted         |         |
//! | `REJECT`                | performer | requested                                       | rejected         | reason  |
//! | `START`                 | performer | accepted                                        | in_progress      |         |
//! | `HOLD`                  | performer | in_progress                                     | on_hold          |         |
//! | `RESUME`                | performer | on_hold                                         | in_progress      |         |
//! | `COMPLETE`              | performer | accepted, in_progress                           | completed        | outcome |
//! | `FAIL`                  | performer | accepted, in_progress, on_hold                  | failed           | reason  |
//!
//! Invariants and decisions:
//! - Final statuses (rejected, failed, completed, cancelled, entered_in_error) allow no action.
//! - The side is checked before the table: an action of the other side is `FORBIDDEN`
//!   whatever the status, so a party learns what it may do, not what the other side could.
//! - A reason is required for `REJECT`, `FAIL` and `CANCEL`, optional for
//!   `MARK_ENTERED_IN_ERROR` and refused for every other action; an outcome is required for
//!   `COMPLETE` and refused otherwise. A value that would be dropped silently is an error, so
//!   a client notices its mistake.
//! - Each action takes only its own reasons ([`Action::reasons`]), after the HL7 SDOH
//!   Clinical Care referral Task statuses: *rejected* is the performer deciding not to act
//!   before doing anything, *failed* work that was attempted and could not be done,
//!   *cancelled* the requester withdrawing, *entered-in-error* a referral that should never
//!   have existed. Another reason is `BAD_USER_INPUT` on `input.reason` listing the allowed
//!   ones:
//!
//!   | action                  | reasons                                                                 |
//!   | ----------------------- | ----------------------------------------------------------------------- |
//!   | `REJECT`                | no_capacity, not_eligible, referred_elsewhere, no_longer_interested, other |
//!   | `FAIL`                  | could_not_contact, not_eligible, no_longer_interested, other            |
//!   | `CANCEL`                | no_longer_interested, consent_withdrawn, referred_elsewhere, duplicate, other |
//!   | `MARK_ENTERED_IN_ERROR` | duplicate, other                                                        |
//!
//!   `could_not_contact` is a failure, not a rejection: trying to reach her is already work.
//!   `erased` belongs to no action: the system alone sets it, when her personal data is
//!   erased, and `consent_withdrawn` is also what withdrawing her consent writes; neither of
//!   those system moves goes through [`decide`].
//! - An organisation playing both sides (it refers to itself) may take every action.

use crate::{
    auth::access::ReferralSide,
    error::{ApiError, ApiResult},
};
use entity::enums::{ReferralOutcome, ReferralReason, ReferralStatus};

/// What a party does to a referral; each action has exactly one side and one target status.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[graphql(name = "ReferralAction")]
pub enum Action {
    /// Requester: send the draft to the receiver (needs her live consent to share with it).
    Request,
    /// Performer: take the referral on.
    Accept,
    /// Performer: decline it before doing anything (reason required: NO_CAPACITY,
    /// NOT_ELIGIBLE, REFERRED_ELSEWHERE, NO_LONGER_INTERESTED or OTHER).
    Reject,
    /// Performer: begin the work.
    Start,
    /// Performer: pause the work.
    Hold,
    /// Performer: continue after a hold.
    Resume,
    /// Performer: done (outcome required).
    Complete,
    /// Performer: attempted and could not be done (reason required: COULD_NOT_CONTACT,
    /// NOT_ELIGIBLE, NO_LONGER_INTERESTED or OTHER).
    Fail,
    /// Requester: withdraw the referral (reason required: NO_LONGER_INTERESTED,
    /// CONSENT_WITHDRAWN, REFERRED_ELSEWHERE, DUPLICATE or OTHER).
    Cancel,
    /// Requester: the referral should never have existed (reason optional: DUPLICATE or
    /// OTHER).
    MarkEnteredInError,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::Request,
        Action::Accept,
        Action::Reject,
        Action::Start,
        Action::Hold,
        Action::Resume,
        Action::Complete,
        Action::Fail,
        Action::Cancel,
        Action::MarkEnteredInError,
    ];

    /// The side that takes this action.
    pub fn side(self) -> ReferralSide {
        match self {
            Action::Request | Action::Cancel | Action::MarkEnteredInError => {
                ReferralSide::Requester
            }
            Action::Accept
            | Action::Reject
            | Action::Start
            | Action::Hold
            | Action::Resume
            | Action::Complete
            | Action::Fail => ReferralSide::Performer,
        }
    }

    /// The status the action leads to.
    pub fn target(self) -> ReferralStatus {
        use ReferralStatus as S;
        match self {
            Action::Request => S::Requested,
            Action::Accept => S::Accepted,
            Action::Reject => S::Rejected,
            Action::Start | Action::Resume => S::InProgress,
            Action::Hold => S::OnHold,
            Action::Complete => S::Completed,
            Action::Fail => S::Failed,
            Action::Cancel => S::Cancelled,
            Action::MarkEnteredInError => S::EnteredInError,
        }
    }

    /// Whether the table allows this action from `from` (whoever takes it).
    pub fn allowed_from(self, from: ReferralStatus) -> bool {
        use ReferralStatus as S;
        match self {
            Action::Request => from == S::Draft,
            Action::Accept | Action::Reject => from == S::Requested,
            Action::Start => from == S::Accepted,
            Action::Hold => from == S::InProgress,
            Action::Resume => from == S::OnHold,
            Action::Complete => matches!(from, S::Accepted | S::InProgress),
            Action::Fail => matches!(from, S::Accepted | S::InProgress | S::OnHold),
            Action::Cancel | Action::MarkEnteredInError => !is_final(from),
        }
    }

    /// The GraphQL spelling, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Action::Request => "REQUEST",
            Action::Accept => "ACCEPT",
            Action::Reject => "REJECT",
            Action::Start => "START",
            Action::Hold => "HOLD",
            Action::Resume => "RESUME",
            Action::Complete => "COMPLETE",
            Action::Fail => "FAIL",
            Action::Cancel => "CANCEL",
            Action::MarkEnteredInError => "MARK_ENTERED_IN_ERROR",
        }
    }

    /// The reasons this action accepts (module doc), in the order messages list them; empty
    /// for an action that takes none.
    pub fn reasons(self) -> &'static [ReferralReason] {
        use ReferralReason as R;
        match self {
            Action::Reject => &[
                R::NoCapacity,
                R::NotEligible,
                R::ReferredElsewhere,
                R::NoLongerInterested,
                R::Other,
            ],
            Action::Fail => &[
                R::CouldNotContact,
                R::NotEligible,
                R::NoLongerInterested,
                R::Other,
            ],
            Action::Cancel => &[
                R::NoLongerInterested,
                R::ConsentWithdrawn,
                R::ReferredElsewhere,
                R::Duplicate,
                R::Other,
            ],
            Action::MarkEnteredInError => &[R::Duplicate, R::Other],
            Action::Request
            | Action::Accept
            | Action::Start
            | Action::Hold
            | Action::Resume
            | Action::Complete => &[],
        }
    }

    /// Whether the action needs a reason (`false`: optional or refused, see [`Self::reasons`]).
    pub fn reason_required(self) -> bool {
        self.reason_rule() == Need::Required
    }

    fn reason_rule(self) -> Need {
        match self {
            Action::Reject | Action::Fail | Action::Cancel => Need::Required,
            Action::MarkEnteredInError => Need::Optional,
            _ => Need::Refused,
        }
    }

    fn outcome_rule(self) -> Need {
        match self {
            Action::Complete => Need::Required,
            _ => Need::Refused,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Required,
    Optional,
    Refused,
}

/// Statuses that end a referral: nothing follows them.
pub fn is_final(status: ReferralStatus) -> bool {
    use ReferralStatus as S;
    matches!(
        status,
        S::Rejected | S::Failed | S::Completed | S::Cancelled | S::EnteredInError
    )
}

/// The non-final statuses, i.e. the referrals still open (cancelled on consent withdrawal).
pub const OPEN: [ReferralStatus; 5] = [
    ReferralStatus::Draft,
    ReferralStatus::Requested,
    ReferralStatus::Accepted,
    ReferralStatus::InProgress,
    ReferralStatus::OnHold,
];

/// The status spelled as in the GraphQL enum, for messages.
pub fn status_name(status: ReferralStatus) -> &'static str {
    use ReferralStatus as S;
    match status {
        S::Draft => "DRAFT",
        S::Requested => "REQUESTED",
        S::Accepted => "ACCEPTED",
        S::Rejected => "REJECTED",
        S::InProgress => "IN_PROGRESS",
        S::OnHold => "ON_HOLD",
        S::Failed => "FAILED",
        S::Completed => "COMPLETED",
        S::Cancelled => "CANCELLED",
        S::EnteredInError => "ENTERED_IN_ERROR",
    }
}

/// The reason spelled as in the GraphQL enum, for messages.
pub fn reason_name(reason: ReferralReason) -> &'static str {
    use ReferralReason as R;
    match reason {
        R::CouldNotContact => "COULD_NOT_CONTACT",
        R::NotEligible => "NOT_ELIGIBLE",
        R::NoCapacity => "NO_CAPACITY",
        R::NoLongerInterested => "NO_LONGER_INTERESTED",
        R::ReferredElsewhere => "REFERRED_ELSEWHERE",
        R::ConsentWithdrawn => "CONSENT_WITHDRAWN",
        R::Duplicate => "DUPLICATE",
        R::Other => "OTHER",
    }
}

/// The actions `sides` may take from `from`, in table order (for error messages).
pub fn allowed_actions(from: ReferralStatus, sides: &[ReferralSide]) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|a| sides.contains(&a.side()) && a.allowed_from(from))
        .collect()
}

/// A transition that passed the table and the input rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: ReferralStatus,
    pub to: ReferralStatus,
    pub reason: Option<ReferralReason>,
    pub outcome: Option<ReferralOutcome>,
}

/// Decides whether a party playing `sides` may take `action` on a referral in `from` with
/// this `reason` and `outcome`: `FORBIDDEN` (wrong side), `INVALID_TRANSITION` (the table
/// names from, to and the allowed actions) or `BAD_USER_INPUT` on `input.reason` /
/// `input.outcome`, in that order.
pub fn decide(
    from: ReferralStatus,
    action: Action,
    sides: &[ReferralSide],
    reason: Option<ReferralReason>,
    outcome: Option<ReferralOutcome>,
) -> ApiResult<Transition> {
    let to = action.target();
    if !sides.contains(&action.side()) {
        let side = match action.side() {
            ReferralSide::Requester => "the requesting organisation",
            ReferralSide::Performer => "the receiving organisation (performer)",
        };
        return Err(ApiError::forbidden(format!(
            "{} is taken only by {side} of the referral",
            action.name()
        )));
    }
    if !action.allowed_from(from) {
        let allowed: Vec<&str> = allowed_actions(from, sides)
            .into_iter()
            .map(Action::name)
            .collect();
        let allowed = if allowed.is_empty() {
            "none".to_owned()
        } else {
            allowed.join(", ")
        };
        return Err(ApiError::InvalidTransition(format!(
            "{} cannot move a referral from {} to {}; allowed actions from {} for you: {allowed}",
            action.name(),
            status_name(from),
            status_name(to),
            status_name(from),
        )));
    }
    check_value(
        action,
        "input.reason",
        ("a", "reason"),
        action.reason_rule(),
        reason,
    )?;
    if let Some(reason) = reason
        && !action.reasons().is_empty()
        && !action.reasons().contains(&reason)
    {
        let allowed: Vec<&str> = action.reasons().iter().copied().map(reason_name).collect();
        return Err(ApiError::validation(
            "input.reason",
            format!(
                "{} does not take the reason {}; allowed reasons: {}",
                action.name(),
                reason_name(reason),
                allowed.join(", ")
            ),
        ));
    }
    check_value(
        action,
        "input.outcome",
        ("an", "outcome"),
        action.outcome_rule(),
        outcome,
    )?;
    Ok(Transition {
        from,
        to,
        reason,
        outcome,
    })
}

fn check_value<T>(
    action: Action,
    field: &str,
    (article, noun): (&str, &str),
    need: Need,
    value: Option<T>,
) -> ApiResult<()> {
    match (need, value.is_some()) {
        (Need::Required, false) => Err(ApiError::validation(
            field,
            format!("{} needs {article} {noun}", action.name()),
        )),
        (Need::Refused, true) => Err(ApiError::validation(
            field,
            format!("{} takes no {noun}", action.name()),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReferralStatus as S;
    use sea_orm::Iterable;

    /// The table of the module doc, written out independently: (action, from statuses).
    fn expected(action: Action) -> &'static [ReferralStatus] {
        match action {
            Action::Request => &[S::Draft],
            Action::Accept | Action::Reject => &[S::Requested],
            Action::Start => &[S::Accepted],
            Action::Hold => &[S::InProgress],
            Action::Resume => &[S::OnHold],
            Action::Complete => &[S::Accepted, S::InProgress],
            Action::Fail => &[S::Accepted, S::InProgress, S::OnHold],
            Action::Cancel | Action::MarkEnteredInError => &[
                S::Draft,
                S::Requested,
                S::Accepted,
                S::InProgress,
                S::OnHold,
            ],
        }
    }

    /// Inputs that satisfy the action's reason/outcome rule.
    fn inputs(action: Action) -> (Option<ReferralReason>, Option<ReferralOutcome>) {
        match action {
            Action::Reject | Action::Fail | Action::Cancel => (Some(ReferralReason::Other), None),
            Action::Complete => (None, Some(ReferralOutcome::ServiceProvided)),
            _ => (None, None),
        }
    }

    #[test]
    fn every_status_action_and_side() {
        let sides = [ReferralSide::Requester, ReferralSide::Performer];
        for from in S::iter() {
            for action in Action::ALL {
                for side in sides {
                    let (reason, outcome) = inputs(action);
                    let result = decide(from, action, &[side], reason, outcome);
                    let case = format!("{action:?} from {from:?} by {side:?}");
                    if side != action.side() {
                        assert_eq!(result.unwrap_err().code(), "FORBIDDEN", "{case}");
                    } else if expected(action).contains(&from) {
                        let t = result.unwrap_or_else(|e| panic!("{case}: {e}"));
                        assert_eq!((t.from, t.to), (from, action.target()), "{case}");
                    } else {
                        let err = result.unwrap_err();
                        assert_eq!(err.code(), "INVALID_TRANSITION", "{case}");
                        let text = err.to_string();
                        assert!(text.contains(status_name(from)), "{case}: {text}");
                        assert!(
                            text.contains(status_name(action.target())),
                            "{case}: {text}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn final_statuses_allow_nothing_and_open_ones_something() {
        let both = [ReferralSide::Requester, ReferralSide::Performer];
        for status in S::iter() {
            assert_eq!(is_final(status), !OPEN.contains(&status), "{status:?}");
            assert_eq!(
                allowed_actions(status, &both).is_empty(),
                is_final(status),
                "{status:?}"
            );
        }
    }

    #[test]
    fn both_sides_may_take_every_allowed_action() {
        let both = [ReferralSide::Requester, ReferralSide::Performer];
        let (reason, outcome) = inputs(Action::Accept);
        assert!(decide(S::Requested, Action::Accept, &both, reason, outcome).is_ok());
        assert_eq!(
            allowed_actions(S::Requested, &both),
            [
                Action::Accept,
                Action::Reject,
                Action::Cancel,
                Action::MarkEnteredInError
            ]
        );
    }

    #[test]
    fn invalid_transition_names_the_allowed_actions() {
        let err = decide(
            S::Accepted,
            Action::Accept,
            &[ReferralSide::Performer],
            None,
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "ACCEPT cannot move a referral from ACCEPTED to ACCEPTED; allowed actions from \
             ACCEPTED for you: START, COMPLETE, FAIL"
        );
        let err = decide(
            S::Completed,
            Action::Cancel,
            &[ReferralSide::Requester],
            Some(ReferralReason::Other),
            None,
        )
        .unwrap_err();
        assert!(err.to_string().ends_with("for you: none"), "{err}");
    }

    /// The reason table of the module doc, written out independently.
    #[test]
    fn each_action_takes_its_own_reasons() {
        use ReferralReason as R;
        let performer = [ReferralSide::Performer];
        let requester = [ReferralSide::Requester];
        let table: [(Action, S, &[ReferralSide], &[R]); 4] = [
            (
                Action::Reject,
                S::Requested,
                &performer,
                &[
                    R::NoCapacity,
                    R::NotEligible,
                    R::ReferredElsewhere,
                    R::NoLongerInterested,
                    R::Other,
                ],
            ),
            (
                Action::Fail,
                S::InProgress,
                &performer,
                &[
                    R::CouldNotContact,
                    R::NotEligible,
                    R::NoLongerInterested,
                    R::Other,
                ],
            ),
            (
                Action::Cancel,
                S::Accepted,
                &requester,
                &[
                    R::NoLongerInterested,
                    R::ConsentWithdrawn,
                    R::ReferredElsewhere,
                    R::Duplicate,
                    R::Other,
                ],
            ),
            (
                Action::MarkEnteredInError,
                S::Requested,
                &requester,
                &[R::Duplicate, R::Other],
            ),
        ];
        for (action, from, sides, allowed) in table {
            for reason in R::iter() {
                let result = decide(from, action, sides, Some(reason), None);
                if allowed.contains(&reason) {
                    assert_eq!(result.expect("allowed").reason, Some(reason));
                } else {
                    let err = result.unwrap_err();
                    assert_eq!(err.code(), "BAD_USER_INPUT", "{action:?} {reason:?}");
                    let text = err.to_string();
                    assert!(text.starts_with("input.reason: "), "{text}");
                    for name in allowed.iter().copied().map(reason_name) {
                        assert!(text.contains(name), "{text} lists {name}");
                    }
                }
            }
        }
        let err = decide(
            S::Requested,
            Action::Reject,
            &performer,
            Some(R::ConsentWithdrawn),
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "input.reason: REJECT does not take the reason CONSENT_WITHDRAWN; allowed reasons: \
             NO_CAPACITY, NOT_ELIGIBLE, REFERRED_ELSEWHERE, NO_LONGER_INTERESTED, OTHER"
        );
    }

    #[test]
    fn reasons_and_outcomes() {
        let performer = [ReferralSide::Performer];
        let requester = [ReferralSide::Requester];
        let missing = |from, action, sides: &[ReferralSide], field: &str| {
            let err = decide(from, action, sides, None, None).unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT", "{action:?}");
            assert!(err.to_string().starts_with(field), "{err}");
        };
        missing(S::Requested, Action::Reject, &performer, "input.reason");
        missing(S::OnHold, Action::Fail, &performer, "input.reason");
        missing(S::Draft, Action::Cancel, &requester, "input.reason");
        missing(S::InProgress, Action::Complete, &performer, "input.outcome");
        // Optional for entered-in-error, kept when given.
        let t = decide(
            S::Requested,
            Action::MarkEnteredInError,
            &requester,
            Some(ReferralReason::Duplicate),
            None,
        )
        .unwrap();
        assert_eq!(t.reason, Some(ReferralReason::Duplicate));
        assert!(
            decide(
                S::Requested,
                Action::MarkEnteredInError,
                &requester,
                None,
                None
            )
            .is_ok()
        );
        // Refused where it would be dropped.
        let err = decide(
            S::Requested,
            Action::Accept,
            &performer,
            Some(ReferralReason::Other),
            None,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "input.reason: ACCEPT takes no reason");
        let err = decide(
            S::Accepted,
            Action::Fail,
            &performer,
            Some(ReferralReason::Other),
            Some(ReferralOutcome::Other),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "input.outcome: FAIL takes no outcome");
    }
}
