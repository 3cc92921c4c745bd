use super::{project, run_record, task, user, with_runs, Db, T0};
use serde_json::json;
use youmeyou::server::store::runs::TaskRecord;
use youmeyou_core::model::{GeneratedFile, Modification, TaskStatus};

pub async fn a_run_round_trips_with_analysis_status_and_summary(db: &Db) {
    user(db, "u").await;
    project(db, "p", "u").await;
    let record = run_record("r", "p", "u", "queued", T0);
    db.store.create_run(&record).await.unwrap();
    assert_eq!(db.store.get_run("r").await.unwrap().unwrap(), record);
    let r = db.store.run_ref("r").await.unwrap().unwrap();
    assert_eq!(
        (
            r.project_id.as_str(),
            r.owner_id.as_str(),
            r.status.as_str()
        ),
        ("p", "u", "queued")
    );
    assert_eq!(db.store.run_ref("nope").await.unwrap(), None);

    db.store
        .set_run_analysis("r", &json!({"kind": "create"}), &json!({"n": 1}))
        .await
        .unwrap();
    db.store
        .set_run_status("r", "running", Some("2026-01-01T00:00:01.000Z"), None, None)
        .await
        .unwrap();
    db.store
        .set_run_status(
            "r",
            "failed",
            None,
            Some("2026-01-01T00:00:09.000Z"),
            Some("boom"),
        )
        .await
        .unwrap();
    // Later statuses keep earlier times and errors (COALESCE).
    db.store
        .set_run_status("r", "completed", None, None, None)
        .await
        .unwrap();
    db.store
        .set_summary("r", &json!({"ok": true}))
        .await
        .unwrap();
    let got = db.store.get_run("r").await.unwrap().unwrap();
    assert_eq!(got.intent, Some(json!({"kind": "create"})));
    assert_eq!(got.context, Some(json!({"n": 1})));
    assert_eq!(got.status, "completed");
    assert_eq!(got.started_at.as_deref(), Some("2026-01-01T00:00:01.000Z"));
    assert_eq!(got.finished_at.as_deref(), Some("2026-01-01T00:00:09.000Z"));
    assert_eq!(got.error.as_deref(), Some("boom"));
    assert_eq!(got.summary, Some(json!({"ok": true})));
}

pub async fn plans_tasks_files_and_modifications_round_trip(db: &Db) {
    with_runs(db, 1).await;
    let tasks = vec![task("t1", &[]), task("t2", &["t1"]), task("t3", &["t1"])];
    db.store
        .save_plan("r0", &tasks, "static", "a template matched")
        .await
        .unwrap();
    let run = db.store.get_run("r0").await.unwrap().unwrap();
    assert_eq!(
        (run.path.as_deref(), run.path_reason.as_deref()),
        (Some("static"), Some("a template matched"))
    );
    let loaded = db.store.load_tasks("r0").await.unwrap();
    assert_eq!(
        loaded
            .iter()
            .map(|t| t.task.id.as_str())
            .collect::<Vec<_>>(),
        ["t1", "t2", "t3"]
    );
    assert!(loaded
        .iter()
        .all(|t| t.task.status == TaskStatus::Pending && t.attempts == 0));

    let mut t2 = loaded[1].clone();
    t2.task.status = TaskStatus::Completed;
    t2.task.started_at = Some("2026-01-01T00:00:01.000Z".into());
    t2.task.finished_at = Some("2026-01-01T00:00:02.000Z".into());
    t2.task.modification_count = 2;
    t2.attempts = 3;
    t2.error = Some("first attempt timed out".into());
    t2.output = Some(serde_json::from_value(json!({"summary": "done"})).unwrap());
    db.store.update_task("r0", &t2).await.unwrap();
    let again = db.store.load_tasks("r0").await.unwrap();
    assert_eq!(again[1], TaskRecord { position: 1, ..t2 });

    // A new plan replaces the old one.
    db.store
        .save_plan("r0", &[task("only", &[])], "llm", "open request")
        .await
        .unwrap();
    assert_eq!(db.store.load_tasks("r0").await.unwrap().len(), 1);

    let file = |path: &str, content: &str| GeneratedFile {
        path: path.into(),
        language: "yaml".into(),
        content: content.into(),
        task_id: "t1".into(),
    };
    db.store
        .save_files("r0", &[file("b.yml", "b: 1"), file("a.yml", "a: 1")])
        .await
        .unwrap();
    db.store
        .save_files("r0", &[file("a.yml", "a: 22")])
        .await
        .unwrap();
    let metas = db.store.list_files("r0").await.unwrap();
    assert_eq!(
        metas
            .iter()
            .map(|m| (m.path.as_str(), m.bytes))
            .collect::<Vec<_>>(),
        [("a.yml", 5), ("b.yml", 4)]
    );
    assert_eq!(
        db.store
            .get_file("r0", "a.yml")
            .await
            .unwrap()
            .unwrap()
            .content,
        "a: 22"
    );
    assert_eq!(db.store.get_file("r0", "c.yml").await.unwrap(), None);
    assert_eq!(db.store.all_files("r0").await.unwrap().len(), 2);

    for (id, ts) in [
        ("m2", "2026-01-01T00:00:02.000Z"),
        ("m1", "2026-01-01T00:00:01.000Z"),
    ] {
        let m = Modification {
            id: id.into(),
            task_id: "t1".into(),
            timestamp: ts.into(),
            change: format!("change {id}"),
            old_prompt: "old".into(),
            new_prompt: "new".into(),
            affected_tasks: vec![],
        };
        db.store.add_modification("r0", &m).await.unwrap();
    }
    let ids: Vec<String> = db
        .store
        .list_modifications("r0")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["m1", "m2"], "in time order");
}

