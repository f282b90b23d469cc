//! User accounts and machine clients.

use diesel::prelude::*;

use crate::{
    auth::policy::Role,
    domain::{Instant, agency::AgencyTree},
};

use super::{
    DbConnection, StoreError,
    schema::{clients, units, users},
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub unit_code: Option<String>,
    pub active: bool,
    pub created_at: Instant,
    pub updated_at: Instant,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = clients)]
pub struct ClientRecord {
    pub id: i64,
    pub client_id: String,
    pub name: String,
    pub secret_hash: String,
    pub active: bool,
    pub created_at: Instant,
    /// The agency the client works for (`None`: the whole deployment).
    pub agency_code: Option<String>,
}

pub fn find_user(
    conn: &mut DbConnection,
    username: &str,
) -> Result<Option<UserRecord>, StoreError> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select(UserRecord::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_user(
    conn: &mut DbConnection,
    username: &str,
    password_hash: &str,
    role: Role,
    unit_code: Option<&str>,
) -> Result<UserRecord, StoreError> {
    let now = Instant::now();
    diesel::insert_into(users::table)
        .values((
            users::username.eq(username),
            users::password_hash.eq(password_hash),
            users::role.eq(role),
            users::unit_code.eq(unit_code),
            users::active.eq(true),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    find_user(conn, username)?.ok_or(StoreError::NotFound)
}

pub fn count_active_admins(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(users::table
        .filter(users::role.eq(Role::Admin))
        .filter(users::active.eq(true))
        .count()
        .get_result(conn)?)
}

pub fn find_client(
    conn: &mut DbConnection,
    client_id: &str,
) -> Result<Option<ClientRecord>, StoreError> {
    Ok(clients::table
        .filter(clients::client_id.eq(client_id))
        .select(ClientRecord::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_client(
    conn: &mut DbConnection,
    client_id: &str,
    name: &str,
    secret_hash: &str,
    agency_code: Option<&str>,
) -> Result<ClientRecord, StoreError> {
    diesel::insert_into(clients::table)
        .values((
            clients::agency_code.eq(agency_code),
            clients::client_id.eq(client_id),
            clients::name.eq(name),
            clients::secret_hash.eq(secret_hash),
            clients::active.eq(true),
            clients::created_at.eq(Instant::now()),
        ))
        .execute(conn)?;
    find_client(conn, client_id)?.ok_or(StoreError::NotFound)
}

/// Clients by id after the cursor; `agencies` restricts them to clients of those agencies.
pub fn list_clients(
    conn: &mut DbConnection,
    agencies: Option<&[String]>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<ClientRecord>, StoreError> {
    let mut query = clients::table
        .filter(clients::id.gt(after_id))
        .select(ClientRecord::as_select())
        .into_boxed();
    filter_when!(query, agencies, |codes| clients::agency_code
        .eq_any(codes.to_vec()));
    Ok(query.order(clients::id).limit(limit).load(conn)?)
}

/// Users by id after the cursor; `agencies` restricts them to users whose unit belongs to one of
/// those agencies (accounts without a unit belong to the whole deployment).
pub fn list_users(
    conn: &mut DbConnection,
    agencies: Option<&[String]>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<UserRecord>, StoreError> {
    let mut query = users::table
        .filter(users::id.gt(after_id))
        .select(UserRecord::as_select())
        .into_boxed();
    if let Some(codes) = agencies {
        let scoped_units = units::table
            .filter(units::agency_code.eq_any(codes.to_vec()))
            .select(units::code);
        query = query.filter(users::unit_code.eq_any(scoped_units.nullable()));
    }
    Ok(query.order(users::id).limit(limit).load(conn)?)
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct UserChanges {
    pub password_hash: Option<String>,
    pub role: Option<Role>,
    pub unit_code: Option<Option<String>>,
    pub active: Option<bool>,
}

pub fn update_user(
    conn: &mut DbConnection,
    username: &str,
    changes: &UserChanges,
) -> Result<UserRecord, StoreError> {
    let mut user = find_user(conn, username)?.ok_or(StoreError::NotFound)?;
    if let Some(hash) = &changes.password_hash {
        user.password_hash = hash.clone();
    }
    if let Some(role) = changes.role {
        user.role = role;
    }
    if let Some(unit) = &changes.unit_code {
        user.unit_code = unit.clone();
    }
    if let Some(active) = changes.active {
        user.active = active;
    }
    diesel::update(users::table.find(user.id))
        .set((
            users::password_hash.eq(&user.password_hash),
            users::role.eq(user.role),
            users::unit_code.eq(&user.unit_code),
            users::active.eq(user.active),
            users::updated_at.eq(Instant::now()),
        ))
        .execute(conn)?;
    find_user(conn, username)?.ok_or(StoreError::NotFound)
}

/// What the per-request check compares with a token: the local account's state now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountStanding {
    pub active: bool,
    /// The user's role (`portal` for a machine client).
    pub role: String,
    pub unit_code: Option<String>,
    /// The agency the account works in: a client's own, a user's unit's (`None`: the whole
    /// deployment, or for a user a unit that no longer exists).
    pub agency_code: Option<String>,
    /// The agency tree as of this read: the scope is worked out without another round trip.
    pub agencies: AgencyTree,
}

/// The agency tree as one text (`code>parent|code>|…`; codes hold neither `>` nor `|`), so that it
/// comes with the account's row.
const TREE_PG: &str =
    "(SELECT string_agg(code || '>' || COALESCE(parent_code, ''), '|') FROM agencies)";
const TREE_SQLITE: &str =
    "(SELECT group_concat(code || '>' || COALESCE(parent_code, ''), '|') FROM agencies)";
const UNIT_AGENCY: &str = "(SELECT u.agency_code FROM units u WHERE u.code = users.unit_code)";

/// The tree, read only for an account confined to an agency (`column`, its unit or agency, is set):
/// a deployment-wide account, the common case of a single office, has no use for it.
fn tree_if_set(conn: &DbConnection, column: &str) -> String {
    let tree = match conn {
        DbConnection::Pg(_) => TREE_PG,
        DbConnection::Sqlite(_) => TREE_SQLITE,
    };
    format!("(CASE WHEN {column} IS NULL THEN NULL ELSE {tree} END)")
}

fn parse_tree(encoded: Option<String>) -> AgencyTree {
    AgencyTree::new(
        encoded
            .iter()
            .flat_map(|text| text.split('|'))
            .filter_map(|edge| edge.split_once('>'))
            .map(|(code, parent)| {
                let parent = (!parent.is_empty()).then(|| parent.to_owned());
                (code.to_owned(), parent)
            })
            .collect::<Vec<_>>(),
    )
}

/// The state of a principal's local account with what its scope needs (its agency and the agency
/// tree), in one round trip: this runs on every authenticated request. `None` for an identity that
/// exists only at the external identity provider (no local row).
pub fn account_standing(
    conn: &mut DbConnection,
    subject: &str,
    is_client: bool,
) -> Result<Option<AccountStanding>, StoreError> {
    use diesel::{
        dsl::sql,
        sql_types::{Nullable, Text},
    };
    if is_client {
        let tree = tree_if_set(conn, "clients.agency_code");
        let row: Option<(bool, Option<String>, Option<String>)> = clients::table
            .filter(clients::client_id.eq(subject))
            .select((
                clients::active,
                clients::agency_code,
                sql::<Nullable<Text>>(&tree),
            ))
            .first(conn)
            .optional()?;
        return Ok(row.map(|(active, agency_code, tree)| AccountStanding {
            active,
            role: "portal".to_owned(),
            unit_code: None,
            agency_code,
            agencies: parse_tree(tree),
        }));
    }
    let tree = tree_if_set(conn, "users.unit_code");
    // active, role, unit, the unit's agency, the tree
    type UserRow = (bool, String, Option<String>, Option<String>, Option<String>);
    let row: Option<UserRow> = users::table
        .filter(users::username.eq(subject))
        .select((
            users::active,
            users::role,
            users::unit_code,
            sql::<Nullable<Text>>(UNIT_AGENCY),
            sql::<Nullable<Text>>(&tree),
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(
        |(active, role, unit_code, agency_code, tree)| AccountStanding {
            active,
            role,
            unit_code,
            agency_code,
            agencies: parse_tree(tree),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_text_reads_back_as_the_tree() {
        let tree = parse_tree(Some("H99>|SCT>H99|XA01.H99>H99".to_owned()));
        let expected = AgencyTree::new([
            ("H99".to_owned(), None),
            ("SCT".to_owned(), Some("H99".to_owned())),
            ("XA01.H99".to_owned(), Some("H99".to_owned())),
        ]);
        assert_eq!(tree, expected);
        assert_eq!(parse_tree(None), AgencyTree::default());
    }
}
