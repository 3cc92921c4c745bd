//! A run as the workspace sees it: the pure view model and reducer (`model`), the activity
//! wording (`words`), the connection indicator's states (`connection`), the REST calls of the
//! hydrated page (`rest`), the compact task list (`tasks`) and the mapping onto the plan
//! components' `TaskView` (`plan_view`). The live stream itself is `components::realtime`.

pub mod connection;
pub mod model;
pub mod plan_view;
pub mod rest;
pub mod tasks;
pub mod words;
