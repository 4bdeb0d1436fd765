//! The stop flag the jobs share: SIGTERM and SIGINT (and SIGHUP for jobs that ask) set it,
//! and long-running work checks it to finish what it has, release its locks and leave.
//! Handlers are installed after a job holds its locks: they restart a blocking `flock`
//! (`SA_RESTART`), so a `--wait` for a lock stays killable only without them.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The flag itself (for code that keeps an `Arc` of it).
pub fn flag() -> &'static Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Has a stop been asked for?
pub fn requested() -> bool {
    flag().load(Ordering::Relaxed)
}

/// Route SIGTERM and SIGINT, and with `hangup` SIGHUP, to [`flag`]. Each signal is
/// registered once per process, however often this is called.
pub fn install(hangup: bool) -> std::io::Result<()> {
    static DONE: Mutex<Option<HashSet<i32>>> = Mutex::new(None);
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    let done = done.get_or_insert_with(HashSet::new);
    let mut signals = vec![signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT];
    if hangup {
        signals.push(signal_hook::consts::SIGHUP);
    }
    for sig in signals {
        if !done.contains(&sig) {
            signal_hook::flag::register(sig, Arc::clone(flag()))?;
            done.insert(sig);
        }
    }
    Ok(())
}
