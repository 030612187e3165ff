//! Prometheus metrics at `/metrics`: GraphQL requests by operation and outcome, their latency,
//! the database pool, SQL statements and rate-limit refusals. One registry per server (not the
//! crate's global one), so servers in one process (tests, replicas) never mix their counts.
//! Beside them the process's own figures under the names of Prometheus's process collector
//! (`process_resident_memory_bytes`, ..., read from `/proc` on Linux at each scrape) and
//! `bydel_build_info`, so a dashboard sees memory, file descriptors and the running version.
//!
//! Label values are bounded: outcomes come from the fixed error codes, and operation names
//! from [`OperationLabels`], which stops taking new names after [`MAX_OPERATION_LABELS`], so a
//! client cannot grow the series without limit. Nothing here identifies a person.

use std::{collections::HashSet, sync::Mutex, time::Duration};

use prometheus::{
    Counter, Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
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
    process: ProcessMetrics,
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
        let process = ProcessMetrics::register(&registry)?;
        Ok(Metrics {
            process,
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

    /// Adds a metric kept elsewhere (the read audit writer's) to what `/metrics` shows.
    pub fn register(
        &self,
        collector: Box<dyn prometheus::core::Collector>,
    ) -> Result<(), prometheus::Error> {
        self.registry.register(collector)
    }

    /// The hook for the rate limiter: call once per request it refuses.
    pub fn rate_limit_refused(&self) {
        self.rate_limit_refusals.inc();
    }

    /// The Prometheus text exposition of every metric, with the pool read now.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        self.read_pool();
        self.process.read();
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

/// The process collector's metrics (names as Prometheus's client libraries export them), and
/// the build. Read at scrape time; where `/proc` is missing (not Linux) they stay 0, except
/// `bydel_build_info`.
struct ProcessMetrics {
    cpu_seconds: Counter,
    open_fds: IntGauge,
    max_fds: IntGauge,
    virtual_memory: IntGauge,
    resident_memory: IntGauge,
    start_time: Gauge,
}

impl ProcessMetrics {
    fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let metrics = Self {
            cpu_seconds: Counter::new(
                "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.",
            )?,
            open_fds: IntGauge::new("process_open_fds", "Number of open file descriptors.")?,
            max_fds: IntGauge::new(
                "process_max_fds",
                "Maximum number of open file descriptors.",
            )?,
            virtual_memory: IntGauge::new(
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
            )?,
            resident_memory: IntGauge::new(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
            )?,
            start_time: Gauge::new(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
            )?,
        };
        registry.register(Box::new(metrics.cpu_seconds.clone()))?;
        registry.register(Box::new(metrics.open_fds.clone()))?;
        registry.register(Box::new(metrics.max_fds.clone()))?;
        registry.register(Box::new(metrics.virtual_memory.clone()))?;
        registry.register(Box::new(metrics.resident_memory.clone()))?;
        registry.register(Box::new(metrics.start_time.clone()))?;
        let build = IntGaugeVec::new(
            Opts::new(
                "bydel_build_info",
                "Always 1; the labels say which Bydel build runs.",
            ),
            &["version", "profile"],
        )?;
        let profile = if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        };
        build
            .with_label_values(&[env!("CARGO_PKG_VERSION"), profile])
            .set(1);
        registry.register(Box::new(build))?;
        Ok(metrics)
    }

    /// Reads `/proc/self` now; a figure that cannot be read keeps its last value.
    fn read(&self) {
        let Some(now) = ProcessFigures::read() else {
            return;
        };
        // A counter only goes up: add what the process spent since the last scrape.
        let spent = now.cpu_seconds - self.cpu_seconds.get();
        if spent > 0.0 {
            self.cpu_seconds.inc_by(spent);
        }
        let gauge = |gauge: &IntGauge, value: Option<u64>| {
            if let Some(value) = value {
                gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
            }
        };
        gauge(&self.open_fds, now.open_fds);
        gauge(&self.max_fds, now.max_fds);
        gauge(&self.virtual_memory, Some(now.virtual_memory_bytes));
        gauge(&self.resident_memory, Some(now.resident_memory_bytes));
        if let Some(start) = now.start_time_seconds {
            self.start_time.set(start);
        }
    }
}

/// One reading of `/proc/self` (Linux; `proc(5)`).
#[derive(Debug)]
struct ProcessFigures {
    cpu_seconds: f64,
    open_fds: Option<u64>,
    max_fds: Option<u64>,
    virtual_memory_bytes: u64,
    resident_memory_bytes: u64,
    start_time_seconds: Option<f64>,
}

/// `USER_HZ`, the unit of the times in `/proc/<pid>/stat`: 100 on every Linux architecture
/// (the kernel converts to it for user space, whatever its internal tick rate).
const TICKS_PER_SECOND: f64 = 100.0;

impl ProcessFigures {
    fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let (utime, stime, start_ticks) = parse_stat(&stat)?;
        let kib = |field: &str| -> Option<u64> {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
                .map(|kib| kib * 1024)
        };
        let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|stat| {
            stat.lines()
                .find_map(|line| line.strip_prefix("btime "))?
                .trim()
                .parse::<f64>()
                .ok()
        });
        Some(Self {
            cpu_seconds: (utime + stime) as f64 / TICKS_PER_SECOND,
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                .map(|entries| entries.count() as u64),
            max_fds: std::fs::read_to_string("/proc/self/limits")
                .ok()
                .and_then(|limits| parse_max_open_files(&limits)),
            virtual_memory_bytes: kib("VmSize:")?,
            resident_memory_bytes: kib("VmRSS:")?,
            start_time_seconds: boot.map(|boot| boot + start_ticks as f64 / TICKS_PER_SECOND),
        })
    }
}

/// `utime`, `stime` and `starttime` (fields 14, 15 and 22) of `/proc/<pid>/stat`. The command
/// name (field 2) is in parentheses and may hold spaces and parentheses itself, so fields are
/// counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(u64, u64, u64)> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Field 3 (`state`) is the first after the name.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some((field(14)?, field(15)?, field(22)?))
}

/// The soft limit of "Max open files" in `/proc/<pid>/limits` (`None` when unlimited).
fn parse_max_open_files(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
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
    fn proc_stat_fields_count_from_the_command_name() {
        let stat = "4242 (bydel (x) y) S 1 4242 4242 0 -1 4194560 2000 0 0 0 \
                    150 25 0 0 20 0 9 0 123456 1048576 512 18446744073709551615";
        assert_eq!(parse_stat(stat), Some((150, 25, 123456)));
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(parse_max_open_files(limits), Some(1024));
    }

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
