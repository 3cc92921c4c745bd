use super::{project, project_record, run_record, user, Db};
use youmeyou::server::store::projects::{ProjectWrite, CANVAS_HISTORY};
use youmeyou::server::store::StoreError;
use youmeyou_core::model::{Canvas, Node};

fn canvas_with(label: &str) -> Canvas {
    serde_json::from_value(serde_json::json!({
        "nodes": [{"id": "n1", "type": "microservice", "label": label, "position": {"x": 0.0, "y": 0.0}}],
        "edges": [],
    }))
    .unwrap()
}

fn label(c: &Canvas) -> &str {
    c.nodes
        .first()
        .map(|n: &Node| n.label.as_str())
        .unwrap_or("")
}

pub async fn the_project_limit_holds_under_concurrent_creations(db: &Db) {
    user(db, "u").await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .create_project(&project_record(&format!("p{i}"), "u"), 5)
                .await
                .unwrap()
        }));
    }
    let mut done = 0;
    for t in tasks {
        match t.await.unwrap() {
            ProjectWrite::Done => done += 1,
            ProjectWrite::LimitReached => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(done, 5, "exactly the limit, never more");
    assert_eq!(db.store.list_projects("u").await.unwrap().len(), 5);
}

pub async fn list_rename_and_delete_follow_ownership_and_active_runs(db: &Db) {
    user(db, "u").await;
    user(db, "v").await;
    project(db, "p1", "u").await;
    project(db, "p2", "u").await;
    project(db, "q", "v").await;
    for (id, at, status) in [
        ("a", "2026-01-01T00:00:01.000Z", "completed"),
        ("b", "2026-01-01T00:00:02.000Z", "failed"),
    ] {
        db.store
            .create_run(&run_record(id, "p1", "u", status, at))
            .await
            .unwrap();
    }
    let renamed = db
        .store
        .rename_project("p2", "u", "Renamed")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.name, "Renamed");
    assert_eq!(
        db.store.rename_project("q", "u", "Stolen").await.unwrap(),
        None
    );

    let list = db.store.list_projects("u").await.unwrap();
    assert_eq!(list[0].0.id, "p2", "most recently updated first");
    let p1 = list.iter().find(|(p, _)| p.id == "p1").unwrap();
    assert_eq!(p1.1.as_ref().unwrap().id, "b", "the latest run");
    assert_eq!(
        db.store.last_run("p1").await.unwrap().unwrap().status,
        "failed"
    );
    assert_eq!(db.store.last_run("p2").await.unwrap(), None);

    db.store
        .create_run(&run_record(
            "live",
            "p1",
            "u",
            "running",
            "2026-01-01T00:00:03.000Z",
        ))
        .await
        .unwrap();
    assert_eq!(
        db.store.delete_project("p1", "u").await.unwrap(),
        ProjectWrite::RunActive
    );
    assert_eq!(
        db.store.delete_project("q", "u").await.unwrap(),
        ProjectWrite::NotFound
    );
    assert_eq!(
        db.store.delete_project("p2", "u").await.unwrap(),
        ProjectWrite::Done
    );
    assert_eq!(db.store.get_project("p2").await.unwrap(), None);
    assert_eq!(
        db.store.project_owner("q").await.unwrap().as_deref(),
        Some("v")
    );
}

pub async fn canvas_versions_conflict_and_only_one_concurrent_writer_wins(db: &Db) {
    user(db, "u").await;
    project(db, "p", "u").await;
    let saved = db
        .store
        .save_canvas("p", &canvas_with("one"), Some(0), None)
        .await
        .unwrap();
    assert_eq!(saved.version, 1);
    let stale = db
        .store
        .save_canvas("p", &canvas_with("two"), Some(0), None)
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    let missing = db
        .store
        .save_canvas("nope", &canvas_with("x"), None, None)
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );

    let mut writers = Vec::new();
    for i in 0..8 {
        let store = db.store.clone();
        writers.push(tokio::spawn(async move {
            store
                .save_canvas("p", &canvas_with(&format!("w{i}")), Some(1), None)
                .await
        }));
    }
    let mut won = Vec::new();
    for w in writers {
        match w.await.unwrap() {
            Ok(c) => won.push(c),
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(won.len(), 1, "one writer of version 1 wins");
    let stored = db.store.get_project("p").await.unwrap().unwrap().canvas;
    assert_eq!(stored.version, 2);
    assert_eq!(label(&stored), label(&won[0]));
    // Unconditional saves (a run's agent) always apply, one version each.
    let by_run = db
        .store
        .save_canvas("p", &canvas_with("run"), None, Some("r1"))
        .await
        .unwrap();
    assert_eq!(by_run.version, 3);
}

pub async fn canvas_history_is_bounded_and_readable(db: &Db) {
    user(db, "u").await;
    project(db, "p", "u").await;
    let total = CANVAS_HISTORY + 5;
    for v in 1..=total {
        let run = v.is_multiple_of(2).then_some("r");
        db.store
            .save_canvas("p", &canvas_with(&format!("v{v}")), None, run)
            .await
            .unwrap();
    }
    let versions = db.store.list_canvas_versions("p", 1000).await.unwrap();
    assert_eq!(versions.len() as u64, CANVAS_HISTORY);
    assert_eq!(versions[0].version, total, "newest first");
    assert_eq!(
        versions[0].run_id,
        total.is_multiple_of(2).then(|| "r".to_string())
    );
    assert_eq!(
        db.store.list_canvas_versions("p", 3).await.unwrap().len(),
        3
    );
    let (canvas, info) = db
        .store
        .get_canvas_version("p", total - 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(label(&canvas), format!("v{}", total - 1));
    assert_eq!((canvas.version, info.version), (total - 1, total - 1));
    assert_eq!(
        db.store.get_canvas_version("p", 1).await.unwrap(),
        None,
        "pruned"
    );
}

pub async fn storage_is_counted_and_pruned_oldest_first(db: &Db) {
    user(db, "u").await;
    project(db, "p", "u").await;
    let empty = db.store.storage_used("u").await.unwrap();
    assert!(empty > 0, "version 0 of the canvas counts");
    for v in 1..=3 {
        db.store
            .save_canvas("p", &canvas_with(&"é".repeat(100 * v)), None, None)
            .await
            .unwrap();
    }
    db.store
        .create_run(&run_record("r", "p", "u", "completed", super::T0))
        .await
        .unwrap();
    let file = youmeyou_core::model::GeneratedFile {
        path: "a.txt".into(),
        language: "text".into(),
        content: "ü".repeat(500),
        task_id: "t".into(),
    };
    db.store.save_files("r", &[file]).await.unwrap();
    let used = db.store.storage_used("u").await.unwrap();
    // Bytes, not characters: 'é' and 'ü' are two bytes each in UTF-8.
    assert!(used >= empty + 2 * (100 + 200 + 300) + 1000, "{used}");
    let freed = db.store.prune_canvas_history("u", 1).await.unwrap();
    assert!(freed > 0);
    let left = db.store.list_canvas_versions("p", 10).await.unwrap();
    assert_eq!(
        left.iter().map(|v| v.version).collect::<Vec<_>>(),
        [3, 2, 1],
        "oldest went first"
    );
    let all = db.store.prune_canvas_history("u", u64::MAX).await.unwrap();
    assert!(all > 0);
    let left = db.store.list_canvas_versions("p", 10).await.unwrap();
    assert_eq!(
        left.iter().map(|v| v.version).collect::<Vec<_>>(),
        [3],
        "the current one stays"
    );
    assert_eq!(
        db.store.storage_used("u").await.unwrap(),
        used - freed - all
    );
}
