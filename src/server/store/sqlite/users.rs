use super::SqliteStore;
use crate::server::store::UserStore;

impl UserStore for SqliteStore {}
