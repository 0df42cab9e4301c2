//! The CLI's suites, linked into one test binary (one link instead of two).
mod examples;
mod remote;
mod suggest;
mod transform;
