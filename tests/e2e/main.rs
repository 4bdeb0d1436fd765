//! End-to-end tests: the real binaries against real databases (SQLite and PostgreSQL) and,
//! for the jobs that talk to mirrors, real servers on 127.0.0.1.

mod admin;
mod config;
mod housekeeping;
mod locks;
mod mm2;
mod pipeline;
mod publiclist;
mod tidy;
