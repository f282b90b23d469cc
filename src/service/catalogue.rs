//! Units and procedures.

use crate::{
    auth::policy::{Action, Denied, Principal, administers, authorize},
    domain::procedure::ProcedureRules,
    store::{
        DbConnection, StoreError,
        audit::AuditContext,
        calendar::CalendarCache,
        catalogue::{
            self, NewUnit, ProcedureDraft, ProcedureVersion, Unit, UnitChanges, VersionWrite,
        },
        write_transaction,
    },
};

use super::{ServiceError, VersionPrecondition, agencies};

fn violations_to_error(
    rules: &ProcedureRules,
    standard_day_minutes: i64,
) -> Result<(), ServiceError> {
    let violations = rules.validate(standard_day_minutes);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Invalid(
            violations
                .into_iter()
                .map(|v| (v.field, v.message))
                .collect(),
        ))
    }
}

pub fn create_unit(
    conn: &mut DbConnection,
    who: &Principal,
    audit: &AuditContext,
    unit: NewUnit,
) -> Result<Unit, ServiceError> {
    authorize(who, &Action::ManageCatalogue, None)?;
    write_transaction(conn, |conn| {
        agencies::ensure_for_unit(conn, who, audit, &unit.agency_code)?;
        if let Some(parent) = &unit.parent_code
            && !catalogue::unit_exists(conn, parent)?
        {
            return Err(ServiceError::invalid(
                "parent_code",
                format!("no unit `{parent}`"),
            ));
        }
        let created = catalogue::insert_unit(conn, &unit).map_err(|e| match e {
            StoreError::UniqueViolation(_) => {
                ServiceError::Conflict(format!("unit `{}` already exists", unit.code))
            }
            other => other.into(),
        })?;
        audit.record(conn, "unit.create", "unit", &created.code, Some(&created.agency_code), serde_json::json!({
            "name": created.name, "parent_code": created.parent_code, "agency_code": created.agency_code,
        }))?;
        Ok(created)
    })
}

pub fn update_unit(
    conn: &mut DbConnection,
    who: &Principal,
    audit: &AuditContext,
    code: &str,
    changes: UnitChanges,
    if_match: impl FnOnce(&Unit) -> bool,
) -> Result<Unit, ServiceError> {
    authorize(who, &Action::ManageCatalogue, None)?;
    write_transaction(conn, |conn| {
        // Locked, so that the unit `if_match` approves is the one this update changes.
        let before = catalogue::get_unit_for_update(conn, code)
            .map_err(|e| not_found(e, format!("no unit `{code}`")))?;
        if !who.scope.contains(&before.agency_code) {
            return Err(ServiceError::NotFound(format!("no unit `{code}`")));
        }
        if !if_match(&before) {
            return Err(ServiceError::StaleVersion(format!(
                "the unit `{code}` changed since that ETag; read it again and retry"
            )));
        }
        if let Some(agency) = changes
            .agency_code
            .as_ref()
            .filter(|a| **a != before.agency_code)
        {
            agencies::ensure_for_unit(conn, who, audit, agency)?;
            if catalogue::unit_leads_dossiers(conn, code)? {
                return Err(ServiceError::Conflict(format!(
                    "unit `{code}` leads dossiers of agency `{}`: their codes and statistics \
                     belong to it, so the unit keeps its agency; create a unit in the other agency",
                    before.agency_code
                )));
            }
        }
        if let Some(Some(parent)) = &changes.parent_code {
            if !catalogue::unit_exists(conn, parent)? {
                return Err(ServiceError::invalid(
                    "parent_code",
                    format!("no unit `{parent}`"),
                ));
            }
            if catalogue::would_cycle(conn, code, parent)? {
                return Err(ServiceError::invalid(
                    "parent_code",
                    "a unit cannot be its own ancestor",
                ));
            }
        }
        let after = catalogue::update_unit(conn, code, &changes)?;
        audit.record(conn, "unit.update", "unit", code, Some(&after.agency_code), serde_json::json!({
            "before": {"name": before.name, "parent_code": before.parent_code, "agency_code": before.agency_code},
            "after": {"name": after.name, "parent_code": after.parent_code, "agency_code": after.agency_code},
        }))?;
        Ok(after)
    })
}

pub fn get_unit(
    conn: &mut DbConnection,
    who: &Principal,
    code: &str,
) -> Result<Unit, ServiceError> {
    authorize(who, &Action::ReadCatalogue, None)?;
    match catalogue::get_unit(conn, code) {
        Ok(unit) if who.scope.contains(&unit.agency_code) => Ok(unit),
        Ok(_) | Err(StoreError::NotFound) => {
            Err(ServiceError::NotFound(format!("no unit `{code}`")))
        }
        Err(other) => Err(other.into()),
    }
}

pub fn list_units(
    conn: &mut DbConnection,
    who: &Principal,
    after_id: i64,
    limit: i64,
) -> Result<Vec<Unit>, ServiceError> {
    authorize(who, &Action::ReadCatalogue, None)?;
    Ok(catalogue::list_units(
        conn,
        who.scope.codes().as_deref(),
        after_id,
        limit,
    )?)
}

fn not_found(e: StoreError, message: String) -> ServiceError {
    match e {
        StoreError::NotFound => ServiceError::NotFound(message),
        other => other.into(),
    }
}

