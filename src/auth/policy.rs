//! The one place that decides who may do what. Handlers call [`authorize`] before acting and
//! [`list_filter`] / [`webhook_filter`] to build the `WHERE` clause of a list, so a list never shows a
//! row that [`authorize`] would refuse to show on its own.
//!
//! # Rules
//!
//! | action               | admin | reception | specialist | leader | auditor | portal |
//! |----------------------|-------|-----------|------------|--------|---------|--------|
//! | read_catalogue       | yes   | yes       | yes        | yes    | yes     | -      |
//! | manage_catalogue     | yes   | -         | -          | -      | -       | -      |
//! | manage_users         | yes   | -         | -          | -      | -       | -      |
//! | manage_clients       | yes   | -         | -          | -      | -       | -      |
//! | import_data          | yes   | -         | -          | -      | -       | -      |
//! | read_dossiers        | yes   | yes       | unit       | unit   | yes     | own    |
//! | receive_dossier      | yes   | yes       | -          | -      | -       | yes    |
//! | read_dossier         | yes   | yes       | unit       | unit   | yes     | own    |
//! | start                | yes   | yes       | unit       | unit   | -       | -      |
//! | forward              | yes   | unit      | unit       | unit   | -       | -      |
//! | request_supplement   | yes   | yes       | unit       | unit   | -       | -      |
//! | supplement_received  | yes   | yes       | -          | -      | -       | -      |
//! | resolve              | yes   | -         | -          | unit   | -       | -      |
//! | return               | yes   | yes       | -          | -      | -       | -      |
//! | withdraw             | yes   | yes       | -          | -      | -       | -      |
//! | apologize            | yes   | -         | unit       | unit   | -       | -      |
//! | accept               | yes   | yes       | -          | -      | -       | -      |
//! | decline              | yes   | yes       | -          | -      | -       | -      |
//! | request_payment      | yes   | yes       | unit       | unit   | -       | -      |
//! | payment_received     | yes   | yes       | -          | -      | -       | own    |
//! | stop                 | yes   | -         | -          | unit   | -       | -      |
//! | add_document         | yes   | yes       | unit       | unit   | -       | own    |
//! | add_result_document  | yes   | yes       | unit       | unit   | -       | -      |
//! | read_statistics      | yes   | -         | -          | yes    | yes     | -      |
//! | read_audit_log       | yes   | -         | -          | -      | yes     | -      |
//! | manage_webhooks      | yes   | -         | -          | -      | -       | own    |
//! | read_worklist        | yes   | unit      | unit       | unit   | -       | -      |
//! | export_national      | yes   | -         | -          | -      | yes     | yes    |
//!
//! - `yes`: always allowed.
//! - `unit`: only for a dossier whose current step belongs to the principal's unit
//!   (`scope.current_unit_code == principal.unit_code`); a principal without a unit gets no dossier
//!   at all, and a dossier whose current step has no unit is out of every unit's reach.
//!   On `read_dossiers` the list is filtered to [`DossierListScope::CurrentUnit`].
//! - `own`: only for a machine client, and only for the dossiers it submitted
//!   (`scope.created_by_client == Some(principal.subject)`); lists are filtered to
//!   [`DossierListScope::CreatedByClient`], webhooks to [`WebhookListScope::OwnedBy`].
//! - `-`: never.
//!
//! Reception (bộ phận một cửa) acts on any dossier because the counter works on behalf of every unit,
//! but hands one on (`forward`) only from a step of its own unit: the counter's first step, to the
//! competent unit. Specialists (chuyên viên) and leaders (lãnh đạo) work only on what currently sits
//! in their unit, and only a leader signs off (`resolve`). The auditor reads everything and changes
//! nothing. `read_worklist` is a desk's queue, cut by [`worklist_filter`] like a list. The
//! `portal` role belongs to the e-portal's machine client (principal kind `client`); a user account
//! given that role is refused everything.
//!
//! The unit tests check this table, the code's table and a literal expectation against each other.
//!
//! # Agencies
//!
//! Every rule above applies only inside the principal's [`AgencyScope`]: the agency of their unit
//! and the agencies below it (the whole deployment for an account without a unit). A dossier is in
//! scope when one of the agencies it is shared with is (its owner, an agency a step was handed to,
//! the agency whose counter received it); outside, it does not exist for the principal (404, see
//! [`can_see`]). Lists are cut to the scope in SQL from [`Principal::scope`]; administrative
//! changes are confined to it by [`administers`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::domain::{agency::AgencyScope, dossier::HistoryAction};

