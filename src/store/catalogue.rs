//! Units (đơn vị) and the versioned procedure catalogue.

use diesel::prelude::*;

use crate::domain::Instant;

use super::types::{Components, Fees, Steps};
use super::{
    DbConnection, StoreError,
    schema::{procedure_versions, procedures, units},
    write_transaction,
};
use crate::domain::{
    deadline::{SupplementPolicy, TimeLimit, TimeUnit},
    procedure::{NationalListing, OnlineLevel, ProcedureRules},
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = units)]
pub struct Unit {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub parent_code: Option<String>,
    pub agency_code: String,
    pub created_at: Instant,
    pub updated_at: Instant,
}

pub struct NewUnit {
    pub code: String,
    pub name: String,
    pub parent_code: Option<String>,
    pub agency_code: String,
}

#[derive(Default)]
pub struct UnitChanges {
    pub name: Option<String>,
    pub parent_code: Option<Option<String>>,
    pub agency_code: Option<String>,
}

pub fn unit_exists(conn: &mut DbConnection, code: &str) -> Result<bool, StoreError> {
    Ok(units::table
        .filter(units::code.eq(code))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

pub fn get_unit(conn: &mut DbConnection, code: &str) -> Result<Unit, StoreError> {
    Ok(units::table
        .filter(units::code.eq(code))
        .select(Unit::as_select())
        .first(conn)?)
}

/// The unit, locked until the transaction ends (SQLite's write transactions already hold the
/// database's write lock).
pub fn get_unit_for_update(conn: &mut DbConnection, code: &str) -> Result<Unit, StoreError> {
    Ok(match conn {
        DbConnection::Pg(c) => units::table
            .filter(units::code.eq(code))
            .select(Unit::as_select())
            .for_update()
            .first(c)?,
        sqlite @ DbConnection::Sqlite(_) => get_unit(sqlite, code)?,
    })
}

pub fn insert_unit(conn: &mut DbConnection, unit: &NewUnit) -> Result<Unit, StoreError> {
    let now = Instant::now();
    diesel::insert_into(units::table)
        .values((
            units::code.eq(&unit.code),
            units::name.eq(&unit.name),
            units::parent_code.eq(&unit.parent_code),
            units::agency_code.eq(&unit.agency_code),
            units::created_at.eq(now),
            units::updated_at.eq(now),
        ))
        .execute(conn)?;
    get_unit(conn, &unit.code)
}

pub fn update_unit(
    conn: &mut DbConnection,
    code: &str,
    changes: &UnitChanges,
) -> Result<Unit, StoreError> {
    let mut unit = get_unit(conn, code)?;
    if let Some(name) = &changes.name {
        unit.name = name.clone();
    }
    if let Some(parent) = &changes.parent_code {
        unit.parent_code = parent.clone();
    }
    if let Some(agency) = &changes.agency_code {
        unit.agency_code = agency.clone();
    }
    diesel::update(units::table.find(unit.id))
        .set((
            units::name.eq(&unit.name),
            units::parent_code.eq(&unit.parent_code),
            units::agency_code.eq(&unit.agency_code),
            units::updated_at.eq(Instant::now()),
        ))
        .execute(conn)?;
    get_unit(conn, code)
}

/// Units ordered by id, after the cursor id; `agencies` restricts them to those agencies' units.
pub fn list_units(
    conn: &mut DbConnection,
    agencies: Option<&[String]>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<Unit>, StoreError> {
    let mut query = units::table
        .filter(units::id.gt(after_id))
        .select(Unit::as_select())
        .into_boxed();
    filter_when!(query, agencies, |codes| units::agency_code
        .eq_any(codes.to_vec()));
    Ok(query.order(units::id).limit(limit).load(conn)?)
}

/// Whether a dossier names the unit as its lead unit: the unit then keeps its agency, which the
/// dossier's code and its statistics belong to.
pub fn unit_leads_dossiers(conn: &mut DbConnection, code: &str) -> Result<bool, StoreError> {
    use super::schema::dossiers;
    Ok(diesel::select(diesel::dsl::exists(
        dossiers::table.filter(dossiers::unit_code.eq(code)),
    ))
    .get_result(conn)?)
}

/// Whether making `parent` the parent of `code` would close a cycle.
pub fn would_cycle(conn: &mut DbConnection, code: &str, parent: &str) -> Result<bool, StoreError> {
    let mut current = Some(parent.to_owned());
    let mut hops = 0;
    while let Some(c) = current {
        if c == code {
            return Ok(true);
        }
        hops += 1;
        if hops > 1000 {
            return Ok(true);
        }
        current = units::table
            .filter(units::code.eq(&c))
            .select(units::parent_code)
            .first::<Option<String>>(conn)
            .optional()?
            .flatten();
    }
    Ok(false)
}

/// One version of a procedure as stored.
#[derive(Debug, Clone)]
pub struct ProcedureVersion {
    pub id: i64,
    pub code: String,
    pub version: i32,
    pub name: String,
    pub field: String,
    pub unit_code: String,
    pub rules: ProcedureRules,
    pub active: bool,
    /// Any agency's reception may receive it (thủ tục phi địa giới hành chính).
    pub receivable_anywhere: bool,
    /// Its national code, fees and online level.
    pub listing: NationalListing,
    pub created_at: Instant,
}

/// What a POST or PUT of a procedure carries.
#[derive(Debug, Clone)]
pub struct ProcedureDraft {
    pub name: String,
    pub field: String,
    pub unit_code: String,
    pub rules: ProcedureRules,
    pub active: bool,
    pub receivable_anywhere: bool,
    pub listing: NationalListing,
}

/// A stored version as read, in the order of `version_columns!`.
#[derive(Queryable)]
struct VersionRow {
    id: i64,
    code: String,
    version: i32,
    name: String,
    field: String,
    unit_code: String,
    amount: i32,
    unit: TimeUnit,
    policy: SupplementPolicy,
    steps: Steps,
    active: bool,
    created_at: Instant,
    receivable_anywhere: bool,
    national_code: Option<String>,
    fees: Fees,
    online_level: OnlineLevel,
    components: Components,
}

fn version_from_row(row: VersionRow) -> Result<ProcedureVersion, StoreError> {
    Ok(ProcedureVersion {
        id: row.id,
        code: row.code,
        version: row.version,
        name: row.name,
        field: row.field,
        unit_code: row.unit_code,
        rules: ProcedureRules {
            time_limit: TimeLimit {
                amount: u32::try_from(row.amount)
                    .map_err(|_| StoreError::Corrupt("negative limit".into()))?,
                unit: row.unit,
            },
            supplement_policy: row.policy,
            steps: row.steps.0,
        },
        active: row.active,
        receivable_anywhere: row.receivable_anywhere,
        listing: NationalListing {
            national_code: row.national_code,
            fees: row.fees.0,
            online_level: row.online_level,
            components: row.components.0,
        },
        created_at: row.created_at,
    })
}

macro_rules! version_columns {
    () => {
        (
            procedure_versions::id,
            procedure_versions::procedure_code,
            procedure_versions::version,
            procedure_versions::name,
            procedure_versions::field,
            procedure_versions::unit_code,
            procedure_versions::time_limit_amount,
            procedure_versions::time_limit_unit,
            procedure_versions::supplement_policy,
            procedure_versions::steps,
            procedure_versions::active,
            procedure_versions::created_at,
            procedure_versions::receivable_anywhere,
            procedure_versions::national_code,
            procedure_versions::fees,
            procedure_versions::online_level,
            procedure_versions::components,
        )
    };
}

fn insert_version(
    conn: &mut DbConnection,
    code: &str,
    version: i32,
    draft: &ProcedureDraft,
) -> Result<(), StoreError> {
    let steps = Steps(draft.rules.steps.clone());
    diesel::insert_into(procedure_versions::table)
        .values((
            procedure_versions::procedure_code.eq(code),
            procedure_versions::version.eq(version),
            procedure_versions::name.eq(&draft.name),
            procedure_versions::field.eq(&draft.field),
            procedure_versions::unit_code.eq(&draft.unit_code),
            procedure_versions::time_limit_amount
                .eq(i32::try_from(draft.rules.time_limit.amount).unwrap_or(i32::MAX)),
            procedure_versions::time_limit_unit.eq(draft.rules.time_limit.unit),
            procedure_versions::supplement_policy.eq(draft.rules.supplement_policy),
            procedure_versions::steps.eq(steps),
            procedure_versions::active.eq(draft.active),
            procedure_versions::receivable_anywhere.eq(draft.receivable_anywhere),
            procedure_versions::national_code.eq(&draft.listing.national_code),
            procedure_versions::fees.eq(Fees(draft.listing.fees.clone())),
            procedure_versions::online_level.eq(draft.listing.online_level),
            procedure_versions::components.eq(Components(draft.listing.components.clone())),
            procedure_versions::created_at.eq(Instant::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Which version a write makes: the first of a new procedure, or the next of an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionWrite {
    First,
    Next,
}

/// Writes `draft` as a version of `code` and reads it back, in one transaction. Earlier versions
/// stay for the dossiers received under them.
pub fn write_procedure(
    conn: &mut DbConnection,
    code: &str,
    draft: &ProcedureDraft,
    write: VersionWrite,
) -> Result<ProcedureVersion, StoreError> {
    write_transaction(conn, |conn| {
        let version = match write {
            VersionWrite::First => insert_procedure(conn, code)?,
            VersionWrite::Next => claim_next_version(conn, code)?,
        };
        insert_version(conn, code, version, draft)?;
        latest_procedure(conn, code)
    })
}

/// Adds the procedure itself; its first version is 1.
fn insert_procedure(conn: &mut DbConnection, code: &str) -> Result<i32, StoreError> {
    let now = Instant::now();
    diesel::insert_into(procedures::table)
        .values((
            procedures::code.eq(code),
            procedures::latest_version.eq(1),
            procedures::created_at.eq(now),
            procedures::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(1)
}

/// Takes the next version number of an existing procedure.
fn claim_next_version(conn: &mut DbConnection, code: &str) -> Result<i32, StoreError> {
    let latest: i32 = procedures::table
        .filter(procedures::code.eq(code))
        .select(procedures::latest_version)
        .first(conn)?;
    let next = latest + 1;
    // The guarded update makes two concurrent PUTs take distinct version numbers.
    let updated = diesel::update(
        procedures::table
            .filter(procedures::code.eq(code))
            .filter(procedures::latest_version.eq(latest)),
    )
    .set((
        procedures::latest_version.eq(next),
        procedures::updated_at.eq(Instant::now()),
    ))
    .execute(conn)?;
    if updated != 1 {
        return Err(StoreError::StaleVersion);
    }
    Ok(next)
}

pub fn procedure_version(
    conn: &mut DbConnection,
    code: &str,
    version: i32,
) -> Result<ProcedureVersion, StoreError> {
    let row: VersionRow = procedure_versions::table
        .filter(procedure_versions::procedure_code.eq(code))
        .filter(procedure_versions::version.eq(version))
        .select(version_columns!())
        .first(conn)?;
    version_from_row(row)
}

pub fn latest_procedure(
    conn: &mut DbConnection,
    code: &str,
) -> Result<ProcedureVersion, StoreError> {
    let latest: i32 = procedures::table
        .filter(procedures::code.eq(code))
        .select(procedures::latest_version)
        .first(conn)?;
    procedure_version(conn, code, latest)
}

pub fn procedure_versions_of(
    conn: &mut DbConnection,
    code: &str,
) -> Result<Vec<ProcedureVersion>, StoreError> {
    let rows: Vec<VersionRow> = procedure_versions::table
        .filter(procedure_versions::procedure_code.eq(code))
        .order(procedure_versions::version)
        .select(version_columns!())
        .load(conn)?;
    if rows.is_empty() {
        return Err(StoreError::NotFound);
    }
    rows.into_iter().map(version_from_row).collect()
}

/// Latest versions, ordered by procedure id after the cursor (one query). With `agencies`, only
/// the procedures whose lead unit belongs to one of them, and those receivable anywhere.
pub fn list_procedures(
    conn: &mut DbConnection,
    agencies: Option<&[String]>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<(i64, ProcedureVersion)>, StoreError> {
    let mut query = procedures::table
        .inner_join(
            procedure_versions::table.on(procedure_versions::procedure_code
                .eq(procedures::code)
                .and(procedure_versions::version.eq(procedures::latest_version))),
        )
        .filter(procedures::id.gt(after_id))
        .select((procedures::id, version_columns!()))
        .into_boxed();
    if let Some(codes) = agencies {
        let scoped_units = units::table
            .filter(units::agency_code.eq_any(codes.to_vec()))
            .select(units::code);
        query = query.filter(
            procedure_versions::receivable_anywhere
                .eq(true)
                .or(procedure_versions::unit_code.eq_any(scoped_units)),
        );
    }
    let rows: Vec<(i64, VersionRow)> = query.order(procedures::id).limit(limit).load(conn)?;
    rows.into_iter()
        .map(|(id, row)| Ok((id, version_from_row(row)?)))
        .collect()
}
