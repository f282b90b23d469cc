//! The append-only audit log: who changed what, when, from which client, and why.

use diesel::prelude::*;

use crate::{auth::policy::Role, domain::Instant};

use super::{DbConnection, StoreError, schema::audit_log};

/// One entry as written: who did what to which entity, when, and why.
#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry {
    pub at: Instant,
    pub actor: String,
    pub actor_role: Role,
    pub client_id: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    /// JSON describing the change.
    pub changes: String,
    pub reason: Option<String>,
    pub request_id: Option<String>,
    /// The agency the entity belongs to; `None` for what belongs to the whole deployment (the
    /// calendar, an account without a unit). Scoped readers see only their agencies' entries.
    pub agency_code: Option<String>,
}

/// A stored entry: the entry and its place in the log.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i64,
    #[diesel(embed)]
    pub entry: NewAuditEntry,
}

/// Who acts and in which request; every change passes it down to the audit log.
#[derive(Debug, Clone)]
pub struct AuditContext {
    pub actor: String,
    pub actor_role: Role,
    pub client_id: Option<String>,
    pub reason: Option<String>,
    pub request_id: Option<String>,
}

impl AuditContext {
    pub fn entry(
        &self,
        action: &str,
        entity_type: &str,
        entity_id: &str,
        agency_code: Option<&str>,
        changes: serde_json::Value,
    ) -> NewAuditEntry {
        NewAuditEntry {
            at: Instant::now(),
            actor: self.actor.clone(),
            actor_role: self.actor_role,
            client_id: self.client_id.clone(),
            action: action.to_owned(),
            entity_type: entity_type.to_owned(),
            entity_id: entity_id.to_owned(),
            changes: changes.to_string(),
            reason: self.reason.clone(),
            request_id: self.request_id.clone(),
            agency_code: agency_code.map(str::to_owned),
        }
    }

    /// Appends an entry; call it inside the transaction of the change it records.
    pub fn record(
        &self,
        conn: &mut DbConnection,
        action: &str,
        entity_type: &str,
        entity_id: &str,
        agency_code: Option<&str>,
        changes: serde_json::Value,
    ) -> Result<(), StoreError> {
        diesel::insert_into(audit_log::table)
            .values(self.entry(action, entity_type, entity_id, agency_code, changes))
            .execute(conn)?;
        Ok(())
    }
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor: Option<String>,
    /// Only entries of these agencies (`None`: every entry).
    pub agencies: Option<Vec<String>>,
}

pub fn list(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    after_id: i64,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    let mut query = audit_log::table
        .select(AuditEntry::as_select())
        .filter(audit_log::id.gt(after_id))
        .into_boxed();
    filter_when!(query, &filter.entity_type, |v| audit_log::entity_type
        .eq(v.clone()));
    filter_when!(query, &filter.entity_id, |v| audit_log::entity_id
        .eq(v.clone()));
    filter_when!(query, &filter.actor, |v| audit_log::actor.eq(v.clone()));
    filter_when!(query, &filter.agencies, |v| audit_log::agency_code
        .eq_any(v.clone()));
    Ok(query.order(audit_log::id).limit(limit).load(conn)?)
}
