//! Reusable UI components, one folder or file per area.

pub mod activity;
pub mod auth;
pub mod canvas;
pub mod files;
pub mod header;
pub mod later;
pub mod modal;
pub mod plan;
pub mod realtime;
pub mod run;
pub mod theme_toggle;
