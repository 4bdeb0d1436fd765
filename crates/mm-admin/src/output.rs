//! Printing of command results: aligned text for people, `--json` for scripts.
//!
//! Commands collect what they print in a [`Printout`] and write it only after their
//! transaction has committed ([`in_transaction`]): printing can never undo a change, the
//! lines shown describe committed work, and no transaction stays open while a pager or
//! `head` reads. A closed stdout (`mirrormanager host list | head`) ends the printing
//! quietly; the command's exit code is what it would have been with all lines read.

use std::fmt::Write as _;
use std::io::{ErrorKind, Write as _};

use diesel::Connection;
use mm_core::DbConn;
use serde::Serialize;

use crate::error::{AdminError, Result};

/// What a command prints: stdout text, and notes for stderr (e.g. skipped rows).
#[derive(Debug, Default)]
pub struct Printout {
    stdout: String,
    stderr: String,
}

impl Printout {
    /// One line of stdout.
    pub fn line(&mut self, text: impl std::fmt::Display) {
        let _ = writeln!(self.stdout, "{text}");
    }

    /// One line of stderr (printed after stdout).
    pub fn note(&mut self, text: impl std::fmt::Display) {
        let _ = writeln!(self.stderr, "{text}");
    }

    /// `value` as pretty JSON.
    pub fn json<T: Serialize + ?Sized>(&mut self, value: &T) {
        self.line(serde_json::to_string_pretty(value).expect("output serialises"));
    }

    /// `rows` as one JSON array, or as text lines made by `line`.
    pub fn rows<T: Serialize>(&mut self, rows: &[T], json: bool, line: impl Fn(&T) -> String) {
        if json {
            self.json(rows);
        } else {
            for r in rows {
                self.line(line(r));
            }
        }
    }

    /// One object as JSON, or as text made by `text`.
    pub fn one<T: Serialize>(&mut self, row: &T, json: bool, text: impl Fn(&T) -> String) {
        if json {
            self.json(row);
        } else {
            self.line(text(row));
        }
    }

    /// Write it out: stdout (a closed stdout is not an error), then stderr.
    pub fn emit(self) -> Result<()> {
        let printed = write_stdout(&self.stdout);
        if !self.stderr.is_empty() {
            // Nowhere left to report a failure to write to stderr.
            let _ = std::io::stderr().lock().write_all(self.stderr.as_bytes());
        }
        printed
    }
}

/// Run `body` in one transaction and print what it collected once it has committed.
pub fn in_transaction(
    conn: &mut DbConn,
    body: impl FnOnce(&mut DbConn, &mut Printout) -> Result<()>,
) -> Result<()> {
    let out = conn.transaction(|conn| {
        let mut out = Printout::default();
        body(conn, &mut out)?;
        Ok::<_, AdminError>(out)
    })?;
    // Whatever goes wrong now, the change stands: say so, or a retry would fail on it.
    out.emit().map_err(|e| match e {
        AdminError::Io { path, source } => AdminError::Io {
            path: format!("{path} (the change was committed)"),
            source,
        },
        e => e,
    })
}

/// Write `text` to stdout and flush. A reader that went away (`EPIPE`, e.g. `| head`) ends
/// the output quietly; any other write error (a full disk behind `>`) is reported.
pub fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(AdminError::io("writing to stdout", e)),
        Ok(()) => Ok(()),
    }
}

/// `yes`/`no` for text output.
pub fn yn(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
