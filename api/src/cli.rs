//! The `bydel` command line (a contract: partner scripts and operators depend on it).
//!
//! Machine-readable output (a token, the SDL) goes to standard output alone; everything for
//! humans goes to standard error. Bad input exits non-zero with a one-line reason.

use std::{
    io::{IsTerminal, Write},
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use clap::{Parser, Subcommand, ValueEnum};
use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;
use tokio::net::TcpListener;
use uuid::Uuid;

use crate::{
    audit::{Actor, DEFAULT_BATCH_REQUESTS, ReadAuditCommit},
    auth::{Principal, ScopeSet, TokenCache, key_store, keys},
    config::{AuthArgs, DatabaseArgs, HttpArgs, OAuthArgs, TokenCacheArgs},
    db, demo,
    events::{EventBus, Outbox},
    ids::{self, Kind},
    limits::Limits,
    oauth::OAuth,
    organisations::{self, SECRETARIAT},
    participants::{
        erasure, export,
        retention::{self, RetentionPolicy},
        write::{self, Rectification},
    },
    referrals::{ReferralPolicy, write::Writer},
    schema, server,
    state::AppState,
    stats::StatsPolicy,
    tokens,
    webhooks::{Dispatcher, WebhookArgs},
};

#[derive(Debug, Parser)]
#[command(
    name = "bydel",
    version,
    about = "The Bydel GraphQL API for the Neighbourhood Mothers programme"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    auth: AuthArgs,
    /// Log format: `text` for people, `json` for log collectors.
    #[arg(
        long,
        env = "BYDEL_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API server (migrates the database first).
    Serve(ServeArgs),
    /// Apply, roll back or list database migrations.
    Migrate {
        #[arg(value_enum, default_value = "up")]
        action: MigrateAction,
    },
    /// Load the demo data set (skipped when it is already there).
    Demo,
    /// Generate a deterministic synthetic data set at national scale or beyond, for
    /// benchmarks, into a database without projects (a fresh one).
    Generate(GenerateArgs),
    /// Issue and revoke API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print the GraphQL schema (SDL), or write it to a file: the federation subgraph SDL
    /// (`schema.graphql`), or with `--client` the plain client SDL (`schema.client.graphql`).
    Schema {
        #[arg(long)]
        output: Option<PathBuf>,
        /// The client schema for code generators and linters: no federation directives or
        /// `_entities`/`_service`, with `Subscription`.
        #[arg(long)]
        client: bool,
    },
    /// Manage token signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// A participant's rights: export everything about her, or erase her.
    #[command(subcommand)]
    Participant(ParticipantCommand),
    /// Erase what the retention periods no longer allow to keep.
    #[command(subcommand)]
    Retention(RetentionCommand),
}

#[derive(Debug, Subcommand)]
enum ParticipantCommand {
    /// Print her data export (the document of `participantDataExport`) on standard output.
    Export {
        /// Her id: the API's global id or the UUID.
        id: String,
    },
    /// Correct her record (as `updateParticipant`); prints her new version on standard output.
    Update {
        id: String,
        /// The version last read (`participant { version }` or her export).
        #[arg(long)]
        version: i32,
        /// `FIELD=VALUE` with the API's field names, e.g. `phone=+45 12 34 56 78`; repeatable.
        #[arg(long = "set", value_name = "FIELD=VALUE")]
        set: Vec<String>,
        /// A field to empty, e.g. `email`; repeatable.
        #[arg(long = "clear", value_name = "FIELD")]
        clear: Vec<String>,
    },
    /// Erase her personal data and every free text about her, irreversibly (as
    /// `eraseParticipant`); the statistics keep counting her pseudonymous rows.
    Erase {
        id: String,
        /// Why, for the audit trail (e.g. the request's case number); not her data.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum RetentionCommand {
    /// Run the retention sweep now (waits for no schedule; refused while a replica runs it).
    Run {
        /// Only show what is due; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        retention: RetentionArgs,
    },
}

/// How long personal data and the audit trail are kept (README: "Personal data").
#[derive(Debug, Clone, clap::Args)]
struct RetentionArgs {
    /// Months without activity after which a participant's personal data is erased: counted
    /// from her registration, last consent, last visit or last closed referral, whichever is
    /// latest; never while a referral about her is open (1-600).
    #[arg(
        long,
        env = "BYDEL_RETENTION_PARTICIPANT_MONTHS",
        default_value_t = RetentionPolicy::DEFAULT_PARTICIPANT_MONTHS,
        value_parser = clap::value_parser!(u32).range(1..=600)
    )]
    retention_participant_months: u32,
    /// Months the audit trail is kept (12-1200).
    #[arg(
        long,
        env = "BYDEL_RETENTION_AUDIT_MONTHS",
        default_value_t = RetentionPolicy::DEFAULT_AUDIT_MONTHS,
        value_parser = clap::value_parser!(u32).range(12..=1200)
    )]
    retention_audit_months: u32,
}