pub async fn unfinished_active_and_recent_runs(db: &Db) {
    user(db, "u").await;
    project(db, "p", "u").await;
    project(db, "q", "u").await;
    let runs = [
        ("done", "p", "completed", "2026-01-01T00:00:01.000Z"),
        ("queued", "p", "queued", "2026-01-01T00:00:02.000Z"),
        ("planning", "q", "planning", "2026-01-01T00:00:00.500Z"),
        ("gone", "q", "cancelled", "2026-01-01T00:00:03.000Z"),
    ];
    for (id, p, status, at) in runs {
        db.store
            .create_run(&run_record(id, p, "u", status, at))
            .await
            .unwrap();
    }
    let unfinished: Vec<String> = db
        .store
        .unfinished_runs()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(unfinished, ["planning", "queued"], "oldest first");
    assert_eq!(
        db.store
            .active_run_of_project("p")
            .await
            .unwrap()
            .as_deref(),
        Some("queued")
    );
    assert_eq!(
        db.store
            .active_run_of_project("q")
            .await
            .unwrap()
            .as_deref(),
        Some("planning")
    );
    db.store
        .set_run_status(
            "done",
            "completed",
            Some("2026-01-01T00:00:00.000Z"),
            Some("2026-01-01T00:01:30.000Z"),
            None,
        )
        .await
        .unwrap();
    let durations = db.store.recent_run_durations(10).await.unwrap();
    assert_eq!(durations.len(), 1);
    assert!((durations[0] - 90.0).abs() < 0.01, "{durations:?}");
}

