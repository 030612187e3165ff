//! Relay connections over keyset pagination (sea-orm's `Cursor`), for every list in the API.
//!
//! Invariants: a page never exceeds [`MAX_PAGE_SIZE`]; order is total (the sort column, then
//! the row id), so paging is stable while rows are added; a cursor names the ordering it was
//! made for and is refused under another; `totalCount` costs a query only when asked for.

use std::{future::Future, pin::Pin, sync::Arc};

use async_graphql::{
    Context, Enum, Object, OutputType,
    connection::{Connection, Edge, EmptyFields},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, ColumnType, DbErr, EntityTrait, IntoIdentity, ModelTrait, PaginatorTrait, Select,
    Value,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    db::Db,
    error::{ApiError, ApiResult},
};

pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// The hard maximum for `first`/`last`; larger requests are refused, not silently cut.
pub const MAX_PAGE_SIZE: u64 = 100;

/// The Relay arguments of a connection field, as the client sent them, with the direction
/// of its order.
#[derive(Debug, Default, Clone)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
    pub direction: Option<SortDirection>,
}

/// The direction of a list's `orderBy`. Without one, each order keeps its own (names A to Z,
/// dates newest first, `UPDATED_AT` oldest change first for sync); the id breaks ties in the
/// same direction.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum SortDirection {
    /// Smallest first: A to Z, oldest first.
    Asc,
    /// Largest first: Z to A, newest first.
    Desc,
}

/// A list order: `column` (then the id, same direction) ascending or descending.
/// `name` is written into cursors so a cursor cannot be replayed under another order.
pub struct Ordering<E: EntityTrait> {
    pub name: &'static str,
    pub column: E::Column,
    pub id: E::Column,
    pub descending: bool,
}

impl<E: EntityTrait> Ordering<E> {
    pub fn ascending(name: &'static str, column: E::Column, id: E::Column) -> Self {
        Self {
            name,
            column,
            id,
            descending: false,
        }
    }

    pub fn descending(name: &'static str, column: E::Column, id: E::Column) -> Self {
        Self {
            descending: true,
            ..Self::ascending(name, column, id)
        }
    }

    /// The order every list offers for incremental sync: oldest change first.
    pub fn by_update(updated_at: E::Column, id: E::Column) -> Self {
        Self::ascending("updated_at", updated_at, id)
    }

