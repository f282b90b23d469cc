//! Conditional requests (RFC 9110 §13): entity-tag lists, `If-Match` with strong comparison for
//! writes, and `If-None-Match` answered with 304 for reads that carry an `ETag`.

use actix_web::{
    Error, HttpRequest,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{
        Method, StatusCode,
        header::{self, HeaderMap, HeaderName},
    },
    middleware::Next,
};

use super::error::ApiError;
use crate::service::VersionPrecondition;

/// One entity tag: its opaque part (without the quotes) and whether it is weak (`W/"…"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag {
    pub weak: bool,
    pub opaque: String,
}

impl EntityTag {
    pub fn strong(opaque: impl Into<String>) -> Self {
        Self {
            weak: false,
            opaque: opaque.into(),
        }
    }

    /// The header form, `"…"` or `W/"…"`.
    pub fn header_value(&self) -> String {
        let prefix = if self.weak { "W/" } else { "" };
        format!("{prefix}\"{}\"", self.opaque)
    }

    /// RFC 9110 §8.8.3.2: both strong and the same opaque part.
    fn strong_eq(&self, other: &EntityTag) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }

    /// Weak comparison: the same opaque part, whatever the weakness.
    fn weak_eq(&self, other: &EntityTag) -> bool {
        self.opaque == other.opaque
    }
}

/// The value of `If-Match` or `If-None-Match`: `*` or a list of entity tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagList {
    Any,
    Tags(Vec<EntityTag>),
}

/// Parses `*` or a comma-separated list of `"…"` / `W/"…"`. Bare digits (`3`) are also read as the
/// strong tag `"3"`: dossier clients have always been allowed to send the version that way.
pub fn parse_tag_list(value: &str) -> Option<TagList> {
    let value = value.trim();
    if value == "*" {
        return Some(TagList::Any);
    }
    let mut tags = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        let (weak, after_prefix) = match rest.strip_prefix("W/") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        if let Some(quoted) = after_prefix.strip_prefix('"') {
            let end = quoted.find('"')?;
            let opaque = &quoted[..end];
            // etagc: visible ASCII except the quote (obs-text is not accepted).
            if !opaque
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b))
            {
                return None;
            }
            tags.push(EntityTag {
                weak,
                opaque: opaque.to_owned(),
            });
            rest = &quoted[end + 1..];
        } else if !weak {
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if end == 0 {
                return None;
            }
            tags.push(EntityTag::strong(&rest[..end]));
            rest = &rest[end..];
        } else {
            return None;
        }
        rest = rest.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            return Some(TagList::Tags(tags));
        }
        rest = rest.strip_prefix(',')?;
    }
}

/// Every field line of `name` joined as one list (a list may be split over several lines).
fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<Result<String, ()>> {
    let mut values = headers.get_all(name).peekable();
    values.peek()?;
    let parts: Result<Vec<&str>, _> = values.map(|v| v.to_str()).collect();
    Some(parts.map(|p| p.join(", ")).map_err(|_| ()))
}

/// A request's `If-Match`, read for a write.
#[derive(Debug, Clone)]
pub struct IfMatch(TagList);

impl IfMatch {
    /// `None` when the header is absent; 400 when it is not `*` or a list of entity tags.
    /// `example` is a valid value for this resource, shown in the message.
    pub fn read(req: &HttpRequest, example: &str) -> Result<Option<Self>, ApiError> {
        let Some(value) = joined(req.headers(), &header::IF_MATCH) else {
            return Ok(None);
        };
        let malformed = |shown: &str| {
            ApiError::BadRequest(format!(
                "If-Match `{shown}` is not an entity tag; send the ETag as received \
                 (e.g. {example}), a comma-separated list of them, or *"
            ))
        };
        let value = value.map_err(|_| malformed("…"))?;
        parse_tag_list(&value)
            .map(|tags| Some(Self(tags)))
            .ok_or_else(|| malformed(value.trim()))
    }

    /// RFC 9110 §13.1.1: `*` admits any current representation; otherwise one entry must be
    /// strongly equal to `current` (so a weak tag never admits anything).
    pub fn admits(&self, current: &EntityTag) -> bool {
        match &self.0 {
            TagList::Any => true,
            TagList::Tags(tags) => tags.iter().any(|t| t.strong_eq(current)),
        }
    }

    /// For resources whose ETag is `"{version}"`: the versions it admits. Weak entries are
    /// dropped (they never match); a strong tag that is not a version is malformed.
    pub fn versions(&self, example: &str) -> Result<VersionPrecondition, ApiError> {
        let TagList::Tags(tags) = &self.0 else {
            return Ok(VersionPrecondition::Any);
        };
        let mut versions = Vec::new();
        for tag in tags {
            // 1–9 digits, as the documented pattern says (no sign, always an i32).
            let digits = !tag.opaque.is_empty()
                && tag.opaque.len() <= 9
                && tag.opaque.bytes().all(|b| b.is_ascii_digit());
            let version = digits.then(|| tag.opaque.parse::<i32>().ok()).flatten().ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "If-Match `{}` is not a version; send the ETag as received (e.g. {example}), \
                     a comma-separated list of them, or *",
                    tag.header_value()
                ))
            })?;
            if !tag.weak {
                versions.push(version);
            }
        }
        Ok(VersionPrecondition::OneOf(versions))
    }

    fn has_weak(&self) -> bool {
        matches!(&self.0, TagList::Tags(tags) if tags.iter().any(|t| t.weak))
    }

    /// Says why a 412 happened when the header held weak tags, which cannot match for a write.
    pub fn explain(&self, error: ApiError) -> ApiError {
        match error {
            ApiError::PreconditionFailed(detail) if self.has_weak() => {
                ApiError::PreconditionFailed(format!(
                    "weak entity tags (W/\"…\") cannot be used with If-Match, which compares \
                     strongly; send the ETag as received. {detail}"
                ))
            }
            other => other,
        }
    }
}

