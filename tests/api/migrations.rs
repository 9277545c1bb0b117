//! Migrations that move data, run down and up again on a database with real submissions in it:
//! nothing a reporter wrote may be lost on the way.

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use samavvik::db::{self, DbConnection};

use crate::helpers::*;

#[derive(QueryableByName, Debug, PartialEq)]
struct Answers {
    #[diesel(sql_type = Nullable<Text>)]
    immediate_actions: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    suggested_improvement: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    agreement_reference: Option<String>,
}

fn old_columns(conn: &mut DbConnection, id: &str) -> Answers {
    let sql = "SELECT immediate_actions, suggested_improvement, agreement_reference FROM deviations WHERE id = ";
    match conn {
        DbConnection::Pg(c) => diesel::sql_query(format!("{sql}$1")).bind::<Text, _>(id).get_result(c),
        DbConnection::Sqlite(c) => diesel::sql_query(format!("{sql}?")).bind::<Text, _>(id).get_result(c),
    }
    .unwrap()
}

#[derive(QueryableByName, Debug, PartialEq)]
struct Category {
    #[diesel(sql_type = Text)]
    label: String,
    #[diesel(sql_type = Text)]
    description: String,
}

fn category(conn: &mut DbConnection, code: &str) -> Category {
    let sql = "SELECT label, description FROM categories WHERE code = ";
    match conn {
        DbConnection::Pg(c) => diesel::sql_query(format!("{sql}$1")).bind::<Text, _>(code).get_result(c),
        DbConnection::Sqlite(c) => diesel::sql_query(format!("{sql}?")).bind::<Text, _>(code).get_result(c),
    }
    .unwrap()
}

#[actix_web::test]
async fn plain_category_names_replace_the_old_ones_but_not_an_administrators_own() {
    let app = spawn_app().await;
    let mut conn = app.conn();
    assert_eq!(category(&mut conn, "availability").label, "Fikk ikke tak i noen");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261214000027", "the ratings migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261213000026", "the newsletter migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261212000025", "the learning migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261211000024", "the actions migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261210000023", "the analyses migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261209000022", "the patient_log_chain migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261208000021", "the imports migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261207000020", "the reference_sequences migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261207000019", "the job_schedule migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261206000018", "the webhooks migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261205000017", "the category_mappings migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261205000016", "the api_keys migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261205000015", "the feed migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261204000014", "the helseid migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261203000013", "the privacy_officer migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261203000012", "the patient_identity migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261203000011");
    assert_eq!(category(&mut conn, "availability").label, "Tilgjengelighet og kontakt");
    let own = "UPDATE categories SET label = 'Annet (skriv hva)' WHERE code = 'other'";
    diesel::sql_query(own).execute(&mut conn).unwrap();
    let before = category(&mut conn, "other");
    db::migrate(&mut conn).unwrap();
    assert_eq!(category(&mut conn, "availability").label, "Fikk ikke tak i noen");
    assert_eq!(category(&mut conn, "other"), before, "an administrator's own name and text stay");
}

#[actix_web::test]
async fn the_optional_answers_move_into_details_and_back_without_loss() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let full = app.submit_to_hospital(&nurse).await;
    let mut only_one = form(app.organisation(&nurse, "St. Olavs hospital HF").await["id"].as_str().unwrap());
    only_one["immediate_actions"] = serde_json::Value::Null;
    only_one["agreement_reference"] = "  ".into();
    let sparse = app.submit(&nurse, &only_one).await;

    let mut conn = app.conn();
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261214000027", "the ratings migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261213000026", "the newsletter migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261212000025", "the learning migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261211000024", "the actions migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261210000023", "the analyses migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261209000022", "the patient_log_chain migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261208000021", "the imports migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261207000020", "the reference_sequences migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261207000019", "the job_schedule migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261206000018", "the webhooks migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261205000017", "the category_mappings migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261205000016", "the api_keys migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261205000015", "the feed migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261204000014", "the helseid migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261203000013", "the privacy_officer migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261203000012", "the patient_identity migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261203000011", "the plain_categories migration");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261202000010", "the form_details migration");
    assert_eq!(
        old_columns(&mut conn, full["id"].as_str().unwrap()),
        Answers {
            immediate_actions: full["immediate_actions"].as_str().map(str::to_owned),
            suggested_improvement: full["suggested_improvement"].as_str().map(str::to_owned),
            agreement_reference: full["agreement_reference"].as_str().map(str::to_owned),
        }
    );
    let sparse_old = old_columns(&mut conn, sparse["id"].as_str().unwrap());
    assert_eq!((sparse_old.immediate_actions, sparse_old.agreement_reference), (None, None));
    assert!(sparse_old.suggested_improvement.is_some());

    db::migrate(&mut conn).unwrap();
    for before in [full, sparse] {
        let after =
            app.get(&format!("/api/v1/deviations/{}", before["id"].as_str().unwrap()), &nurse).await.expect(200);
        for field in ["immediate_actions", "suggested_improvement", "agreement_reference"] {
            assert_eq!(after[field], before[field], "{field} after down and up");
        }
    }
}

fn number(reference: &serde_json::Value) -> u32 {
    reference.as_str().unwrap().rsplit('-').next().unwrap().parse().unwrap()
}

#[actix_web::test]
async fn reference_numbers_continue_across_the_sequence_migration_down_and_up() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let first = number(&app.submit_to_hospital(&nurse).await["reference"]);
    let mut conn = app.conn();
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261214000027");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261213000026");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261212000025");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261211000024");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261210000023");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261209000022");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261208000021");
    assert_eq!(db::revert_last(&mut conn).unwrap(), "20261207000020");
    // Today's code writes the import columns of 000021; lend them for the one submission.
    let lend = |conn: &mut db::DbConnection, sql: &[&str]| {
        for statement in sql {
            match conn {
                DbConnection::Pg(c) => diesel::sql_query(*statement).execute(c),
                DbConnection::Sqlite(c) => diesel::sql_query(*statement).execute(c),
            }
            .unwrap();
        }
    };
    // … and the outbox's of 000026.
    let columns = ["deviations.source_system", "deviations.source_id", "outbox.list_unsubscribe"];
    let add = columns.map(|c| c.split_once('.').map(|(t, c)| format!("ALTER TABLE {t} ADD COLUMN {c} TEXT")).unwrap());
    lend(&mut conn, &add.each_ref().map(|s| s.as_str()));
    let second = number(&app.submit_to_hospital(&nurse).await["reference"]);
    assert_eq!(second, first + 1, "after the way down, the series continues");
    let drop = columns.map(|c| c.split_once('.').map(|(t, c)| format!("ALTER TABLE {t} DROP COLUMN {c}")).unwrap());
    lend(&mut conn, &drop.each_ref().map(|s| s.as_str()));
    db::migrate(&mut conn).unwrap();
    let third = number(&app.submit_to_hospital(&nurse).await["reference"]);
    assert_eq!(third, second + 1, "and after the way up again");
}
