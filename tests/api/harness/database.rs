//! A fresh, empty database per test: an SQLite file in a temporary directory, or a new
//! PostgreSQL database `bydel_test_<uuid>` that is dropped again when the value is dropped.
//!
//! The backend comes from `BYDEL_TEST_DATABASE` (`sqlite`, the default, or `postgres`); the
//! PostgreSQL server from `BYDEL_TEST_POSTGRES_URL`. An unreachable PostgreSQL is a test
//! failure with a clear message, never a silent skip.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use tempfile::TempDir;

/// The PostgreSQL server the suite uses when none is configured.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Which database engine this test run exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Reads `BYDEL_TEST_DATABASE`; anything but `sqlite`/`postgres` is a configuration error.
    pub fn from_env() -> Backend {
        match std::env::var("BYDEL_TEST_DATABASE").as_deref() {
            Err(_) | Ok("") | Ok("sqlite") => Backend::Sqlite,
            Ok("postgres") | Ok("postgresql") => Backend::Postgres,
            Ok(other) => panic!(
                "BYDEL_TEST_DATABASE={other:?} is not a backend this suite knows; use `sqlite` or `postgres`"
            ),
        }
    }
}

/// The PostgreSQL server URL (an admin connection that may create and drop databases).
pub fn postgres_admin_url() -> String {
    std::env::var("BYDEL_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned())
}

/// `url` with its database name replaced by `database`, keeping credentials and options.
pub fn with_database_name(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{host_part}/{database}?{query}"),
        None => format!("{host_part}/{database}"),
    }
}

async fn connect_admin(admin_url: &str) -> DatabaseConnection {
    let mut options = ConnectOptions::new(admin_url.to_owned());
    options
        .max_connections(1)
        .min_connections(0)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    Database::connect(options).await.unwrap_or_else(|err| {
        panic!(
            "BYDEL_TEST_DATABASE=postgres, but PostgreSQL is not reachable at {admin_url}: {err}\n\
             Start it (e.g. `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`) \
             or point BYDEL_TEST_POSTGRES_URL at a server where this user may create databases."
        )
    })
}

enum Storage {
    /// Removed with the directory.
    Sqlite { _dir: TempDir },
    /// Dropped (with FORCE) in `Drop`.
    Postgres { admin_url: String, name: String },
}

/// An empty database that lives as long as this value.
pub struct TestDatabase {
    url: String,
    backend: Backend,
    storage: Storage,
}

impl TestDatabase {
    /// Creates a new empty database on the backend chosen by the environment.
    pub async fn create() -> TestDatabase {
        match Backend::from_env() {
            Backend::Sqlite => Self::sqlite(),
            Backend::Postgres => Self::postgres().await,
        }
    }

    fn sqlite() -> TestDatabase {
        let dir = tempfile::Builder::new()
            .prefix("bydel-test-")
            .tempdir()
            .expect("a temporary directory for the test database can be created");
        let file = dir.path().join("bydel.db");
        TestDatabase {
            url: format!("sqlite://{}?mode=rwc", file.display()),
            backend: Backend::Sqlite,
            storage: Storage::Sqlite { _dir: dir },
        }
    }

    async fn postgres() -> TestDatabase {
        let admin_url = postgres_admin_url();
        let name = format!("bydel_test_{}", uuid::Uuid::new_v4().simple());
        let admin = connect_admin(&admin_url).await;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|err| panic!("cannot create the test database {name}: {err}"));
        let _ = admin.close().await;
        TestDatabase {
            url: with_database_name(&admin_url, &name),
            backend: Backend::Postgres,
            storage: Storage::Postgres { admin_url, name },
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection the way the server makes it (WAL and foreign keys on SQLite).
    pub async fn connect(&self) -> DatabaseConnection {
        let (db, _statements) = bydel::db::connect(&self.url).await.unwrap_or_else(|err| {
            panic!("cannot connect to the test database {}: {err}", self.url)
        });
        db
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Storage::Postgres { admin_url, name } = &self.storage else {
            return;
        };
        // Drop cannot await, and the test's own runtime may be shutting down: drop the
        // database from a thread with a runtime of its own, and wait for it.
        let (admin_url, name) = (admin_url.clone(), name.clone());
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|err| err.to_string())?;
            runtime.block_on(async {
                let mut options = ConnectOptions::new(admin_url);
                options
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(10))
                    .sqlx_logging(false);
                let admin = Database::connect(options)
                    .await
                    .map_err(|err| err.to_string())?;
                let result = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
                let _ = admin.close().await;
                result.map(|_| ()).map_err(|err| err.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("warning: could not drop the test database: {err}"),
            Err(_) => eprintln!("warning: the thread dropping the test database panicked"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database_name;

    #[test]
    fn replaces_only_the_database_name() {
        assert_eq!(
            with_database_name("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database_name("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database_name("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
