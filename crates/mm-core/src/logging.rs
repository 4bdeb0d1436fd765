//! Logging set-up shared by every binary: env_logger, one line per event.
//!
//! `RUST_LOG` wins when set; otherwise `info`, or `debug` with `--debug`.

use std::io::Write;

/// Initialise logging once; later calls are ignored (tests call it freely).
pub fn init(debug: bool) {
    let default = if debug { "debug" } else { "info" };
    let mut b =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default));
    if debug && std::env::var_os("RUST_LOG").is_none() {
        b.filter_level(log::LevelFilter::Debug);
    }
    b.format(|buf, record| {
        writeln!(
            buf,
            "{} {:<5} {}: {}",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
            record.level(),
            record.target(),
            record.args().to_string().replace('\n', " ")
        )
    });
    let _ = b.try_init();
}
