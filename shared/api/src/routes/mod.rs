pub mod artifacts;
pub mod audit;
pub mod auth;
pub mod jobs;
pub mod keys;
pub mod pipelines;
pub mod teams;
pub mod users;