/// Checks a procedure before it is written. Its lead unit must belong to an agency the caller
/// administers; its steps may name any agency's units (liên thông).
fn check_draft(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    draft: &ProcedureDraft,
) -> Result<(), ServiceError> {
    let mut errors = Vec::new();
    match catalogue::get_unit(conn, &draft.unit_code) {
        Ok(lead) if !administers(who, Some(&lead.agency_code)) => {
            return Err(Denied::new(format!(
                "unit `{}` is outside the agencies this account administers",
                lead.code
            ))
            .into());
        }
        Ok(_) => {}
        Err(StoreError::NotFound) => errors.push((
            "unit_code".to_owned(),
            format!("no unit `{}`", draft.unit_code),
        )),
        Err(other) => return Err(other.into()),
    }
    for (i, step) in draft.rules.steps.iter().enumerate() {
        if !catalogue::unit_exists(conn, &step.unit_code)? {
            errors.push((
                format!("steps[{i}].unit_code"),
                format!("no unit `{}`", step.unit_code),
            ));
        }
    }
    let (_, calendar) = calendars.get(conn)?;
    if let Err(ServiceError::Invalid(more)) =
        violations_to_error(&draft.rules, calendar.standard_day_minutes())
    {
        errors.extend(more);
    }
    errors.extend(draft.listing.problems());
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Invalid(errors))
    }
}

/// Records the written version `p` in the audit log under `action` and hands it back.
fn audited(
    conn: &mut DbConnection,
    audit: &AuditContext,
    action: &str,
    p: ProcedureVersion,
) -> Result<ProcedureVersion, ServiceError> {
    let changes = serde_json::json!({
        "version": p.version, "name": p.name, "field": p.field, "unit_code": p.unit_code,
        "time_limit": p.rules.time_limit, "supplement_policy": p.rules.supplement_policy,
        "steps": p.rules.steps, "active": p.active, "receivable_anywhere": p.receivable_anywhere,
        "national_code": p.listing.national_code, "fees": p.listing.fees,
        "online_level": p.listing.online_level, "components": p.listing.components,
    });
    let agency = catalogue::get_unit(conn, &p.unit_code)?.agency_code;
    audit.record(conn, action, "procedure", &p.code, Some(&agency), changes)?;
    Ok(p)
}

pub fn create_procedure(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    audit: &AuditContext,
    code: &str,
    draft: ProcedureDraft,
) -> Result<ProcedureVersion, ServiceError> {
    authorize(who, &Action::ManageCatalogue, None)?;
    write_transaction(conn, |conn| {
        check_draft(conn, calendars, who, &draft)?;
        let created = catalogue::write_procedure(conn, code, &draft, VersionWrite::First).map_err(
            |e| match e {
                StoreError::UniqueViolation(_) => {
                    ServiceError::Conflict(format!("procedure `{code}` already exists"))
                }
                other => other.into(),
            },
        )?;
        audited(conn, audit, "procedure.create", created)
    })
}

pub fn update_procedure(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    audit: &AuditContext,
    code: &str,
    draft: ProcedureDraft,
    expected: &VersionPrecondition,
) -> Result<ProcedureVersion, ServiceError> {
    authorize(who, &Action::ManageCatalogue, None)?;
    write_transaction(conn, |conn| {
        let latest = visible_procedure(conn, who, code)?;
        if !expected.admits(latest.version) {
            return Err(expected.stale("procedure", latest.version));
        }
        check_draft(conn, calendars, who, &draft)?;
        let created = catalogue::write_procedure(conn, code, &draft, VersionWrite::Next)?;
        // Another version made since the check above means the one If-Match named is gone.
        if created.version != latest.version + 1 && *expected != VersionPrecondition::Any {
            return Err(expected.stale("procedure", created.version - 1));
        }
        audited(conn, audit, "procedure.new_version", created)
    })
}

pub fn get_procedure(
    conn: &mut DbConnection,
    who: &Principal,
    code: &str,
) -> Result<ProcedureVersion, ServiceError> {
    authorize(who, &Action::ReadCatalogue, None)?;
    visible_procedure(conn, who, code)
}

/// The latest version of a procedure the caller's scope reaches: its lead unit's agency is in
/// scope, or any agency may receive it. Otherwise it does not exist for the caller.
fn visible_procedure(
    conn: &mut DbConnection,
    who: &Principal,
    code: &str,
) -> Result<ProcedureVersion, ServiceError> {
    let missing = || ServiceError::NotFound(format!("no procedure `{code}`"));
    let latest = catalogue::latest_procedure(conn, code)
        .map_err(|e| not_found(e, format!("no procedure `{code}`")))?;
    if latest.receivable_anywhere || who.scope.is_everything() {
        return Ok(latest);
    }
    let lead = catalogue::get_unit(conn, &latest.unit_code)?;
    if who.scope.contains(&lead.agency_code) {
        Ok(latest)
    } else {
        Err(missing())
    }
}

pub fn procedure_versions(
    conn: &mut DbConnection,
    who: &Principal,
    code: &str,
) -> Result<Vec<ProcedureVersion>, ServiceError> {
    authorize(who, &Action::ReadCatalogue, None)?;
    visible_procedure(conn, who, code)?;
    catalogue::procedure_versions_of(conn, code)
        .map_err(|e| not_found(e, format!("no procedure `{code}`")))
}

pub fn list_procedures(
    conn: &mut DbConnection,
    who: &Principal,
    after_id: i64,
    limit: i64,
) -> Result<Vec<(i64, ProcedureVersion)>, ServiceError> {
    authorize(who, &Action::ReadCatalogue, None)?;
    Ok(catalogue::list_procedures(
        conn,
        who.scope.codes().as_deref(),
        after_id,
        limit,
    )?)
}
