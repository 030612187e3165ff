//! Planned loading: a row with the rows it points at, in one statement.
//!
//! A row read by id (a referral by `node` or `referral`) whose selection asks for what it
//! points at — a referral's participant, mother and project — reads those rows in its own
//! statement, each as a `LEFT JOIN` on its id under `principal.joined::<T>()`: the scope
//! check and row condition the loader of `T` filters with, so a joined row is exactly the row
//! the loader would return, and a row the caller may not see is absent in both. The joined
//! rows settle the request's loaders ([`crate::context::Batcher::seed`]); the nested fields
//! then find them there and run no statement. What the selection does not ask for is not
//! joined; a pointed table whose scope the token lacks is not joined either, so its field
//! fails through its loader exactly as before.
//!
//! Everything not planned here is loaded by the loaders, pages included: joined onto a page,
//! rows that repeat from row to row (a page's mothers and projects) are decoded once per row,
//! and the measured page cost more than the statements it saved (api/benches/RESULTS.md,
//! 2026-12-06 evening).

use std::marker::PhantomData;

use async_graphql::{Context, Lookahead};
use sea_orm::{
    ColumnTrait, DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable, JoinType, ModelTrait,
    QueryFilter, QueryResult, QuerySelect, QueryTrait, Select, Value,
    sea_query::{Expr, ExprTrait, IntoIden, SelectExpr},
};
use uuid::Uuid;

use crate::{
    auth::Principal,
    context::RequestContext,
    error::ApiResult,
    loaders::{ById, Keyed},
};

/// `Self` points at a row of `T` through [`Self::pointer`], shown as the GraphQL field
/// [`Self::FIELD`] of `Self`'s type.
pub trait PointsAt<T: Keyed>: EntityTrait {
    const FIELD: &'static str;
    fn pointer() -> Self::Column;
}

/// Declares which tables a table points at, for [`PointsAt`]:
/// `points_at!(referral => "participant": participant by ParticipantId, ...)`.
#[macro_export]
macro_rules! points_at {
    ($from:ident => $($field:literal: $to:ident by $column:ident),+ $(,)?) => {
        $(impl $crate::planned::PointsAt<entity::$to::Entity> for entity::$from::Entity {
            const FIELD: &'static str = $field;
            fn pointer() -> entity::$from::Column {
                entity::$from::Column::$column
            }
        })+
    };
}

/// Which of a plan's pointed tables a statement joins: bit `i` for slot `i`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wanted(u8);

impl Wanted {
    fn has(self, slot: usize) -> bool {
        self.0 & (1 << slot) != 0
    }

    fn with(self, slot: usize, on: bool) -> Self {
        Wanted(self.0 | (u8::from(on) << slot))
    }
}

