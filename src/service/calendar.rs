//! The working calendar (lịch làm việc): reading it, previewing a deadline, and the administrative
//! writes (date overrides, office hours, holiday rules). A write moves every deadline computed from
//! then on, never one already stored (that keeps the calendar revision it was computed with), so
//! each one is audited with what it replaced, in the transaction that makes it.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::ServiceError;
use crate::{
    auth::policy::{Action, Denied, Principal, administers, authorize},
    domain::{
        calendar::{
            Calendar, CalendarError, DayInfo, DayOverride, HolidayRule, HolidayRules, OfficeHours,
            holidays::BUILTIN_RULES,
        },
        deadline::{self, TimeLimit},
    },
    store::{
        DbConnection,
        audit::AuditContext,
        calendar::{self as store, CalendarCache, StoredRule},
        write_transaction,
    },
};

/// The audit log's entity type of every calendar change; an override's entity id is its date.
pub const AUDIT_ENTITY: &str = "calendar";
/// The audit log's entity id of the office hours.
pub const OFFICE_HOURS_ID: &str = "office_hours";

fn invalid(field: &str, e: CalendarError) -> ServiceError {
    ServiceError::invalid(field, e.to_string())
}

/// The calendar as stored now.
pub fn current(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
) -> Result<Arc<Calendar>, ServiceError> {
    authorize(who, &Action::ReadCatalogue, None)?;
    Ok(calendars.get(conn)?.1)
}

/// The days `from..=to`, with the calendar that decided them.
pub fn days(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(Arc<Calendar>, Vec<DayInfo>), ServiceError> {
    let calendar = current(conn, calendars, who)?;
    let days = calendar.days(from, to).map_err(|e| {
        // Name the end that lies outside the calendar's range.
        let field = if calendar.day_info(from).is_err() {
            "from"
        } else {
            "to"
        };
        invalid(field, e)
    })?;
    Ok((calendar, days))
}

/// What a dossier received at a given instant would be due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlinePreview {
    /// The first working instant at or after the start: counting begins there.
    pub counting_starts_at: DateTime<Utc>,
    /// The limit in working minutes (none for calendar days).
    pub working_minutes: Option<i64>,
    pub due_at: DateTime<Utc>,
}

pub fn preview_deadline(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    start: DateTime<Utc>,
    limit: TimeLimit,
) -> Result<DeadlinePreview, ServiceError> {
    let calendar = current(conn, calendars, who)?;
    Ok(DeadlinePreview {
        counting_starts_at: calendar
            .next_working_instant(start)
            .map_err(|e| invalid("start", e))?,
        working_minutes: limit.working_minutes(&calendar),
        due_at: deadline::due_at(&calendar, start, limit).map_err(|e| invalid("start", e))?,
    })
}

/// An override as the audit log shows it (its date is the entry's entity id).
fn override_audit(day: Option<&DayOverride>) -> Value {
    day.map_or(Value::Null, |d| json!({"kind": d.kind, "name": d.name}))
}

/// Sets one date's override, replacing any earlier one; returns the date as the calendar now sees
/// it, with that calendar.
pub fn put_override(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    audit: &AuditContext,
    day: DayOverride,
) -> Result<(Arc<Calendar>, DayInfo), ServiceError> {
    authorize_deployment_wide(who)?;
    let date = day.date;
    write_transaction(conn, |conn| {
        store::lock(conn)?;
        // A date outside the calendar's range would make every later build of it fail.
        let (_, calendar) = calendars.get(conn)?;
        calendar.day_info(date).map_err(|e| invalid("date", e))?;
        let before = store::override_on(conn, date)?;
        store::put_override(conn, &day)?;
        audit.record(
            conn,
            "calendar.set_override",
            AUDIT_ENTITY,
            &date.to_string(),
            None,
            json!({"before": override_audit(before.as_ref()), "after": override_audit(Some(&day))}),
        )?;
        Ok::<_, ServiceError>(())
    })?;
    // Built after the commit: the cache is keyed by revision and must never hold a calendar made
    // from a change that could still roll back.
    let (_, calendar) = calendars.get(conn)?;
    let info = calendar.day_info(date).map_err(|e| invalid("date", e))?;
    Ok((calendar, info))
}

/// Removes a date's override: the built-in rules decide the date again.
pub fn delete_override(
    conn: &mut DbConnection,
    who: &Principal,
    audit: &AuditContext,
    date: NaiveDate,
) -> Result<(), ServiceError> {
    authorize_deployment_wide(who)?;
    write_transaction(conn, |conn| {
        store::lock(conn)?;
        let before = store::override_on(conn, date)?
            .ok_or_else(|| ServiceError::NotFound(format!("{date} has no override")))?;
        store::delete_override(conn, date)?;
        audit.record(
            conn,
            "calendar.delete_override",
            AUDIT_ENTITY,
            &date.to_string(),
            None,
            json!({"before": override_audit(Some(&before)), "after": Value::Null}),
        )?;
        Ok(())
    })
}

