//! Resource handlers: one module per resource, typed requests, short handlers.

pub mod auth;
pub mod content;
pub mod events;
pub mod experiments;
pub mod google;
pub mod health;
pub mod images;
pub mod input;
pub mod items;
pub mod memberships;
pub mod organizations;
pub mod otp;
pub mod plios;
pub mod questions;
pub mod reports;
pub mod requests;
pub mod responses;
pub mod roles;
pub mod session_answers;
pub mod sessions;
pub mod user_config;
pub mod users;
pub mod videos;
