//! Reusable UI components, one folder or file per area.

pub mod header;
pub mod theme_toggle;
