//! The plan views of a run: `PlanDag` (tasks as cards in dependency layers),
//! `PlanTimeline` (estimated vs actual, lanes, critical path) and `TaskDetails` (the selected
//! task). The page owns the data (`TaskView`s built from the snapshot and the events), the
//! selection and the clock; these components only draw and report clicks. Layout and
//! timeline maths live in `model` (pure, unit-tested).

mod card;
mod dag;
mod details;
pub mod model;
mod timeline;

pub use dag::PlanDag;
pub use details::TaskDetails;
pub use model::{IterationView, TaskView};
pub use timeline::PlanTimeline;

use leptos::prelude::*;
use model::{dag_layout, DagLayout, PlanShape, TaskStatus};
use std::collections::HashMap;

/// Reactive state shared by one plan view's parts (all `Copy` handles).
#[derive(Clone, Copy)]
pub(crate) struct PlanState {
    pub tasks: Signal<Vec<TaskView>>,
    /// Task id → position in `tasks`.
    pub index: Memo<HashMap<String, usize>>,
    /// Task id → (name, status), for "waiting for" lines and edge colours.
    pub names: Memo<HashMap<String, (String, TaskStatus)>>,
    /// Recomputed only when ids, dependencies or estimates change.
    pub layout: Memo<DagLayout>,
    pub selected: RwSignal<Option<String>>,
    pub on_edit: Option<Callback<String>>,
    pub now_ms: Signal<f64>,
    /// False during SSR and the first client render: clock-based values wait for it.
    pub mounted: RwSignal<bool>,
}

impl PlanState {
    pub fn new(
        tasks: Signal<Vec<TaskView>>,
        selected: RwSignal<Option<String>>,
        on_edit: Option<Callback<String>>,
        now_ms: Signal<f64>,
    ) -> Self {
        let index = Memo::new(move |_| {
            tasks.with(|t| {
                let mut index = HashMap::with_capacity(t.len());
                for (i, task) in t.iter().enumerate() {
                    index.entry(task.id.clone()).or_insert(i);
                }
                index
            })
        });
        let names = Memo::new(move |_| {
            tasks.with(|t| {
                t.iter()
                    .map(|t| (t.id.clone(), (t.name.clone(), t.status)))
                    .collect()
            })
        });
        let shapes =
            Memo::new(move |_| tasks.with(|t| t.iter().map(PlanShape::from).collect::<Vec<_>>()));
        let layout = Memo::new(move |_| shapes.with(|s| dag_layout(s)));
        let mounted = RwSignal::new(false);
        Effect::new(move |_| mounted.set(true));
        Self {
            tasks,
            index,
            names,
            layout,
            selected,
            on_edit,
            now_ms,
            mounted,
        }
    }

    /// The live view of one task; notifies only when that task changed.
    pub fn task_memo(&self, id: String) -> Memo<Option<TaskView>> {
        let (index, tasks) = (self.index, self.tasks);
        Memo::new(move |_| {
            let i = index.with(|ix| ix.get(&id).copied())?;
            tasks.with(|t| t.get(i).cloned())
        })
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::model::tests::{example_1, example_3_at_60s};
    use super::*;

    fn render(f: impl FnOnce() -> String) -> String {
        let owner = Owner::new();
        owner.with(f)
    }

    #[test]
    fn the_plan_dag_renders_example_1_on_the_server() {
        let html = render(|| {
            let tasks = Signal::stored(example_1());
            view! { <PlanDag tasks=tasks on_edit=|_id: String| {}/> }.to_html()
        });
        for t in example_1() {
            let name = t.name.replace('&', "&amp;");
            assert!(html.contains(&name), "missing {name} in {html}");
            assert!(html.contains(&format!("data-task-id=\"{}\"", t.id)));
        }
        assert!(
            html.contains("Step 1 · 2 in parallel"),
            "task_1 and task_7 together"
        );
        assert_eq!(
            html.matches("marker-end=\"url(#plan-dag-arrow)\"").count(),
            10
        );
        // Every task is pending: each has its Edit step button.
        assert_eq!(html.matches("data-testid=\"edit-step\"").count(), 8);
    }

    #[test]
    fn cards_show_status_progress_duration_and_modifications() {
        let html = render(|| {
            let tasks = Signal::stored(example_3_at_60s(1_700_000_000_000.0));
            view! { <PlanDag tasks=tasks on_edit=|_id: String| {}/> }.to_html()
        });
        assert!(html.contains("Designing user and product schemas..."));
        assert!(html.contains("Completed in 45s"));
        assert!(html.contains("modified ×1"));
        assert!(html.contains("Waiting for Database Schema Design"));
        assert!(html.contains("pcard--running") && html.contains("pcard--completed"));
        // Completed tasks cannot be edited: 6 pending/running buttons remain.
        assert_eq!(html.matches("data-testid=\"edit-step\"").count(), 6);
    }

    #[test]
    fn the_timeline_and_details_render_on_the_server() {
        let html = render(|| {
            let tasks = Signal::stored(example_3_at_60s(1_700_000_000_000.0));
            view! { <PlanTimeline tasks=tasks/> }.to_html()
        });
        for t in example_1() {
            assert!(
                html.contains(&t.name.replace('&', "&amp;")),
                "missing {}",
                t.name
            );
        }
        assert!(html.contains("is-critical"));
        assert!(html.contains("3m 30s"), "axis reaches 210 s: {html}");

        let html = render(|| {
            let tasks = Signal::stored(example_3_at_60s(1_700_000_000_000.0));
            let selected = RwSignal::new(Some("task_7".to_string()));
            view! { <TaskDetails tasks=tasks selected=selected on_open_file=|_p: String| {}/> }
                .to_html()
        });
        assert!(html.contains("Frontend React Components"));
        assert!(html.contains("Generate the Frontend React Components."));
        assert!(html.contains("frontend/src/App.tsx"));
        assert!(html.contains("basic structure"));
        assert!(
            !html.contains("details-edit-step"),
            "a completed task is not editable"
        );
    }
}
