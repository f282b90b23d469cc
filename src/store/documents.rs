//! Document rows (`dossier_documents`): written once, never updated or deleted.

use diesel::prelude::*;

use super::{
    DbConnection, StoreError,
    schema::{dossier_documents, dossiers},
};
use crate::domain::{
    Instant,
    document::{DocumentKind, HeldDocuments},
};

/// A document as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = dossier_documents)]
pub struct DocumentRecord {
    pub id: i64,
    pub dossier_id: i64,
    pub kind: DocumentKind,
    pub component_code: Option<String>,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub storage_key: String,
    pub reused: bool,
    pub uploaded_at: Instant,
    pub uploaded_by: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = dossier_documents)]
pub struct NewDocument<'a> {
    pub dossier_id: i64,
    pub kind: DocumentKind,
    pub component_code: Option<&'a str>,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub storage_key: &'a str,
    pub reused: bool,
    pub uploaded_at: Instant,
    pub uploaded_by: &'a str,
}

pub fn insert(
    conn: &mut DbConnection,
    new: &NewDocument<'_>,
) -> Result<DocumentRecord, StoreError> {
    diesel::insert_into(dossier_documents::table)
        .values(new)
        .execute(conn)?;
    // Read back by its unique key (RETURNING does not span both backends here).
    Ok(dossier_documents::table
        .filter(dossier_documents::storage_key.eq(new.storage_key))
        .select(DocumentRecord::as_select())
        .first(conn)?)
}

/// A dossier's documents, oldest first.
pub fn of_dossier(
    conn: &mut DbConnection,
    dossier_id: i64,
) -> Result<Vec<DocumentRecord>, StoreError> {
    Ok(dossier_documents::table
        .filter(dossier_documents::dossier_id.eq(dossier_id))
        .order(dossier_documents::id)
        .select(DocumentRecord::as_select())
        .load(conn)?)
}

/// The documents of several dossiers (an export page), by dossier then id.
pub fn of_dossiers(
    conn: &mut DbConnection,
    dossier_ids: &[i64],
) -> Result<Vec<DocumentRecord>, StoreError> {
    Ok(dossier_documents::table
        .filter(dossier_documents::dossier_id.eq_any(dossier_ids))
        .order((dossier_documents::dossier_id, dossier_documents::id))
        .select(DocumentRecord::as_select())
        .load(conn)?)
}

pub fn get(
    conn: &mut DbConnection,
    dossier_id: i64,
    id: i64,
) -> Result<DocumentRecord, StoreError> {
    Ok(dossier_documents::table
        .filter(dossier_documents::dossier_id.eq(dossier_id))
        .filter(dossier_documents::id.eq(id))
        .select(DocumentRecord::as_select())
        .first(conn)?)
}

/// A document by its id alone (a reuse names one of another dossier).
pub fn by_id(conn: &mut DbConnection, id: i64) -> Result<DocumentRecord, StoreError> {
    Ok(dossier_documents::table
        .filter(dossier_documents::id.eq(id))
        .select(DocumentRecord::as_select())
        .first(conn)?)
}

/// What a dossier holds, for [`crate::domain::document::is_digitized`].
pub fn held(conn: &mut DbConnection, dossier_id: i64) -> Result<HeldDocuments, StoreError> {
    let rows: Vec<(DocumentKind, Option<String>)> = dossier_documents::table
        .filter(dossier_documents::dossier_id.eq(dossier_id))
        .select((dossier_documents::kind, dossier_documents::component_code))
        .load(conn)?;
    let mut held = HeldDocuments::default();
    for (kind, component) in rows {
        if kind.is_component() {
            held.any_paper = true;
            held.components.extend(component);
        } else {
            held.any_result = true;
        }
    }
    Ok(held)
}

/// Every document's storage key (the storage check keeps those objects).
pub fn storage_keys(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    Ok(dossier_documents::table
        .select(dossier_documents::storage_key)
        .load(conn)?)
}

/// Sets the dossier's digitized flag (not a versioned change: the dossier itself did not move).
pub fn set_digitized(
    conn: &mut DbConnection,
    dossier_id: i64,
    digitized: bool,
) -> Result<(), StoreError> {
    diesel::update(dossiers::table.filter(dossiers::id.eq(dossier_id)))
        .set(dossiers::digitized.eq(digitized))
        .execute(conn)?;
    Ok(())
}
