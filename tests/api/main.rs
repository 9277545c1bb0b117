//! One integration binary. Every test starts its own server on a free port with a fresh database:
//! a temporary SQLite file, or a new PostgreSQL database when TEST_DATABASE_URL is set.

mod actions;
mod analyses;
mod auth;
#[cfg(feature = "browser-tests")]
mod browser;
mod cli;
mod communities;
mod contract;
mod directory;
mod errors;
mod faults;
mod feed;
mod health;
mod helpers;
mod idp;
mod imports;
mod instances;
mod learning;
mod lifecycle;
mod lists;
mod mail;
mod mailserver;
mod mapping;
mod migrations;
mod oidc;
mod pages;
mod patient_audit;
mod patients;
mod permissions;
mod ratings;
mod receiver;
mod robustness;
mod security;
mod stats;
mod storage;
mod submissions;
mod webhooks;
