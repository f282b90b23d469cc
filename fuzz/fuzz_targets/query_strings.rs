//! Query strings and the values inside them: instants, cursors, limits, list filters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motcua::http::{
    calendar::{DaysQuery, DeadlineQuery},
    dossiers::ListQuery,
    pagination::PageQuery,
    time::parse_instant,
};

fuzz_target!(|data: &[u8]| {
    let _ = serde_urlencoded::from_bytes::<ListQuery>(data);
    let _ = serde_urlencoded::from_bytes::<DaysQuery>(data);
    let _ = serde_urlencoded::from_bytes::<DeadlineQuery>(data);
    if let Ok(page) = serde_urlencoded::from_bytes::<PageQuery>(data) {
        let _ = page.limit();
        let _ = page.after_id();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_instant(text);
    }
});
