//! Logging setup: human-readable text by default, one JSON object per line with `MOTCUA_LOG_FORMAT=json`.
//!
//! Logged values come from requests (user names, paths, methods), so neither format lets one forge a
//! line or drive a terminal: JSON escapes every control character itself, and the text format
//! writes each value with its control characters escaped (`\n`, `\u{1b}`). Colours are used only
//! when standard output is a terminal (and `NO_COLOR` is unset).

use std::io::IsTerminal;

use crate::domain::text::escape_controls;

use tracing_subscriber::{
    EnvFilter,
    field::MakeExt,
    fmt::{self, FormatFields, format::Writer},
    prelude::*,
};

use crate::config::LogFormat;

/// Installs the global subscriber. `filter` uses `tracing` directives (`info`, `motcua=debug,info`).
/// Safe to call more than once: later calls are ignored.
pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Text => registry
            .with(
                fmt::layer()
                    .with_target(false)
                    .with_ansi(colours_wanted())
                    .fmt_fields(escaped_fields()),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
    };
    if result.is_ok() {
        install_panic_logger();
    }
}

/// Whether the text log may carry ANSI colour codes: only on a terminal, and not when the
/// conventional `NO_COLOR` asks for none.
fn colours_wanted() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The text format's fields: `name=value` separated by spaces, the message bare, each value with its
/// control characters escaped, so a value cannot end the line or colour it.
fn escaped_fields() -> impl for<'w> FormatFields<'w> + Send + Sync + 'static {
    fmt::format::debug_fn(|writer: &mut Writer<'_>, field, value| {
        let text = escape_controls(&format!("{value:?}"));
        if field.name() == "message" {
            writer.write_str(&text)
        } else {
            write!(writer, "{}={text}", field.name())
        }
    })
    .delimited(" ")
}

/// Panics are logged through tracing (with the request's span when there is one) instead of bare stderr.
fn install_panic_logger() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        tracing::error!(panic = %info, location = location.as_deref().unwrap_or("?"), "panic");
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::fmt;

    /// A buffer the test subscriber writes to.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_text_format_writes_one_line_per_event_whatever_the_values() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_target(false)
            .fmt_fields(escaped_fields())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("http_request", path = %"/x\r\n2020-01-01 INFO forged");
            let _entered = span.enter();
            tracing::warn!(account = %"user:x\n2020-01-01T00:00:00Z  INFO forged\u{1b}[31m", "failed login");
        });
        let output = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(output.lines().count(), 1, "{output}");
        assert!(!output.contains('\u{1b}'), "{output}");
        assert!(
            output.contains("account=user:x\\n2020-01-01T00:00:00Z  INFO forged\\u{1b}[31m"),
            "{output}"
        );
        assert!(output.contains("path=/x\\r\\n2020"), "{output}");
        assert!(output.contains("failed login"), "{output}");
    }
}
