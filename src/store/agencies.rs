//! Agencies (cơ quan), the tree they form, and which agencies share each dossier.

use diesel::prelude::*;

use super::{
    DbConnection, StoreError,
    schema::{agencies, dossier_agencies, units},
};
use crate::domain::{Instant, agency::AgencyTree};

/// `EXISTS` a share of the outer `dossiers` row with one of `codes`: the filter of every scoped
/// dossier query. A correlated probe of the (dossier, agency) key per candidate row keeps a page
/// cheap; `id IN (SELECT …)` would first read every share of the caller's agencies (SQLite did so
/// on every page).
#[diesel::dsl::auto_type]
pub fn shared_with_any(codes: Vec<String>) -> _ {
    diesel::dsl::exists(
        dossier_agencies::table
            .filter(dossier_agencies::dossier_id.eq(super::schema::dossiers::id))
            .filter(dossier_agencies::agency_code.eq_any(codes)),
    )
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = agencies)]
pub struct Agency {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub parent_code: Option<String>,
    pub created_at: Instant,
    pub updated_at: Instant,
}

/// What a new agency or a change of one carries.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = agencies, treat_none_as_null = true)]
pub struct AgencyFields {
    pub name: String,
    pub parent_code: Option<String>,
}

pub fn get(conn: &mut DbConnection, code: &str) -> Result<Agency, StoreError> {
    Ok(agencies::table
        .filter(agencies::code.eq(code))
        .select(Agency::as_select())
        .first(conn)?)
}

pub fn exists(conn: &mut DbConnection, code: &str) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(
        agencies::table.filter(agencies::code.eq(code)),
    ))
    .get_result(conn)?)
}

pub fn insert(
    conn: &mut DbConnection,
    code: &str,
    fields: &AgencyFields,
) -> Result<Agency, StoreError> {
    let now = Instant::now();
    diesel::insert_into(agencies::table)
        .values((
            agencies::code.eq(code),
            agencies::name.eq(&fields.name),
            agencies::parent_code.eq(&fields.parent_code),
            agencies::created_at.eq(now),
            agencies::updated_at.eq(now),
        ))
        .execute(conn)?;
    get(conn, code)
}

pub fn update(
    conn: &mut DbConnection,
    code: &str,
    fields: &AgencyFields,
) -> Result<Agency, StoreError> {
    let changed = diesel::update(agencies::table.filter(agencies::code.eq(code)))
        .set((fields, agencies::updated_at.eq(Instant::now())))
        .execute(conn)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    get(conn, code)
}

/// Agencies by id after the cursor; `within` restricts them to these codes.
pub fn list(
    conn: &mut DbConnection,
    within: Option<&[String]>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<Agency>, StoreError> {
    let mut query = agencies::table
        .filter(agencies::id.gt(after_id))
        .select(Agency::as_select())
        .into_boxed();
    if let Some(codes) = within {
        query = query.filter(agencies::code.eq_any(codes.to_vec()));
    }
    Ok(query.order(agencies::id).limit(limit).load(conn)?)
}

/// Every agency with its parent: small (a province has a few hundred at most) and read whole.
pub fn tree(conn: &mut DbConnection) -> Result<AgencyTree, StoreError> {
    let edges: Vec<(String, Option<String>)> = agencies::table
        .select((agencies::code, agencies::parent_code))
        .load(conn)?;
    Ok(AgencyTree::new(edges))
}

/// The agency tree and the agency of `unit` (if the unit exists), in one round trip: every request
/// of an account with a unit needs both to know its scope.
pub fn tree_and_agency_of_unit(
    conn: &mut DbConnection,
    unit: &str,
) -> Result<(AgencyTree, Option<String>), StoreError> {
    let rows: Vec<(String, Option<String>, Option<String>)> = agencies::table
        .select((
            agencies::code,
            agencies::parent_code,
            units::table
                .filter(units::code.eq(unit))
                .select(units::agency_code)
                .single_value(),
        ))
        .load(conn)?;
    let home = rows.first().and_then(|(_, _, home)| home.clone());
    let edges = rows.into_iter().map(|(code, parent, _)| (code, parent));
    Ok((AgencyTree::new(edges), home))
}

/// The agency a unit belongs to, if the unit exists.
pub fn agency_of_unit(conn: &mut DbConnection, unit: &str) -> Result<Option<String>, StoreError> {
    Ok(units::table
        .filter(units::code.eq(unit))
        .select(units::agency_code)
        .first(conn)
        .optional()?)
}

/// Shares a dossier with an agency (idempotent).
pub fn share_dossier(
    conn: &mut DbConnection,
    dossier_id: i64,
    agency: &str,
) -> Result<(), StoreError> {
    let row = (
        dossier_agencies::dossier_id.eq(dossier_id),
        dossier_agencies::agency_code.eq(agency),
    );
    match conn {
        DbConnection::Pg(c) => diesel::insert_into(dossier_agencies::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConnection::Sqlite(c) => diesel::insert_or_ignore_into(dossier_agencies::table)
            .values(row)
            .execute(c)?,
    };
    Ok(())
}

/// The agencies a dossier is shared with, in code order.
pub fn dossier_agencies(
    conn: &mut DbConnection,
    dossier_id: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(dossier_agencies::table
        .filter(dossier_agencies::dossier_id.eq(dossier_id))
        .select(dossier_agencies::agency_code)
        .order(dossier_agencies::agency_code)
        .load(conn)?)
}

/// The agencies each of these dossiers is shared with, as `(dossier id, agency)` pairs.
pub fn agencies_of_dossiers(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(dossier_agencies::table
        .filter(dossier_agencies::dossier_id.eq_any(ids.to_vec()))
        .select((dossier_agencies::dossier_id, dossier_agencies::agency_code))
        .load(conn)?)
}
