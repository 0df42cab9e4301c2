//! The jobs core's rules, in-process against the in-memory adapters of every port: one test
//! binary, no network, no emulator.

mod artifacts;
mod audit;
mod cancel;
mod inbox;
mod keys;
mod multipart;
mod pipelines;
mod rerun;
mod runner;
mod sessions;
mod shards;
mod submit;
mod support;
mod sweeper;
mod teams;
mod uploads;