    /// This order in `direction` (its own when `None`).
    fn directed(self, direction: Option<SortDirection>) -> Self {
        match direction {
            Some(direction) => Self {
                descending: direction == SortDirection::Desc,
                ..self
            },
            None => self,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v")]
enum CursorValue {
    Time(DateTime<Utc>),
    Date(NaiveDate),
    Text(String),
    Int(i64),
    Uuid(Uuid),
}

impl CursorValue {
    fn from_value(value: Value) -> ApiResult<Self> {
        let unsupported = |v: &Value| ApiError::internal(format!("unsortable value {v:?}"));
        Ok(match value {
            Value::ChronoDateTimeUtc(Some(v)) => Self::Time(v),
            Value::ChronoDate(Some(v)) => Self::Date(v),
            Value::String(Some(v)) => Self::Text(v),
            Value::Int(Some(v)) => Self::Int(v.into()),
            Value::BigInt(Some(v)) => Self::Int(v),
            Value::Uuid(Some(v)) => Self::Uuid(v),
            other => return Err(unsupported(&other)),
        })
    }

    fn into_value(self) -> Value {
        match self {
            Self::Time(v) => v.into(),
            Self::Date(v) => v.into(),
            Self::Text(v) => v.into(),
            Self::Int(v) => v.into(),
            Self::Uuid(v) => v.into(),
        }
    }

    /// Whether this value can be compared with a column of `column_type` without a SQL error.
    fn fits(&self, column_type: &ColumnType) -> bool {
        matches!(
            (self, column_type),
            (
                Self::Time(_),
                ColumnType::TimestampWithTimeZone | ColumnType::Timestamp
            ) | (Self::Date(_), ColumnType::Date)
                | (Self::Text(_), ColumnType::String(_) | ColumnType::Text)
                | (Self::Int(_), ColumnType::Integer | ColumnType::BigInteger)
                | (Self::Uuid(_), ColumnType::Uuid)
        )
    }
}

/// What a cursor holds. `d` (descending) is absent from cursors made before directions
/// existed; [`decode_cursor`] then takes the order's own direction.
#[derive(Serialize, Deserialize)]
struct CursorKey {
    o: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    d: Option<bool>,
    v: CursorValue,
    id: Uuid,
}

fn encode_cursor<E: EntityTrait>(ordering: &Ordering<E>, model: &E::Model) -> ApiResult<String>
where
    E::Model: ModelTrait<Entity = E>,
{
    let id = match model.get(ordering.id) {
        Value::Uuid(Some(id)) => id,
        other => {
            return Err(ApiError::internal(format!(
                "row id is not a uuid: {other:?}"
            )));
        }
    };
    let key = CursorKey {
        o: ordering.name.to_owned(),
        d: Some(ordering.descending),
        v: CursorValue::from_value(model.get(ordering.column))?,
        id,
    };
    let json = serde_json::to_vec(&key).map_err(ApiError::internal)?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// Decodes a client cursor into the (sort value, id) tuple of `ordering`.
fn decode_cursor<E: EntityTrait>(
    ordering: &Ordering<E>,
    cursor: &str,
    field: &str,
) -> ApiResult<(Value, Value)> {
    let bad = |why: &str| ApiError::validation(field, format!("invalid cursor: {why}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad("not a cursor from this API"))?;
    let key: CursorKey =
        serde_json::from_slice(&bytes).map_err(|_| bad("not a cursor from this API"))?;
    if key.o != ordering.name || key.d.is_some_and(|d| d != ordering.descending) {
        return Err(bad(
            "it was made for another ordering; restart paging without it",
        ));
    }
    if !key.v.fits(ordering.column.def().get_column_type()) {
        return Err(bad("not a cursor from this API"));
    }
    Ok((key.v.into_value(), key.id.into()))
}

fn page_size(value: Option<i32>, field: &str) -> ApiResult<Option<u64>> {
    match value {
        None => Ok(None),
        Some(n) if n >= 0 && (n as u64) <= MAX_PAGE_SIZE => Ok(Some(n as u64)),
        Some(n) => Err(ApiError::validation(
            field,
            format!(
                "{n} is out of range: a page holds 0 to {MAX_PAGE_SIZE} items; page with `after`/`before` for more"
            ),
        )),
    }
}

type CountFuture = Pin<Box<dyn Future<Output = Result<u64, DbErr>> + Send>>;

/// `totalCount` of a connection: the filtered (and row-scoped) query, counted on demand.
#[derive(Clone)]
pub struct ConnectionFields {
    count: Arc<dyn Fn(Db) -> CountFuture + Send + Sync>,
}

#[Object]
impl ConnectionFields {
    /// The number of items in the whole list (all pages), after filters and access rules.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        let db = ctx.data::<Db>()?.clone();
        Ok((self.count)(db).await.map_err(ApiError::from)?)
    }
}

/// A Relay connection of `Node`s with `totalCount`.
pub type ListConnection<Node> = Connection<String, Node, ConnectionFields, EmptyFields>;

/// Runs one page of `query` in `ordering` and wraps it as a connection of `to_node(model)`.
pub async fn connection<E, N>(
    db: &Db,
    query: Select<E>,
    ordering: Ordering<E>,
    args: PageArgs,
    to_node: impl Fn(E::Model) -> N,
) -> ApiResult<ListConnection<N>>
where
    E: EntityTrait,
    E::Model: ModelTrait<Entity = E> + Sync,
    N: OutputType,
{
    let ordering = ordering.directed(args.direction);
    let first = page_size(args.first, "first")?;
    let last = page_size(args.last, "last")?;
    if first.is_some() && last.is_some() {
        return Err(ApiError::validation(
            "last",
            "give `first` (forward paging) or `last` (backward paging), not both",
        ));
    }
    let after = args
        .after
        .as_deref()
        .map(|c| decode_cursor(&ordering, c, "after"))
        .transpose()?;
    let before = args
        .before
        .as_deref()
        .map(|c| decode_cursor(&ordering, c, "before"))
        .transpose()?;

    let count_query = query.clone();
    let count = Arc::new(move |db: Db| -> CountFuture {
        let q = count_query.clone();
        Box::pin(async move { q.count(&db).await })
    });

    let mut cursor = query.cursor_by((ordering.column, ordering.id).into_identity());
    if ordering.descending {
        cursor.desc();
    }
    if let Some(after) = after {
        cursor.after(after);
    }
    if let Some(before) = before {
        cursor.before(before);
    }
    let backward = last.is_some();
    let size = last.or(first).unwrap_or(DEFAULT_PAGE_SIZE);
    if backward {
        cursor.last(size + 1);
    } else {
        cursor.first(size + 1);
    }
    let mut rows = cursor.all(db).await?;
    let has_more = rows.len() as u64 > size;
    if has_more {
        if backward {
            rows.remove(0);
        } else {
            rows.pop();
        }
    }
    let (has_previous, has_next) = if backward {
        (has_more, args.before.is_some())
    } else {
        (args.after.is_some(), has_more)
    };

    let mut conn =
        Connection::with_additional_fields(has_previous, has_next, ConnectionFields { count });
    conn.edges.reserve(rows.len());
    for row in rows {
        let cursor = encode_cursor(&ordering, &row)?;
        conn.edges.push(Edge::new(cursor, to_node(row)));
    }
    Ok(conn)
}

impl PageArgs {
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Self {
        Self {
            first,
            after,
            last,
            before,
            direction: None,
        }
    }

    /// These arguments with the list's `direction` argument.
    pub fn sorted(self, direction: Option<SortDirection>) -> Self {
        Self { direction, ..self }
    }
}

/// Keeps rows changed at or after `since`: the `updatedSince` filter every list offers.
pub fn updated_since<E: EntityTrait>(
    query: Select<E>,
    column: E::Column,
    since: Option<DateTime<Utc>>,
) -> Select<E> {
    use sea_orm::QueryFilter;
    match since {
        Some(since) => query.filter(column.gte(since)),
        None => query,
    }
}

/// The longest text a `nameContains` filter takes, in characters.
pub const SEARCH_CHARS: usize = 100;

/// The `nameContains` filters: rows where any of `columns` holds `text`, ignoring case
/// (every letter on PostgreSQL; on SQLite, whose `lower()` folds ASCII only, `æ ø å` match
/// their own case). `%`, `_` and `\` in `text` are literal. Blank or longer than
/// [`SEARCH_CHARS`]: `BAD_USER_INPUT` on `field`.
pub fn name_contains<E: EntityTrait>(
    query: Select<E>,
    columns: &[E::Column],
    text: Option<&str>,
    field: &str,
) -> ApiResult<Select<E>> {
    use sea_orm::{
        Condition, QueryFilter,
        sea_query::{Expr, ExprTrait, Func, LikeExpr},
    };
    let Some(text) = text else {
        return Ok(query);
    };
    let text = text.trim();
    if text.is_empty() || text.chars().count() > SEARCH_CHARS {
        return Err(ApiError::validation(
            field,
            format!("between 1 and {SEARCH_CHARS} characters to search for"),
        ));
    }
    let mut escaped = String::with_capacity(text.len() + 2);
    escaped.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    let mut any = Condition::any();
    for column in columns {
        let lowered = Expr::expr(Func::lower(Expr::col(*column)));
        any = any.add(lowered.like(LikeExpr::new(escaped.clone()).escape('\\')));
    }
    Ok(query.filter(any))
}

/// How a filter's range ends: dates name the last day kept (`visits(filter: {from, to})`,
/// `joinedTo`), times the first instant no longer kept (`createdBefore`), so consecutive
/// ranges never overlap.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RangeEnd {
    /// `to` is kept: dates.
    Inclusive,
    /// `to` is not kept: instants.
    Exclusive,
}

/// Keeps rows whose `column` lies between `from` and `to` (ending as `end` says). A range
/// that ends before it starts is `BAD_USER_INPUT` on `field`, so an empty page never hides a
/// swapped pair.
pub fn within<E: EntityTrait, V: Into<Value> + PartialOrd + Copy>(
    query: Select<E>,
    column: E::Column,
    (from, to): (Option<V>, Option<V>),
    end: RangeEnd,
    field: &str,
) -> ApiResult<Select<E>> {
    use sea_orm::QueryFilter;
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        return Err(ApiError::validation(
            field,
            "the range ends before it starts",
        ));
    }
    let mut query = query;
    if let Some(from) = from {
        query = query.filter(column.gte(from));
    }
    match (to, end) {
        (Some(to), RangeEnd::Inclusive) => query = query.filter(column.lte(to)),
        (Some(to), RangeEnd::Exclusive) => query = query.filter(column.lt(to)),
        (None, _) => {}
    }
    Ok(query)
}
