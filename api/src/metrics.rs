//! Prometheus metrics at `/metrics`: GraphQL requests by operation and outcome, their latency,
//! the database pool, SQL statements and rate-limit refusals. One registry per server (not the
//! crate's global one), so servers in one process (tests, replicas) never mix their counts.
//!
//! Label values are bounded: outcomes come from the fixed error codes, and operation names
//! from [`OperationLabels`], which stops taking new names after [`MAX_OPERATION_LABELS`], so a
//! client cannot grow the series without limit. Nothing here identifies a person.

use std::{collections::HashSet, sync::Mutex, time::Duration};

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use sea_orm::{DatabaseConnection, DbBackend};

use crate::db::StatementCounter;

/// Distinct operation names that get a label of their own; later ones count as [`OTHER`].
pub const MAX_OPERATION_LABELS: usize = 100;
/// Longer operation names are cut to this many characters.
pub const MAX_OPERATION_LABEL_CHARS: usize = 64;
/// The label of operations without a name. Parentheses cannot occur in GraphQL names.
pub const ANONYMOUS: &str = "(anonymous)";
/// The label of named operations beyond [`MAX_OPERATION_LABELS`].
pub const OTHER: &str = "(other)";

/// Upper bounds (seconds) of the latency histogram: 5 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's metrics; shared by every request through `AppState`.
pub struct Metrics {
    registry: Registry,
    operations: OperationLabels,
    requests: IntCounterVec,
    latency: HistogramVec,
    rate_limit_refusals: IntCounter,
    pool_open: IntGauge,
    pool_idle: IntGauge,
    pool_max: IntGauge,
    db: DatabaseConnection,
}

impl Metrics {
    /// Registers every metric, including the statement counter `db::connect` installed.
    pub fn new(
        db: DatabaseConnection,
        statements: &StatementCounter,
    ) -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "bydel_graphql_requests_total",
                "GraphQL requests by operation name and outcome (`ok` or the first error code).",
            ),
            &["operation", "outcome"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "bydel_graphql_request_duration_seconds",
                "Time from receiving a GraphQL request to its response, by operation name.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["operation"],
        )?;
        let rate_limit_refusals = IntCounter::new(
            "bydel_rate_limit_refusals_total",
            "Requests refused with RATE_LIMITED.",
        )?;
        let pool_open = IntGauge::new(
            "bydel_db_pool_connections",
            "Open database connections (idle and in use).",
        )?;
        let pool_idle = IntGauge::new(
            "bydel_db_pool_idle_connections",
            "Open database connections not in use.",
        )?;
        let pool_max = IntGauge::new(
            "bydel_db_pool_max_connections",
            "The most database connections the pool opens.",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(rate_limit_refusals.clone()))?;
        registry.register(Box::new(pool_open.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        registry.register(Box::new(pool_max.clone()))?;
        registry.register(Box::new(statements.counter().clone()))?;
        Ok(Metrics {
            registry,
            operations: OperationLabels::default(),
            requests,
            latency,
            rate_limit_refusals,
            pool_open,
            pool_idle,
            pool_max,
            db,
        })
    }

    /// Counts one finished GraphQL request. `outcome` is `ok` or an error code in lower case.
    pub fn observe_request(&self, operation: Option<&str>, outcome: &str, elapsed: Duration) {
        let operation = self.operations.label(operation);
        self.requests
            .with_label_values(&[operation.as_str(), outcome])
            .inc();
        self.latency
            .with_label_values(&[operation.as_str()])
            .observe(elapsed.as_secs_f64());
    }

    /// The hook for the rate limiter: call once per request it refuses.
    pub fn rate_limit_refused(&self) {
        self.rate_limit_refusals.inc();
    }

    /// The Prometheus text exposition of every metric, with the pool read now.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        self.read_pool();
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|err| prometheus::Error::Msg(err.to_string()))
    }

    fn read_pool(&self) {
        let (open, idle, max) = match self.db.get_database_backend() {
            DbBackend::Sqlite => {
                let pool = self.db.get_sqlite_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
            DbBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
            _ => return,
        };
        self.pool_open.set(i64::from(open));
        self.pool_idle.set(i64::try_from(idle).unwrap_or(i64::MAX));
        self.pool_max.set(i64::from(max));
    }
}

/// The operation names that have a label: the first [`MAX_OPERATION_LABELS`] seen.
#[derive(Default)]
struct OperationLabels {
    seen: Mutex<HashSet<String>>,
}

impl OperationLabels {
    fn label(&self, operation: Option<&str>) -> String {
        let Some(name) = operation else {
            return ANONYMOUS.to_owned();
        };
        let name: String = name.chars().take(MAX_OPERATION_LABEL_CHARS).collect();
        let Ok(mut seen) = self.seen.lock() else {
            return OTHER.to_owned();
        };
        if seen.contains(&name) {
            return name;
        }
        if seen.len() >= MAX_OPERATION_LABELS {
            return OTHER.to_owned();
        }
        seen.insert(name.clone());
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_labels_are_bounded() {
        let labels = OperationLabels::default();
        assert_eq!(labels.label(None), ANONYMOUS);
        for i in 0..MAX_OPERATION_LABELS {
            assert_eq!(labels.label(Some(&format!("Op{i}"))), format!("Op{i}"));
        }
        assert_eq!(labels.label(Some("OneTooMany")), OTHER);
        assert_eq!(
            labels.label(Some("Op7")),
            "Op7",
            "known names keep their label"
        );
        let long = "A".repeat(200);
        assert_eq!(
            OperationLabels::default().label(Some(&long)).len(),
            MAX_OPERATION_LABEL_CHARS
        );
    }
}
