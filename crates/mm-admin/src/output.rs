//! Printing of list/show results: aligned text for people, `--json` for scripts.

use serde::Serialize;

/// Print `rows` as pretty JSON, or as text lines made by `line`.
pub fn print<T: Serialize>(rows: &[T], json: bool, line: impl Fn(&T) -> String) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(rows).expect("rows serialise")
        );
    } else {
        for r in rows {
            println!("{}", line(r));
        }
    }
}

/// Print one object as pretty JSON, or as text made by `text`.
pub fn print_one<T: Serialize>(row: &T, json: bool, text: impl Fn(&T) -> String) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(row).expect("row serialises")
        );
    } else {
        println!("{}", text(row));
    }
}

/// `yes`/`no` for text output.
pub fn yn(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
