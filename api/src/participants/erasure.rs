//! Erasure (GDPR Art. 17): her personal data and every free text about her go; the
//! pseudonymous rows that the statistics count stay, so no published figure moves.
//!
//! What one erasure does, in the caller's transaction (all of it or nothing):
//! - empties every personal field of her row (name, birth year, contact details, district,
//!   case reference, notes, languages) and gives her a fresh pseudonym `ER-XXXX-XXXX`, so a
//!   pseudonym on a paper form or in another system no longer leads to what is left;
//! - keeps her row id, project, registering organisation, registration time and preferred
//!   language code: the keys and the one attribute the figures group by (LANGUAGE);
//! - withdraws every live consent and cancels her open referrals (`CONSENT_WITHDRAWN`, one
//!   timeline event each, webhooks and subscriptions told by id as for any cancellation);
//! - empties the notes of her referrals, of their timeline events and of the visits linked
//!   to her, and forgets the stored answers of idempotent requests that mention her;
//! - writes one audit event: an erasure happened, by whom, why — never her data.
//!
//! Invariants: irreversible (`erased_at` is never cleared; nothing is recorded about her
//! afterwards, see [`super::write::not_erased`]); idempotent (erasing her again answers her
//! as she is and writes nothing); the row is claimed by its version first, so a concurrent
//! rectification and an erasure cannot interleave.

use entity::{
    consent, enums::AuditAction, idempotency_key, participant, participant_language, referral,
    referral_event, visit,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, LikeExpr},
};
use uuid::Uuid;

use super::write::{PSEUDONYM_ALPHABET, not_erased};
use crate::{
    audit::{self, Event},
    error::{ApiError, ApiResult},
    ids::Kind,
    referrals::write::{Writer, cancel_for_erasure},
    writes::{displayable, optional_text},
};

/// The longest reason for an erasure, in characters: a reference (a request's case number,
/// "retention"), not a story.
pub const REASON_CHARS: usize = 200;

/// Erases her (`eraseParticipant`, `bydel participant erase`). Needs
/// [`Principal::may_administer_participant`](crate::auth::Principal::may_administer_participant).
/// The reason is kept in the audit trail, so it may not repeat her personal data.
#[tracing::instrument(skip_all, fields(participant = %id))]
pub async fn erase(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    id: Uuid,
    reason: &str,
) -> ApiResult<participant::Model> {
    let participant = by.principal.may_administer_participant(db, id).await?;
    if participant.erased_at.is_some() {
        return Ok(participant);
    }
    let reason = recorded_reason(reason, &participant)?;
    erase_now(db, by, participant, &reason).await
}

/// The reason as the audit trail keeps it: required, at most [`REASON_CHARS`], and without
/// any of her personal values (her name, phone, e-mail, case reference).
fn recorded_reason(reason: &str, participant: &participant::Model) -> ApiResult<String> {
    let Some(reason) = optional_text(Some(reason), "reason", REASON_CHARS)? else {
        return Err(ApiError::validation(
            "reason",
            "say why she is erased (e.g. the request's case number)",
        ));
    };
    displayable(&reason, "reason", false)?;
    let lower = reason.to_lowercase();
    let digits: String = reason.chars().filter(char::is_ascii_digit).collect();
    let words = [
        &participant.first_name,
        &participant.email,
        &participant.municipality_case_ref,
    ];
    let repeats_a_word = words
        .into_iter()
        .flatten()
        .any(|value| value.chars().count() >= 2 && lower.contains(&value.to_lowercase()));
    let phone: Option<String> = participant
        .phone
        .as_ref()
        .map(|p| p.chars().filter(char::is_ascii_digit).collect());
    // The subscriber number (the last eight digits) without any country code in front.
    let repeats_her_phone =
        phone.is_some_and(|p| p.len() >= 6 && digits.contains(&p[p.len().saturating_sub(8)..]));
    if repeats_a_word || repeats_her_phone {
        return Err(ApiError::validation(
            "reason",
            "the reason is kept in the audit trail and must not repeat her personal data",
        ));
    }
    Ok(reason)
}