/// The pointed tables a row of `E` may bring along, as a tuple of entities (`(A, B, C)`).
pub trait Pointers<E: EntityTrait>: Send + Sync + 'static {
    /// What the joined slots decode to: `Option<T::Model>` per slot.
    type Rows: Send;

    /// The slots whose field `selection` (the selection of one `E` object) asks for.
    fn wanted(selection: &Lookahead<'_>) -> Wanted;

    /// Joins the `wanted` slots the principal may read onto `query`; returns what it joined.
    fn join(query: Select<E>, principal: &Principal, wanted: Wanted) -> (Select<E>, Wanted);

    fn decode(row: &QueryResult) -> Result<Self::Rows, DbErr>;

    /// Settles each joined slot's loader with its row (or with "none visible").
    fn seed(ctx: &Context<'_>, row: &E::Model, rows: Self::Rows, joined: Wanted);
}

/// A row of `E` with the rows a plan `P` joined onto it.
struct Planned<E: EntityTrait, P: Pointers<E>> {
    row: E::Model,
    rows: P::Rows,
    plan: PhantomData<fn() -> P>,
}

impl<E, P> FromQueryResult for Planned<E, P>
where
    E: EntityTrait,
    E::Model: FromQueryResult,
    P: Pointers<E>,
{
    fn from_query_result(row: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        Ok(Self {
            row: E::Model::from_query_result(row, pre)?,
            rows: P::decode(row)?,
            plan: PhantomData,
        })
    }
}

impl<E: EntityTrait, P: Pointers<E>> Planned<E, P> {
    /// Settles the loaders with the joined rows and hands the row on.
    fn seeded(self, ctx: &Context<'_>, joined: Wanted) -> E::Model {
        P::seed(ctx, &self.row, self.rows, joined);
        self.row
    }
}

/// One row of `E` by id as the principal may read it (`principal.read::<E>()`, the query of
/// `E`'s own loader), with the slots its selection asks for joined and seeded, and the row
/// itself settled in its own loader.
pub async fn one<E, P>(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<E::Model>>
where
    E: Keyed,
    E::Model: ModelTrait<Entity = E> + FromQueryResult + Sync,
    P: Pointers<E>,
{
    let principal = ctx.principal()?;
    let query = principal.read::<E>()?.filter(E::id_column().eq(id));
    let (query, joined) = P::join(query, principal, P::wanted(&ctx.look_ahead()));
    let found = query
        .into_model::<Planned<E, P>>()
        .one(ctx.db()?)
        .await?
        .map(|planned| planned.seeded(ctx, joined));
    if let Ok(loader) = ctx.loader::<ById<E>>() {
        loader.seed(id, found.clone());
    }
    Ok(found)
}

/// The column alias prefix of slot `slot`: not a column name of any table.
fn prefix(slot: usize) -> String {
    format!("planned{slot}_")
}

/// Joins `T` as slot `slot` when wanted and the principal may read `T`; otherwise selects a
/// `NULL` id for the slot, so decoding finds it empty (and the field's loader answers, or
/// refuses, as without a plan). Returns whether it joined.
fn join_slot<E, T>(
    query: Select<E>,
    principal: &Principal,
    slot: usize,
    wanted: bool,
) -> (Select<E>, bool)
where
    E: PointsAt<T>,
    T: Keyed,
{
    let pre = prefix(slot);
    let rows = if wanted {
        principal.joined::<T>().ok()
    } else {
        None
    };
    let Some(rows) = rows else {
        let id = format!("{pre}{}", T::id_column().as_str());
        return (query.expr_as(Expr::value(Value::Uuid(None)), id), false);
    };
    let mut query = query;
    let on = sea_orm::Condition::all()
        .add(
            T::id_column()
                .into_expr()
                .equals(E::pointer().as_column_ref()),
        )
        .add(rows);
    let statement = QueryTrait::query(&mut query);
    statement.join(JoinType::LeftJoin, T::default().table_ref(), on);
    for column in <T::Column as Iterable>::iter() {
        statement.expr(SelectExpr {
            expr: column.select_as(column.into_expr()),
            alias: Some(format!("{pre}{}", column.as_str()).into_iden()),
            window: None,
        });
    }
    (query, true)
}

/// Slot `slot`'s row, `None` when the slot was not joined or no visible row matched.
fn decode_slot<T: Keyed>(row: &QueryResult, slot: usize) -> Result<Option<T::Model>, DbErr>
where
    T::Model: FromQueryResult,
{
    let pre = prefix(slot);
    let id: Option<Uuid> = row.try_get(&pre, T::id_column().as_str())?;
    match id {
        Some(_) => T::Model::from_query_result(row, &pre).map(Some),
        None => Ok(None),
    }
}

/// Settles `T`'s loader for the id `row` points at with what slot `slot` joined.
fn seed_slot<E, T>(ctx: &Context<'_>, row: &E::Model, value: Option<T::Model>, joined: bool)
where
    E: PointsAt<T>,
    E::Model: ModelTrait<Entity = E>,
    T: Keyed,
    T::Model: Sync,
{
    if !joined {
        return;
    }
    let Value::Uuid(Some(id)) = row.get(E::pointer()) else {
        return;
    };
    if let Ok(loader) = ctx.loader::<ById<T>>() {
        loader.seed(id, value);
    }
}

/// Implements [`Pointers`] for a tuple of pointed tables, slot `i` for the `i`-th.
macro_rules! pointers {
    ($($slot:tt: $target:ident),+) => {
        impl<E, $($target),+> Pointers<E> for ($($target,)+)
        where
            E: EntityTrait $(+ PointsAt<$target>)+,
            E::Model: ModelTrait<Entity = E>,
            $($target: Keyed, $target::Model: FromQueryResult + Sync,)+
        {
            type Rows = ($(Option<$target::Model>,)+);

            fn wanted(selection: &Lookahead<'_>) -> Wanted {
                Wanted::default()
                    $(.with($slot, selection.field(<E as PointsAt<$target>>::FIELD).exists()))+
            }

            fn join(
                query: Select<E>,
                principal: &Principal,
                wanted: Wanted,
            ) -> (Select<E>, Wanted) {
                let joined = Wanted::default();
                $(
                    let (query, on) =
                        join_slot::<E, $target>(query, principal, $slot, wanted.has($slot));
                    let joined = joined.with($slot, on);
                )+
                (query, joined)
            }

            fn decode(row: &QueryResult) -> Result<Self::Rows, DbErr> {
                Ok(($(decode_slot::<$target>(row, $slot)?,)+))
            }

            fn seed(ctx: &Context<'_>, row: &E::Model, rows: Self::Rows, joined: Wanted) {
                $(seed_slot::<E, $target>(ctx, row, rows.$slot, joined.has($slot));)+
            }
        }
    };
}

pointers!(0: A, 1: B, 2: C);
