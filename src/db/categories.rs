use diesel::prelude::*;

use super::schema::categories;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = categories)]
pub struct CategoryRow {
    pub code: String,
    pub parent_code: Option<String>,
    pub label: String,
    pub description: String,
    pub sort_order: i32,
    pub active: bool,
}

pub fn list_active(conn: &mut DbConnection) -> QueryResult<Vec<CategoryRow>> {
    categories::table
        .filter(categories::active.eq(true))
        .select(CategoryRow::as_select())
        .order((categories::sort_order.asc(), categories::code.asc()))
        .load(conn)
}

pub fn is_active(conn: &mut DbConnection, code: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        categories::table.filter(categories::code.eq(code)).filter(categories::active.eq(true)),
    ))
    .get_result(conn)
}

pub fn label(conn: &mut DbConnection, code: &str) -> QueryResult<String> {
    categories::table.find(code).select(categories::label).first(conn)
}

/// Every category's label, retired ones too: history keeps its codes.
pub fn labels(conn: &mut DbConnection) -> QueryResult<Vec<(String, String)>> {
    categories::table.select((categories::code, categories::label)).load(conn)
}
