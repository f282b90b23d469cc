//! Calendar storage: office hours, date overrides, and a per-instance cache of the built calendar.
//!
//! Every change bumps `calendar_settings.revision` in the same transaction, so each instance knows
//! when its cached [`Calendar`] is stale without any message between instances.

use std::sync::{Arc, RwLock};

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;

use super::{
    DbConnection, StoreError,
    schema::{calendar_overrides, calendar_settings},
    write_transaction,
};
use crate::domain::calendar::{Calendar, DayOverride, HolidayRules, OfficeHours, OverrideKind};

const SETTINGS_ID: i16 = 1;

fn kind_to_str(kind: OverrideKind) -> &'static str {
    match kind {
        OverrideKind::Holiday => "holiday",
        OverrideKind::Working => "working",
    }
}

fn kind_from_str(raw: &str) -> Result<OverrideKind, StoreError> {
    match raw {
        "holiday" => Ok(OverrideKind::Holiday),
        "working" => Ok(OverrideKind::Working),
        other => Err(StoreError::Corrupt(format!(
            "unknown override kind `{other}`"
        ))),
    }
}

pub fn revision(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(calendar_settings::table
        .find(SETTINGS_ID)
        .select(calendar_settings::revision)
        .first(conn)?)
}

pub fn office_hours(conn: &mut DbConnection) -> Result<OfficeHours, StoreError> {
    let raw: String = calendar_settings::table
        .find(SETTINGS_ID)
        .select(calendar_settings::office_hours)
        .first(conn)?;
    serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(format!("office hours: {e}")))
}

pub fn overrides(conn: &mut DbConnection) -> Result<Vec<DayOverride>, StoreError> {
    let rows: Vec<(NaiveDate, String, Option<String>)> = calendar_overrides::table
        .select((
            calendar_overrides::day,
            calendar_overrides::kind,
            calendar_overrides::name,
        ))
        .order(calendar_overrides::day)
        .load(conn)?;
    rows.into_iter()
        .map(|(date, kind, name)| {
            Ok(DayOverride {
                date,
                kind: kind_from_str(&kind)?,
                name,
            })
        })
        .collect()
}

/// The override of one date, if it has one.
pub fn override_on(
    conn: &mut DbConnection,
    date: NaiveDate,
) -> Result<Option<DayOverride>, StoreError> {
    let row: Option<(String, Option<String>)> = calendar_overrides::table
        .find(date)
        .select((calendar_overrides::kind, calendar_overrides::name))
        .first(conn)
        .optional()?;
    row.map(|(kind, name)| {
        Ok(DayOverride {
            date,
            kind: kind_from_str(&kind)?,
            name,
        })
    })
    .transpose()
}

/// Takes the calendar's write lock until the enclosing transaction ends, so that concurrent changes
/// queue and each reads the state it replaces. SQLite's `BEGIN IMMEDIATE` already holds the
/// database's write lock; on PostgreSQL the no-op update locks the settings row.
pub fn lock(conn: &mut DbConnection) -> Result<(), StoreError> {
    diesel::update(calendar_settings::table.find(SETTINGS_ID))
        .set(calendar_settings::revision.eq(calendar_settings::revision))
        .execute(conn)?;
    Ok(())
}

fn bump_revision(conn: &mut DbConnection) -> Result<i64, StoreError> {
    diesel::update(calendar_settings::table.find(SETTINGS_ID))
        .set((
            calendar_settings::revision.eq(calendar_settings::revision + 1),
            calendar_settings::updated_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    revision(conn)
}

/// Sets one date's override, replacing any earlier one.
pub fn put_override(conn: &mut DbConnection, day: &DayOverride) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        diesel::delete(calendar_overrides::table.find(day.date)).execute(conn)?;
        diesel::insert_into(calendar_overrides::table)
            .values((
                calendar_overrides::day.eq(day.date),
                calendar_overrides::kind.eq(kind_to_str(day.kind)),
                calendar_overrides::name.eq(day.name.as_deref()),
                calendar_overrides::updated_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        bump_revision(conn)?;
        Ok(())
    })
}

/// Removes a date's override; `NotFound` when it had none.
pub fn delete_override(conn: &mut DbConnection, date: NaiveDate) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let deleted = diesel::delete(calendar_overrides::table.find(date)).execute(conn)?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        bump_revision(conn)?;
        Ok(())
    })
}

pub fn put_office_hours(conn: &mut DbConnection, hours: &OfficeHours) -> Result<(), StoreError> {
    let json = serde_json::to_string(hours).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    write_transaction(conn, |conn| {
        diesel::update(calendar_settings::table.find(SETTINGS_ID))
            .set(calendar_settings::office_hours.eq(json))
            .execute(conn)?;
        bump_revision(conn)?;
        Ok(())
    })
}

/// The calendar as stored now, built at most once per revision per instance.
#[derive(Default)]
pub struct CalendarCache {
    current: RwLock<Option<(i64, Arc<Calendar>)>>,
}

impl CalendarCache {
    pub fn get(&self, conn: &mut DbConnection) -> Result<(i64, Arc<Calendar>), StoreError> {
        let stored_revision = revision(conn)?;
        if let Ok(guard) = self.current.read()
            && let Some((cached_revision, calendar)) = guard.as_ref()
            && *cached_revision == stored_revision
        {
            return Ok((stored_revision, Arc::clone(calendar)));
        }
        let calendar = Arc::new(
            Calendar::new(
                office_hours(conn)?,
                overrides(conn)?,
                HolidayRules::default(),
            )
            .map_err(|e| StoreError::Corrupt(format!("stored calendar is invalid: {e}")))?,
        );
        if let Ok(mut guard) = self.current.write() {
            *guard = Some((stored_revision, Arc::clone(&calendar)));
        }
        Ok((stored_revision, calendar))
    }
}
