pub mod artifacts;
pub mod auth;
pub mod jobs;
pub mod teams;
pub mod users;