/// What a principal is allowed to be. Stored in user and client rows and carried in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Administrator: everything.
    Admin,
    /// Bộ phận một cửa (one-stop reception counter): receives, returns and withdraws dossiers.
    Reception,
    /// Chuyên viên (specialist) of a unit: processes dossiers currently in that unit.
    Specialist,
    /// Lãnh đạo (leader) of a unit: as a specialist, and resolves (signs off) dossiers.
    Leader,
    /// Thanh tra / kiểm tra (auditor): reads everything, changes nothing.
    Auditor,
    /// The e-portal's machine client (Cổng dịch vụ công): submits dossiers and reads its own.
    Portal,
}

impl Role {
    /// Every role, in the column order of the rules table.
    pub const fn all() -> [Role; 6] {
        [
            Role::Admin,
            Role::Reception,
            Role::Specialist,
            Role::Leader,
            Role::Auditor,
            Role::Portal,
        ]
    }

    /// The wire name (`snake_case`), as in JSON and tokens.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reception => "reception",
            Role::Specialist => "specialist",
            Role::Leader => "leader",
            Role::Auditor => "auditor",
            Role::Portal => "portal",
        }
    }

    /// Whether the role's dossier rights are limited to its unit, so an account with it needs a
    /// `unit_code` to be useful (user management can warn or refuse without one).
    pub const fn is_unit_bound(self) -> bool {
        matches!(self, Role::Specialist | Role::Leader)
    }

    /// Column of this role in [`grants`].
    const fn column(self) -> usize {
        match self {
            Role::Admin => 0,
            Role::Reception => 1,
            Role::Specialist => 2,
            Role::Leader => 3,
            Role::Auditor => 4,
            Role::Portal => 5,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::all`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role `{0}`: expected one of admin, reception, specialist, leader, auditor, portal"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    /// Accepts the wire name exactly (lowercase), as serde does.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::all()
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// Whether a principal is a person with a local (or identity-provider) account or a machine client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    User,
    Client,
}

impl PrincipalKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Client => "client",
        }
    }
}

impl fmt::Display for PrincipalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is asking: built from a validated token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Username for a user, client id for a machine client.
    pub subject: String,
    pub role: Role,
    /// The unit (đơn vị) the principal works in; required for specialists and leaders.
    pub unit_code: Option<String>,
    pub kind: PrincipalKind,
    /// The agencies the principal works for. A token alone gives [`AgencyScope::Nothing`]: the scope
    /// is resolved from the database with the account check, before any handler work.
    pub scope: AgencyScope,
}

/// Something a principal may try to do. Endpoints map onto these (see the API docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read units, procedures, the calendar, office hours and deadline previews.
    ReadCatalogue,
    /// Create or change units, procedures, calendar days and office hours.
    ManageCatalogue,
    ManageUsers,
    ManageClients,
    /// List dossiers (`GET /dossiers`); the rows are restricted by [`list_filter`].
    ReadDossiers,
    /// Receive (tiếp nhận) a new dossier.
    ReceiveDossier,
    /// Read one dossier, its history and its deadline explanation.
    ReadDossier,
    /// A command on a received dossier (`POST /dossiers/{code}/actions`), named by the control-slip
    /// entry it writes. `Receive` is decided as [`Action::ReceiveDossier`].
    DossierAction(HistoryAction),
    ReadStatistics,
    ReadAuditLog,
    /// Webhook subscriptions and deliveries; a portal client sees only its own ([`webhook_filter`]).
    ManageWebhooks,
    ImportData,
    /// The desk's queue (`GET /worklist`); the rows are restricted by [`worklist_filter`].
    ReadWorklist,
    /// The national portal's sync records (DongBoHoSoMC) and the push sync's state.
    ExportNational,
    /// Add a submitted or supplement paper to a dossier (số hóa); which kind fits which status is
    /// the domain's rule (`DocumentKind::statuses`).
    AddDocument,
    /// Add a file of the dossier's result.
    AddResultDocument,
}

impl Action {
    /// Every action, in the row order of the rules table.
    pub fn all() -> Vec<Action> {
        let mut all = vec![
            Action::ReadCatalogue,
            Action::ManageCatalogue,
            Action::ManageUsers,
            Action::ManageClients,
            Action::ImportData,
            Action::ReadDossiers,
            Action::ReceiveDossier,
            Action::ReadDossier,
        ];
        all.extend(
            HistoryAction::ALL
                .into_iter()
                .filter(|action| !matches!(action, HistoryAction::Receive | HistoryAction::Submit))
                .map(Action::DossierAction),
        );
        all.extend([Action::AddDocument, Action::AddResultDocument]);
        all.extend([
            Action::ReadStatistics,
            Action::ReadAuditLog,
            Action::ManageWebhooks,
            Action::ReadWorklist,
            Action::ExportNational,
        ]);
        all
    }

    /// The name used in the rules table and in logs.
    pub const fn name(self) -> &'static str {
        match self {
            Action::ReadCatalogue => "read_catalogue",
            Action::ManageCatalogue => "manage_catalogue",
            Action::ManageUsers => "manage_users",
            Action::ManageClients => "manage_clients",
            Action::ReadDossiers => "read_dossiers",
            Action::ReceiveDossier => "receive_dossier",
            Action::ReadDossier => "read_dossier",
            Action::DossierAction(kind) => kind.as_str(),
            Action::ReadStatistics => "read_statistics",
            Action::ReadAuditLog => "read_audit_log",
            Action::ManageWebhooks => "manage_webhooks",
            Action::ImportData => "import_data",
            Action::ReadWorklist => "read_worklist",
            Action::ExportNational => "export_national",
            Action::AddDocument => "add_document",
            Action::AddResultDocument => "add_result_document",
        }
    }

    /// A phrase for denial messages: "may not {description}".
    fn description(self) -> &'static str {
        match self {
            Action::ReadCatalogue => "read the catalogue",
            Action::ManageCatalogue => "change the catalogue",
            Action::ManageUsers => "manage user accounts",
            Action::ManageClients => "manage machine clients",
            Action::ReadDossiers => "list dossiers",
            Action::ReceiveDossier => "receive dossiers",
            Action::ReadDossier => "read this dossier",
            Action::DossierAction(HistoryAction::Receive) => "receive dossiers",
            Action::DossierAction(HistoryAction::Start) => "start processing dossiers",
            Action::DossierAction(HistoryAction::Forward) => "forward dossiers",
            Action::DossierAction(HistoryAction::RequestSupplement) => {
                "request supplements for dossiers"
            }
            Action::DossierAction(HistoryAction::SupplementReceived) => {
                "record received supplements"
            }
            Action::DossierAction(HistoryAction::Resolve) => "resolve dossiers",
            Action::DossierAction(HistoryAction::Return) => "return dossier results",
            Action::DossierAction(HistoryAction::Withdraw) => "withdraw dossiers",
            Action::DossierAction(HistoryAction::Apologize) => "issue apology letters",
            Action::DossierAction(HistoryAction::Submit) => "submit dossiers",
            Action::DossierAction(HistoryAction::Accept) => "accept submitted dossiers",
            Action::DossierAction(HistoryAction::Decline) => "decline submitted dossiers",
            Action::DossierAction(HistoryAction::RequestPayment) => "request payments",
            Action::DossierAction(HistoryAction::PaymentReceived) => "record payments",
            Action::DossierAction(HistoryAction::Stop) => "stop processing dossiers",
            Action::ReadStatistics => "read statistics",
            Action::ReadAuditLog => "read the audit log",
            Action::ManageWebhooks => "manage webhooks",
            Action::ImportData => "import data",
            Action::ReadWorklist => "keep a worklist",
            Action::ExportNational => "read the national portal's sync",
            Action::AddDocument => "add documents to dossiers",
            Action::AddResultDocument => "add result documents to dossiers",
        }
    }

    /// Whether the decision depends on the one dossier being touched, so [`authorize`] needs a
    /// [`DossierScope`].
    pub const fn needs_dossier_scope(self) -> bool {
        matches!(
            self,
            Action::ReadDossier
                | Action::DossierAction(_)
                | Action::AddDocument
                | Action::AddResultDocument
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The facts about the dossier being touched that the rules look at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DossierScope {
    /// Unit responsible for the dossier's current step; `None` when no unit holds it.
    pub current_unit_code: Option<String>,
    /// Client id of the machine client that submitted the dossier; `None` for counter dossiers.
    pub created_by_client: Option<String>,
    /// The agencies the dossier is shared with (owner first).
    pub agencies: Vec<String>,
}

/// The restriction the dossier list applies in SQL, derived from the same table as [`authorize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DossierListScope {
    All,
    /// Only dossiers whose current step belongs to this unit.
    CurrentUnit(String),
    /// Only dossiers submitted by this client id.
    CreatedByClient(String),
    /// No rows at all (answer an empty list, or 403 if [`authorize`] refused the listing).
    Nothing,
}

/// The restriction on webhook subscriptions (and their deliveries) a principal may see and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookListScope {
    All,
    /// Only subscriptions owned by this client id.
    OwnedBy(String),
    Nothing,
}

/// A refusal. `reason` is safe to show as the `detail` of a 403 problem and to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Denied {
    pub reason: String,
}

