// One portable schema for both backends: only Text, Integer, BigInt, Bool and Timestamp (UTC).
// UUIDs are stored as text; ids and timestamps are made in Rust so no RETURNING is needed.

diesel::table! {
    organisations (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        org_number -> Text,
        mailbox -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    units (id) {
        id -> Text,
        organisation_id -> Text,
        name -> Text,
        mailbox -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        organisation_id -> Text,
        unit_id -> Nullable<Text>,
        role -> Text,
        password_hash -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    categories (code) {
        code -> Text,
        parent_code -> Nullable<Text>,
        label -> Text,
        description -> Text,
        sort_order -> Integer,
        active -> Bool,
    }
}

diesel::joinable!(units -> organisations (organisation_id));
diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(users -> units (unit_id));

diesel::allow_tables_to_appear_in_same_query!(organisations, units, users, categories);
