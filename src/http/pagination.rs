//! Cursor pagination: `?limit=` (default 50, at most 200) and an opaque `?cursor=`.

use actix_web::web;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{auth::Caller, error::ApiError, state::AppState};
use crate::{auth::policy::Principal, domain::Instant, service::ServiceError, store::DbConnection};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$", max_length = 200)]
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The page part of a list's own query parameters.
    pub fn new(limit: Option<u32>, cursor: Option<String>) -> Self {
        Self { limit, cursor }
    }

    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit.unwrap_or(DEFAULT_LIMIT) {
            n @ 1..=MAX_LIMIT => Ok(i64::from(n)),
            _ => Err(ApiError::validation(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            )),
        }
    }

    /// The decoded cursor text, if any.
    pub fn cursor_text(&self) -> Result<Option<String>, ApiError> {
        self.cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|c| {
                URL_SAFE_NO_PAD
                    .decode(c)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| {
                        ApiError::BadRequest(
                            "invalid cursor; use the next_cursor of a previous page".to_owned(),
                        )
                    })
            })
            .transpose()
    }

    /// A cursor that is a plain id.
    pub fn after_id(&self) -> Result<i64, ApiError> {
        match self.cursor_text()? {
            None => Ok(0),
            Some(text) => text
                .strip_prefix("id:")
                .and_then(|id| id.parse().ok())
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        "invalid cursor; use the next_cursor of a previous page".to_owned(),
                    )
                }),
        }
    }
}

impl PageQuery {
    /// A cursor made by [`instant_cursor`] with this `prefix`: the instant and id to start after.
    pub fn after_instant(&self, prefix: &str) -> Result<Option<(Instant, i64)>, ApiError> {
        let Some(text) = self.cursor_text()? else {
            return Ok(None);
        };
        let parsed = text
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix(':'))
            .and_then(|rest| rest.split_once(':'))
            .and_then(|(micros, id)| {
                let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
                Some((Instant::from(at), id.parse().ok()?))
            });
        parsed.map(Some).ok_or_else(|| {
            ApiError::BadRequest(
                "invalid cursor; use the next_cursor of a previous page".to_owned(),
            )
        })
    }
}

/// The cursor of a list ordered by an instant, then by id.
pub fn instant_cursor(prefix: &str, at: Instant, id: i64) -> String {
    encode_cursor(&format!("{prefix}:{}:{id}", at.utc().timestamp_micros()))
}

pub fn encode_cursor(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text.as_bytes())
}

pub fn id_cursor(id: i64) -> String {
    encode_cursor(&format!("id:{id}"))
}

/// A page of results.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says that more exist.
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        limit: i64,
        cursor_of: impl Fn(&R) -> String,
        map: impl Fn(R) -> T,
    ) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        let next_cursor = if more {
            rows.last().map(&cursor_of)
        } else {
            None
        };
        Self {
            items: rows.into_iter().map(map).collect(),
            next_cursor,
        }
    }
}

/// The caller's page of rows listed by id: `list` gets the id to start after and how many rows to
/// read (one more than the page, which says whether another page follows).
pub async fn by_id<R, T, F>(
    state: &AppState,
    caller: Caller,
    page: &PageQuery,
    list: F,
    id_of: impl Fn(&R) -> i64,
    map: impl Fn(R) -> T,
) -> Result<web::Json<Page<T>>, ApiError>
where
    R: Send + 'static,
    F: FnOnce(&mut DbConnection, &Principal, i64, i64) -> Result<Vec<R>, ServiceError>
        + Send
        + 'static,
{
    let limit = page.limit()?;
    let after = page.after_id()?;
    let rows = state
        .db_as(caller, move |conn, caller| {
            list(conn, &caller.principal, after, limit + 1)
        })
        .await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| id_cursor(id_of(r)),
        map,
    )))
}
