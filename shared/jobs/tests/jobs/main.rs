//! The jobs core's rules, in-process against the in-memory adapters of every port: one test
//! binary, no network, no emulator.

mod artifacts;
mod audit;
mod cancel;
mod chains;
mod costs;
mod delete;
mod history;
mod inbox;
mod keys;
mod multipart;
mod pipelines;
mod quotas;
mod rerun;
mod runner;
mod schedules;
mod sessions;
mod shards;
mod sso;
mod submit;
mod support;
mod sweeper;
mod teams;
mod uploads;
mod webhooks;
