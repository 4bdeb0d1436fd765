//! Support for the end-to-end tests in `e2e/`: the testkit's runner of the real binaries.

pub use mm_testkit::runner::{Run, Runner};
