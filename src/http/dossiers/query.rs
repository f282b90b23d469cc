//! The dossier list and its change feed: filters, cursors and pages.

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::dto::{ChannelDto, DossierDto, OpenStateDto, ResultDto, dossier_dto};
use crate::http::extract::ApiQuery;
use crate::{
    domain::{Instant, classification::Outcome, dossier::Status, limits::SEARCH_MAX_CHARS},
    http::wire_schema,
    http::{
        auth::Caller,
        error::ApiError,
        pagination::{Page, PageQuery, encode_cursor},
        state::AppState,
        time::deserialize_opt_instant,
    },
    service::dossiers as service,
    store::{
        dossiers::{DossierFilter, ListCursor, StatsFilter},
        feed::ChangePosition,
    },
};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(schema_with = wire_schema::status)]
    pub status: Option<Status>,
    pub procedure_code: Option<String>,
    /// The procedure's lead unit.
    pub unit_code: Option<String>,
    /// The unit holding the dossier's current step.
    pub current_unit_code: Option<String>,
    #[param(inline)]
    pub channel: Option<ChannelDto>,
    #[param(schema_with = wire_schema::outcome)]
    pub outcome: Option<Outcome>,
    /// `true`: open (received or processing) and past due now. Dossiers awaiting a supplement are
    /// not counted as overdue.
    pub overdue: Option<bool>,
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub received_from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub received_to: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub resolved_from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub resolved_to: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub due_before: Option<DateTime<Utc>>,
    /// Starts the change feed at changes made at or after this instant; the list is then in change
    /// order, and its cursors (`next_cursor`, `sync_cursor`) carry the position from there on.
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub updated_since: Option<DateTime<Utc>>,
    pub external_ref: Option<String>,
    /// Matches the code, the applicant's name or the external reference.
    pub q: Option<String>,
    /// The procedure's field (lĩnh vực), as copied to the dossier at receipt.
    pub field: Option<String>,
    /// `approved` or `refused` (resolved dossiers).
    #[param(inline)]
    pub result: Option<ResultDto>,
    /// Withdrawn at or after this instant.
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub withdrawn_from: Option<DateTime<Utc>>,
    /// Withdrawn at or before this instant.
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub withdrawn_to: Option<DateTime<Utc>>,
    /// Declined at the intake check at or after this instant.
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub declined_from: Option<DateTime<Utc>>,
    /// Declined at the intake check at or before this instant.
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub declined_to: Option<DateTime<Utc>>,
    /// Processing stopped at or after this instant.
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub stopped_from: Option<DateTime<Utc>>,
    /// Processing stopped at or before this instant.
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub stopped_to: Option<DateTime<Utc>>,
    /// The dossier's first online payment was made at or after this instant.
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub paid_online_from: Option<DateTime<Utc>>,
    /// The dossier's first online payment was made at or before this instant.
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub paid_online_to: Option<DateTime<Utc>>,
    /// `true`: digitized (a file for every required component and, once resolved, one of the
    /// result); `false`: not (yet).
    pub digitized: Option<bool>,
    /// Open at this instant: received before it, and neither resolved, withdrawn nor stopped
    /// before it (the statistics' carried-over and open-at-period-end columns).
    #[serde(default, deserialize_with = "deserialize_opt_instant")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub open_at: Option<DateTime<Utc>>,
    /// With `open_at`: `awaiting_supplement` (a request for supplement started before `open_at`
    /// and not ended before it), `awaiting_payment` (the same for a request for payment),
    /// `overdue` (awaiting neither and `due_at` before `open_at`) or `not_yet_due` (awaiting
    /// neither and `due_at` at or after `open_at`).
    #[param(inline)]
    pub open_state: Option<OpenStateDto>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$", max_length = 200)]
    pub cursor: Option<String>,
}

/// The list filters behind the statistics report (see `GET /api/v1/stats/summary`).
fn stats_filter(q: &ListQuery) -> Result<StatsFilter, ApiError> {
    if q.open_state.is_some() && q.open_at.is_none() {
        return Err(ApiError::validation("open_state", "needs open_at"));
    }
    Ok(StatsFilter {
        field: q.field.clone(),
        result: q.result.map(Into::into),
        withdrawn_from: q.withdrawn_from.map(Into::into),
        withdrawn_to: q.withdrawn_to.map(Into::into),
        declined_from: q.declined_from.map(Into::into),
        declined_to: q.declined_to.map(Into::into),
        stopped_from: q.stopped_from.map(Into::into),
        stopped_to: q.stopped_to.map(Into::into),
        paid_online_from: q.paid_online_from.map(Into::into),
        paid_online_to: q.paid_online_to.map(Into::into),
        digitized: q.digitized,
        open_at: q.open_at.map(Into::into),
        open_state: q.open_state.map(Into::into),
    })
}

/// Where a list continues: after an id (the plain list), or after a position of the change feed.
enum Position {
    Start,
    AfterId(i64),
    AfterChange(ChangePosition),
}

fn list_cursor(page: &PageQuery) -> Result<Position, ApiError> {
    let bad = || {
        ApiError::BadRequest("invalid cursor; use the next_cursor of a previous page".to_owned())
    };
    match page.cursor_text()? {
        None => Ok(Position::Start),
        Some(text) => {
            if let Some(id) = text.strip_prefix("id:") {
                return id.parse().map(Position::AfterId).map_err(|_| bad());
            }
            let rest = text.strip_prefix("chg:").ok_or_else(bad)?;
            let (txid, seq) = rest.split_once(':').ok_or_else(bad)?;
            Ok(Position::AfterChange(ChangePosition {
                txid: txid.parse().map_err(|_| bad())?,
                seq: seq.parse().map_err(|_| bad())?,
            }))
        }
    }
}

