//! Artefact keys `"<kind>.<domain-or-feature>"` that tasks read (inputs) and produce
//! (outputs). The kind also tells the built-in agents which job a task is. Matching of
//! input patterns is implemented by `impact`; [`matches`] here mirrors it for our tests.

/// Architecture of the whole system or of one feature: `arch.system`, `arch.cart`.
pub const ARCH: &str = "arch";
/// Tables of one data domain: `schema.users`.
pub const SCHEMA: &str = "schema";
/// The API of one feature's service: `api.catalog`.
pub const API: &str = "api";
/// A frontend: `ui.storefront`.
pub const UI: &str = "ui";
/// A test suite: `test.integration`, `test.migration`, `test.search`.
pub const TEST: &str = "test";
/// Bottleneck analysis of a component: `bottleneck.auth`.
pub const BOTTLENECK: &str = "bottleneck";
/// Capacity plan: `scaling.auth`.
pub const SCALING: &str = "scaling";
/// Scaled deployment configuration: `config.auth`.
pub const CONFIG: &str = "config";
/// Infrastructure on the canvas: `infra.load_balancer`, `infra.redis_cluster`.
pub const INFRA: &str = "infra";
/// Alert rules: `monitoring.auth`.
pub const MONITORING: &str = "monitoring";
/// Final scaling report: `report.auth`.
pub const REPORT: &str = "report";
/// Load-test scenarios: `loadtest.auth`.
pub const LOADTEST: &str = "loadtest";
/// Where a technology is used: `usage.mysql`.
pub const USAGE: &str = "usage";
/// A technology swapped on the canvas: `swap.mysql`.
pub const SWAP: &str = "swap";
/// DDL and data migration to a technology: `migration.postgresql`.
pub const MIGRATION: &str = "migration";
/// Service settings for a technology: `settings.postgresql`.
pub const SETTINGS: &str = "settings";
/// Rollback procedure: `rollback.mysql`.
pub const ROLLBACK: &str = "rollback";
/// Design review document: `review.system`.
pub const REVIEW: &str = "review";

pub fn key(kind: &str, name: &str) -> String {
    format!("{kind}.{name}")
}

/// `"schema.users"` → `("schema", "users")`.
pub fn split(key: &str) -> Option<(&str, &str)> {
    key.split_once('.')
}

pub fn kind_of(key: &str) -> Option<&str> {
    split(key).map(|(k, _)| k)
}

/// Whether input `pattern` covers output `key`: exact, `"*"`, `"<kind>.*"`, or
/// `"<kind>.@<feature>"` (keys of that kind whose home, by `home_of`, is `<feature>`).
pub fn matches(pattern: &str, key: &str, home_of: &dyn Fn(&str) -> Option<String>) -> bool {
    if pattern == "*" || pattern == key {
        return true;
    }
    let (Some((pk, pn)), Some((kk, kn))) = (split(pattern), split(key)) else {
        return false;
    };
    if pk != kk {
        return false;
    }
    if pn == "*" {
        return true;
    }
    match pn.strip_prefix('@') {
        Some(service) => home_of(kn).as_deref() == Some(service),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domains::HomeMap;

    #[test]
    fn patterns_match_like_the_contract_says() {
        let homes = HomeMap::new(&["auth", "catalog", "cart", "payment"]);
        let home = |k: &str| homes.lookup(k);
        assert!(matches("*", "schema.users", &home));
        assert!(matches("schema.*", "schema.users", &home));
        assert!(matches("schema.users", "schema.users", &home));
        assert!(matches("schema.@catalog", "schema.recommendations", &home));
        assert!(!matches("schema.@auth", "schema.recommendations", &home));
        assert!(!matches("api.*", "schema.users", &home));
        assert!(!matches("schema.@catalog", "nonsense", &home));
        assert_eq!(
            split("infra.load_balancer"),
            Some(("infra", "load_balancer"))
        );
    }
}