impl RetentionArgs {
    fn policy(&self) -> RetentionPolicy {
        RetentionPolicy::new(
            self.retention_participant_months,
            self.retention_audit_months,
        )
    }
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "BYDEL_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Load the demo data set and print a ready secretariat token.
    #[arg(long, env = "BYDEL_DEMO")]
    demo: bool,
    /// Days a receiver has to answer a requested referral before it counts as stale (1-365).
    #[arg(
        long,
        env = "BYDEL_REFERRAL_RESPONSE_DAYS",
        default_value_t = ReferralPolicy::DEFAULT_RESPONSE_DAYS,
        value_parser = clap::value_parser!(u16).range(1..=365)
    )]
    referral_response_days: u16,
    #[command(flatten)]
    webhooks: WebhookArgs,
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    token_cache: TokenCacheArgs,
    #[command(flatten)]
    oauth: OAuthArgs,
    /// Statistics cells counting fewer than this are suppressed for callers outside the
    /// secretariat (1-1000).
    #[arg(
        long,
        env = "BYDEL_STATS_MIN_CELL",
        default_value_t = StatsPolicy::DEFAULT_MIN_CELL,
        value_parser = clap::value_parser!(u16).range(1..=1000)
    )]
    stats_min_cell: u16,
    /// How the audit records of personal-data reads are committed: `durable` (on disk before
    /// the response) or `deferred` (PostgreSQL flushes them within a fraction of a second;
    /// a database crash can lose the last ones). Audit records of changes are always durable.
    #[arg(long, env = "BYDEL_READ_AUDIT", value_enum, default_value_t = ReadAuditCommit::Durable)]
    read_audit: ReadAuditCommit,
    /// Durable read records of requests finishing together are committed together, at most
    /// this many requests a commit (one WAL flush for all; each answers after its commit).
    /// 0 commits each request's records on its own.
    #[arg(long, env = "BYDEL_READ_AUDIT_BATCH", default_value_t = DEFAULT_BATCH_REQUESTS,
        value_parser = clap::builder::TypedValueParser::map(clap::value_parser!(u16).range(0..=4096), usize::from))]
    read_audit_batch: usize,
    #[command(flatten)]
    retention: RetentionArgs,
}

