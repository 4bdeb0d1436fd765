//! End-to-end test support (the tests live in e2e/)
