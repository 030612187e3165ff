//! Perturbation by cell keys: why two published figures cannot be subtracted to recover a
//! suppressed one.
//!
//! Suppression protects one table at a time. Across queries it does not: the total up to
//! April minus the total up to March is April's count, however April's own cell was hidden.
//! So outside the secretariat every published count carries a small, *consistent* noise, the
//! cell key method of the Australian Bureau of Statistics' TableBuilder (recommended by
//! Eurostat for census tables):
//!
//! 1. Every counted row has a **record key**, [`crate::ids::record_key`]: the low 24 bits of its UUID
//!    (random in both v4 and v7 ids), fixed for the row's life.
//! 2. A figure's **cell key** is derived from the sum of the record keys of the rows it counts
//!    (computed in the same SQL statement as the count; the monthly tallies carry the sum of
//!    their visits' keys), its exact count and the figure's name, through HMAC-SHA256 under
//!    the installation's secret (`stats_secret`, written once by the first server to start).
//! 3. The cell key picks the **noise** from a fixed table ([`noise_of`]): 0 for a count of 0
//!    (an empty cell stays empty), −1..+1 for a count of 1, and −2..+2 otherwise, with mean 0.
//!
//! What it guarantees:
//! - the same rows give the same figure every time, on every replica, after every restart,
//!   however the query that reaches them is written: asking again, or asking the same cell a
//!   different way, gives nothing to average;
//! - every published count is within 2 of the exact one (noise never makes it negative), and
//!   a total is perturbed as its own cell, so totals are near, not equal, the sum of cells;
//! - the difference of two figures is the difference of their exact counts plus the
//!   difference of two noises (−4..+4, unknown to the caller), so a count from 1 to 4
//!   obtained by differencing cannot be told apart from 0: it is not disclosed;
//! - without the secret the noise cannot be computed, even by a caller who knows the ids of
//!   the rows it counts (an organisation knows its own referrals' ids).
//!
//! What it does not: many differences over different rows that share one small cell each
//! could in principle be combined; periods are whole months and primary and secondary
//! suppression still apply to the exact counts, which keeps such combinations few and noisy.
//! The secretariat gets exact figures, as before.

use hmac::{Hmac, Mac};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, sea_query::OnConflict};
use sha2::Sha256;

/// The installation's secret that turns key sums into noise. Loaded once at start; never
/// logged (its `Debug` says nothing).
#[derive(Clone, Copy)]
pub struct CellKeys {
    secret: [u8; 32],
}

impl std::fmt::Debug for CellKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CellKeys(..)")
    }
}

impl CellKeys {
    pub fn new(secret: [u8; 32]) -> Self {
        Self { secret }
    }

    /// Reads the installation's secret, writing a fresh random one first when there is none.
    /// Replicas starting together all insert-or-ignore and then read the one that won.
    pub async fn load(db: &impl ConnectionTrait) -> Result<Self, DbErr> {
        use entity::stats_secret::{ActiveModel, Column, Entity};
        if let Some(stored) = Entity::find_by_id(1).one(db).await? {
            return Self::decode(&stored.secret);
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| DbErr::Custom(e.to_string()))?;
        let row = ActiveModel {
            id: Set(1),
            secret: Set(hex(&secret)),
            created_at: Set(crate::db::now()),
        };
        Entity::insert(row)
            .on_conflict(OnConflict::column(Column::Id).do_nothing().to_owned())
            .exec_without_returning(db)
            .await?;
        let stored = Entity::find_by_id(1)
            .one(db)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("stats_secret".into()))?;
        Self::decode(&stored.secret)
    }

    fn decode(text: &str) -> Result<Self, DbErr> {
        let invalid = || DbErr::Custom("stats_secret.secret is not 64 hex digits".into());
        if text.len() != 64 {
            return Err(invalid());
        }
        let mut secret = [0u8; 32];
        for (i, byte) in secret.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| invalid())?;
        }
        Ok(Self { secret })
    }

    /// The noise of the cell of `figure` counting `count` rows whose record keys sum to
    /// `key_sum`.
    pub fn noise(&self, figure: &str, count: u64, key_sum: i64) -> i64 {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.secret) else {
            return 0;
        };
        mac.update(figure.as_bytes());
        mac.update(&[0]);
        mac.update(&count.to_be_bytes());
        mac.update(&key_sum.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let slot = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % 10;
        noise_of(count, slot as usize)
    }

    /// A pseudonym for `id` within `purpose` (64 hex digits): the same every time, different
    /// per purpose, and not computable without the installation's secret. Survey responses
    /// name their respondent by it (`purpose` is the questionnaire key), so a mother's rounds
    /// pair without her id being stored with her answers.
    pub fn pseudonym(&self, purpose: &str, id: uuid::Uuid) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.secret) else {
            return String::new();
        };
        mac.update(b"pseudonym\0");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(id.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// `count` as published: exact plus its noise.
    pub fn perturb(&self, figure: &str, count: u64, key_sum: i64) -> u64 {
        count.saturating_add_signed(self.noise(figure, count, key_sum))
    }
}

