//! Bulk writing for the scale generator: `COPY ... FROM STDIN` on PostgreSQL, the largest
//! multi-row INSERTs SQLite allows on SQLite, one transaction per [`Batch`].
//!
//! Rows are sea-orm models, so the column list and the values come from the entities and the
//! generator cannot drift from the schema. Parents must be pushed before their children: every
//! constraint is checked as rows arrive (nothing is deferred or disabled).

use sea_orm::{
    ActiveModelTrait, ActiveValue, DatabaseBackend, DatabaseConnection, DbErr, EntityName,
    EntityTrait, IdenStatic, Insert, IntoActiveModel, Iterable, TransactionTrait, Value,
};

/// SQLite's limit on bound values per statement.
const SQLITE_VALUES_PER_INSERT: usize = 32_766;
/// COPY data is sent in pieces of about this many bytes.
const COPY_CHUNK_BYTES: usize = 4 << 20;

/// One table's rows, ready to write.
pub struct TableRows {
    table: &'static str,
    rows: usize,
    write: Box<dyn FnOnce(Target) -> Encoded + Send>,
}

/// How a backend wants its rows.
#[derive(Clone, Copy)]
enum Target {
    Copy,
    Insert,
}

enum Encoded {
    Copy {
        statement: String,
        data: Vec<String>,
    },
    Insert(Vec<sea_orm::Statement>),
}

impl TableRows {
    /// Rows of one entity; nothing is encoded until the batch is written.
    pub fn of<A, M>(rows: Vec<M>) -> Self
    where
        A: ActiveModelTrait + Send + 'static,
        M: IntoActiveModel<A> + Send + 'static,
    {
        let table = <A::Entity as Default>::default().table_name();
        let count = rows.len();
        Self {
            table,
            rows: count,
            write: Box::new(move |target| match target {
                Target::Copy => copy_text::<A, M>(rows),
                Target::Insert => Encoded::Insert(inserts::<A, M>(rows)),
            }),
        }
    }

    pub fn table(&self) -> &'static str {
        self.table
    }

    pub fn len(&self) -> usize {
        self.rows
    }
}

/// Tables written together in one transaction, in the order pushed.
#[derive(Default)]
pub struct Batch(Vec<TableRows>);

impl Batch {
    pub fn push<A, M>(&mut self, rows: Vec<M>)
    where
        A: ActiveModelTrait + Send + 'static,
        M: IntoActiveModel<A> + Send + 'static,
    {
        if !rows.is_empty() {
            self.0.push(TableRows::of::<A, M>(rows));
        }
    }

    /// `(table, rows)` in write order, for progress reports.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        self.0.iter().map(|t| (t.table(), t.len())).collect()
    }

    /// Writes every table in one transaction.
    pub async fn write(self, db: &DatabaseConnection) -> Result<(), DbErr> {
        match db.get_database_backend() {
            DatabaseBackend::Postgres => self.copy(db).await,
            _ => self.insert(db).await,
        }
    }

    async fn copy(self, db: &DatabaseConnection) -> Result<(), DbErr> {
        let pool = db.get_postgres_connection_pool();
        let mut txn = pool.begin().await.map_err(sqlx_err)?;
        for table in self.0 {
            let Encoded::Copy { statement, data } = (table.write)(Target::Copy) else {
                continue;
            };
            let mut copy = txn.copy_in_raw(&statement).await.map_err(sqlx_err)?;
            for chunk in data {
                copy.send(chunk.into_bytes()).await.map_err(sqlx_err)?;
            }
            copy.finish().await.map_err(sqlx_err)?;
        }
        txn.commit().await.map_err(sqlx_err)
    }

    async fn insert(self, db: &DatabaseConnection) -> Result<(), DbErr> {
        use sea_orm::ConnectionTrait;
        let txn = db.begin().await?;
        for table in self.0 {
            let Encoded::Insert(statements) = (table.write)(Target::Insert) else {
                continue;
            };
            for statement in statements {
                txn.execute_raw(statement).await?;
            }
        }
        txn.commit().await
    }
}

fn sqlx_err(err: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Custom(format!("bulk write failed: {err}"))
}