impl Denied {
    pub fn new(reason: impl Into<String>) -> Self {
        Denied {
            reason: reason.into(),
        }
    }
}

/// One cell of the rules table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    /// `yes`
    Always,
    /// `unit`: the dossier's current step is in the principal's unit.
    OwnUnit,
    /// `own`: a machine client's own dossiers or webhooks.
    OwnClient,
    /// `-`
    Never,
}

/// The rules table, one row per action with one cell per role in [`Role::all`] order.
/// Keep it identical to the table in the module documentation (a test compares them).
const fn grants(action: Action) -> [Grant; 6] {
    use Grant::{Always as Y, Never as N, OwnClient as C, OwnUnit as U};
    use HistoryAction as K;
    match action {
        // Columns: admin, reception, specialist, leader, auditor, portal.
        Action::ReadCatalogue => [Y, Y, Y, Y, Y, N],
        Action::ManageCatalogue => [Y, N, N, N, N, N],
        Action::ManageUsers => [Y, N, N, N, N, N],
        Action::ManageClients => [Y, N, N, N, N, N],
        Action::ImportData => [Y, N, N, N, N, N],
        Action::ReadDossiers => [Y, Y, U, U, Y, C],
        Action::ReceiveDossier => [Y, Y, N, N, N, Y],
        Action::ReadDossier => [Y, Y, U, U, Y, C],
        Action::DossierAction(K::Receive) => grants(Action::ReceiveDossier),
        Action::DossierAction(K::Start) => [Y, Y, U, U, N, N],
        Action::DossierAction(K::Forward) => [Y, U, U, U, N, N],
        Action::DossierAction(K::RequestSupplement) => [Y, Y, U, U, N, N],
        Action::DossierAction(K::SupplementReceived) => [Y, Y, N, N, N, N],
        Action::DossierAction(K::Resolve) => [Y, N, N, U, N, N],
        Action::DossierAction(K::Return) => [Y, Y, N, N, N, N],
        Action::DossierAction(K::Withdraw) => [Y, Y, N, N, N, N],
        Action::DossierAction(K::Apologize) => [Y, N, U, U, N, N],
        Action::DossierAction(K::Submit) => grants(Action::ReceiveDossier),
        Action::DossierAction(K::Accept) => [Y, Y, N, N, N, N],
        Action::DossierAction(K::Decline) => [Y, Y, N, N, N, N],
        Action::DossierAction(K::RequestPayment) => [Y, Y, U, U, N, N],
        // The e-portal collects online payments and reports its own dossiers' ones.
        Action::DossierAction(K::PaymentReceived) => [Y, Y, N, N, N, C],
        Action::DossierAction(K::Stop) => [Y, N, N, U, N, N],
        // The e-portal sends the papers of its own dossiers (at submission, for a supplement).
        Action::AddDocument => [Y, Y, U, U, N, C],
        Action::AddResultDocument => [Y, Y, U, U, N, N],
        Action::ReadStatistics => [Y, N, N, Y, Y, N],
        Action::ReadAuditLog => [Y, N, N, N, Y, N],
        Action::ManageWebhooks => [Y, N, N, N, N, C],
        Action::ReadWorklist => [Y, U, U, U, N, N],
        // The e-portal relays every dossier of its agencies to the national portal.
        Action::ExportNational => [Y, N, N, N, Y, Y],
    }
}

