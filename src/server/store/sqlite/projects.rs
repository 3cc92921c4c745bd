use super::SqliteStore;
use crate::server::store::ProjectStore;

impl ProjectStore for SqliteStore {}
