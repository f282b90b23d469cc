//! Diesel table definitions shared by both backends. Only types common to SQLite and PostgreSQL are
//! used: instants are naive UTC `Timestamp`s, structured values are JSON `Text`.

diesel::table! {
    calendar_settings (id) {
        id -> SmallInt,
        office_hours -> Text,
        revision -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    calendar_overrides (day) {
        day -> Date,
        kind -> Text,
        name -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    calendar_rules (id) {
        id -> BigInt,
        name -> Text,
        calendar -> Text,
        month -> Integer,
        day -> Integer,
        days -> Integer,
        from_year -> Integer,
        to_year -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    agencies (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        parent_code -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    dossier_agencies (dossier_id, agency_code) {
        dossier_id -> BigInt,
        agency_code -> Text,
    }
}

diesel::table! {
    units (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        parent_code -> Nullable<Text>,
        agency_code -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    procedures (id) {
        id -> BigInt,
        code -> Text,
        latest_version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    procedure_versions (id) {
        id -> BigInt,
        procedure_code -> Text,
        version -> Integer,
        name -> Text,
        field -> Text,
        unit_code -> Text,
        time_limit_amount -> Integer,
        time_limit_unit -> Text,
        supplement_policy -> Text,
        steps -> Text,
        active -> Bool,
        created_at -> Timestamp,
        receivable_anywhere -> Bool,
        national_code -> Nullable<Text>,
        fees -> Text,
        online_level -> Text,
        components -> Text,
    }
}

diesel::table! {
    dossier_sequences (agency_code, day) {
        agency_code -> Text,
        day -> Date,
        last_value -> Integer,
    }
}

diesel::table! {
    dossiers (id) {
        id -> BigInt,
        code -> Text,
        agency_code -> Text,
        procedure_code -> Text,
        procedure_version -> Integer,
        unit_code -> Text,
        field -> Text,
        channel -> Text,
        status -> Text,
        applicant_name -> Text,
        applicant -> Text,
        received_at -> Nullable<Timestamp>,
        due_at -> Nullable<Timestamp>,
        due_explanation -> Nullable<Text>,
        current_step -> Nullable<Integer>,
        current_unit_code -> Nullable<Text>,
        current_step_started_at -> Nullable<Timestamp>,
        current_step_due_at -> Nullable<Timestamp>,
        paused_since -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        result -> Nullable<Text>,
        outcome -> Nullable<Text>,
        returned_at -> Nullable<Timestamp>,
        withdrawn_at -> Nullable<Timestamp>,
        apology_due_at -> Nullable<Timestamp>,
        external_ref -> Nullable<Text>,
        lookup_secret_hash -> Text,
        created_by -> Text,
        created_by_client -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        submitted_at -> Nullable<Timestamp>,
        declined_at -> Nullable<Timestamp>,
        stopped_at -> Nullable<Timestamp>,
        digitized -> Bool,
    }
}

diesel::table! {
    dossier_documents (id) {
        id -> BigInt,
        dossier_id -> BigInt,
        kind -> Text,
        component_code -> Nullable<Text>,
        file_name -> Text,
        content_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        storage_key -> Text,
        reused -> Bool,
        uploaded_at -> Timestamp,
        uploaded_by -> Text,
    }
}

diesel::table! {
    dossier_payments (id) {
        id -> BigInt,
        dossier_id -> BigInt,
        requested_amount -> BigInt,
        reason -> Text,
        requested_at -> Timestamp,
        requested_by -> Text,
        status_before -> Text,
        amount -> Nullable<BigInt>,
        method -> Nullable<Text>,
        receipt_no -> Nullable<Text>,
        paid_at -> Nullable<Timestamp>,
        received_by -> Nullable<Text>,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    dossier_events (id) {
        id -> BigInt,
        dossier_id -> BigInt,
        seq -> Integer,
        action -> Text,
        at -> Timestamp,
        status_after -> Text,
        step -> Nullable<Integer>,
        step_name -> Nullable<Text>,
        unit_code -> Nullable<Text>,
        from_user -> Text,
        to_user -> Nullable<Text>,
        to_unit_code -> Nullable<Text>,
        to_step -> Nullable<Integer>,
        step_due_at -> Nullable<Timestamp>,
        step_outcome -> Nullable<Text>,
        note -> Nullable<Text>,
        details -> Nullable<Text>,
    }
}

diesel::table! {
    dossier_pauses (id) {
        id -> BigInt,
        dossier_id -> BigInt,
        started_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        reason -> Text,
        documents -> Text,
        requested_by -> Text,
        resumed_by -> Nullable<Text>,
        kind -> Text,
    }
}

diesel::table! {
    idempotency_keys (principal, key_digest) {
        principal -> Text,
        key_digest -> Text,
        request_hash -> Text,
        status -> Integer,
        location -> Nullable<Text>,
        sealed_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor -> Text,
        actor_role -> Text,
        client_id -> Nullable<Text>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        changes -> Text,
        reason -> Nullable<Text>,
        request_id -> Nullable<Text>,
        agency_code -> Nullable<Text>,
    }
}

diesel::table! {
    national_sync (dossier_id) {
        dossier_id -> BigInt,
        pending_event -> BigInt,
        synced_event -> BigInt,
        on_portal -> Bool,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        leased_until -> Nullable<Timestamp>,
        failed -> Bool,
        last_error -> Nullable<Text>,
        last_attempt_at -> Nullable<Timestamp>,
        synced_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(national_sync -> dossiers (dossier_id));
diesel::joinable!(dossier_events -> dossiers (dossier_id));
diesel::joinable!(dossier_pauses -> dossiers (dossier_id));
diesel::joinable!(dossier_agencies -> dossiers (dossier_id));
diesel::joinable!(dossier_payments -> dossiers (dossier_id));
diesel::allow_tables_to_appear_in_same_query!(
    national_sync,
    dossier_payments,
    agencies,
    dossier_agencies,
    units,
    procedures,
    procedure_versions,
    dossiers,
    dossier_events,
    dossier_pauses,
);

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        unit_code -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    clients (id) {
        id -> BigInt,
        client_id -> Text,
        name -> Text,
        secret_hash -> Text,
        active -> Bool,
        created_at -> Timestamp,
        agency_code -> Nullable<Text>,
    }
}

// Integration with the e-portal: the change feed, webhook subscriptions, the outbox and the
// delivery log.

diesel::table! {
    dossier_changes (seq) {
        seq -> BigInt,
        txid -> BigInt,
        dossier_id -> BigInt,
        version -> Integer,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    webhooks (id) {
        id -> BigInt,
        owner_client_id -> Nullable<Text>,
        url -> Text,
        events -> Text,
        description -> Nullable<Text>,
        secret -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        agency_code -> Nullable<Text>,
    }
}

diesel::table! {
    outbox_events (id) {
        id -> BigInt,
        message_id -> Text,
        event_type -> Text,
        dossier_id -> BigInt,
        dossier_code -> Text,
        created_by_client -> Nullable<Text>,
        payload -> Text,
        occurred_at -> Timestamp,
        created_at -> Timestamp,
        dispatched_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> BigInt,
        event_id -> BigInt,
        dossier_id -> BigInt,
        status -> Text,
        manual -> Bool,
        redelivery_of -> Nullable<BigInt>,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> BigInt,
        delivery_id -> BigInt,
        attempt -> Integer,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    dossier_deadline_notices (dossier_id, kind) {
        dossier_id -> BigInt,
        kind -> Text,
        due_at -> Timestamp,
        emitted_at -> Timestamp,
    }
}

// Failed logins per account and address (src/auth/lockout.rs).
diesel::table! {
    login_throttle (account, address) {
        account -> Text,
        address -> Text,
        failures -> Integer,
        last_failure_at -> Nullable<Timestamp>,
        blocked_until -> Nullable<Timestamp>,
        last_success_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(dossier_changes -> dossiers (dossier_id));
diesel::joinable!(webhook_deliveries -> outbox_events (event_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::allow_tables_to_appear_in_same_query!(dossiers, dossier_changes, dossier_deadline_notices);
diesel::allow_tables_to_appear_in_same_query!(dossier_pauses, dossier_changes);
diesel::allow_tables_to_appear_in_same_query!(dossier_payments, dossier_changes);
diesel::allow_tables_to_appear_in_same_query!(dossier_documents, dossier_changes);
diesel::allow_tables_to_appear_in_same_query!(dossier_documents, dossiers);
diesel::allow_tables_to_appear_in_same_query!(
    webhooks,
    outbox_events,
    webhook_deliveries,
    webhook_attempts,
    clients,
);
diesel::allow_tables_to_appear_in_same_query!(dossier_agencies, dossier_changes);
diesel::allow_tables_to_appear_in_same_query!(dossier_agencies, dossier_deadline_notices);
diesel::allow_tables_to_appear_in_same_query!(users, units);
diesel::allow_tables_to_appear_in_same_query!(users, agencies);
diesel::allow_tables_to_appear_in_same_query!(clients, agencies);
diesel::allow_tables_to_appear_in_same_query!(webhooks, agencies);