fn grant(role: Role, action: Action) -> Grant {
    grants(action)[role.column()]
}

/// Decides whether `principal` may perform `action`.
///
/// `scope` describes the dossier for [`Action::ReadDossier`] and [`Action::DossierAction`]; a missing
/// scope there is refused (fail closed) unless the role may act on every dossier. For other actions
/// the scope is ignored: lists are restricted with [`list_filter`] and webhooks with
/// [`webhook_filter`].
pub fn authorize(
    principal: &Principal,
    action: &Action,
    scope: Option<&DossierScope>,
) -> Result<(), Denied> {
    let action = *action;
    let role = principal.role;
    if role == Role::Portal && principal.kind != PrincipalKind::Client {
        return Err(Denied::new(
            "the portal role is reserved for machine clients; this user account may do nothing",
        ));
    }
    let not_allowed = || Denied::new(format!("role `{role}` may not {}", action.description()));
    if action.needs_dossier_scope() && scope.is_some_and(|s| !can_see(principal, s)) {
        return Err(Denied::new(
            "the dossier belongs to none of the agencies this account works for",
        ));
    }
    match grant(role, action) {
        Grant::Always => Ok(()),
        Grant::Never => Err(not_allowed()),
        Grant::OwnUnit => {
            let Some(unit) = principal.unit_code.as_deref() else {
                return Err(Denied::new(format!(
                    "role `{role}` works only on dossiers of its unit, and this account has no unit; \
                     ask an administrator to assign one"
                )));
            };
            if !action.needs_dossier_scope() {
                return Ok(());
            }
            match scope.map(|s| s.current_unit_code.as_deref()) {
                Some(Some(current)) if current == unit => Ok(()),
                Some(_) => Err(Denied::new(format!(
                    "the dossier's current step is not in unit `{unit}`; role `{role}` may not {}",
                    action.description()
                ))),
                None => Err(missing_scope(action)),
            }
        }
        Grant::OwnClient => {
            if !action.needs_dossier_scope() {
                return Ok(());
            }
            match scope.map(|s| s.created_by_client.as_deref()) {
                Some(Some(creator)) if creator == principal.subject => Ok(()),
                Some(_) => Err(Denied::new(
                    "a portal client may only access the dossiers it submitted",
                )),
                None => Err(missing_scope(action)),
            }
        }
    }
}

