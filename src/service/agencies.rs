//! Agencies: the scope of each principal, and the agencies resource.

use crate::{
    auth::policy::{Action, Denied, Principal, PrincipalKind, administers, authorize},
    domain::agency::{self, AgencyScope},
    store::{
        DbConnection, StoreError,
        accounts::AccountStanding,
        agencies::{self as store, Agency, AgencyFields},
        audit::AuditContext,
        write_transaction,
    },
};

use super::ServiceError;

/// The agencies `principal` works for: the agency of their unit and those below it. A user without
/// a unit, or a machine client without an agency, works for the whole deployment; a unit that no
/// longer exists gives no agency at all. `standing` is the principal's local account, read with its
/// agency and the agency tree; an identity only the identity provider knows has none, and then its
/// token's unit is looked up here.
pub fn resolve_scope(
    conn: &mut DbConnection,
    principal: &Principal,
    standing: Option<&AccountStanding>,
) -> Result<AgencyScope, StoreError> {
    if let Some(account) = standing {
        return Ok(
            match (principal.kind, &principal.unit_code, &account.agency_code) {
                (PrincipalKind::User, None, _) | (PrincipalKind::Client, _, None) => {
                    AgencyScope::Everything
                }
                (_, _, Some(home)) => AgencyScope::below(&account.agencies, home),
                (PrincipalKind::User, Some(_), None) => AgencyScope::Nothing,
            },
        );
    }
    match (principal.kind, &principal.unit_code) {
        (PrincipalKind::User, Some(unit)) => {
            Ok(match store::tree_and_agency_of_unit(conn, unit)? {
                (tree, Some(home)) => AgencyScope::below(&tree, &home),
                (_, None) => AgencyScope::Nothing,
            })
        }
        _ => Ok(AgencyScope::Everything),
    }
}

fn no_agency(code: &str) -> ServiceError {
    ServiceError::NotFound(format!("no agency `{code}`"))
}

/// Refuses an agency code the principal may not place things in: unknown (422 on `field`), or
/// outside the scope of a confined administrator (403).
pub fn check_placeable(
    conn: &mut DbConnection,
    who: &Principal,
    field: &str,
    code: &str,
) -> Result<(), ServiceError> {
    if !store::exists(conn, code)? {
        return Err(ServiceError::invalid(field, format!("no agency `{code}`")));
    }
    if !administers(who, Some(code)) {
        return Err(Denied::new(format!(
            "agency `{code}` is outside the agencies this account administers"
        ))
        .into());
    }
    Ok(())
}

/// The agency a unit is placed in. An administrator of the whole deployment may name a new code:
/// the agency is then created on the spot (top level, named by its code until renamed), so a
/// single office never has to think in agencies. A confined administrator must name an existing
/// agency of theirs.
pub fn ensure_for_unit(
    conn: &mut DbConnection,
    who: &Principal,
    audit: &AuditContext,
    code: &str,
) -> Result<(), ServiceError> {
    if administers(who, None) && !store::exists(conn, code)? {
        let fields = AgencyFields {
            name: code.to_owned(),
            parent_code: None,
        };
        insert_audited(conn, audit, code, &fields, true)?;
        return Ok(());
    }
    check_placeable(conn, who, "agency_code", code)
}

pub fn get(conn: &mut DbConnection, who: &Principal, code: &str) -> Result<Agency, ServiceError> {
    authorize(who, &Action::ReadCatalogue, None)?;
    if !who.scope.contains(code) {
        return Err(no_agency(code));
    }
    store::get(conn, code).map_err(|e| match e {
        StoreError::NotFound => no_agency(code),
        other => other.into(),
    })
}

pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    after_id: i64,
    limit: i64,
) -> Result<Vec<Agency>, ServiceError> {
    authorize(who, &Action::ReadCatalogue, None)?;
    Ok(store::list(
        conn,
        who.scope.codes().as_deref(),
        after_id,
        limit,
    )?)
}

/// The parent a confined administrator gives must lie in their scope (they cannot create a root
/// agency or hang one outside), and no agency may become its own ancestor.
fn check_parent(
    conn: &mut DbConnection,
    who: &Principal,
    code: &str,
    parent: Option<&str>,
) -> Result<(), ServiceError> {
    match parent {
        None if !administers(who, None) => Err(Denied::new(
            "only an administrator of the whole deployment creates or moves top-level agencies; \
             give a parent_code inside your agencies",
        )
        .into()),
        None => Ok(()),
        Some(parent) => {
            check_placeable(conn, who, "parent_code", parent)?;
            if store::tree(conn)?.would_cycle(code, parent) {
                return Err(ServiceError::invalid(
                    "parent_code",
                    "an agency cannot be its own ancestor",
                ));
            }
            Ok(())
        }
    }
}

/// Inserts the agency and its `agency.create` audit entry; `implicit` marks one made on the spot
/// for a unit ([`ensure_for_unit`]).
fn insert_audited(
    conn: &mut DbConnection,
    audit: &AuditContext,
    code: &str,
    fields: &AgencyFields,
    implicit: bool,
) -> Result<Agency, ServiceError> {
    let created = store::insert(conn, code, fields).map_err(|e| match e {
        StoreError::UniqueViolation(_) => {
            ServiceError::Conflict(format!("agency `{code}` already exists"))
        }
        other => other.into(),
    })?;
    let mut changes = serde_json::json!({"name": created.name, "parent_code": created.parent_code});
    if implicit {
        changes["implicit"] = true.into();
    }
    audit.record(conn, "agency.create", "agency", code, Some(code), changes)?;
    Ok(created)
}

pub fn create(
    conn: &mut DbConnection,
    who: &Principal,
    audit: &AuditContext,
    code: &str,
    fields: AgencyFields,
) -> Result<Agency, ServiceError> {
    authorize(who, &Action::ManageCatalogue, None)?;
    if !agency::is_valid_code(code) {
        return Err(ServiceError::invalid("code", agency::CODE_RULE));
    }
    write_transaction(conn, |conn| {
        check_parent(conn, who, code, fields.parent_code.as_deref())?;
        insert_audited(conn, audit, code, &fields, false)
    })
}

pub fn update(
    conn: &mut DbConnection,
    who: &Principal,
    audit: &AuditContext,
    code: &str,
    name: Option<String>,
    parent_code: Option<Option<String>>,
) -> Result<Agency, ServiceError> {
    authorize(who, &Action::ManageCatalogue, None)?;
    write_transaction(conn, |conn| {
        // Outside the caller's scope the agency does not exist for them (404).
        let before = get(conn, who, code)?;
        let fields = AgencyFields {
            name: name.unwrap_or_else(|| before.name.clone()),
            parent_code: parent_code.unwrap_or_else(|| before.parent_code.clone()),
        };
        if fields.parent_code != before.parent_code {
            // A confined administrator's own agency stays where the deployment put it: moving it
            // would move their own scope.
            if who.scope.home() == Some(code) {
                return Err(Denied::new(
                    "an administrator cannot move the agency their own scope starts from",
                )
                .into());
            }
            check_parent(conn, who, code, fields.parent_code.as_deref())?;
        }
        let after = store::update(conn, code, &fields)?;
        audit.record(
            conn,
            "agency.update",
            "agency",
            code,
            Some(code),
            serde_json::json!({
                "before": {"name": before.name, "parent_code": before.parent_code},
                "after": {"name": after.name, "parent_code": after.parent_code},
            }),
        )?;
        Ok(after)
    })
}
