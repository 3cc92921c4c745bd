use super::{run_record, user, Db, T0};
use youmeyou::server::limits::Tier;
use youmeyou::server::store::users::UserRecord;
use youmeyou::server::store::StoreError;

pub async fn accounts_are_unique_by_email_whatever_its_case(db: &Db) {
    let ada = user(db, "ada").await;
    let twin = UserRecord {
        id: "ada2".into(),
        email: "ADA@Example.com".into(),
        ..ada.clone()
    };
    let refused = db.store.create_user(&twin).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    let found = db.store.user_by_email("ada@example.com").await.unwrap();
    assert_eq!(found.as_ref(), Some(&ada));
    assert_eq!(db.store.user_by_id("ada").await.unwrap(), Some(ada));
    assert_eq!(db.store.user_by_id("nobody").await.unwrap(), None);
    assert_eq!(
        db.store.user_by_email("nobody@example.com").await.unwrap(),
        None
    );
}

pub async fn tiers_lists_and_day_counts(db: &Db) {
    let b = user(db, "b").await;
    let a = UserRecord {
        id: "a".into(),
        email: "a@example.com".into(),
        created_at: "2025-12-31T00:00:00.000Z".into(),
        ..b.clone()
    };
    db.store.create_user(&a).await.unwrap();
    let ids: Vec<String> = db
        .store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(ids, ["a", "b"], "oldest first");
    let raised = db
        .store
        .set_tier("b@example.com", Tier::Premium)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raised.tier, Tier::Premium);
    assert_eq!(
        db.store.user_by_id("b").await.unwrap().unwrap().tier,
        Tier::Premium
    );
    assert_eq!(
        db.store
            .set_tier("x@example.com", Tier::Free)
            .await
            .unwrap(),
        None
    );

    super::project(db, "p", "b").await;
    for (id, at) in [
        ("r1", "2026-01-01T10:00:00.000Z"),
        ("r2", "2026-01-02T00:00:00.000Z"),
        ("r3", "2026-01-02 23:59:59"),
    ] {
        db.store
            .create_run(&run_record(id, "p", "b", "completed", at))
            .await
            .unwrap();
    }
    assert_eq!(
        db.store
            .runs_started_on_or_after("b", "2026-01-02")
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        db.store
            .runs_started_on_or_after("b", "2026-01-01")
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        db.store
            .runs_started_on_or_after("a", "2026-01-01")
            .await
            .unwrap(),
        0
    );
    let _ = T0;
}

pub async fn revoked_sessions_stay_revoked(db: &Db) {
    let future = chrono::Utc::now().timestamp() + 3600;
    assert!(!db.store.is_session_revoked("j1").await.unwrap());
    db.store.revoke_session("j1", future).await.unwrap();
    // Revoking twice is not an error.
    db.store.revoke_session("j1", future).await.unwrap();
    assert!(db.store.is_session_revoked("j1").await.unwrap());
    // Rows long expired are purged on the way; a token that old is refused anyway.
    db.store.revoke_session("old", 1_000).await.unwrap();
    db.store.revoke_session("j2", future).await.unwrap();
    assert!(!db.store.is_session_revoked("old").await.unwrap());
    assert!(db.store.is_session_revoked("j2").await.unwrap());
}