/// A programming error in the caller (no dossier described), reported as a refusal so it fails closed.
fn missing_scope(action: Action) -> Denied {
    Denied::new(format!(
        "cannot decide `{action}` without knowing which dossier it concerns"
    ))
}

/// Whether the dossier lies in the principal's agency scope at all. Outside it the dossier is
/// answered as missing (404), so a stranger cannot tell it exists.
pub fn can_see(principal: &Principal, dossier: &DossierScope) -> bool {
    principal.scope.reaches_any(&dossier.agencies)
}

/// Whether the principal may administer what belongs to `agency` (`None`: something of the whole
/// deployment, such as the calendar or an account without a unit). An administrator without a unit
/// administers everything; one with a unit only inside their scope.
pub fn administers(principal: &Principal, agency: Option<&str>) -> bool {
    match agency {
        Some(agency) => principal.scope.contains(agency),
        None => principal.scope.is_everything(),
    }
}

/// The rows of `GET /dossiers` this principal may see, by the `read_dossiers` row of the table.
pub fn list_filter(principal: &Principal) -> DossierListScope {
    rows_for(principal, Action::ReadDossiers)
}

/// The restriction of the desk's queue, by the `read_worklist` row: the dossiers whose current step
/// sits in the principal's unit, or every dossier (in scope) for an administrator.
pub fn worklist_filter(principal: &Principal) -> DossierListScope {
    rows_for(principal, Action::ReadWorklist)
}

fn rows_for(principal: &Principal, action: Action) -> DossierListScope {
    if authorize(principal, &action, None).is_err() {
        return DossierListScope::Nothing;
    }
    match (grant(principal.role, action), &principal.unit_code) {
        (Grant::Always, _) => DossierListScope::All,
        (Grant::OwnUnit, Some(unit)) => DossierListScope::CurrentUnit(unit.clone()),
        (Grant::OwnClient, _) => DossierListScope::CreatedByClient(principal.subject.clone()),
        (Grant::OwnUnit, None) | (Grant::Never, _) => DossierListScope::Nothing,
    }
}

