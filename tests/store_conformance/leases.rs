use super::{task, with_runs, Db};
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;
use youmeyou::server::store::runs::TaskRecord;
use youmeyou::server::store::{RunEnd, StoreError};
use youmeyou_core::model::{EventType, GeneratedFile, NewEvent, TaskStatus};

const TTL: Duration = Duration::from_secs(30);

fn progress() -> NewEvent {
    NewEvent::new(EventType::TaskProgress, json!({}))
}

/// The lease of `run` ran out (the owner stopped renewing), without waiting for the clock.
async fn lapse(db: &Db, run: &str) {
    db.exec(&format!(
        "UPDATE runs SET lease_until = 1 WHERE id = '{run}'"
    ))
    .await;
}

fn lost(result: Result<impl std::fmt::Debug, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::LeaseLost(_))),
        "{result:?}"
    );
}

pub async fn a_live_lease_is_exclusive_and_renewals_keep_it(db: &Db) {
    with_runs(db, 2).await;
    let b = db.another().await;
    let epoch = db
        .store
        .acquire_lease("r0", "A", TTL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(epoch, 1);
    assert_eq!(db.store.leases().fence("r0"), Some(1));
    assert_eq!(
        b.acquire_lease("r0", "B", TTL).await.unwrap(),
        None,
        "A holds it"
    );
    assert_eq!(
        b.take_orphaned_runs("B", TTL, 10, false)
            .await
            .unwrap()
            .iter()
            .map(|t| t.run.id.as_str())
            .collect::<Vec<_>>(),
        ["r1"],
        "only the unleased run"
    );
    assert_eq!(
        db.store.renew_leases("A", TTL).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        b.renew_leases("B", TTL).await.unwrap(),
        Vec::<String>::new()
    );
    // The owner's fenced writes go through.
    db.store
        .append_events("r0", &[progress()], "t")
        .await
        .unwrap();
    db.store
        .set_run_status("r0", "running", None, None, None)
        .await
        .unwrap();
    assert_eq!(db.store.leases().count(), 1);
}

pub async fn a_lapsed_lease_is_taken_over_and_fences_the_old_owner(db: &Db) {
    with_runs(db, 1).await;
    db.store
        .save_plan("r0", &[task("t1", &[])], "static", "x")
        .await
        .unwrap();
    let b = db.another().await;
    db.store
        .acquire_lease("r0", "A", TTL)
        .await
        .unwrap()
        .unwrap();
    db.store
        .append_events("r0", &[progress()], "t")
        .await
        .unwrap();
    lapse(db, "r0").await;
    let taken = b.take_orphaned_runs("B", TTL, 10, false).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!((taken[0].run.id.as_str(), taken[0].epoch), ("r0", 2));
    assert_eq!(taken[0].previous_owner.as_deref(), Some("A"));
    assert_eq!(taken[0].run.last_seq, 1);

    // A, paused past its lease, wakes up: not one of its writes lands.
    lost(db.store.append_events("r0", &[progress()], "t").await);
    let end = RunEnd {
        status: "completed".into(),
        finished_at: "t".into(),
        error: None,
    };
    lost(db.store.append_final("r0", &[progress()], "t", &end).await);
    lost(
        db.store
            .set_run_status("r0", "failed", None, None, Some("x"))
            .await,
    );
    lost(db.store.set_summary("r0", &json!({})).await);
    lost(
        db.store
            .set_run_analysis("r0", &json!({}), &json!({}))
            .await,
    );
    lost(
        db.store
            .save_plan("r0", &[task("evil", &[])], "llm", "x")
            .await,
    );
    let mut t1: TaskRecord = db.store.load_tasks("r0").await.unwrap().remove(0);
    t1.task.status = TaskStatus::Completed;
    lost(db.store.update_task("r0", &t1).await);
    let file = GeneratedFile {
        path: "x".into(),
        language: "text".into(),
        content: "x".into(),
        task_id: "t1".into(),
    };
    lost(db.store.save_files("r0", &[file]).await);
    // Its renewal tells it the run is gone, and it holds nothing any more.
    assert_eq!(db.store.renew_leases("A", TTL).await.unwrap(), ["r0"]);
    assert_eq!(db.store.leases().fence("r0"), None);

    let run = db.store.get_run("r0").await.unwrap().unwrap();
    assert_eq!(
        (run.status.as_str(), run.last_seq, run.summary),
        ("running", 1, None)
    );
    assert_eq!(
        db.store.load_tasks("r0").await.unwrap()[0].task.status,
        TaskStatus::Pending
    );
    assert!(db.store.list_files("r0").await.unwrap().is_empty());
    // The new owner goes on from the log's end.
    let next = b.append_events("r0", &[progress()], "t").await.unwrap();
    assert_eq!(next[0].seq, 2);
}

pub async fn a_released_lease_is_taken_at_once(db: &Db) {
    with_runs(db, 1).await;
    let b = db.another().await;
    db.store
        .acquire_lease("r0", "A", TTL)
        .await
        .unwrap()
        .unwrap();
    assert!(b
        .take_orphaned_runs("B", TTL, 10, false)
        .await
        .unwrap()
        .is_empty());
    db.store.release_lease("r0", "A").await.unwrap();
    assert_eq!(db.store.leases().count(), 0);
    let taken = b.take_orphaned_runs("B", TTL, 10, false).await.unwrap();
    assert_eq!(taken.len(), 1, "no wait for the lease to expire");
    // A release by an instance that no longer holds the run changes nothing.
    db.store.release_lease("r0", "A").await.unwrap();
    assert_eq!(
        b.acquire_lease("r0", "C", TTL).await.unwrap(),
        None,
        "B still holds it"
    );
}

pub async fn concurrent_sweepers_never_take_the_same_run(db: &Db) {
    with_runs(db, 40).await;
    let mut sweepers = Vec::new();
    for i in 0..4 {
        let store = db.another().await;
        sweepers.push(tokio::spawn(async move {
            let name = format!("S{i}");
            let mut mine = Vec::new();
            loop {
                let taken = store
                    .take_orphaned_runs(&name, TTL, 3, false)
                    .await
                    .unwrap();
                if taken.is_empty() {
                    break;
                }
                mine.extend(taken.into_iter().map(|t| t.run.id));
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for s in sweepers {
        all.extend(s.await.unwrap());
    }
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 40, "every run taken once: {all:?}");
    assert_eq!(distinct.len(), 40);
}

pub async fn a_forced_take_claims_live_leases_and_finished_runs_are_never_taken(db: &Db) {
    with_runs(db, 2).await;
    db.store
        .set_run_status("r1", "completed", None, None, None)
        .await
        .unwrap();
    let b = db.another().await;
    db.store
        .acquire_lease("r0", "old-process", TTL)
        .await
        .unwrap()
        .unwrap();
    assert!(b
        .take_orphaned_runs("new", TTL, 10, false)
        .await
        .unwrap()
        .is_empty());
    let taken = b.take_orphaned_runs("new", TTL, 10, true).await.unwrap();
    assert_eq!(
        taken.iter().map(|t| t.run.id.as_str()).collect::<Vec<_>>(),
        ["r0"]
    );
    assert_eq!(
        b.acquire_lease("r1", "new", TTL).await.unwrap(),
        None,
        "finished"
    );
    lost(db.store.append_events("r0", &[progress()], "t").await);
}

/// The shared queue: claimed in order (premium first, then oldest), each run once; queued runs
/// are told their places once per change; a queued run nobody drives can be cancelled, one
/// that is driven cannot.
pub async fn the_shared_queue_hands_out_runs_in_order_and_reports_places(db: &Db) {
    use super::{project, run_record, user};
    use youmeyou::server::limits::Tier;
    user(db, "free").await;
    user(db, "rich").await;
    db.store
        .set_tier("rich@example.com", Tier::Premium)
        .await
        .unwrap();
    for (id, owner, at) in [
        ("q1", "free", "2026-01-01T00:00:01.000Z"),
        ("q2", "free", "2026-01-01T00:00:02.000Z"),
        ("q3", "rich", "2026-01-01T00:00:03.000Z"),
        ("q4", "free", "2026-01-01T00:00:04.000Z"),
    ] {
        project(db, &format!("p-{id}"), owner).await;
        db.store
            .create_run(&run_record(id, &format!("p-{id}"), owner, "queued", at))
            .await
            .unwrap();
    }
    let told = db.store.report_queue("t", 30.0, 2).await.unwrap();
    let places: Vec<(String, u64, u64)> = told
        .iter()
        .map(|(_, e)| {
            (
                e.run_id.clone(),
                e.data["position"].as_u64().unwrap(),
                e.data["queueLength"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        places,
        [
            ("q3".into(), 1, 4),
            ("q1".into(), 2, 4),
            ("q2".into(), 3, 4),
            ("q4".into(), 4, 4)
        ],
        "premium first, then oldest"
    );
    assert_eq!(told[0].1.data["estimatedWait"], 30.0);
    assert!(
        db.store
            .report_queue("t", 30.0, 2)
            .await
            .unwrap()
            .is_empty(),
        "each place is told once"
    );

    let b = db.another().await;
    let first = db.store.claim_queued("A", TTL).await.unwrap().unwrap();
    let second = b.claim_queued("B", TTL).await.unwrap().unwrap();
    assert_eq!(
        (first.run.id.as_str(), second.run.id.as_str()),
        ("q3", "q1")
    );
    assert_eq!(db.store.leases().fence("q3"), Some(first.epoch));
    // The places move up; claimed runs are no longer in the queue.
    let moved: Vec<(String, u64)> = db
        .store
        .report_queue("t", 30.0, 2)
        .await
        .unwrap()
        .iter()
        .map(|(_, e)| (e.run_id.clone(), e.data["position"].as_u64().unwrap()))
        .collect();
    assert_eq!(moved, [("q2".to_string(), 1), ("q4".to_string(), 2)]);
    // Cancel: a queued run nobody drives yes, a claimed one no.
    assert!(db.store.cancel_queued("q1", "t").await.unwrap().is_none());
    let cancelled = db.store.cancel_queued("q4", "t").await.unwrap().unwrap();
    assert_eq!(cancelled[0].kind, EventType::RunCancelled);
    assert_eq!(cancelled[0].seq, db.store.last_seq("q4").await.unwrap());
    assert_eq!(
        db.store.get_run("q4").await.unwrap().unwrap().status,
        "cancelled"
    );
    // Not handed to the sweepers: started runs only.
    assert!(b
        .take_orphaned_runs("B", TTL, 10, true)
        .await
        .unwrap()
        .iter()
        .all(|t| t.run.status != "queued"));
    assert_eq!(
        db.store
            .claim_queued("C", TTL)
            .await
            .unwrap()
            .unwrap()
            .run
            .id,
        "q2"
    );
    assert!(db.store.claim_queued("C", TTL).await.unwrap().is_none());
}
