// One portable schema for both backends: only Text, Integer, BigInt, Bool and Timestamp (UTC).
// UUIDs are stored as text; ids and timestamps are made in Rust so no RETURNING is needed.

diesel::table! {
    health_communities (id) {
        id -> Text,
        name -> Text,
        improvement_group_recipients -> Text,
        committee_recipients -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

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
        health_community_id -> Nullable<Text>,
        self_enrolment -> Bool,
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
        org_number -> Nullable<Text>,
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
        session_epoch -> Integer,
        hpr_number -> Nullable<Text>,
        machine -> Bool,
        pending -> Bool,
        newsletter_since -> Nullable<Timestamp>,
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

diesel::table! {
    deviations (id) {
        id -> Text,
        reference -> Text,
        kind -> Text,
        category -> Text,
        status -> Text,
        direction -> Text,
        reporter_id -> Text,
        reporting_organisation_id -> Text,
        reporting_unit_id -> Nullable<Text>,
        recipient_organisation_id -> Text,
        recipient_unit_id -> Nullable<Text>,
        handler_id -> Nullable<Text>,
        occurred_at -> Text,
        discovered_at -> Nullable<Text>,
        description -> Text,
        harm_class -> Text,
        harm_level -> Nullable<Text>,
        handover_related -> Bool,
        answer -> Nullable<Text>,
        answer_actions -> Nullable<Text>,
        submitted_at -> Timestamp,
        received_at -> Timestamp,
        acknowledged_at -> Nullable<Timestamp>,
        answered_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        acknowledge_due -> Text,
        answer_due -> Text,
        updated_at -> Timestamp,
        acknowledge_days -> Nullable<Integer>,
        answer_days -> Nullable<Integer>,
        answered_on_time -> Nullable<Bool>,
        health_community_id -> Text,
        details -> Text,
        reported_category -> Nullable<Text>,
        next_reminder_on -> Nullable<Text>,
        source_system -> Nullable<Text>,
        source_id -> Nullable<Text>,
    }
}

diesel::table! {
    imports (id) {
        id -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        source_system -> Text,
        file_name -> Text,
        dry_run -> Bool,
        status -> Text,
        rows_read -> Integer,
        imported -> Integer,
        skipped -> Integer,
        refused -> Integer,
        report -> Text,
        finished_at -> Timestamp,
    }
}

diesel::table! {
    job_runs (job, due_at) {
        job -> Text,
        due_at -> Timestamp,
        instance -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        items -> Nullable<Integer>,
    }
}

diesel::table! {
    deviation_events (id) {
        id -> Text,
        deviation_id -> Text,
        seq -> Integer,
        at -> Timestamp,
        kind -> Text,
        actor_id -> Nullable<Text>,
        actor_organisation_id -> Nullable<Text>,
        from_status -> Nullable<Text>,
        to_status -> Nullable<Text>,
        text -> Nullable<Text>,
        organisation_id -> Nullable<Text>,
        unit_id -> Nullable<Text>,
        category -> Nullable<Text>,
    }
}

diesel::table! {
    reference_counters (year) {
        year -> Integer,
        last_value -> Integer,
    }
}

diesel::table! {
    idempotency_keys (user_id, idempotency_key) {
        user_id -> Text,
        idempotency_key -> Text,
        request -> Text,
        deviation_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    routing_rules (organisation_id, category) {
        organisation_id -> Text,
        category -> Text,
        unit_id -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    access_log (id) {
        id -> Text,
        at -> Timestamp,
        user_id -> Text,
        deviation_id -> Text,
        action -> Text,
        outcome -> Text,
        reason -> Text,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        dedupe_key -> Text,
        deviation_id -> Nullable<Text>,
        template -> Text,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        claimed_by -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        data -> Text,
        channel -> Text,
        endpoint_id -> Nullable<Text>,
        list_unsubscribe -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Text,
        organisation_id -> Text,
        url -> Text,
        description -> Text,
        event_types -> Text,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        last_success_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> BigInt,
        endpoint_id -> Text,
        message_id -> Text,
        attempt -> Integer,
        attempted_at -> Timestamp,
        status_code -> Nullable<Integer>,
        latency_ms -> Integer,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    write_lock (id) {
        id -> Integer,
        n -> Integer,
    }
}

diesel::joinable!(units -> organisations (organisation_id));
diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(users -> units (unit_id));

diesel::table! {
    patient_identities (deviation_id) {
        deviation_id -> Text,
        key_id -> Nullable<Text>,
        ciphertext -> Nullable<Text>,
        patient_hash -> Nullable<Text>,
        created_at -> Timestamp,
        erased_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    patient_access_log (id) {
        id -> Text,
        at -> Timestamp,
        user_id -> Text,
        role -> Text,
        organisation_id -> Text,
        deviation_id -> Nullable<Text>,
        action -> Text,
        reason -> Nullable<Text>,
        reason_text -> Nullable<Text>,
        result -> Text,
        patient_hash -> Nullable<Text>,
        actor_kind -> Text,
        seq -> Nullable<BigInt>,
        prev_hash -> Nullable<Text>,
        row_hash -> Nullable<Text>,
        key_id -> Nullable<Text>,
    }
}

diesel::table! {
    /// The access log's chain head: the last row's number and MAC (migration 000022).
    patient_access_log_head (id) {
        id -> Integer,
        seq -> BigInt,
        row_hash -> Nullable<Text>,
        chain_from -> BigInt,
    }
}

diesel::table! {
    /// An erased identity's keyed hash, kept while the log keeps rows about its deviation (innsyn).
    patient_log_links (deviation_id) {
        deviation_id -> Text,
        patient_hash -> Text,
        until -> Timestamp,
    }
}

diesel::table! {
    /// The retention job's cut-off while it deletes old log rows (see migration 000012).
    patient_access_log_purge (before) {
        before -> Timestamp,
    }
}

diesel::table! {
    user_identities (issuer, subject, organisation_id) {
        issuer -> Text,
        subject -> Text,
        organisation_id -> Text,
        user_id -> Text,
        pid_hash -> Nullable<Text>,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    integration_clients (id) {
        id -> Text,
        organisation_id -> Text,
        user_id -> Text,
        name -> Text,
        helseid_client_id -> Nullable<Text>,
        scopes -> Text,
        active -> Bool,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        api_key_prefix -> Nullable<Text>,
        api_key_hash -> Nullable<Text>,
    }
}

diesel::table! {
    dpop_proofs (jti_hash) {
        jti_hash -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    feed_entries (position) {
        position -> BigInt,
        tx -> BigInt,
        organisation_id -> Text,
        event_id -> Text,
        deviation_id -> Text,
        kind -> Text,
        status -> Text,
        occurred_at -> Timestamp,
    }
}

diesel::table! {
    category_mappings (organisation_id, category, kind) {
        organisation_id -> Text,
        category -> Text,
        kind -> Text,
        local_code -> Nullable<Text>,
        local_label -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Hendelsesanalyser (#34), per helsefellesskap.
    analyses (id) {
        id -> Text,
        health_community_id -> Text,
        reference -> Text,
        title -> Text,
        status -> Text,
        timeline -> Text,
        care_problems -> Text,
        conclusion -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    analysis_deviations (analysis_id, deviation_id) {
        analysis_id -> Text,
        deviation_id -> Text,
        linked_at -> Timestamp,
    }
}

diesel::table! {
    analysis_participants (analysis_id, user_id) {
        analysis_id -> Text,
        user_id -> Text,
        added_at -> Timestamp,
    }
}

diesel::table! {
    analysis_factors (id) {
        id -> Text,
        analysis_id -> Text,
        category -> Text,
        description -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    analysis_events (id) {
        id -> Text,
        analysis_id -> Text,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        kind -> Text,
        from_status -> Nullable<Text>,
        to_status -> Nullable<Text>,
        text -> Nullable<Text>,
    }
}

diesel::table! {
    analysis_reference_counters (health_community_id, year) {
        health_community_id -> Text,
        year -> Integer,
        last_value -> Integer,
    }
}

diesel::joinable!(deviation_events -> deviations (deviation_id));
diesel::joinable!(feed_entries -> deviations (deviation_id));
diesel::joinable!(patient_identities -> deviations (deviation_id));
diesel::joinable!(webhook_attempts -> outbox (message_id));
diesel::joinable!(analysis_deviations -> analyses (analysis_id));
diesel::joinable!(analysis_deviations -> deviations (deviation_id));
diesel::joinable!(analysis_participants -> analyses (analysis_id));
diesel::joinable!(analysis_participants -> users (user_id));

diesel::table! {
    /// Tiltak (#35): from an analysis or directly by the improvement group.
    actions (id) {
        id -> Text,
        health_community_id -> Text,
        analysis_id -> Nullable<Text>,
        title -> Text,
        description -> Text,
        responsible_organisation_id -> Text,
        responsible_user_id -> Text,
        due_on -> Date,
        status -> Text,
        drop_reason -> Nullable<Text>,
        category -> Text,
        direction -> Nullable<Text>,
        unit_id -> Nullable<Text>,
        effective_on -> Nullable<Date>,
        reminder_stage -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    action_events (id) {
        id -> Text,
        action_id -> Text,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        kind -> Text,
        from_status -> Nullable<Text>,
        to_status -> Nullable<Text>,
    }
}

diesel::joinable!(action_events -> actions (action_id));

diesel::table! {
    /// Læringsnotat (#36): from a concluded analysis, readable in its helsefellesskap.
    learning_notes (id) {
        id -> Text,
        analysis_id -> Text,
        health_community_id -> Text,
        title -> Text,
        what_happened -> Text,
        why -> Text,
        what_changed -> Text,
        author_id -> Text,
        author_organisation_id -> Text,
        published_at -> Timestamp,
        unpublished_at -> Nullable<Timestamp>,
        unpublished_by -> Nullable<Text>,
    }
}

diesel::joinable!(learning_notes -> analyses (analysis_id));

diesel::table! {
    /// The reporter's rating of the answer (#37): one per deviation.
    feedback_ratings (deviation_id) {
        deviation_id -> Text,
        score -> Integer,
        comment -> Nullable<Text>,
        rated_by -> Text,
        rated_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(feedback_ratings -> deviations (deviation_id));

diesel::allow_tables_to_appear_in_same_query!(
    health_communities,
    organisations,
    units,
    users,
    categories,
    deviations,
    deviation_events,
    patient_identities,
    patient_access_log,
    patient_access_log_purge,
    patient_access_log_head,
    patient_log_links,
    routing_rules,
    idempotency_keys,
    user_identities,
    dpop_proofs,
    integration_clients,
    feed_entries,
    category_mappings,
    webhook_endpoints,
    webhook_attempts,
    outbox,
    analyses,
    analysis_deviations,
    analysis_participants,
    analysis_factors,
    analysis_events,
    analysis_reference_counters,
    actions,
    action_events,
    learning_notes,
    feedback_ratings,
);
