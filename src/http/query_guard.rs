//! Refuses control characters in the query string and the path before any handler sees them, so
//! no search term or code reaches the database or the logs with one (see `domain::text`). A query
//! parameter at fault is named in a 422; a path at fault is named `path`.

use actix_web::{
    Error,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web,
};

use super::error::{ApiError, FieldError};
use crate::domain::text::{first_forbidden, forbidden_message};

/// The offending parameters of a raw query string (percent-decoded, `+` as a space), by name.
pub fn query_faults(query: &str) -> Vec<FieldError> {
    let Ok(pairs) = web::Query::<Vec<(String, String)>>::from_query(query) else {
        // Unreadable query strings are the handlers' extractors' to report.
        return Vec::new();
    };
    let mut faults = Vec::new();
    for (name, value) in pairs.into_inner() {
        if let Some(c) = first_forbidden(&name) {
            faults.push(FieldError::new(
                name.escape_debug().to_string(),
                forbidden_message(c),
            ));
        } else if let Some(c) = first_forbidden(&value) {
            faults.push(FieldError::new(name, forbidden_message(c)));
        }
    }
    faults
}

/// The middleware.
pub async fn refuse_control_characters(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, Error> {
    let mut faults = query_faults(req.query_string());
    // Path parameters reach handlers percent-decoded, so the decoded path is what counts.
    let path = percent_encoding::percent_decode_str(req.path()).decode_utf8_lossy();
    if let Some(c) = first_forbidden(&path) {
        faults.insert(0, FieldError::new("path", forbidden_message(c)));
    }
    if faults.is_empty() {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let response = actix_web::ResponseError::error_response(&ApiError::Validation(faults));
    Ok(req.into_response(response).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoded_values_and_names_are_checked() {
        assert!(query_faults("q=Nguy%E1%BB%85n+V%C4%83n&limit=5").is_empty());
        assert!(query_faults("q=a%09b").is_empty(), "tab is text");
        let faults = query_faults("limit=5&q=a%00b");
        assert_eq!(faults.len(), 1);
        assert_eq!(faults[0].field, "q");
        assert_eq!(query_faults("q=%1B%5B31m")[0].field, "q");
        assert_eq!(query_faults("a%0Db=1")[0].field, "a\\rb");
    }
}