fn columns<A: ActiveModelTrait>() -> Vec<<A::Entity as EntityTrait>::Column> {
    <A::Entity as EntityTrait>::Column::iter().collect()
}

/// Multi-row INSERT statements of at most [`SQLITE_VALUES_PER_INSERT`] values each.
fn inserts<A, M>(rows: Vec<M>) -> Vec<sea_orm::Statement>
where
    A: ActiveModelTrait + Send,
    M: IntoActiveModel<A> + Send,
{
    use sea_orm::QueryTrait;
    let per_statement = (SQLITE_VALUES_PER_INSERT / columns::<A>().len().max(1)).max(1);
    let mut rows = rows.into_iter().peekable();
    let mut out = Vec::new();
    while rows.peek().is_some() {
        let chunk: Vec<M> = rows.by_ref().take(per_statement).collect();
        out.push(Insert::many(chunk).build(DatabaseBackend::Sqlite));
    }
    out
}

/// COPY text format: tab-separated, `\N` for NULL, backslash escapes.
fn copy_text<A, M>(rows: Vec<M>) -> Encoded
where
    A: ActiveModelTrait,
    M: IntoActiveModel<A>,
{
    let columns = columns::<A>();
    let table = <A::Entity as Default>::default().table_name();
    let names: Vec<String> = columns
        .iter()
        .map(|c| format!("\"{}\"", c.as_str()))
        .collect();
    let statement = format!("COPY \"{table}\" ({}) FROM STDIN", names.join(", "));
    let mut data = Vec::new();
    let mut buf = String::with_capacity(COPY_CHUNK_BYTES + 4096);
    for row in rows {
        let model = row.into_active_model();
        for (n, column) in columns.iter().enumerate() {
            if n > 0 {
                buf.push('\t');
            }
            match model.get(*column) {
                ActiveValue::Set(value) | ActiveValue::Unchanged(value) => {
                    push_value(&mut buf, &value)
                }
                ActiveValue::NotSet => buf.push_str("\\N"),
            }
        }
        buf.push('\n');
        if buf.len() >= COPY_CHUNK_BYTES {
            data.push(std::mem::take(&mut buf));
        }
    }
    if !buf.is_empty() {
        data.push(buf);
    }
    Encoded::Copy { statement, data }
}

fn push_value(buf: &mut String, value: &Value) {
    use std::fmt::Write;
    let null = "\\N";
    match value {
        Value::Bool(v) => buf.push_str(v.map_or(null, |b| if b { "t" } else { "f" })),
        Value::SmallInt(v) => push_display(buf, v.as_ref()),
        Value::Int(v) => push_display(buf, v.as_ref()),
        Value::BigInt(v) => push_display(buf, v.as_ref()),
        Value::Double(v) => push_display(buf, v.as_ref()),
        Value::String(v) => match v {
            Some(s) => push_escaped(buf, s),
            None => buf.push_str(null),
        },
        Value::Enum(sea_orm::sea_query::OptionEnum::Some(e)) => push_escaped(buf, &e.value),
        Value::Enum(sea_orm::sea_query::OptionEnum::None(_)) => buf.push_str(null),
        Value::Uuid(v) => push_display(buf, v.as_ref()),
        Value::ChronoDate(v) => push_display(buf, v.as_ref()),
        Value::ChronoDateTimeUtc(v) => match v {
            Some(t) => {
                let _ = write!(buf, "{}", t.format("%Y-%m-%d %H:%M:%S%.6f+00"));
            }
            None => buf.push_str(null),
        },
        // The generator writes none of the other types; fail loudly at COPY time if it ever does.
        other => {
            let _ = write!(buf, "<unsupported {other:?}>");
        }
    }
}

fn push_display(buf: &mut String, value: Option<&impl std::fmt::Display>) {
    use std::fmt::Write;
    match value {
        Some(v) => {
            let _ = write!(buf, "{v}");
        }
        None => buf.push_str("\\N"),
    }
}

fn push_escaped(buf: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => buf.push_str("\\\\"),
            '\t' => buf.push_str("\\t"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            _ => buf.push(c),
        }
    }
}
