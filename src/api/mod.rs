//! HTTP resources. Handlers stay short: extract → authorize → call → DTO.

pub mod actions;
pub mod admin;
pub mod analyses;
pub mod auth;
pub mod body;
pub mod categories;
pub mod clients;
pub mod deviations;
pub mod exports;
pub mod feed;
pub mod health;
pub mod health_communities;
pub mod imports;
pub mod learning;
pub mod mapping;
pub mod newsletter;
pub mod organisations;
pub mod patients;
pub mod problems;
pub mod query;
pub mod routing;
pub mod stats;
pub mod units;
pub mod users;
pub mod webhooks;

use actix_governor::Governor;
use actix_web::web::{self, delete, get, patch, post, put};

use crate::config::Config;
use crate::deviations::actions::{AcknowledgeInput, AnswerInput, ForwardInput, ReasonInput};

pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

pub fn configure(cfg: &mut web::ServiceConfig, config: &Config, login_limit: &crate::auth::limits::LoginLimit) {
    cfg.app_data(problems::json_config(config.max_body_bytes))
        .app_data(problems::query_config())
        .app_data(problems::path_config())
        .service(web::resource("/health").route(get().to(health::health)))
        .service(web::resource("/ready").route(get().to(health::ready)))
        .service(web::resource("/metrics").route(get().to(crate::monitoring::scrape_with_token)))
        .service(web::resource("/openapi.yaml").route(get().to(openapi)))
        .service(web::resource("/docs").route(get().to(docs_redirect)))
        // Browsable reference, fully offline: Swagger UI is vendored into the binary.
        .service(
            utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::from("/openapi.yaml")),
        )
        .service(
            web::scope("/api/v1")
                .service(web::resource("/auth/token").wrap(Governor::new(login_limit)).route(post().to(auth::token)))
                .service(web::resource("/auth/logout").route(post().to(auth::logout)))
                .service(web::resource("/me").route(get().to(auth::me)))
                .service(
                    web::resource("/me/newsletter").route(get().to(newsletter::get)).route(put().to(newsletter::put)),
                )
                .service(web::resource("/newsletters").route(post().to(newsletter::send)))
                .service(web::resource("/categories").route(get().to(categories::list)))
                .service(web::resource("/health-communities").route(get().to(health_communities::list)))
                .service(
                    web::resource("/organisations")
                        .route(get().to(organisations::list))
                        .route(post().to(organisations::create)),
                )
                .service(web::resource("/organisations/{id}").route(patch().to(organisations::update)))
                .service(web::resource("/organisations/{id}/units").route(post().to(units::create)))
                .service(web::resource("/organisations/{id}/handlers").route(get().to(users::assignable)))
                .service(
                    web::resource("/organisations/{id}/clients")
                        .route(get().to(clients::list))
                        .route(post().to(clients::create)),
                )
                .service(web::resource("/organisations/{id}/clients/{client_id}").route(delete().to(clients::revoke)))
                .service(web::resource("/feed").route(get().to(feed::read)))
                .service(
                    web::resource("/organisations/{id}/category-mapping")
                        .route(get().to(mapping::get))
                        .route(put().to(mapping::put)),
                )
                .service(
                    web::resource("/organisations/{id}/category-mapping.csv")
                        .route(get().to(mapping::get_csv))
                        .route(put().to(mapping::put_csv)),
                )
                .service(
                    web::resource("/organisations/{id}/webhooks")
                        .route(get().to(webhooks::list))
                        .route(post().to(webhooks::create)),
                )
                .service(
                    web::resource("/organisations/{id}/webhooks/{webhook_id}")
                        .route(get().to(webhooks::get))
                        .route(patch().to(webhooks::update))
                        .route(delete().to(webhooks::delete)),
                )
                .service(
                    web::resource("/organisations/{id}/webhooks/{webhook_id}/rotate-secret")
                        .route(post().to(webhooks::rotate_secret)),
                )
                .service(
                    web::resource("/organisations/{id}/webhooks/{webhook_id}/test")
                        .route(post().to(webhooks::send_test)),
                )
                .service(
                    web::resource("/organisations/{id}/webhooks/{webhook_id}/deliveries")
                        .route(get().to(webhooks::deliveries)),
                )
                .service(
                    web::resource("/organisations/{id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
                        .route(post().to(webhooks::redeliver)),
                )
                .service(web::resource("/units/{id}").route(patch().to(units::update)))
                .service(web::resource("/users").route(get().to(users::list)).route(post().to(users::create)))
                .service(web::resource("/users/{id}").route(patch().to(users::update)))
                .service(
                    web::resource("/organisations/{id}/routing")
                        .route(get().to(routing::get))
                        .route(put().to(routing::put)),
                )
                .service(
                    web::resource("/deviations").route(get().to(deviations::list)).route(post().to(deviations::submit)),
                )
                .service(web::resource("/deviations/{id}").route(get().to(deviations::get)))
                .service(web::resource("/deviations/{id}/events").route(get().to(deviations::events)))
                .service(
                    web::resource("/deviations/{id}/acknowledge")
                        .route(post().to(deviations::action::<AcknowledgeInput>)),
                )
                .service(web::resource("/deviations/{id}/forward").route(post().to(deviations::action::<ForwardInput>)))
                .service(web::resource("/deviations/{id}/reject").route(post().to(deviations::action::<ReasonInput>)))
                .service(web::resource("/deviations/{id}/answer").route(post().to(deviations::action::<AnswerInput>)))
                .service(web::resource("/deviations/{id}/close").route(post().to(deviations::close)))
                .service(web::resource("/deviations/{id}/reopen").route(post().to(deviations::reopen)))
                .service(web::resource("/deviations/{id}/comments").route(post().to(deviations::comment)))
                .service(web::resource("/deviations/{id}/patient/reveal").route(post().to(patients::reveal_patient)))
                .service(web::resource("/deviations/{id}/related").route(get().to(patients::related)))
                .service(
                    web::resource("/deviations/{id}/rating")
                        .route(get().to(deviations::rating))
                        .route(put().to(deviations::rate)),
                )
                .service(web::resource("/analyses").route(get().to(analyses::list)).route(post().to(analyses::create)))
                .service(
                    web::resource("/analyses/{id}")
                        .app_data(problems::json_config(analyses::BODY_LIMIT))
                        .route(get().to(analyses::get))
                        .route(patch().to(analyses::update)),
                )
                .service(web::resource("/analyses/{id}/status").route(post().to(analyses::move_to)))
                .service(web::resource("/analyses/{id}/deviations").route(post().to(analyses::link)))
                .service(web::resource("/analyses/{id}/participants").route(post().to(analyses::add_participant)))
                .service(web::resource("/analyses/{id}/factors").route(post().to(analyses::add_factor)))
                .service(web::resource("/analyses/{id}/events").route(get().to(analyses::events)))
                .service(web::resource("/actions").route(get().to(actions::list)).route(post().to(actions::create)))
                .service(
                    web::resource("/actions/{id}").route(get().to(actions::get)).route(patch().to(actions::update)),
                )
                .service(web::resource("/actions/{id}/status").route(post().to(actions::move_to)))
                .service(web::resource("/actions/{id}/events").route(get().to(actions::events)))
                .service(web::resource("/actions/{id}/effect").route(get().to(actions::effect)))
                .service(
                    web::resource("/learning-notes")
                        .route(get().to(learning::list))
                        .route(post().to(learning::publish)),
                )
                .service(web::resource("/learning-notes/{id}").route(get().to(learning::get)))
                .service(web::resource("/learning-notes/{id}/unpublish").route(post().to(learning::unpublish)))
                .service(web::resource("/patient-access-log/search").route(post().to(patients::patient_access_log)))
                .service(web::resource("/patient-access-log/summary").route(get().to(patients::patient_access_summary)))
                .service(web::resource("/stats").route(get().to(stats::get)))
                .service(web::resource("/stats/feedback").route(get().to(stats::feedback)))
                .service(web::resource("/reports/{tertial}.html").route(get().to(stats::report)))
                .service(web::resource("/reports/{tertial}.csv").route(get().to(stats::report)))
                .service(web::resource("/reports/{tertial}.xlsx").route(get().to(stats::report)))
                .service(web::resource("/exports/deviations").route(get().to(exports::deviations)))
                .service(web::resource("/admin/outbox").route(get().to(admin::outbox_status)))
                .service(web::resource("/admin/outbox/retry").route(post().to(admin::retry)))
                .service(
                    web::resource("/imports")
                        .app_data(problems::json_config(imports::BODY_LIMIT))
                        .route(get().to(imports::list))
                        .route(post().to(imports::create)),
                )
                .service(web::resource("/imports/{id}").route(get().to(imports::get))),
        );
    // Resources (not `.route(path, …)`, whose method guard turns a wrong method into 404) and no
    // default service: actix answers 404 for unknown paths and 405 for known paths with another
    // method, and `problems::render_errors` turns both into problem+json.
}

async fn docs_redirect() -> actix_web::HttpResponse {
    actix_web::HttpResponse::PermanentRedirect().insert_header(("location", "/docs/")).finish()
}

async fn openapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().content_type("application/yaml").body(OPENAPI_YAML)
}
