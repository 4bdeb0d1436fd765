//! The `mirrormanager` binary run as a process on both databases, as a sysadmin runs it:
//! edits and refusals, output into a closed pipe, and `publiclist`. One test binary.

mod closed_stdout;
mod edits;
mod locks;
mod publiclist;

use mm_testkit::TestDb;
use mm_testkit::runner::Runner;

/// The admin CLI on `db`'s database.
fn mirrormanager(db: &TestDb) -> Runner {
    Runner::at(env!("CARGO_BIN_EXE_mirrormanager"), &db.config_file(""))
}
