//! Logins (users and machine clients), the first administrator, and client registration.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};

use crate::{
    auth::{
        lockout::{ThrottlePolicy, Verdict},
        password::{
            generate_client_id, generate_client_secret, hash_password, validate_password_strength,
            verify_against_dummy, verify_password,
        },
        policy::{Action, Denied, Principal, PrincipalKind, Role, administers, authorize},
    },
    domain::agency::AgencyScope,
    store::{
        DbConnection, StoreError, accounts, agencies as store_agencies, audit::AuditContext,
        catalogue, login_throttle, write_transaction,
    },
};

use super::{ServiceError, agencies::check_placeable};

/// Why a login failed; deliberately the same answer for an unknown account and a wrong secret.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a throttled login gave no principal.
#[derive(Debug, thiserror::Error)]
pub enum ThrottledLoginError {
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failures from this address (or, for an address the account has not used lately,
    /// on the account): the credentials were not checked.
    #[error("too many failed logins; retry after {0:?}")]
    Wait(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs `check` (a [`login_user`] or [`login_client`]) under the login throttle of `account` (a
/// key such as `user:alice`) from `address`: refused while that address, or the account for
/// addresses it has not used lately, must wait; counted as a failure before the check and taken
/// back after a success. The state is in the database, shared by every instance.
pub fn throttled_login(
    conn: &mut DbConnection,
    policy: &ThrottlePolicy,
    account: &str,
    address: &str,
    now: NaiveDateTime,
    check: impl FnOnce(&mut DbConnection) -> Result<Principal, LoginError>,
) -> Result<Principal, ThrottledLoginError> {
    let admitted = write_transaction(conn, |conn| -> Result<_, StoreError> {
        let (pair, all) = login_throttle::lock(conn, account, address, now)?;
        match policy.admit(pair, all, now) {
            Verdict::Wait(wait) => Ok(Err(wait)),
            Verdict::Proceed { pair, account: all } => {
                login_throttle::save(conn, account, address, &pair, &all, now)?;
                Ok(Ok(()))
            }
        }
    })?;
    if let Err(wait) = admitted {
        return Err(ThrottledLoginError::Wait(wait));
    }
    match check(conn) {
        Ok(principal) => {
            write_transaction(conn, |conn| -> Result<_, StoreError> {
                let (_, all) = login_throttle::lock(conn, account, address, now)?;
                let (pair, all) = policy.succeeded(all, now);
                login_throttle::save(conn, account, address, &pair, &all, now)
            })?;
            Ok(principal)
        }
        Err(LoginError::InvalidCredentials) => {
            // Now and then, forget the records nobody has used for a day.
            if rand::random::<u8>() == 0 {
                let idle = now - TimeDelta::days(1);
                let trusted =
                    now - TimeDelta::from_std(policy.trusted_for).unwrap_or(TimeDelta::MAX);
                login_throttle::purge(conn, idle, trusted)?;
            }
            Err(ThrottledLoginError::InvalidCredentials)
        }
        Err(LoginError::Store(e)) => Err(e.into()),
    }
}

/// The account whose secret matches `secret`. An unknown or deactivated account spends the same
/// time as a real check, so neither can be told apart from a wrong secret.
fn verify_account<A>(
    account: Option<A>,
    secret: &str,
    active: impl Fn(&A) -> bool,
    hash: impl Fn(&A) -> &str,
) -> Result<A, LoginError> {
    match account {
        Some(a) if active(&a) && verify_password(hash(&a), secret) => Ok(a),
        Some(a) if !active(&a) => {
            verify_against_dummy(secret);
            Err(LoginError::InvalidCredentials)
        }
        Some(_) => Err(LoginError::InvalidCredentials),
        None => {
            verify_against_dummy(secret);
            Err(LoginError::InvalidCredentials)
        }
    }
}

pub fn login_user(
    conn: &mut DbConnection,
    username: &str,
    password: &str,
) -> Result<Principal, LoginError> {
    let user = verify_account(
        accounts::find_user(conn, username)?,
        password,
        |u| u.active,
        |u| &u.password_hash,
    )?;
    Ok(Principal {
        subject: user.username,
        role: user.role,
        unit_code: user.unit_code,
        kind: PrincipalKind::User,
        scope: AgencyScope::Nothing,
    })
}

pub fn login_client(
    conn: &mut DbConnection,
    client_id: &str,
    secret: &str,
) -> Result<Principal, LoginError> {
    let client = verify_account(
        accounts::find_client(conn, client_id)?,
        secret,
        |c| c.active,
        |c| &c.secret_hash,
    )?;
    Ok(Principal {
        subject: client.client_id,
        role: Role::Portal,
        unit_code: None,
        kind: PrincipalKind::Client,
        scope: AgencyScope::Nothing,
    })
}

/// Adds a local user (the `motcua user add` command and the first administrator).
pub fn add_user(
    conn: &mut DbConnection,
    username: &str,
    password: &str,
    role: Role,
    unit_code: Option<&str>,
) -> Result<(), ServiceError> {
    insert_user(conn, username, password, role, unit_code).map(|_| ())
}

fn insert_user(
    conn: &mut DbConnection,
    username: &str,
    password: &str,
    role: Role,
    unit_code: Option<&str>,
) -> Result<accounts::UserRecord, ServiceError> {
    let valid_name = !username.is_empty()
        && username.len() <= 64
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !valid_name {
        return Err(ServiceError::invalid(
            "username",
            "1–64 letters, digits, `.`, `_` or `-`",
        ));
    }
    validate_password_strength(password).map_err(|m| ServiceError::invalid("password", m))?;
    if role == Role::Portal {
        return Err(ServiceError::invalid(
            "role",
            "the portal role belongs to machine clients",
        ));
    }
    if role.is_unit_bound() && unit_code.is_none() {
        return Err(ServiceError::invalid(
            "unit_code",
            format!("role `{role}` needs a unit"),
        ));
    }
    let hash = hash_password(password).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    write_transaction(conn, |conn| {
        if let Some(unit) = unit_code
            && !catalogue::unit_exists(conn, unit)?
        {
            return Err(ServiceError::invalid(
                "unit_code",
                format!("no unit `{unit}`"),
            ));
        }
        accounts::insert_user(conn, username, &hash, role, unit_code).map_err(|e| match e {
            StoreError::UniqueViolation(_) => {
                ServiceError::Conflict(format!("user `{username}` exists"))
            }
            other => other.into(),
        })
    })
}

/// Creates the `admin` account when no active administrator exists; `Ok(false)` when one does.
pub fn bootstrap_admin(conn: &mut DbConnection, password: &str) -> Result<bool, ServiceError> {
    if accounts::count_active_admins(conn)? > 0 {
        return Ok(false);
    }
    match add_user(conn, "admin", password, Role::Admin, None) {
        Ok(()) => Ok(true),
        // Another instance created it at the same moment.
        Err(ServiceError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Registers a machine client; the secret is returned once and stored hashed. The client works
/// for `agency_code` and the agencies below it; without one, a confined administrator's client
/// works for the administrator's own agency and an unconfined one's for the whole deployment.
pub fn create_client(
    conn: &mut DbConnection,
    who: &Principal,
    audit: &AuditContext,
    name: &str,
    agency_code: Option<&str>,
) -> Result<(accounts::ClientRecord, String), ServiceError> {
    authorize(who, &Action::ManageClients, None)?;
    if name.trim().is_empty() || name.chars().count() > 200 {
        return Err(ServiceError::invalid("name", "1–200 characters"));
    }
    let agency = agency_code.or(who.scope.home());
    let secret = generate_client_secret();
    let hash = hash_password(&secret).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    write_transaction(conn, |conn| {
        if let Some(agency) = agency {
            check_placeable(conn, who, "agency_code", agency)?;
        }
        let client =
            accounts::insert_client(conn, &generate_client_id(), name.trim(), &hash, agency)?;
        audit.record(
            conn,
            "client.create",
            "client",
            &client.client_id,
            client.agency_code.as_deref(),
            serde_json::json!({"name": client.name, "agency_code": client.agency_code}),
        )?;
        Ok((client, secret))
    })
}

pub fn list_clients(
    conn: &mut DbConnection,
    who: &Principal,
    after_id: i64,
    limit: i64,
) -> Result<Vec<accounts::ClientRecord>, ServiceError> {
    authorize(who, &Action::ManageClients, None)?;
    Ok(accounts::list_clients(
        conn,
        who.scope.codes().as_deref(),
        after_id,
        limit,
    )?)
}

/// The agency an account with this unit would belong to (`None`: no unit, the whole deployment),
/// if the caller administers it. A unit outside the caller's agencies is answered as an unknown
/// one, as everywhere else: its existence and agency are not the caller's to learn.
fn placeable_agency(
    conn: &mut DbConnection,
    who: &Principal,
    unit_code: Option<&str>,
) -> Result<Option<String>, ServiceError> {
    let Some(unit) = unit_code else {
        if administers(who, None) {
            return Ok(None);
        }
        return Err(Denied::new(
            "only an administrator without a unit manages accounts without a unit; give a unit_code",
        )
        .into());
    };
    match store_agencies::agency_of_unit(conn, unit)? {
        Some(agency) if administers(who, Some(&agency)) => Ok(Some(agency)),
        _ => Err(ServiceError::invalid(
            "unit_code",
            format!("no unit `{unit}`"),
        )),
    }
}

/// The user, if the caller's scope reaches it (else it does not exist for the caller), with its
/// agency.
fn visible_user(
    conn: &mut DbConnection,
    who: &Principal,
    username: &str,
) -> Result<(accounts::UserRecord, Option<String>), ServiceError> {
    let missing = || ServiceError::NotFound(format!("no user `{username}`"));
    let user = accounts::find_user(conn, username)?.ok_or_else(missing)?;
    let agency = match &user.unit_code {
        Some(unit) => store_agencies::agency_of_unit(conn, unit)?,
        None => None,
    };
    if administers(who, agency.as_deref()) {
        Ok((user, agency))
    } else {
        Err(missing())
    }
}

/// `POST /users`: an administrator adds an account.
pub fn create_user(
    conn: &mut DbConnection,
    who: &Principal,
    audit: &AuditContext,
    username: &str,
    password: &str,
    role: Role,
    unit_code: Option<&str>,
) -> Result<accounts::UserRecord, ServiceError> {
    authorize(who, &Action::ManageUsers, None)?;
    write_transaction(conn, |conn| {
        let agency = placeable_agency(conn, who, unit_code)?;
        let user = insert_user(conn, username, password, role, unit_code)?;
        audit.record(
            conn,
            "user.create",
            "user",
            username,
            agency.as_deref(),
            serde_json::json!({"role": user.role, "unit_code": user.unit_code}),
        )?;
        Ok(user)
    })
}

pub fn get_user(
    conn: &mut DbConnection,
    who: &Principal,
    username: &str,
) -> Result<accounts::UserRecord, ServiceError> {
    authorize(who, &Action::ManageUsers, None)?;
    Ok(visible_user(conn, who, username)?.0)
}

pub fn list_users(
    conn: &mut DbConnection,
    who: &Principal,
    after_id: i64,
    limit: i64,
) -> Result<Vec<accounts::UserRecord>, ServiceError> {
    authorize(who, &Action::ManageUsers, None)?;
    Ok(accounts::list_users(
        conn,
        who.scope.codes().as_deref(),
        after_id,
        limit,
    )?)
}

/// A change to a user; `None` leaves a field unchanged, `unit_code: Some(None)` clears it.
#[derive(Debug, Default)]
pub struct UserUpdate {
    pub password: Option<String>,
    pub role: Option<Role>,
    pub unit_code: Option<Option<String>>,
    pub active: Option<bool>,
}

pub fn update_user(
    conn: &mut DbConnection,
    who: &Principal,
    audit: &AuditContext,
    username: &str,
    update: UserUpdate,
) -> Result<accounts::UserRecord, ServiceError> {
    authorize(who, &Action::ManageUsers, None)?;
    if let Some(password) = &update.password {
        validate_password_strength(password).map_err(|m| ServiceError::invalid("password", m))?;
    }
    if update.role == Some(Role::Portal) {
        return Err(ServiceError::invalid(
            "role",
            "the portal role belongs to machine clients",
        ));
    }
    let password_hash = update
        .password
        .as_deref()
        .map(hash_password)
        .transpose()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    write_transaction(conn, |conn| {
        let (before, _) = visible_user(conn, who, username)?;
        let role = update.role.unwrap_or(before.role);
        let unit = update
            .unit_code
            .clone()
            .unwrap_or_else(|| before.unit_code.clone());
        if role.is_unit_bound() && unit.is_none() {
            return Err(ServiceError::invalid(
                "unit_code",
                format!("role `{role}` needs a unit"),
            ));
        }
        let agency = placeable_agency(conn, who, unit.as_deref())?;
        // Changing one's own role, unit or state would end one's own session at the next request
        // (the token no longer matches the account) or lock oneself out: another administrator
        // does it.
        let own_account = who.kind == PrincipalKind::User && before.username == who.subject;
        let changes_standing = role != before.role
            || unit != before.unit_code
            || update.active.is_some_and(|active| active != before.active);
        if own_account && changes_standing {
            return Err(ServiceError::Conflict(
                "an account cannot change its own role, unit or active state; another administrator must"
                    .to_owned(),
            ));
        }
        let demotes_admin = before.role == Role::Admin
            && before.active
            && (role != Role::Admin || update.active == Some(false));
        if demotes_admin && accounts::count_active_admins(conn)? <= 1 {
            return Err(ServiceError::Conflict(
                "this is the last active administrator".to_owned(),
            ));
        }
        let changes = accounts::UserChanges {
            password_hash: password_hash.clone(),
            role: update.role,
            unit_code: update.unit_code.clone(),
            active: update.active,
        };
        let after = accounts::update_user(conn, username, &changes)?;
        audit.record(conn, "user.update", "user", username, agency.as_deref(), serde_json::json!({
            "before": {"role": before.role, "unit_code": before.unit_code, "active": before.active},
            "after": {"role": after.role, "unit_code": after.unit_code, "active": after.active},
            "password_changed": password_hash.is_some(),
        }))?;
        Ok(after)
    })
}
