//! Import files (CSV and JSON Lines, procedures and dossiers): reading a file and checking each of
//! its records must report bad input as errors, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motcua::service::imports::{ImportFormat, ImportKind, check_record, read_records};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the kind and format, the rest is the file.
    let Some((&selector, file)) = data.split_first() else {
        return;
    };
    let kind = if selector & 1 == 0 {
        ImportKind::Procedures
    } else {
        ImportKind::Dossiers
    };
    let format = if selector & 2 == 0 {
        ImportFormat::Csv
    } else {
        ImportFormat::JsonLines
    };
    if let Ok(records) = read_records(kind, format, file) {
        for record in records.iter().flatten() {
            let _ = check_record(kind, record);
        }
    }
});
