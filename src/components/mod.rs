//! Reusable UI components, one folder or file per area.

pub mod header;
pub mod theme_toggle;
pub mod activity;
pub mod auth;
pub mod files;
pub mod modal;
pub mod run;
pub mod realtime;
pub mod canvas;
pub mod plan;