/// The perturbation table: the noise of slot `slot` (0..10, uniform) for a cell of `count`.
/// Every row has mean 0; no noise takes a count below 0.
pub fn noise_of(count: u64, slot: usize) -> i64 {
    const ONE: [i64; 10] = [-1, -1, -1, 0, 0, 0, 0, 1, 1, 1];
    const MORE: [i64; 10] = [-2, -1, -1, 0, 0, 0, 0, 1, 1, 2];
    match count {
        0 => 0,
        1 => ONE[slot % 10],
        _ => MORE[slot % 10],
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> CellKeys {
        CellKeys::new([7; 32])
    }

    #[test]
    fn every_row_of_the_table_has_mean_zero_and_stays_non_negative() {
        for count in 0..6u64 {
            let noises: Vec<i64> = (0..10).map(|slot| noise_of(count, slot)).collect();
            assert_eq!(noises.iter().sum::<i64>(), 0, "count {count}");
            assert!(
                noises.iter().all(|n| count as i64 + n >= 0),
                "count {count}"
            );
            assert!(noises.iter().all(|n| n.abs() <= 2));
        }
        assert!((0..10).all(|slot| noise_of(0, slot) == 0));
    }

    #[test]
    fn the_same_cell_always_gets_the_same_noise() {
        let (a, b) = (keys(), keys());
        for sum in 0..200 {
            assert_eq!(a.noise("visits", 12, sum), b.noise("visits", 12, sum));
        }
    }

    #[test]
    fn noise_depends_on_the_rows_the_figure_and_the_secret() {
        let spread = |f: &dyn Fn(i64) -> i64| {
            let mut seen = std::collections::BTreeMap::new();
            for sum in 0..2000 {
                *seen.entry(f(sum)).or_insert(0) += 1;
            }
            seen
        };
        let k = keys();
        let seen = spread(&|sum| k.noise("visits", 40, sum));
        assert_eq!(
            seen.keys().copied().collect::<Vec<_>>(),
            vec![-2, -1, 0, 1, 2]
        );
        // Roughly 10/20/40/20/10 %.
        assert!((120..280).contains(&seen[&-2]), "{seen:?}");
        assert!((650..950).contains(&seen[&0]), "{seen:?}");
        let other = CellKeys::new([8; 32]);
        let differ = (0..200)
            .filter(|sum| k.noise("visits", 40, *sum) != other.noise("visits", 40, *sum))
            .count();
        assert!(
            differ > 50,
            "another secret gives other noise ({differ} of 200 differ)"
        );
        let figures = (0..200)
            .filter(|sum| k.noise("visits", 40, *sum) != k.noise("referrals", 40, *sum))
            .count();
        assert!(
            figures > 50,
            "figures are perturbed independently ({figures} of 200)"
        );
    }

    #[test]
    fn the_secret_round_trips_through_its_stored_form() {
        let stored = hex(&[0xab; 32]);
        let keys = CellKeys::decode(&stored).map(|k| k.secret);
        assert_eq!(keys.ok(), Some([0xab; 32]));
        assert!(CellKeys::decode("zz").is_err());
        assert!(CellKeys::decode(&"g".repeat(64)).is_err());
        assert_eq!(format!("{:?}", CellKeys::new([1; 32])), "CellKeys(..)");
    }
}