fn change_cursor(position: ChangePosition) -> String {
    encode_cursor(&format!("chg:{}:{}", position.txid, position.seq))
}

/// A page of dossiers. On the change feed (`updated_since`) it also says where to resume later.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DossierPage {
    pub items: Vec<DossierDto>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// Change feed only: pass as `cursor` (with the same filters) on the next poll to get the
    /// changes made after everything this page and the ones before it showed; never `null` there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_cursor: Option<String>,
}

/// Dossiers, filtered. With `updated_since` (or a cursor from such a list) this is the change feed
/// for pull-based sync: dossiers in the order their latest change became visible, each at its
/// latest state, after a cursor that neither skips nor repeats a change, even when changes commit
/// out of order. Keep `sync_cursor` to poll again; a change shows up once every transaction older
/// than it has ended.
#[utoipa::path(
    get, path = "/api/v1/dossiers", operation_id = "list_dossiers", tag = "dossiers", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = DossierPage))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: ApiQuery<ListQuery>,
) -> Result<web::Json<DossierPage>, ApiError> {
    let q = query.into_inner();
    let page = PageQuery::new(q.limit, q.cursor.clone());
    let limit = page.limit()?;
    let position = list_cursor(&page)?;
    if q.q
        .as_deref()
        .is_some_and(|s| s.chars().count() > SEARCH_MAX_CHARS)
    {
        return Err(ApiError::validation(
            "q",
            format!("at most {SEARCH_MAX_CHARS} characters"),
        ));
    }
    if q.updated_since.is_some() && matches!(position, Position::AfterId(_)) {
        return Err(ApiError::BadRequest(
            "the cursor belongs to a list with other filters".to_owned(),
        ));
    }
    let now = Utc::now();
    let stats = stats_filter(&q)?;
    let instant = |t: Option<DateTime<Utc>>| t.map(Instant::from);
    let mut filter = DossierFilter {
        agencies: None,
        status: q.status,
        procedure_code: q.procedure_code,
        unit_code: q.unit_code,
        current_unit_code: q.current_unit_code,
        channel: q.channel.map(Into::into),
        outcome: q.outcome,
        overdue_at: q.overdue.filter(|o| *o).map(|_| now.into()),
        received_from: instant(q.received_from),
        received_to: instant(q.received_to),
        resolved_from: instant(q.resolved_from),
        resolved_to: instant(q.resolved_to),
        due_before: instant(q.due_before),
        updated_since: instant(q.updated_since),
        external_ref: q.external_ref,
        created_by_client: None,
        q: q.q.filter(|s| !s.trim().is_empty()),
        none: false,
        stats,
    };
    let after = match position {
        Position::Start if q.updated_since.is_none() => ListCursor::Start,
        Position::AfterId(id) => ListCursor::AfterId(id),
        Position::Start => return feed(&state, caller, filter, None, limit, now).await,
        Position::AfterChange(after) => {
            // The cursor carries the position; the instant only chose where the feed began.
            filter.updated_since = None;
            return feed(&state, caller, filter, Some(after), limit, now).await;
        }
    };
    let rows = state
        .db_as(caller, move |conn, caller| {
            service::list(conn, &caller.principal, filter, &after, limit + 1)
        })
        .await?;
    let page = Page::from_rows(
        rows,
        limit,
        |r| encode_cursor(&format!("id:{}", r.id)),
        |r| dossier_dto(r, now),
    );
    Ok(web::Json(DossierPage {
        items: page.items,
        next_cursor: page.next_cursor,
        sync_cursor: None,
    }))
}

/// The change feed's page.
async fn feed(
    state: &AppState,
    caller: Caller,
    filter: DossierFilter,
    after: Option<ChangePosition>,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<web::Json<DossierPage>, ApiError> {
    let changes = state
        .db_as(caller, move |conn, caller| {
            service::changes(conn, &caller.principal, filter, after, limit + 1)
        })
        .await?;
    let page = FeedPage::of(changes.rows, limit, after, changes.horizon);
    Ok(web::Json(DossierPage {
        items: page
            .items
            .into_iter()
            .map(|r| dossier_dto(r, now))
            .collect(),
        next_cursor: page.next_cursor,
        sync_cursor: Some(page.sync_cursor),
    }))
}

/// A page of the change feed (dossiers, or their national records) with its two cursors.
pub struct FeedPage<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    pub sync_cursor: String,
}

impl<T> FeedPage<T> {
    /// Cuts `rows` (fetched with `limit + 1`) to the page and places the cursors.
    pub fn of(
        mut rows: Vec<(T, ChangePosition)>,
        limit: i64,
        after: Option<ChangePosition>,
        horizon: ChangePosition,
    ) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        let last = rows.last().map(|(_, position)| *position);
        let (next_cursor, resume) = if more {
            (last.map(change_cursor), last)
        } else {
            // Everything readable after `after` was on this page: resume after the last item or
            // the horizon, whichever is later (nothing that becomes readable later sorts before it).
            (
                None,
                [after, last, Some(horizon)].into_iter().flatten().max(),
            )
        };
        Self {
            items: rows.into_iter().map(|(item, _)| item).collect(),
            next_cursor,
            sync_cursor: change_cursor(resume.unwrap_or_default()),
        }
    }
}

/// Where a change-feed reader resumes: the start of the feed since `updated_since`, or after the
/// position a `chg:` cursor carries. A plain list's cursor is refused.
pub fn feed_position(page: &PageQuery) -> Result<Option<ChangePosition>, ApiError> {
    match list_cursor(page)? {
        Position::Start => Ok(None),
        Position::AfterChange(after) => Ok(Some(after)),
        Position::AfterId(_) => Err(ApiError::BadRequest(
            "the cursor belongs to a list with other filters".to_owned(),
        )),
    }
}
