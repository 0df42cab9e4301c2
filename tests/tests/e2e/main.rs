//! The end-to-end suites, linked into one test binary: each binary links the whole AWS SDK, so one
//! link instead of seven keeps a cold CI build's time and disk small.
mod api_keys;
mod audit;
mod bad_input;
mod chains;
mod costs;
mod crashes;
mod delivery;
mod events;
mod examples;
mod inbox;
mod lambdas;
mod lifecycle;
mod metrics;
mod multipart;
mod pipelines;
mod presigned_security;
mod provisioning;
mod quotas;
mod schedules;
mod sessions;
mod shards;
mod sso;
mod suggest;
mod teams;
mod webhooks;