/// The webhook subscriptions this principal may see and change, by the `manage_webhooks` row.
pub fn webhook_filter(principal: &Principal) -> WebhookListScope {
    if authorize(principal, &Action::ManageWebhooks, None).is_err() {
        return WebhookListScope::Nothing;
    }
    match grant(principal.role, Action::ManageWebhooks) {
        Grant::Always => WebhookListScope::All,
        Grant::OwnClient => WebhookListScope::OwnedBy(principal.subject.clone()),
        Grant::OwnUnit | Grant::Never => WebhookListScope::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: &str = "UBND-XA-A";
    const OTHER_UNIT: &str = "UBND-XA-B";
    const OTHER_CLIENT: &str = "cl_someoneelse000";

    /// The expected decisions, written out independently of [`grants`], in the layout of the
    /// documented table (`yes`, `unit`, `own`, `-`), one column per role in [`Role::all`] order.
    const EXPECTED: &[(&str, [&str; 6])] = &[
        ("read_catalogue", ["yes", "yes", "yes", "yes", "yes", "-"]),
        ("manage_catalogue", ["yes", "-", "-", "-", "-", "-"]),
        ("manage_users", ["yes", "-", "-", "-", "-", "-"]),
        ("manage_clients", ["yes", "-", "-", "-", "-", "-"]),
        ("import_data", ["yes", "-", "-", "-", "-", "-"]),
        (
            "read_dossiers",
            ["yes", "yes", "unit", "unit", "yes", "own"],
        ),
        ("receive_dossier", ["yes", "yes", "-", "-", "-", "yes"]),
        ("read_dossier", ["yes", "yes", "unit", "unit", "yes", "own"]),
        ("start", ["yes", "yes", "unit", "unit", "-", "-"]),
        ("forward", ["yes", "unit", "unit", "unit", "-", "-"]),
        (
            "request_supplement",
            ["yes", "yes", "unit", "unit", "-", "-"],
        ),
        ("supplement_received", ["yes", "yes", "-", "-", "-", "-"]),
        ("resolve", ["yes", "-", "-", "unit", "-", "-"]),
        ("return", ["yes", "yes", "-", "-", "-", "-"]),
        ("withdraw", ["yes", "yes", "-", "-", "-", "-"]),
        ("apologize", ["yes", "-", "unit", "unit", "-", "-"]),
        ("accept", ["yes", "yes", "-", "-", "-", "-"]),
        ("decline", ["yes", "yes", "-", "-", "-", "-"]),
        ("request_payment", ["yes", "yes", "unit", "unit", "-", "-"]),
        ("payment_received", ["yes", "yes", "-", "-", "-", "own"]),
        ("stop", ["yes", "-", "-", "unit", "-", "-"]),
        ("add_document", ["yes", "yes", "unit", "unit", "-", "own"]),
        (
            "add_result_document",
            ["yes", "yes", "unit", "unit", "-", "-"],
        ),
        ("read_statistics", ["yes", "-", "-", "yes", "yes", "-"]),
        ("read_audit_log", ["yes", "-", "-", "-", "yes", "-"]),
        ("manage_webhooks", ["yes", "-", "-", "-", "-", "own"]),
        ("read_worklist", ["yes", "unit", "unit", "unit", "-", "-"]),
        ("export_national", ["yes", "-", "-", "-", "yes", "yes"]),
    ];

    /// The dossier situations every cell is tried with.
    #[derive(Debug, Clone, Copy)]
    enum Situation {
        NoScope,
        InUnit,
        OtherUnit,
        OwnSubmission,
        OtherClientSubmission,
    }

    const SITUATIONS: [Situation; 5] = [
        Situation::NoScope,
        Situation::InUnit,
        Situation::OtherUnit,
        Situation::OwnSubmission,
        Situation::OtherClientSubmission,
    ];

    fn principal(role: Role) -> Principal {
        let (subject, kind) = match role {
            Role::Portal => ("cl_portal0000000".to_owned(), PrincipalKind::Client),
            _ => (format!("user-{role}"), PrincipalKind::User),
        };
        Principal {
            subject,
            role,
            unit_code: Some(UNIT.to_owned()),
            kind,
            scope: AgencyScope::below(&agencies(), AGENCY),
        }
    }

    const AGENCY: &str = "000.00.10.H22";
    const SIBLING_AGENCY: &str = "000.00.11.H22";

    fn agencies() -> crate::domain::agency::AgencyTree {
        crate::domain::agency::AgencyTree::new([
            ("H22".to_owned(), None),
            (AGENCY.to_owned(), Some("H22".to_owned())),
            (SIBLING_AGENCY.to_owned(), Some("H22".to_owned())),
        ])
    }

    fn scope_for(situation: Situation, principal: &Principal) -> Option<DossierScope> {
        let scope = |unit: &str, creator: Option<&str>| DossierScope {
            current_unit_code: Some(unit.to_owned()),
            created_by_client: creator.map(str::to_owned),
            agencies: vec![AGENCY.to_owned()],
        };
        match situation {
            Situation::NoScope => None,
            Situation::InUnit => Some(scope(UNIT, None)),
            Situation::OtherUnit => Some(scope(OTHER_UNIT, None)),
            // Submitted by this principal, but sitting in another unit.
            Situation::OwnSubmission => Some(scope(OTHER_UNIT, Some(&principal.subject))),
            Situation::OtherClientSubmission => Some(scope(OTHER_UNIT, Some(OTHER_CLIENT))),
        }
    }

    /// What a cell means in each situation. For actions on one dossier the scope decides; for the
    /// others (lists, webhooks, catalogue…) the scope is irrelevant and a filter does the rest.
    fn expected_decision(cell: &str, action: Action, situation: Situation) -> bool {
        use Situation::*;
        match (cell, action.needs_dossier_scope()) {
            ("yes", _) => true,
            ("-", _) => false,
            ("unit" | "own", false) => true,
            ("unit", true) => matches!(situation, InUnit),
            ("own", true) => matches!(situation, OwnSubmission),
            (other, _) => panic!("unknown cell {other:?} in the expectation table"),
        }
    }

    fn action_named(name: &str) -> Action {
        Action::all()
            .into_iter()
            .find(|a| a.name() == name)
            .unwrap_or_else(|| panic!("no action named {name}"))
    }

    #[test]
    fn every_role_action_and_situation_matches_the_expectation_table() {
        let expected_names: Vec<&str> = EXPECTED.iter().map(|(name, _)| *name).collect();
        let actual_names: Vec<&str> = Action::all().into_iter().map(Action::name).collect();
        assert_eq!(
            expected_names, actual_names,
            "every action has one row, in order"
        );

        let mut checked = 0;
        for (name, cells) in EXPECTED {
            let action = action_named(name);
            for (role, cell) in Role::all().into_iter().zip(cells) {
                let who = principal(role);
                for situation in SITUATIONS {
                    let scope = scope_for(situation, &who);
                    let allowed = authorize(&who, &action, scope.as_ref()).is_ok();
                    assert_eq!(
                        allowed,
                        expected_decision(cell, action, situation),
                        "{role} × {name} in {situation:?} (cell `{cell}`)"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, EXPECTED.len() * 6 * 5);
        assert_eq!(EXPECTED.len(), 28, "the rows of the table");
    }

    #[test]
    fn documented_table_matches_the_expectation_table() {
        let source = include_str!("policy.rs");
        let documented: Vec<(String, Vec<String>)> = source
            .lines()
            .filter_map(|line| line.strip_prefix("//! | "))
            .map(|row| {
                let cells: Vec<String> = row
                    .split('|')
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty())
                    .collect();
                (cells[0].clone(), cells[1..].to_vec())
            })
            .filter(|(first, _)| first != "action" && !first.starts_with('-'))
            .collect();
        let expected: Vec<(String, Vec<String>)> = EXPECTED
            .iter()
            .map(|(name, cells)| {
                (
                    (*name).to_owned(),
                    cells.iter().map(|c| (*c).to_owned()).collect(),
                )
            })
            .collect();
        assert_eq!(documented, expected);
    }

    #[test]
    fn documented_table_header_lists_roles_in_order() {
        let header = include_str!("policy.rs")
            .lines()
            .find(|line| line.starts_with("//! | action"))
            .expect("the rules table has a header");
        let roles: Vec<&str> = header
            .split('|')
            .map(str::trim)
            .skip(2)
            .filter(|c| !c.is_empty())
            .collect();
        let expected: Vec<&str> = Role::all().into_iter().map(Role::as_str).collect();
        assert_eq!(roles, expected);
    }

    #[test]
    fn unit_bound_roles_without_a_unit_get_no_dossiers() {
        for role in [Role::Specialist, Role::Leader] {
            let who = Principal {
                unit_code: None,
                ..principal(role)
            };
            let in_some_unit = DossierScope {
                current_unit_code: Some(UNIT.to_owned()),
                created_by_client: None,
                agencies: vec![AGENCY.to_owned()],
            };
            let no_unit = DossierScope {
                agencies: vec![AGENCY.to_owned()],
                ..DossierScope::default()
            };
            for action in Action::all() {
                if grant(role, action) != Grant::OwnUnit {
                    continue;
                }
                let denied = authorize(&who, &action, Some(&in_some_unit)).expect_err("denied");
                assert!(denied.reason.contains("no unit"), "{}", denied.reason);
                assert!(authorize(&who, &action, Some(&no_unit)).is_err());
                assert!(authorize(&who, &action, None).is_err());
            }
            assert_eq!(list_filter(&who), DossierListScope::Nothing);
            // Rights that do not depend on a unit remain.
            assert!(authorize(&who, &Action::ReadCatalogue, None).is_ok());
        }
    }

    #[test]
    fn a_sibling_agencys_dossier_is_out_of_reach_of_every_role() {
        for role in Role::all() {
            let who = principal(role);
            for situation in SITUATIONS {
                let Some(mut dossier) = scope_for(situation, &who) else {
                    continue;
                };
                dossier.agencies = vec![SIBLING_AGENCY.to_owned()];
                assert!(!can_see(&who, &dossier));
                for action in Action::all()
                    .into_iter()
                    .filter(|a| a.needs_dossier_scope())
                {
                    assert!(
                        authorize(&who, &action, Some(&dossier)).is_err(),
                        "{role} {action}"
                    );
                }
                // Handed over to this principal's agency (liên thông): in reach again.
                dossier.agencies.push(AGENCY.to_owned());
                assert!(can_see(&who, &dossier));
            }
        }
        let province = Principal {
            scope: AgencyScope::below(&agencies(), "H22"),
            ..principal(Role::Auditor)
        };
        let sibling_dossier = DossierScope {
            agencies: vec![SIBLING_AGENCY.to_owned()],
            ..DossierScope::default()
        };
        assert!(can_see(&province, &sibling_dossier));
        assert!(authorize(&province, &Action::ReadDossier, Some(&sibling_dossier)).is_ok());
    }

    #[test]
    fn administrators_administer_inside_their_scope_and_the_deployment_only_without_a_unit() {
        let scoped = principal(Role::Admin);
        assert!(administers(&scoped, Some(AGENCY)));
        assert!(!administers(&scoped, Some(SIBLING_AGENCY)));
        assert!(!administers(&scoped, None));
        let everywhere = Principal {
            scope: AgencyScope::Everything,
            unit_code: None,
            ..scoped
        };
        assert!(administers(&everywhere, Some(SIBLING_AGENCY)));
        assert!(administers(&everywhere, None));
    }

    #[test]
    fn dossier_held_by_no_unit_is_out_of_reach_of_unit_roles() {
        let held_by_nobody = DossierScope {
            agencies: vec![AGENCY.to_owned()],
            ..DossierScope::default()
        };
        for role in [Role::Specialist, Role::Leader] {
            assert!(
                authorize(
                    &principal(role),
                    &Action::ReadDossier,
                    Some(&held_by_nobody)
                )
                .is_err()
            );
        }
        assert!(
            authorize(
                &principal(Role::Reception),
                &Action::ReadDossier,
                Some(&held_by_nobody)
            )
            .is_ok()
        );
    }

    #[test]
    fn portal_role_on_a_user_account_gets_nothing() {
        let user = Principal {
            kind: PrincipalKind::User,
            ..principal(Role::Portal)
        };
        let own = scope_for(Situation::OwnSubmission, &user);
        for action in Action::all() {
            assert!(authorize(&user, &action, own.as_ref()).is_err(), "{action}");
        }
        assert_eq!(list_filter(&user), DossierListScope::Nothing);
        assert_eq!(webhook_filter(&user), WebhookListScope::Nothing);
    }

    #[test]
    fn list_filter_follows_the_read_dossiers_row() {
        let expected = |role: Role| match role {
            Role::Admin | Role::Reception | Role::Auditor => DossierListScope::All,
            Role::Specialist | Role::Leader => DossierListScope::CurrentUnit(UNIT.to_owned()),
            Role::Portal => DossierListScope::CreatedByClient("cl_portal0000000".to_owned()),
        };
        for role in Role::all() {
            assert_eq!(list_filter(&principal(role)), expected(role), "{role}");
        }
    }

    #[test]
    fn webhook_filter_follows_the_manage_webhooks_row() {
        for role in Role::all() {
            let expected = match role {
                Role::Admin => WebhookListScope::All,
                Role::Portal => WebhookListScope::OwnedBy("cl_portal0000000".to_owned()),
                _ => WebhookListScope::Nothing,
            };
            assert_eq!(webhook_filter(&principal(role)), expected, "{role}");
        }
    }

    #[test]
    fn denial_reasons_name_the_role_and_the_action() {
        let denied = authorize(
            &principal(Role::Auditor),
            &Action::DossierAction(HistoryAction::Resolve),
            None,
        )
        .expect_err("auditors change nothing");
        assert_eq!(
            denied.to_string(),
            "role `auditor` may not resolve dossiers"
        );

        let other_unit = scope_for(Situation::OtherUnit, &principal(Role::Specialist));
        let denied = authorize(
            &principal(Role::Specialist),
            &Action::DossierAction(HistoryAction::Forward),
            other_unit.as_ref(),
        )
        .expect_err("other unit");
        assert!(denied.reason.contains(UNIT), "{}", denied.reason);
        assert!(
            !denied.reason.contains(OTHER_UNIT),
            "does not leak: {}",
            denied.reason
        );
    }

    #[test]
    fn roles_parse_display_and_serialize_as_snake_case() {
        for role in Role::all() {
            assert_eq!(role.to_string().parse::<Role>(), Ok(role));
            let json = serde_json::to_string(&role).expect("serializes");
            assert_eq!(json, format!("\"{role}\""));
            assert_eq!(
                serde_json::from_str::<Role>(&json).expect("deserializes"),
                role
            );
        }
        assert_eq!(
            "Admin".parse::<Role>(),
            Err(UnknownRole("Admin".to_owned()))
        );
        assert!("superuser".parse::<Role>().is_err());
        assert!(Role::Specialist.is_unit_bound() && !Role::Reception.is_unit_bound());
    }

    #[test]
    fn dossier_actions_are_named_as_on_the_wire_and_receipt_is_decided_as_receiving() {
        for action in HistoryAction::ALL {
            assert_eq!(Action::DossierAction(action).name(), action.as_str());
        }
        for role in Role::all() {
            assert_eq!(
                grant(role, Action::DossierAction(HistoryAction::Receive)),
                grant(role, Action::ReceiveDossier),
                "{role}"
            );
        }
        assert!(!Action::all().contains(&Action::DossierAction(HistoryAction::Receive)));
        assert!(!Action::all().contains(&Action::DossierAction(HistoryAction::Submit)));
        assert_eq!(
            serde_json::to_string(&PrincipalKind::Client).expect("serializes"),
            "\"client\""
        );
    }
}
