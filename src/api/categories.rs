use actix_web::web::{Data, Json};
use serde::{Deserialize, Serialize};

use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize, Deserialize)]
pub struct Category {
    pub code: String,
    pub parent_code: Option<String>,
    pub label: String,
    pub description: String,
}

#[derive(Serialize, Deserialize)]
pub struct CategoryList {
    pub items: Vec<Category>,
}

/// Public: the form needs the categories before anyone logs in.
pub async fn list(state: Data<AppState>) -> Result<Json<CategoryList>, ApiError> {
    let rows = db::run(&state.pool, |c| Ok(db::categories::list_active(c)?)).await?;
    let items = rows
        .into_iter()
        .map(|r| Category { code: r.code, parent_code: r.parent_code, label: r.label, description: r.description })
        .collect();
    Ok(Json(CategoryList { items }))
}