#[derive(Debug, clap::Args)]
struct GenerateArgs {
    /// `national-x10` (150 projects, 3 million visits, 500,000 referrals), `national`,
    /// `small` (a tenth of national) or a factor of national (e.g. 0.5).
    #[arg(long, env = "BYDEL_GENERATE_SCALE", default_value = "national-x10")]
    scale: demo::scale::Scale,
    /// Seed of the generator: the same scale and seed give the same rows.
    #[arg(long, env = "BYDEL_GENERATE_SEED", default_value_t = 1)]
    seed: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the most recent migration.
    Down,
    /// List applied and pending migrations.
    Status,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issue a token; prints the token alone on standard output.
    Issue {
        /// Organisation id or short name (e.g. `secretariat`, `kommune-101`).
        #[arg(long)]
        organisation: String,
        /// Space-separated scopes, e.g. "referrals:read stats:read".
        #[arg(long)]
        scopes: String,
        /// Lifetime: a number with s, m, h or d.
        #[arg(long, default_value = "24h")]
        ttl: String,
        /// The API client the token belongs to (created when missing).
        #[arg(long, default_value = "cli")]
        client: String,
        /// Bind the token to this mother (UUID) of a project the organisation operates: the
        /// mothers' app. Its scopes stay within what a mother's token may carry.
        #[arg(long, conflicts_with = "staff")]
        mother: Option<Uuid>,
        /// Bind the token to this staff member (UUID) of the organisation, named in the audit
        /// trail with every read and change.
        #[arg(long)]
        staff: Option<Uuid>,
    },
    /// Revoke a token by its id (the `jti` claim).
    Revoke { jti: Uuid },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Write a new Ed25519 signing key (PKCS#8 PEM) to a file readable by its owner only.
    Generate {
        #[arg(long)]
        output: PathBuf,
    },
    /// Generate a signing key, write it to FILE (owner only) and register its public key, so
    /// every replica accepts its tokens; prints the key id alone on standard output.
    Add {
        #[arg(long)]
        output: PathBuf,
    },
    /// List the signing keys: `kid<TAB>active|retired<TAB>created_at` per line.
    List,
    /// Retire a signing key: every replica refuses the tokens it signed, at once.
    Retire {
        /// A key id is base64url, so it may begin with `-`.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
}

/// Why a command ended early.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A one-line reason for the operator; the process exits non-zero with it.
    #[error("{0}")]
    Failed(String),
    /// The reader of standard output went away (`bydel key list | head -1`). Not a failure
    /// of the command: the process ends quietly with status 0, as `ls | head -1` does.
    #[error("standard output was closed")]
    ClosedStdout,
}

fn fail(err: impl std::fmt::Display) -> CliError {
    CliError::Failed(err.to_string())
}

/// The target of lines for people (hints, summaries, the listening address): always enabled,
/// whatever the log filter, as they are printed under `--log-format text`.
const NOTICE: &str = "bydel::notice";

/// Whether [`say!`] writes JSON events instead of plain lines. Process-wide, like the tracing
/// subscriber it follows, which [`init_logging`] installs once per process.
static JSON_LOGS: AtomicBool = AtomicBool::new(false);

/// A line for people on standard error: plain under `--log-format text`; under `json` an
/// info event of target [`NOTICE`], so that every line on standard error is JSON.
macro_rules! say {
    ($($arg:tt)*) => { notice(format_args!($($arg)*)) };
}

fn notice(line: std::fmt::Arguments<'_>) {
    if JSON_LOGS.load(Ordering::Relaxed) {
        tracing::info!(target: NOTICE, "{line}");
    } else {
        eprintln!("{line}");
    }
}

/// Machine output: one line on standard output (see [`stdout`]).
macro_rules! out {
    ($($arg:tt)*) => { stdout(&format!("{}\n", format_args!($($arg)*)))? };
}

/// Writes `text` to standard output. A closed pipe is [`CliError::ClosedStdout`], never a
/// panic (`println!` panics on `EPIPE`, since Rust ignores `SIGPIPE`).
fn stdout(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::BrokenPipe => CliError::ClosedStdout,
            _ => fail(format!("cannot write to standard output: {err}")),
        })
}