/// Answers `304 Not Modified` to a GET or HEAD whose `If-None-Match` names the current
/// representation (weak comparison, `*`, lists), keeping the headers a cache needs. Only
/// successful responses with an `ETag` are concerned, so every read that sends an `ETag` gets
/// this without code of its own. A malformed `If-None-Match` is refused (400), as the contract's
/// pattern for it says, rather than silently ignored.
pub async fn not_modified(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let is_read = req.method() == Method::GET || req.method() == Method::HEAD;
    let value = if is_read {
        joined(req.headers(), &header::IF_NONE_MATCH)
    } else {
        None
    };
    let condition = match value {
        None => None,
        Some(value) => match value.ok().as_deref().and_then(parse_tag_list) {
            Some(tags) => Some(tags),
            None => {
                let error = ApiError::BadRequest(
                    "If-None-Match is not an entity tag; send the ETag as received (e.g. \"3\"), \
                     a comma-separated list of them, or *"
                        .to_owned(),
                );
                return Ok(req.error_response(error).map_into_boxed_body());
            }
        },
    };
    let response = next.call(req).await?.map_into_boxed_body();
    let Some(condition) = condition else {
        return Ok(response);
    };
    let current = response
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_tag_list);
    let matched = match (&condition, current) {
        (_, None) => false,
        (TagList::Any, Some(_)) => true,
        (TagList::Tags(wanted), Some(TagList::Tags(current))) => current
            .first()
            .is_some_and(|c| current.len() == 1 && wanted.iter().any(|w| w.weak_eq(c))),
        (TagList::Tags(_), Some(TagList::Any)) => false,
    };
    if !response.status().is_success() || !matched {
        return Ok(response);
    }
    let (req, old) = response.into_parts();
    let mut builder = actix_web::HttpResponse::build(StatusCode::NOT_MODIFIED);
    // RFC 9110 §15.4.5: the fields a 200 would have sent that describe or govern caching.
    for name in [
        header::ETAG,
        header::CACHE_CONTROL,
        header::CONTENT_LOCATION,
        header::DATE,
        header::EXPIRES,
        header::VARY,
        header::LAST_MODIFIED,
    ] {
        for value in old.headers().get_all(&name) {
            builder.append_header((name.clone(), value.clone()));
        }
    }
    Ok(ServiceResponse::new(req, builder.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[(bool, &str)]) -> TagList {
        TagList::Tags(
            list.iter()
                .map(|(weak, opaque)| EntityTag {
                    weak: *weak,
                    opaque: (*opaque).to_owned(),
                })
                .collect(),
        )
    }

    #[test]
    fn lists_stars_weak_and_bare_forms_parse() {
        assert_eq!(parse_tag_list(" * "), Some(TagList::Any));
        assert_eq!(parse_tag_list("\"3\""), Some(tags(&[(false, "3")])));
        assert_eq!(parse_tag_list("W/\"3\""), Some(tags(&[(true, "3")])));
        assert_eq!(parse_tag_list("3"), Some(tags(&[(false, "3")])));
        assert_eq!(
            parse_tag_list("\"2\", W/\"3\",\"a,b\""),
            Some(tags(&[(false, "2"), (true, "3"), (false, "a,b")]))
        );
    }

    #[test]
    fn malformed_values_are_refused() {
        for value in [
            "",
            "abc",
            "\"3",
            "W/3",
            "\"3\" \"4\"",
            "\"3\",",
            "*, \"3\"",
            "\"a b\"",
        ] {
            assert_eq!(parse_tag_list(value), None, "{value:?}");
        }
    }

    #[test]
    fn if_match_compares_strongly() {
        let current = EntityTag::strong("3");
        let admits = |value: &str| IfMatch(parse_tag_list(value).unwrap()).admits(&current);
        assert!(admits("\"3\""));
        assert!(admits("*"));
        assert!(admits("\"2\", \"3\""));
        assert!(!admits("W/\"3\""));
        assert!(!admits("\"2\", W/\"3\""));
    }

    #[test]
    fn version_lists_drop_weak_tags() {
        let versions = |value: &str| IfMatch(parse_tag_list(value).unwrap()).versions("\"3\"");
        assert_eq!(
            versions("\"2\", W/\"3\"").unwrap(),
            VersionPrecondition::OneOf(vec![2])
        );
        assert_eq!(versions("*").unwrap(), VersionPrecondition::Any);
        assert!(versions("\"abc\"").is_err());
        assert!(versions("\"+3\"").is_err());
        assert!(versions("\"1234567890\"").is_err());
    }
}