pub async fn admission_counts_active_and_daily_runs_in_the_database(db: &Db) {
    use youmeyou::server::store::runs::RunAdmission;
    user(db, "u").await;
    for p in ["p1", "p2", "p3", "p4"] {
        project(db, p, "u").await;
    }
    let at = "2026-01-02T10:00:00.000Z";
    let admit = |id: &str, p: &str| run_record(id, p, "u", "queued", at);
    assert_eq!(
        db.store
            .admit_run(&admit("a", "p1"), 2, 3, "2026-01-02")
            .await
            .unwrap(),
        RunAdmission::Created
    );
    assert_eq!(
        db.store
            .admit_run(&admit("b", "p1"), 2, 3, "2026-01-02")
            .await
            .unwrap(),
        RunAdmission::ProjectBusy { run_id: "a".into() }
    );
    assert_eq!(
        db.store
            .admit_run(&admit("c", "p2"), 2, 3, "2026-01-02")
            .await
            .unwrap(),
        RunAdmission::Created
    );
    assert_eq!(
        db.store
            .admit_run(&admit("d", "p3"), 2, 3, "2026-01-02")
            .await
            .unwrap(),
        RunAdmission::ConcurrentLimit { active: 2 }
    );
    db.store
        .set_run_status("a", "completed", None, None, None)
        .await
        .unwrap();
    assert_eq!(
        db.store
            .admit_run(&admit("e", "p3"), 2, 3, "2026-01-02")
            .await
            .unwrap(),
        RunAdmission::Created
    );
    db.store
        .set_run_status("c", "failed", None, None, None)
        .await
        .unwrap();
    assert_eq!(
        db.store
            .admit_run(&admit("f", "p4"), 2, 3, "2026-01-02")
            .await
            .unwrap(),
        RunAdmission::DailyLimit { started: 3 }
    );
    // Concurrent admissions of one owner (as from several instances) never exceed the limit.
    user(db, "w").await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        project(db, &format!("w{i}"), "w").await;
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            let r = run_record(&format!("w-run{i}"), &format!("w{i}"), "w", "queued", at);
            store.admit_run(&r, 3, 100, "2026-01-02").await.unwrap()
        }));
    }
    let mut created = 0;
    for t in tasks {
        if t.await.unwrap() == RunAdmission::Created {
            created += 1;
        }
    }
    assert_eq!(created, 3);
}

/// Commands for a run's owner: each pending command is taken once, its answer read once; a
/// command nobody took can be withdrawn, a taken one cannot.
pub async fn owner_commands_are_taken_once_and_answered_once(db: &Db) {
    use youmeyou::server::store::commands::StoredCommand;
    with_runs(db, 2).await;
    let command = |id: &str, run: &str| StoredCommand {
        id: id.into(),
        run_id: run.into(),
        body: format!("{{\"kind\":\"cancel\",\"n\":\"{id}\"}}"),
    };
    db.store
        .enqueue_command(&command("c1", "r0"), "2026-01-01T00:00:01.000Z")
        .await
        .unwrap();
    db.store
        .enqueue_command(&command("c2", "r0"), "2026-01-01T00:00:02.000Z")
        .await
        .unwrap();
    db.store
        .enqueue_command(&command("c3", "r1"), "2026-01-01T00:00:03.000Z")
        .await
        .unwrap();
    db.store
        .enqueue_command(&command("c4", "r1"), "2026-01-01T00:00:04.000Z")
        .await
        .unwrap();
    let b = db.another().await;
    let r0 = ["r0".to_string()];
    let (mine, theirs) = tokio::join!(db.store.take_commands(&r0, "A"), b.take_commands(&r0, "B"));
    let mut taken: Vec<String> = mine
        .unwrap()
        .into_iter()
        .chain(theirs.unwrap())
        .map(|c| c.id)
        .collect();
    taken.sort();
    assert_eq!(taken, ["c1", "c2"], "each taken once");
    assert!(db
        .store
        .take_commands(&["r0".to_string()], "A")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        db.store.take_command_result("c1").await.unwrap(),
        None,
        "not answered yet"
    );
    assert!(
        !db.store.withdraw_command("c1").await.unwrap(),
        "taken: cannot be withdrawn"
    );
    db.store
        .finish_command("c1", "{\"status\":202}")
        .await
        .unwrap();
    assert_eq!(
        db.store.take_command_result("c1").await.unwrap().as_deref(),
        Some("{\"status\":202}")
    );
    assert_eq!(
        db.store.take_command_result("c1").await.unwrap(),
        None,
        "read once"
    );
    assert!(db.store.withdraw_command("c3").await.unwrap());
    let left = db
        .store
        .take_commands(&["r1".to_string()], "A")
        .await
        .unwrap();
    assert_eq!(
        left.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["c4"]
    );
    assert_eq!(left[0].body, command("c4", "r1").body);
}
