//! Calendar storage: office hours, date overrides, the holiday rules administrators add, and a
//! per-instance cache of the built calendar.
//!
//! Every change bumps `calendar_settings.revision` in the same transaction, so each instance knows
//! when its cached [`Calendar`] is stale without any message between instances.

use std::sync::{Arc, RwLock};

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;

use super::{
    DbConnection, StoreError,
    schema::{calendar_overrides, calendar_rules, calendar_settings},
    write_transaction,
};
use crate::domain::calendar::{Calendar, DayOverride, HolidayRule, HolidayRules, OfficeHours};

const SETTINGS_ID: i16 = 1;

/// A closed set's wire name as stored; a name the domain does not know is a corrupt row.
fn decode<T: std::str::FromStr<Err = crate::domain::UnknownName>>(
    raw: &str,
) -> Result<T, StoreError> {
    raw.parse()
        .map_err(|e: crate::domain::UnknownName| StoreError::Corrupt(e.to_string()))
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
                kind: decode(&kind)?,
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
            kind: decode(&kind)?,
            name,
        })
    })
    .transpose()
}

/// A holiday rule as stored, with its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRule {
    pub id: i64,
    pub rule: HolidayRule,
}

/// A `calendar_rules` row as read.
#[derive(Queryable, Selectable)]
#[diesel(table_name = calendar_rules)]
struct RuleRow {
    id: i64,
    name: String,
    calendar: String,
    month: i32,
    day: i32,
    days: i32,
    from_year: i32,
    to_year: Option<i32>,
}

fn stored_rule(row: RuleRow) -> Result<StoredRule, StoreError> {
    let id = row.id;
    let count = |field: &str, value: i32| {
        u32::try_from(value)
            .map_err(|_| StoreError::Corrupt(format!("holiday rule {id}: {field} is {value}")))
    };
    Ok(StoredRule {
        id,
        rule: HolidayRule {
            calendar: decode(&row.calendar)?,
            month: count("month", row.month)?,
            day: count("day", row.day)?,
            days: count("days", row.days)?,
            name: row.name,
            from_year: row.from_year,
            to_year: row.to_year,
        },
    })
}

/// The administrators' holiday rules, in id (creation) order.
pub fn rules(conn: &mut DbConnection) -> Result<Vec<StoredRule>, StoreError> {
    let rows: Vec<RuleRow> = calendar_rules::table
        .select(RuleRow::as_select())
        .order(calendar_rules::id)
        .load(conn)?;
    rows.into_iter().map(stored_rule).collect()
}

pub fn rule(conn: &mut DbConnection, id: i64) -> Result<Option<StoredRule>, StoreError> {
    let row: Option<RuleRow> = calendar_rules::table
        .find(id)
        .select(RuleRow::as_select())
        .first(conn)
        .optional()?;
    row.map(stored_rule).transpose()
}

/// Stores a (validated) rule and returns its id.
pub fn insert_rule(conn: &mut DbConnection, rule: &HolidayRule) -> Result<i64, StoreError> {
    let int = |value: u32| {
        i32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{value} is too large")))
    };
    let (month, day, days) = (int(rule.month)?, int(rule.day)?, int(rule.days)?);
    write_transaction(conn, |conn| {
        let id = diesel::insert_into(calendar_rules::table)
            .values((
                calendar_rules::name.eq(&rule.name),
                calendar_rules::calendar.eq(rule.calendar.as_str()),
                calendar_rules::month.eq(month),
                calendar_rules::day.eq(day),
                calendar_rules::days.eq(days),
                calendar_rules::from_year.eq(rule.from_year),
                calendar_rules::to_year.eq(rule.to_year),
                calendar_rules::created_at.eq(Utc::now().naive_utc()),
            ))
            .returning(calendar_rules::id)
            .get_result(conn)?;
        bump_revision(conn)?;
        Ok(id)
    })
}

/// Removes a rule; `NotFound` when there is none with that id.
pub fn delete_rule(conn: &mut DbConnection, id: i64) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let deleted = diesel::delete(calendar_rules::table.find(id)).execute(conn)?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        bump_revision(conn)?;
        Ok(())
    })
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
                calendar_overrides::kind.eq(day.kind.as_str()),
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
        let rules = HolidayRules {
            added: rules(conn)?.into_iter().map(|stored| stored.rule).collect(),
            ..HolidayRules::default()
        };
        let calendar = Arc::new(
            Calendar::new(office_hours(conn)?, overrides(conn)?, rules)
                .map_err(|e| StoreError::Corrupt(format!("stored calendar is invalid: {e}")))?,
        );
        if let Ok(mut guard) = self.current.write() {
            *guard = Some((stored_revision, Arc::clone(&calendar)));
        }
        Ok((stored_revision, calendar))
    }
}
