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
