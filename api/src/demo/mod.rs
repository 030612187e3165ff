//! The demo data set (placeholder until the generator lands).

use sea_orm::DatabaseConnection;

use crate::error::ApiResult;

pub async fn load(_db: &DatabaseConnection) -> ApiResult<String> {
    Ok("demo data: nothing loaded".into())
}
