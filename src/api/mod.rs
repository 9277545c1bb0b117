//! HTTP resources. Handlers stay short: extract → authorize → call → DTO.

pub mod auth;
pub mod categories;
pub mod health;
pub mod organisations;
pub mod problems;
pub mod units;
pub mod users;

use actix_governor::Governor;
use actix_web::web::{self, get, patch, post};

use crate::config::Config;

pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

pub fn configure(cfg: &mut web::ServiceConfig, config: &Config, login_limit: &auth::LoginLimit) {
    cfg.app_data(problems::json_config(config.max_body_bytes))
        .app_data(problems::query_config())
        .app_data(problems::path_config())
        .route("/health", get().to(health::health))
        .route("/ready", get().to(health::ready))
        .route("/openapi.yaml", get().to(openapi))
        .service(
            web::scope("/api/v1")
                .service(
                    web::resource("/auth/token")
                        .wrap(Governor::new(login_limit))
                        .route(post().to(auth::token)),
                )
                .route("/me", get().to(auth::me))
                .route("/categories", get().to(categories::list))
                .service(
                    web::resource("/organisations")
                        .route(get().to(organisations::list))
                        .route(post().to(organisations::create)),
                )
                .route("/organisations/{id}", patch().to(organisations::update))
                .route("/organisations/{id}/units", post().to(units::create))
                .route("/units/{id}", patch().to(units::update))
                .service(
                    web::resource("/users")
                        .route(get().to(users::list))
                        .route(post().to(users::create)),
                )
                .route("/users/{id}", patch().to(users::update)),
        )
        .default_service(web::to(problems::not_found));
}

async fn openapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/yaml")
        .body(OPENAPI_YAML)
}