/// How `main` ends a command: status 0 on success or a closed standard output, else 1 with
/// the reason as one line on standard error (a JSON event under `--log-format json`).
pub fn exit_code(result: Result<(), CliError>) -> std::process::ExitCode {
    match result {
        Ok(()) | Err(CliError::ClosedStdout) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            if JSON_LOGS.load(Ordering::Relaxed) {
                tracing::error!(target: NOTICE, "{err}");
            } else {
                eprintln!("bydel: {err}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

/// `serve` logs at info; one-shot commands only warn, so their output stays what they print.
/// The level comes from `BYDEL_LOG`, else `RUST_LOG` (tracing `EnvFilter` syntax). JSON lines
/// carry the event's fields at the top level and the request span's fields (request id,
/// client, organisation, operation) under `span`.
fn init_logging(format: LogFormat, default_level: &str) {
    let filter = ["BYDEL_LOG", "RUST_LOG"]
        .into_iter()
        .find_map(|variable| {
            std::env::var(variable)
                .ok()
                .filter(|value| !value.trim().is_empty())
                .and_then(|value| tracing_subscriber::EnvFilter::try_new(value).ok())
        })
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(default_level));
    let filter = match format!("{NOTICE}=info").parse() {
        Ok(notices) => filter.add_directive(notices),
        Err(_) => filter,
    };
    JSON_LOGS.store(matches!(format, LogFormat::Json), Ordering::Relaxed);
    // Colour only for a person at a terminal: a file, a pipe or a log collector gets none.
    let colour = matches!(format, LogFormat::Text)
        && std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_span_list(false)
            .try_init(),
    };
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let level = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    init_logging(cli.log_format, level);
    let url = cli.database.url();
    match cli.command {
        Command::Schema { output, client } => write_schema(output, client),
        Command::Key(command) => key(&url, command).await,
        Command::Migrate { action } => migrate(&url, action).await,
        Command::Demo => {
            let db = open(&url).await?;
            load_demo(&db).await
        }
        Command::Generate(args) => {
            let db = open(&url).await?;
            let summary = demo::scale::generate(&db, args.scale, args.seed, |line| {
                say!("{line}");
            })
            .await
            .map_err(fail)?;
            say!("generated: {summary}");
            Ok(())
        }
        Command::Token(TokenCommand::Issue {
            organisation,
            scopes,
            ttl,
            client,
            mother,
            staff,
        }) => {
            // Input first: a refused command leaves nothing behind.
            let scopes = tokens::parse_scopes(&scopes).map_err(fail)?;
            let ttl = tokens::parse_ttl(&ttl).map_err(fail)?;
            let db = open(&url).await?;
            let organisation = organisations::find_by_reference(&db, &organisation)
                .await
                .map_err(fail)?;
            scopes.check_usable_by(organisation.kind).map_err(fail)?;
            let keys = cli.auth.token_keys(&url).map_err(fail)?;
            keys.register(&db).await.map_err(fail)?;
            let person = mother
                .map(tokens::BindTo::Mother)
                .or(staff.map(tokens::BindTo::Staff));
            let issued =
                tokens::issue_for_person(&db, &keys, &organisation, &client, &scopes, ttl, person)
                    .await
                    .map_err(fail)?;
            say!(
                "token {} for {} (client {client}) expires {}",
                issued.jti,
                organisation.short_name,
                issued.expires_at
            );
            out!("{}", issued.token);
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { jti }) => {
            let db = open(&url).await?;
            // This process serves nothing, so it has no cache of its own; the replicas hear
            // the revocation (see `auth::token_cache`).
            tokens::revoke(&db, &TokenCache::off(), jti)
                .await
                .map_err(fail)?;
            say!("token {jti} revoked");
            Ok(())
        }
        Command::Serve(args) => serve(&url, &cli.auth, args).await,
        Command::Participant(command) => participant(&url, command).await,
        Command::Retention(RetentionCommand::Run { dry_run, retention }) => {
            let db = open(&url).await?;
            let policy = retention.policy();
            let now = db::now();
            let report = if dry_run {
                retention::sweep(&db, &policy, now, true, None).await
            } else {
                retention::run_if_due(&db, &policy, now, true, None)
                    .await
                    .and_then(|ran| {
                        ran.ok_or_else(|| {
                            crate::error::ApiError::Conflict(
                                "a replica is running the retention sweep now; try again later"
                                    .into(),
                            )
                        })
                    })
            }
            .map_err(fail)?;
            for id in &report.participants {
                out!("{}", Kind::Participant.id(*id).0);
            }
            say!("{}", report.summary(&policy));
            Ok(())
        }
    }
}

/// `bydel participant export|erase`: acts as the installation for the secretariat
/// ([`Principal::operator`]), audited with no API client.
async fn participant(url: &str, command: ParticipantCommand) -> Result<(), CliError> {
    let db = open(url).await?;
    let operator = Principal::operator(&db).await.map_err(fail)?;
    let actor = Actor::operator();
    match command {
        ParticipantCommand::Export { id } => {
            let id = participant_id(&id)?;
            let document = db::transaction(&db, async |txn| {
                export::export(txn, &operator, &actor, id).await
            })
            .await
            .map_err(fail)?;
            let text = serde_json::to_string_pretty(&document).map_err(fail)?;
            out!("{text}");
            Ok(())
        }
        ParticipantCommand::Update {
            id,
            version,
            set,
            clear,
        } => {
            let mut change = Rectification {
                id: participant_id(&id)?,
                version,
                ..Default::default()
            };
            for assignment in &set {
                let (field, value) = assignment
                    .split_once('=')
                    .ok_or_else(|| fail(format!("--set {assignment:?}: FIELD=VALUE expected")))?;
                change.set(field, Some(value.to_owned())).map_err(fail)?;
            }
            for field in &clear {
                change.set(field, None).map_err(fail)?;
            }
            let outbox = Outbox::default();
            let by = Writer {
                principal: &operator,
                actor,
                outbox: &outbox,
            };
            let her = db::transaction(&db, async |txn| write::rectify(txn, &by, change).await)
                .await
                .map_err(fail)?;
            say!(
                "participant {} is at version",
                Kind::Participant.id(her.id).0
            );
            out!("{}", her.version);
            Ok(())
        }
        ParticipantCommand::Erase { id, reason } => {
            let id = participant_id(&id)?;
            let outbox = Outbox::default();
            let by = Writer {
                principal: &operator,
                actor,
                outbox: &outbox,
            };
            let erased =
                db::transaction(&db, async |txn| erasure::erase(txn, &by, id, &reason).await)
                    .await
                    .map_err(fail)?;
            say!(
                "participant {} erased at {}",
                Kind::Participant.id(erased.id).0,
                erased
                    .erased_at
                    .map(|at| at.to_rfc3339())
                    .unwrap_or_default()
            );
            Ok(())
        }
    }
}

/// A participant's global id or UUID.
fn participant_id(text: &str) -> Result<Uuid, CliError> {
    Uuid::parse_str(text)
        .or_else(|_| ids::decode_as(text, Kind::Participant, "ID"))
        .map_err(fail)
}

/// Writes a new private key to `output` (owner only, never overwriting) and returns its PEM.
fn generate_key_file(output: &Path) -> Result<String, CliError> {
    let pem = keys::generate_pem().map_err(fail)?;
    crate::config::write_private_file(output, &pem)
        .map_err(|e| fail(format!("cannot write {}: {e}", output.display())))?;
    say!("wrote a new signing key to {}", output.display());
    Ok(pem)
}

/// `bydel key add|list|retire`: the rotation steps an operator runs against the database.
async fn key(url: &str, command: KeyCommand) -> Result<(), CliError> {
    match command {
        KeyCommand::Generate { output } => generate_key_file(&output).map(drop),
        KeyCommand::Add { output } => {
            // Database, file, row: a failure leaves at most a file nobody registered, never a
            // registered key whose private half was not saved.
            let db = open(url).await?;
            let pem = generate_key_file(&output)?;
            let public = keys::PublicKey::of_pem(&pem).map_err(fail)?;
            key_store::add(&db, &public).await.map_err(fail)?;
            say!(
                "registered key {}; set BYDEL_SIGNING_KEY_FILE={} and restart the replicas one by one",
                public.kid,
                output.display()
            );
            out!("{}", public.kid);
            Ok(())
        }
        KeyCommand::List => {
            let db = open(url).await?;
            for key in key_store::all(&db).await.map_err(fail)? {
                let state = if key.retired_at.is_some() {
                    "retired"
                } else {
                    "active"
                };
                let created = key
                    .created_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                out!("{}\t{state}\t{created}", key.kid);
            }
            Ok(())
        }
        KeyCommand::Retire { kid } => {
            let db = open(url).await?;
            let retired = key_store::retire(&db, &TokenCache::off(), &kid).await;
            match retired.map_err(fail)? {
                key_store::Retirement::Retired => say!("signing key {kid} retired"),
                key_store::Retirement::AlreadyRetired => {
                    say!("signing key {kid} was already retired")
                }
            }
            Ok(())
        }
    }
}

fn write_schema(output: Option<PathBuf>, client: bool) -> Result<(), CliError> {
    let sdl = if client {
        schema::client_sdl()
    } else {
        schema::sdl()
    };
    match output {
        Some(path) => {
            std::fs::write(&path, sdl).map_err(fail)?;
            say!("wrote {}", path.display());
        }
        None => stdout(&sdl)?,
    }
    Ok(())
}

/// Connects, applies pending migrations and makes sure the secretariat exists.
pub async fn open(url: &str) -> Result<DatabaseConnection, CliError> {
    let (db, _) = db::connect(url)
        .await
        .map_err(|e| fail(format!("cannot open the database: {e}")))?;
    prepare(&db).await?;
    Ok(db)
}

async fn prepare(db: &DatabaseConnection) -> Result<(), CliError> {
    migration::Migrator::up(db, None)
        .await
        .map_err(|e| fail(format!("migrations failed: {e}")))?;
    organisations::ensure_secretariat(db).await.map_err(fail)?;
    Ok(())
}

async fn migrate(url: &str, action: MigrateAction) -> Result<(), CliError> {
    use sea_orm_migration::MigrationStatus;
    let (db, _) = db::connect(url)
        .await
        .map_err(|e| fail(format!("cannot open the database: {e}")))?;
    match action {
        MigrateAction::Up => migration::Migrator::up(&db, None).await.map_err(fail)?,
        MigrateAction::Down => migration::Migrator::down(&db, Some(1))
            .await
            .map_err(fail)?,
        MigrateAction::Status => {
            let migrations = migration::Migrator::get_migration_with_status(&db)
                .await
                .map_err(fail)?;
            for m in migrations {
                let status = match m.status() {
                    MigrationStatus::Applied => "applied",
                    MigrationStatus::Pending => "pending",
                };
                out!("{status}\t{}", m.name());
            }
            return Ok(());
        }
    }
    let pending = migration::Migrator::get_pending_migrations(&db)
        .await
        .map_err(fail)?;
    say!(
        "database is at migration {} ({} pending)",
        last_applied(&db).await?,
        pending.len()
    );
    Ok(())
}

async fn last_applied(db: &DatabaseConnection) -> Result<String, CliError> {
    let applied = migration::Migrator::get_applied_migrations(db)
        .await
        .map_err(fail)?;
    Ok(applied
        .last()
        .map(|m| m.name().to_owned())
        .unwrap_or_else(|| "none".into()))
}

async fn load_demo(db: &DatabaseConnection) -> Result<(), CliError> {
    let summary = demo::load(db).await.map_err(fail)?;
    say!("{summary}");
    Ok(())
}

async fn serve(url: &str, auth: &AuthArgs, args: ServeArgs) -> Result<(), CliError> {
    let keys = Arc::new(auth.token_keys(url).map_err(fail)?);
    let persisted = Arc::new(args.http.persisted().map_err(fail)?);
    let (db, statements) = db::connect(url)
        .await
        .map_err(|e| fail(format!("cannot open the database: {e}")))?;
    prepare(&db).await?;
    keys.register(&db).await.map_err(fail)?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| fail(format!("cannot listen on {}: {e}", args.listen)))?;
    let address = listener.local_addr().map_err(fail)?;
    if args.demo {
        load_demo(&db).await?;
        let secretariat = organisations::find_by_reference(&db, SECRETARIAT)
            .await
            .map_err(fail)?;
        let ttl = chrono::Duration::hours(24);
        let issued = tokens::issue(
            &db,
            &keys,
            &secretariat,
            "demo",
            &ScopeSet::everything(),
            ttl,
        )
        .await
        .map_err(fail)?;
        if JSON_LOGS.load(Ordering::Relaxed) {
            // A live token with every scope never goes into a log stream: it goes alone to
            // standard output, as `bydel token issue` prints one.
            out!("{}", issued.token);
            say!(
                "wrote a secretariat token with every scope, valid for 24 hours, to standard output"
            );
        } else {
            eprintln!("A secretariat token with every scope, valid for 24 hours:\n");
            eprintln!("{}\n", issued.token);
            eprintln!("In GraphiQL, paste it after `Bearer ` in the Headers editor.");
        }
    } else {
        say!(
            "Get a token with:  bydel token issue --organisation secretariat --scopes \"projects:read referrals:read\""
        );
    }
    let tokens = Arc::new(TokenCache::new(
        args.token_cache.ttl(),
        db.get_database_backend(),
    ));
    let events = EventBus::start(&db, tokens)
        .await
        .map_err(|e| fail(format!("cannot start the event bus: {e}")))?;
    say!("Bydel is listening on http://{address}/graphql (open it in a browser for GraphiQL)");
    let stats = StatsPolicy::load(&db, args.stats_min_cell)
        .await
        .map_err(|e| fail(format!("cannot load the statistics' cell keys: {e}")))?;
    let schema = schema::build(
        db.clone(),
        keys.clone(),
        ReferralPolicy::with_response_days(args.referral_response_days),
        stats,
        args.webhooks.policy(),
        events.clone(),
    );
    let limits = Arc::new(Limits::new(args.http.limits(), &schema.sdl()));
    let state = AppState {
        cors: Arc::new(args.http.cors()),
        oauth: Arc::new(OAuth::new(args.oauth.settings(address))),
        ..AppState::new(
            schema,
            db.clone(),
            keys,
            statements,
            events.clone(),
            limits,
            persisted,
        )
        .map_err(fail)?
    }
    .with_read_audit(args.read_audit, args.read_audit_batch)
    .map_err(fail)?;
    // Every replica runs the retention sweep; its lease lets one of them run each due sweep.
    let sweeper = retention::Sweeper::new(db.clone(), args.retention.policy(), events)
        .start()
        .await;
    // Every replica sends webhooks; claims keep them from sending one attempt twice.
    let dispatcher = Dispatcher::new(db, args.webhooks.settings())
        .map_err(fail)?
        .spawn();
    let served = server::serve(listener, state, crate::shutdown::os_signal()).await;
    dispatcher.abort();
    sweeper.abort();
    served.map_err(fail)?;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, Command, KeyCommand};

    /// The response time is whole days, 1 to 365, 14 unless set.
    #[test]
    fn the_referral_response_time_is_bounded() {
        let days = |extra: &[&str]| {
            let args = ["bydel", "serve"].iter().chain(extra).copied();
            match Cli::try_parse_from(args).map(|cli| cli.command) {
                Ok(Command::Serve(serve)) => Ok(serve.referral_response_days),
                Ok(other) => panic!("not serve: {other:?}"),
                Err(err) => Err(err.kind()),
            }
        };
        if std::env::var_os("BYDEL_REFERRAL_RESPONSE_DAYS").is_none() {
            assert_eq!(days(&[]), Ok(14));
        }
        assert_eq!(days(&["--referral-response-days", "1"]), Ok(1));
        assert_eq!(days(&["--referral-response-days", "365"]), Ok(365));
        for bad in ["0", "366", "-3", "two"] {
            assert!(days(&["--referral-response-days", bad]).is_err(), "{bad}");
        }
    }

    /// The limits' defaults are the documented ones; `--only-persisted` needs a manifest.
    #[test]
    fn http_settings_parse() {
        let serve = |extra: &[&str]| {
            let args = ["bydel", "serve"].iter().chain(extra).copied();
            match Cli::try_parse_from(args).map(|cli| cli.command) {
                Ok(Command::Serve(serve)) => Ok(serve.http),
                Ok(other) => panic!("not serve: {other:?}"),
                Err(err) => Err(err.kind()),
            }
        };
        let limits = serve(&["--introspection", "false", "--request-timeout", "250ms"])
            .expect("parses")
            .limits();
        assert!(!limits.introspection);
        assert_eq!(
            limits.request_timeout,
            std::time::Duration::from_millis(250)
        );
        assert!(serve(&["--only-persisted"]).is_err());
        assert!(serve(&["--rate-burst", "0"]).is_err());
        assert!(serve(&["--only-persisted", "--persisted-operations", "ops.json"]).is_ok());
        if std::env::vars().all(|(name, _)| !name.starts_with("BYDEL_")) {
            let defaults = serve(&[]).expect("parses").limits();
            assert!(defaults.introspection);
            assert_eq!(defaults.max_depth, 12);
            assert_eq!(defaults.max_complexity, 50_000);
            assert_eq!(defaults.max_aliases, 30);
            assert_eq!(defaults.request_timeout, std::time::Duration::from_secs(30));
            assert_eq!((defaults.rate, defaults.burst), (20.0, 100));
        }
    }

    /// `--cors-origins` takes exact origins, comma-separated; `*` or a path is a startup error.
    #[test]
    fn cors_origins_parse() {
        let origins = |extra: &[&str]| {
            let args = ["bydel", "serve"].iter().chain(extra).copied();
            match Cli::try_parse_from(args).map(|cli| cli.command) {
                Ok(Command::Serve(serve)) => Ok(serve
                    .http
                    .cors_origins
                    .iter()
                    .map(|o| o.as_str().to_owned())
                    .collect::<Vec<_>>()),
                Ok(other) => panic!("not serve: {other:?}"),
                Err(err) => Err(err.to_string()),
            }
        };
        assert_eq!(
            origins(&[
                "--cors-origins",
                "https://a.example.dk,http://127.0.0.1:5173"
            ]),
            Ok(vec![
                "https://a.example.dk".to_owned(),
                "http://127.0.0.1:5173".to_owned()
            ])
        );
        let wildcard = origins(&["--cors-origins", "*"]).unwrap_err();
        assert!(wildcard.contains("`*` is not accepted"), "{wildcard}");
        assert!(origins(&["--cors-origins", "https://a.example.dk/app"]).is_err());
        if std::env::var_os("BYDEL_CORS_ORIGINS").is_none() {
            assert_eq!(origins(&[]), Ok(vec![]));
        }
    }

    /// The disclosure threshold is 1 to 1000, 5 unless set.
    #[test]
    fn the_stats_threshold_is_bounded() {
        let min_cell = |extra: &[&str]| {
            let args = ["bydel", "serve"].iter().chain(extra).copied();
            match Cli::try_parse_from(args).map(|cli| cli.command) {
                Ok(Command::Serve(serve)) => Ok(serve.stats_min_cell),
                Ok(other) => panic!("not serve: {other:?}"),
                Err(err) => Err(err.kind()),
            }
        };
        if std::env::var_os("BYDEL_STATS_MIN_CELL").is_none() {
            assert_eq!(min_cell(&[]), Ok(5));
        }
        assert_eq!(min_cell(&["--stats-min-cell", "1"]), Ok(1));
        assert_eq!(min_cell(&["--stats-min-cell", "1000"]), Ok(1000));
        for bad in ["0", "1001", "-1", "five"] {
            assert!(min_cell(&["--stats-min-cell", bad]).is_err(), "{bad}");
        }
    }

    /// The token cache keeps rows 5 seconds unless set; 0 turns it off; at most an hour.
    #[test]
    fn the_token_cache_time_is_bounded() {
        let ttl = |extra: &[&str]| {
            let args = ["bydel", "serve"].iter().chain(extra).copied();
            match Cli::try_parse_from(args).map(|cli| cli.command) {
                Ok(Command::Serve(serve)) => Ok(serve.token_cache.ttl()),
                Ok(other) => panic!("not serve: {other:?}"),
                Err(err) => Err(err.kind()),
            }
        };
        let seconds = std::time::Duration::from_secs;
        if std::env::var_os("BYDEL_TOKEN_CACHE_SECONDS").is_none() {
            assert_eq!(ttl(&[]), Ok(seconds(5)));
        }
        assert_eq!(ttl(&["--token-cache-seconds", "0"]), Ok(seconds(0)));
        assert_eq!(ttl(&["--token-cache-seconds", "3600"]), Ok(seconds(3600)));
        for bad in ["3601", "-1", "5s", "five"] {
            assert!(ttl(&["--token-cache-seconds", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_key_id_may_begin_with_a_hyphen() {
        let cli = Cli::try_parse_from(["bydel", "key", "retire", "-x9Qa", "--database-url", "u"])
            .expect("the key id parses as a value");
        assert!(
            matches!(&cli.command, Command::Key(KeyCommand::Retire { kid }) if kid == "-x9Qa"),
            "{cli:?}"
        );
        assert_eq!(cli.database.database_url.as_deref(), Some("u"));
    }
}