/// Erases `participant`, whom the caller may erase and who is not erased yet (the module
/// doc says what goes and what stays). The retention sweep calls it directly.
pub async fn erase_now(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    participant: participant::Model,
    reason: &str,
) -> ApiResult<participant::Model> {
    not_erased(&participant)?;
    let id = participant.id;
    let now = crate::db::now();
    let needles = needles(&participant);
    let mut row: participant::ActiveModel = participant.clone().into();
    row.pseudonym = Set(erased_pseudonym()?);
    row.first_name = Set(None);
    row.birth_year = Set(None);
    row.preferred_contact = Set(None);
    row.phone = Set(None);
    row.email = Set(None);
    row.district = Set(None);
    row.municipality_case_ref = Set(None);
    row.notes = Set(None);
    row.erased_at = Set(Some(now));
    row.version = Set(participant.version + 1);
    row.updated_at = Set(now);
    let claimed = participant::Entity::update_many()
        .set(row)
        .filter(participant::Column::Id.eq(id))
        .filter(participant::Column::Version.eq(participant.version))
        .filter(participant::Column::ErasedAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    if claimed == 0 {
        return Err(ApiError::Conflict(
            "she was changed while being erased; retry the erasure".into(),
        ));
    }
    participant_language::Entity::delete_many()
        .filter(participant_language::Column::ParticipantId.eq(id))
        .exec(db)
        .await?;
    consent::Entity::update_many()
        .col_expr(consent::Column::WithdrawnAt, Expr::value(now))
        .col_expr(consent::Column::UpdatedAt, Expr::value(now))
        .filter(consent::Column::ParticipantId.eq(id))
        .filter(consent::Column::WithdrawnAt.is_null())
        .exec(db)
        .await?;
    let cancelled = cancel_for_erasure(db, by, id).await?;
    blank_free_text(db, id, now).await?;
    forget_stored_answers(db, &needles).await?;
    audit::record(
        db,
        &by.actor,
        [Event::new(AuditAction::Delete, "participant", id)
            .about_participant(id)
            .detail(format!(
                "erased; {cancelled} open referral(s) cancelled; reason: {reason}"
            ))],
    )
    .await?;
    participant::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("participant".into()))
}

/// Empties the notes of her referrals, their timeline events and the visits linked to her.
async fn blank_free_text(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
    let no_text = Expr::value(Option::<String>::None);
    referral::Entity::update_many()
        .col_expr(referral::Column::Note, no_text.clone())
        .col_expr(referral::Column::UpdatedAt, Expr::value(now))
        .filter(referral::Column::ParticipantId.eq(id))
        .filter(referral::Column::Note.is_not_null())
        .exec(db)
        .await?;
    let hers = referral::Entity::find()
        .select_only()
        .column(referral::Column::Id)
        .filter(referral::Column::ParticipantId.eq(id))
        .into_query();
    referral_event::Entity::update_many()
        .col_expr(referral_event::Column::Note, no_text.clone())
        .filter(referral_event::Column::ReferralId.in_subquery(hers))
        .filter(referral_event::Column::Note.is_not_null())
        .exec(db)
        .await?;
    visit::Entity::update_many()
        .col_expr(visit::Column::Notes, no_text)
        .col_expr(visit::Column::UpdatedAt, Expr::value(now))
        .filter(visit::Column::ParticipantId.eq(id))
        .filter(visit::Column::Notes.is_not_null())
        .exec(db)
        .await?;
    Ok(())
}

/// What a stored answer that mentions her would contain: her ids and her values.
fn needles(participant: &participant::Model) -> Vec<String> {
    let mut needles = vec![
        participant.id.to_string(),
        Kind::Participant.id(participant.id).0,
        participant.pseudonym.clone(),
    ];
    needles.extend(
        [
            &participant.first_name,
            &participant.phone,
            &participant.email,
            &participant.municipality_case_ref,
            &participant.notes,
        ]
        .into_iter()
        .flatten()
        .filter(|value| value.chars().count() >= 3)
        .cloned(),
    );
    needles
}

/// Deletes the stored answers of idempotent requests (kept a day for retries) that contain
/// any of `needles`: a retry after her erasure must not bring her data back.
async fn forget_stored_answers(db: &impl ConnectionTrait, needles: &[String]) -> ApiResult<()> {
    for needle in needles {
        let pattern = format!("%{}%", escape_like(needle));
        idempotency_key::Entity::delete_many()
            .filter(
                Expr::col(idempotency_key::Column::Response)
                    .like(LikeExpr::new(pattern).escape('\\')),
            )
            .exec(db)
            .await?;
    }
    Ok(())
}

fn escape_like(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

/// A pseudonym for what is left of her: `ER-` and eight symbols, random like a live one's
/// and unlinkable to it.
fn erased_pseudonym() -> ApiResult<String> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
    let code: String = bytes
        .iter()
        .map(|b| char::from(PSEUDONYM_ALPHABET[usize::from(b & 31)]))
        .collect();
    Ok(format!("ER-{}-{}", &code[..4], &code[4..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_the_text_literally() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }

    #[test]
    fn a_reason_may_not_repeat_her_data() {
        let her = participant::Model {
            id: Uuid::nil(),
            pseudonym: "BM-2222-3333".into(),
            project_id: None,
            registered_by_organisation_id: Uuid::nil(),
            first_name: Some("Amina".into()),
            birth_year: None,
            preferred_contact: None,
            preferred_language: None,
            phone: Some("+45 20 12 34 56".into()),
            email: Some("amina@example.dk".into()),
            district: None,
            municipality_case_ref: None,
            notes: None,
            version: 1,
            erased_at: None,
            registered_by_mother_id: None,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        for bad in [
            "asked by AMINA",
            "call 20123456",
            "from amina@example.dk",
            " ",
        ] {
            assert_eq!(
                recorded_reason(bad, &her).map_err(|e| e.code()),
                Err("BAD_USER_INPUT"),
                "{bad}"
            );
        }
        assert_eq!(
            recorded_reason(" request 2026-1142 ", &her).ok().as_deref(),
            Some("request 2026-1142")
        );
        assert!(erased_pseudonym().is_ok_and(|p| p.len() == 12 && p.starts_with("ER-")));
    }
}
