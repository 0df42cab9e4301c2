pub mod artifacts;
pub mod auth;
pub mod jobs;
pub mod keys;
pub mod teams;
pub mod users;
