//! Building blocks shared by the migrations: a table builder that names constraints
//! `fk_<table>_<col>`, `ck_<table>_<what>` and `idx_<table>_<cols>`, and creates the
//! indexes right after the table. These helpers are part of the schema history: change
//! them only in ways that leave the SQL of existing migrations unchanged.

use sea_orm_migration::{prelude::*, schema::*};

/// A `CREATE TABLE` plus the indexes that follow it, built from column helpers.
///
/// Foreign keys and CHECKs go inside the `CREATE TABLE` because SQLite cannot add them
/// to an existing table.
pub struct NewTable {
    name: &'static str,
    table: TableCreateStatement,
    indexes: Vec<IndexCreateStatement>,
}

impl NewTable {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            table: Table::create().table(name).take(),
            indexes: Vec::new(),
        }
    }

    pub fn col(mut self, column: ColumnDef) -> Self {
        self.table.col(column);
        self
    }

    /// The `id` primary key; the application generates UUID v7 so ids sort by creation.
    pub fn id(self) -> Self {
        self.col(pk_uuid("id"))
    }

    /// A composite primary key, for pure join tables.
    pub fn primary_key(mut self, cols: &[&'static str]) -> Self {
        let mut pk = Index::create();
        for col in cols {
            pk.col(*col);
        }
        self.table.primary_key(&mut pk);
        self
    }

    /// `created_at` and `updated_at`. No database default: the application sets both,
    /// so SQLite and PostgreSQL store the same instant with the same precision.
    pub fn timestamps(self) -> Self {
        self.created_at()
            .col(timestamp_with_time_zone("updated_at"))
    }

    /// `created_at` alone, for rows that are never updated.
    pub fn created_at(self) -> Self {
        self.col(timestamp_with_time_zone("created_at"))
    }

    /// `column` (build it with `uuid`/`uuid_null` to say whether it is optional) with a
    /// foreign key to `ref_table.id`.
    pub fn uuid_fk(
        self,
        column: ColumnDef,
        ref_table: &'static str,
        on_delete: ForeignKeyAction,
    ) -> Self {
        self.fk(column, ref_table, "id", on_delete)
    }

    /// `column` with a foreign key to `municipality.code`; municipalities are never deleted
    /// while referenced.
    pub fn municipality_fk(self, column: ColumnDef) -> Self {
        self.fk(column, "municipality", "code", ForeignKeyAction::Restrict)
    }

    fn fk(
        mut self,
        column: ColumnDef,
        ref_table: &'static str,
        ref_col: &'static str,
        on_delete: ForeignKeyAction,
    ) -> Self {
        let col = column.get_column_name();
        self.table.foreign_key(
            ForeignKey::create()
                .name(format!("fk_{}_{col}", self.name))
                .from_tbl(self.name)
                .from_col(col)
                .to_tbl(ref_table)
                .to_col(ref_col)
                .on_delete(on_delete),
        );
        self.col(column)
    }

    /// A NOT NULL enum column: `varchar(32)` restricted to `values`. A CHECK rather than a
    /// PostgreSQL enum type keeps one schema for both backends and makes adding a value a
    /// plain migration.
    pub fn one_of(self, col: &'static str, values: &[&'static str]) -> Self {
        self.enum_column(string_len(col, 32), values)
    }

    /// A nullable enum column; the CHECK lets NULL through (`NULL IN (..)` is unknown,
    /// which a CHECK accepts).
    pub fn one_of_null(self, col: &'static str, values: &[&'static str]) -> Self {
        self.enum_column(string_len_null(col, 32), values)
    }

    fn enum_column(self, column: ColumnDef, values: &[&'static str]) -> Self {
        let col = column.get_column_name();
        let check = Expr::col(col.clone()).is_in(values.iter().copied());
        self.col(column).check(&col, check)
    }

    /// A CHECK named `ck_<table>_<what>`, so violations are recognisable in errors on both
    /// backends.
    pub fn check(mut self, what: &str, expr: Expr) -> Self {
        self.table
            .check(Check::named(format!("ck_{}_{what}", self.name), expr));
        self
    }

    /// A plain index `idx_<table>_<cols>`.
    pub fn index(mut self, cols: &[&'static str]) -> Self {
        let index = self.new_index(cols);
        self.indexes.push(index);
        self
    }

    /// A unique index `idx_<table>_<cols>`.
    pub fn unique_index(mut self, cols: &[&'static str]) -> Self {
        let index = self.new_index(cols).unique().take();
        self.indexes.push(index);
        self
    }

    fn new_index(&self, cols: &[&'static str]) -> IndexCreateStatement {
        let mut index = Index::create()
            .name(format!("idx_{}_{}", self.name, cols.join("_")))
            .table(self.name)
            .take();
        for col in cols {
            index.col(*col);
        }
        index
    }

    /// Creates the table, then its indexes.
    pub async fn create(self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        manager.create_table(self.table).await?;
        for index in self.indexes {
            manager.create_index(index).await?;
        }
        Ok(())
    }
}

/// `col IS NULL OR col >= other`: an optional end that must not precede its start.
pub fn not_before(col: &'static str, other: &'static str) -> Expr {
    Expr::col(col)
        .is_null()
        .or(Expr::col(col).gte(Expr::col(other)))
}

/// Drops `tables` in the given order (list them dependants first); their indexes go with them.
pub async fn drop_tables(
    manager: &SchemaManager<'_>,
    tables: &[&'static str],
) -> Result<(), DbErr> {
    for table in tables {
        manager
            .drop_table(Table::drop().table(*table).take())
            .await?;
    }
    Ok(())
}