/// Replaces the office sessions of every weekday.
pub fn put_office_hours(
    conn: &mut DbConnection,
    who: &Principal,
    audit: &AuditContext,
    hours: OfficeHours,
) -> Result<OfficeHours, ServiceError> {
    authorize_deployment_wide(who)?;
    hours
        .validate()
        .map_err(|e| ServiceError::invalid("office_hours", e.to_string()))?;
    write_transaction(conn, |conn| {
        store::lock(conn)?;
        let before = store::office_hours(conn)?;
        store::put_office_hours(conn, &hours)?;
        audit.record(
            conn,
            "calendar.set_office_hours",
            AUDIT_ENTITY,
            OFFICE_HOURS_ID,
            None,
            json!({"before": before, "after": hours}),
        )?;
        Ok::<_, ServiceError>(())
    })?;
    Ok(hours)
}

/// A holiday rule as listed: a built-in one (negative id) or one an administrator added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRule {
    pub id: i64,
    pub rule: HolidayRule,
    pub builtin: bool,
}

impl From<StoredRule> for ListedRule {
    fn from(stored: StoredRule) -> Self {
        Self {
            id: stored.id,
            rule: stored.rule,
            builtin: false,
        }
    }
}

/// The audit log's entity id of a holiday rule.
pub fn rule_audit_id(id: i64) -> String {
    format!("rule:{id}")
}

/// The built-in holiday rules, then the administrators' in creation order.
pub fn rules(conn: &mut DbConnection, who: &Principal) -> Result<Vec<ListedRule>, ServiceError> {
    authorize(who, &Action::ReadCatalogue, None)?;
    let builtin = BUILTIN_RULES.iter().map(|b| ListedRule {
        id: b.id,
        rule: b.rule(),
        builtin: true,
    });
    let added = store::rules(conn)?.into_iter().map(ListedRule::from);
    Ok(builtin.chain(added).collect())
}

/// One holiday rule, built in or added.
pub fn rule(conn: &mut DbConnection, who: &Principal, id: i64) -> Result<ListedRule, ServiceError> {
    authorize(who, &Action::ReadCatalogue, None)?;
    if let Some(b) = BUILTIN_RULES.iter().find(|b| b.id == id) {
        return Ok(ListedRule {
            id,
            rule: b.rule(),
            builtin: true,
        });
    }
    store::rule(conn, id)?
        .map(ListedRule::from)
        .ok_or_else(|| rule_not_found(id))
}

fn rule_not_found(id: i64) -> ServiceError {
    ServiceError::NotFound(format!("there is no holiday rule {id}"))
}

/// Adds a holiday rule (its name trimmed); like an override it applies to deadlines computed from
/// now on.
pub fn add_rule(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    audit: &AuditContext,
    mut rule: HolidayRule,
) -> Result<ListedRule, ServiceError> {
    authorize_deployment_wide(who)?;
    rule.name = rule.name.trim().to_owned();
    let errors = rule.validate();
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(
            errors
                .iter()
                .map(|e| (e.field().to_owned(), e.to_string()))
                .collect(),
        ));
    }
    let id = write_transaction(conn, |conn| {
        store::lock(conn)?;
        // The calendar must still build with the rule, or every later build of it would fail.
        let (_, calendar) = calendars.get(conn)?;
        let mut added = calendar.rules().added.clone();
        added.push(rule.clone());
        Calendar::new(
            calendar.office_hours().clone(),
            calendar.overrides().to_vec(),
            HolidayRules {
                added,
                ..calendar.rules().clone()
            },
        )
        .map_err(|e| invalid("from_year", e))?;
        let id = store::insert_rule(conn, &rule)?;
        audit.record(
            conn,
            "calendar.add_rule",
            AUDIT_ENTITY,
            &rule_audit_id(id),
            None,
            json!({"before": Value::Null, "after": rule}),
        )?;
        Ok::<_, ServiceError>(id)
    })?;
    Ok(ListedRule {
        id,
        rule,
        builtin: false,
    })
}

/// Removes an administrator's holiday rule; a built-in rule is the law and stays (conflict).
pub fn delete_rule(
    conn: &mut DbConnection,
    who: &Principal,
    audit: &AuditContext,
    id: i64,
) -> Result<(), ServiceError> {
    authorize_deployment_wide(who)?;
    if BUILTIN_RULES.iter().any(|b| b.id == id) {
        return Err(ServiceError::Conflict(format!(
            "holiday rule {id} is built in: it cannot be deleted (a date override can change any of its days)"
        )));
    }
    write_transaction(conn, |conn| {
        store::lock(conn)?;
        let before = store::rule(conn, id)?.ok_or_else(|| rule_not_found(id))?;
        store::delete_rule(conn, id)?;
        audit.record(
            conn,
            "calendar.delete_rule",
            AUDIT_ENTITY,
            &rule_audit_id(id),
            None,
            json!({"before": before.rule, "after": Value::Null}),
        )?;
        Ok(())
    })
}

/// The calendar and office hours hold for every agency of the deployment: only an administrator of
/// the whole deployment changes them.
fn authorize_deployment_wide(who: &Principal) -> Result<(), ServiceError> {
    authorize(who, &Action::ManageCatalogue, None)?;
    if !administers(who, None) {
        return Err(Denied::new(
            "the calendar holds for every agency: only an administrator without a unit changes it",
        )
        .into());
    }
    Ok(())
}
