//! Logging setup: `RUST_LOG` filter, `LOG_FORMAT` pretty or json, to stderr.
//!
//! The server writes through a background thread (`tracing-appender`'s non-blocking writer
//! over a buffered stderr): a request formats its access line and hands it over; the writes
//! to stderr are batched off the request path. No line is dropped while the server runs (when
//! the writer falls behind by more than the buffer, requests wait for it) and a graceful stop
//! flushes what is buffered (the buffer is small enough to drain within the 1 s the guard
//! waits); a killed process loses what was still buffered.

use std::io::IsTerminal;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Lines buffered for the background writer before loggers wait.
const BUFFERED_LINES: usize = 8 * 1024;

/// Installs the global subscriber (once; later calls are ignored). `filter` is the validated
/// `RUST_LOG`, if set. With `background`, lines are written by a thread of their own; keep
/// the returned guard until the end: dropping it flushes what is buffered.
pub fn init(
    format: LogFormat,
    filter: Option<&str>,
    default_filter: &str,
    background: bool,
) -> Option<WorkerGuard> {
    let filter = filter
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(default_filter));
    let ansi = std::io::stderr().is_terminal();
    if background {
        let (writer, guard) = NonBlockingBuilder::default()
            .lossy(false)
            .buffered_lines_limit(BUFFERED_LINES)
            .thread_name("plio-log")
            .finish(std::io::BufWriter::new(std::io::stderr()));
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(writer)
            .with_ansi(ansi);
        let _ = match format {
            LogFormat::Json => builder.json().flatten_event(true).try_init(),
            LogFormat::Pretty => builder.compact().try_init(),
        };
        return Some(guard);
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
    None
}
