use super::{with_runs, Db};
use serde_json::json;
use youmeyou::server::store::{RunEnd, StoreError};
use youmeyou_core::model::{EventType, NewEvent};

fn progress(n: u64) -> NewEvent {
    NewEvent::new(EventType::TaskProgress, json!({"n": n}))
}

/// Concurrent runs share group commits; each run's `seq` stays 1, 2, 3… with exactly what each
/// caller was told, and an append for an unknown run fails alone.
pub async fn concurrent_appends_keep_every_runs_sequence_gap_free(db: &Db) {
    with_runs(db, 30).await;
    let mut tasks = Vec::new();
    for i in 0..30 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            let run = format!("r{i}");
            let mut seqs = Vec::new();
            for n in 0..20u64 {
                // Some appends carry several events.
                let events: Vec<NewEvent> = (0..=(n % 3)).map(|k| progress(n * 10 + k)).collect();
                let stored = store.append_events(&run, &events, "t").await.unwrap();
                seqs.extend(stored.iter().map(|e| e.seq));
            }
            seqs
        }));
    }
    let ghost = {
        let store = db.store.clone();
        tokio::spawn(async move { store.append_events("ghost", &[progress(0)], "t").await })
    };
    for task in tasks {
        let seqs = task.await.unwrap();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    }
    assert!(matches!(
        ghost.await.unwrap(),
        Err(StoreError::NotFound("run"))
    ));
    for i in 0..30 {
        let run = format!("r{i}");
        let log = db.store.events_after(&run, 0, 1000).await.unwrap();
        let expected: Vec<u64> = (0..20u64)
            .flat_map(|n| (0..=(n % 3)).map(move |k| n * 10 + k))
            .collect();
        let got: Vec<u64> = log.iter().map(|e| e.data["n"].as_u64().unwrap()).collect();
        assert_eq!(got, expected, "{run} in order");
        assert_eq!(
            db.store.last_seq(&run).await.unwrap(),
            expected.len() as u64
        );
    }
}

pub async fn the_final_append_writes_events_then_the_end(db: &Db) {
    with_runs(db, 1).await;
    db.store
        .append_events("r0", &[progress(1)], "t1")
        .await
        .unwrap();
    let end = RunEnd {
        status: "completed".into(),
        finished_at: "2026-01-01T00:10:00.000Z".into(),
        error: None,
    };
    let last = NewEvent::new(EventType::ExecutionSummary, json!({"ok": true}));
    let stored = db
        .store
        .append_final("r0", &[last], "t2", &end)
        .await
        .unwrap();
    assert_eq!(stored[0].seq, 2);
    let run = db.store.get_run("r0").await.unwrap().unwrap();
    assert_eq!(run.status, "completed");
    assert_eq!(run.finished_at.as_deref(), Some("2026-01-01T00:10:00.000Z"));
    assert_eq!(run.last_seq, 2);
    // An end without events is allowed (a run stopped before it said anything).
    let failed = RunEnd {
        status: "failed".into(),
        finished_at: "2026-01-01T00:11:00.000Z".into(),
        error: Some("stopped".into()),
    };
    assert!(db
        .store
        .append_final("r0", &[], "t3", &failed)
        .await
        .unwrap()
        .is_empty());
    let run = db.store.get_run("r0").await.unwrap().unwrap();
    assert_eq!(
        (run.status.as_str(), run.error.as_deref()),
        ("failed", Some("stopped"))
    );
    assert!(db
        .store
        .append_final("ghost", &[], "t", &failed)
        .await
        .is_err());
}

pub async fn reads_page_through_the_log(db: &Db) {
    with_runs(db, 1).await;
    let events: Vec<NewEvent> = (0..25).map(progress).collect();
    db.store
        .append_events("r0", &events, "2026-01-01T00:00:00.000Z")
        .await
        .unwrap();
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let page = db.store.events_after("r0", after, 10).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 10);
        after = page.last().unwrap().seq;
        seen.extend(page);
    }
    assert_eq!(seen.len(), 25);
    assert!(seen.iter().all(|e| e.run_id == "r0"
        && e.kind == EventType::TaskProgress
        && e.ts == "2026-01-01T00:00:00.000Z"));
    assert_eq!(db.store.events_after("r0", 25, 10).await.unwrap(), vec![]);
    assert!(matches!(
        db.store.last_seq("ghost").await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn run_heads_name_watched_runs_and_the_current_runs_of_watched_projects(db: &Db) {
    use super::{project, run_record, user};
    user(db, "u").await;
    project(db, "p", "u").await;
    project(db, "q", "u").await;
    for (id, p, status, at) in [
        ("old", "p", "completed", "2026-01-01T00:00:01.000Z"),
        ("live", "p", "running", "2026-01-01T00:00:02.000Z"),
        ("q-old", "q", "completed", "2026-01-01T00:00:01.000Z"),
        ("q-new", "q", "failed", "2026-01-01T00:00:03.000Z"),
    ] {
        db.store
            .create_run(&run_record(id, p, "u", status, at))
            .await
            .unwrap();
    }
    db.store
        .append_events("live", &[progress(1), progress(2)], "t")
        .await
        .unwrap();
    db.store
        .append_events("old", &[progress(1)], "t")
        .await
        .unwrap();
    let mut heads = db
        .store
        .run_heads(&["old".to_string()], &["p".to_string(), "q".to_string()])
        .await
        .unwrap();
    heads.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    let got: Vec<(&str, &str, u64)> = heads
        .iter()
        .map(|h| (h.run_id.as_str(), h.project_id.as_str(), h.last_seq))
        .collect();
    assert_eq!(got, [("live", "p", 2), ("old", "p", 1), ("q-new", "q", 0)]);
    assert!(db.store.run_heads(&[], &[]).await.unwrap().is_empty());
}

/// A task's state and the events that report it commit together, or (lease lost) not at all.
pub async fn a_task_result_commits_with_its_events(db: &Db) {
    use super::task;
    use youmeyou_core::model::TaskStatus;
    with_runs(db, 1).await;
    db.store
        .save_plan("r0", &[task("t1", &[])], "static", "x")
        .await
        .unwrap();
    let mut record = db.store.load_tasks("r0").await.unwrap().remove(0);
    record.task.status = TaskStatus::Completed;
    record.output = Some(serde_json::from_value(json!({"summary": "done"})).unwrap());
    let done = NewEvent::new(EventType::TaskCompleted, json!({"taskId": "t1"}));
    let stored = db
        .store
        .append_with_task("r0", std::slice::from_ref(&done), "t", &record)
        .await
        .unwrap();
    assert_eq!(stored[0].seq, 1);
    assert_eq!(
        db.store.load_tasks("r0").await.unwrap()[0].task.status,
        TaskStatus::Completed
    );

    // Under a lease another instance took: neither the events nor the task state.
    let b = db.another().await;
    db.store
        .acquire_lease("r0", "A", std::time::Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    db.exec("UPDATE runs SET lease_until = 1 WHERE id = 'r0'")
        .await;
    b.take_orphaned_runs("B", std::time::Duration::from_secs(30), 10, false)
        .await
        .unwrap();
    record.task.status = TaskStatus::Failed;
    let refused = db.store.append_with_task("r0", &[done], "t", &record).await;
    assert!(
        matches!(refused, Err(StoreError::LeaseLost(_))),
        "{refused:?}"
    );
    assert_eq!(db.store.last_seq("r0").await.unwrap(), 1);
    assert_eq!(
        db.store.load_tasks("r0").await.unwrap()[0].task.status,
        TaskStatus::Completed
    );
}
