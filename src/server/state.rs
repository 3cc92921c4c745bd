//! The one state struct every handler receives (no global singletons): configuration, the
//! store, Leptos options. Cloning is cheap (everything shared is behind `Arc`).

use crate::server::auth::tokens::KeyRing;
use crate::server::config::{DatabaseTarget, ServeConfig};
use crate::server::realtime::bus::{EventBus, InProcessBus};
use crate::server::secrets;
use crate::server::store::{sqlite::SqliteStore, Store};
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub config: Arc<ServeConfig>,
    pub store: Arc<dyn Store>,
    /// Fan-out of persisted events to the transports.
    pub bus: Arc<dyn EventBus>,
    /// Signs and verifies sessions and build tokens.
    pub keys: Arc<KeyRing>,
}

impl AppState {
    pub async fn open(config: ServeConfig) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            anyhow::anyhow!("cannot create data directory {}: {e}", config.data_dir.display())
        })?;
        let jwt_secret = match &config.jwt_secret {
            Some(s) => s.clone(),
            None => secrets::load_or_create_jwt_secret(&config.data_dir)?,
        };
        let store: Arc<dyn Store> = match &config.database {
            DatabaseTarget::Sqlite { url } => Arc::new(SqliteStore::open(url).await?),
        };
        Ok(Self {
            leptos_options: crate::server::leptos_options(),
            config: Arc::new(config),
            store,
            bus: Arc::new(InProcessBus::new()),
            keys: Arc::new(KeyRing::new(&jwt_secret, &[])),
        })
    }

    /// Flushes and closes what needs closing; called after the HTTP server stopped.
    pub async fn close(&self) {
        self.store.close().await;
    }
}
