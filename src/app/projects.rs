//! The projects page: the user's system designs, each with its latest run's status; create,
//! open, rename and delete (after a confirmation). Every action is a plain form posting to a
//! server function, so the page works with JavaScript off; hydrated, the list refreshes in
//! place. Signed-out visitors are sent to the sign-in page.

use super::codec::JsonResource;
use super::data::{
    error_words, list_projects, CreateProject, DeleteProject, ProjectItem, RenameProject,
};
use super::form::{FormState, PostForm};
use crate::components::run::model::RunPhase;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

/// "2025-01-02T10:11:12.000Z" → "2025-01-02 10:11" (UTC), without a clock or a locale.
pub fn short_time(iso: &str) -> String {
    match (iso.get(0..10), iso.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => iso.to_string(),
    }
}

fn status_badge(status: &str) -> (String, String) {
    match RunPhase::parse(status) {
        Some(phase) => (phase.as_str().to_string(), phase.label().to_string()),
        None => ("none".to_string(), "No runs yet".to_string()),
    }
}

#[component]
pub fn ProjectsPage() -> impl IntoView {
    let create = FormState::new();
    let rename = FormState::new();
    let delete = FormState::new();
    let projects = JsonResource::<Vec<ProjectItem>>::new(
        move || serde_json::json!([rename.answers(), delete.answers()]),
        |_| list_projects(),
    );
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(to) = create.answer().filter(|o| o.ok).and_then(|o| o.location) {
            navigate(&to, Default::default());
        }
    });
    let query = use_query_map();
    let error = Signal::derive(move || {
        create
            .failure()
            .or_else(|| rename.failure())
            .or_else(|| delete.failure())
            .or_else(|| query.with(|q| q.get("error")).map(|c| error_words(&c, "")))
    });
    view! {
        <Title text="Your projects — YouMeYou"/>
        <section class="page" aria-labelledby="projects-title">
            <header class="page__header">
                <h1 id="projects-title">"Your projects"</h1>
                <p class="muted">
                    "Each project is a canvas of your system's architecture. Describe what to build or change, and watch the plan run."
                </p>
            </header>
            <PostForm action=CreateProject::PATH state=create class="card create-project" testid="create-project">
                <label class="field field--inline">
                    <span class="field__label">"New project"</span>
                    <input
                        type="text"
                        name="name"
                        required
                        maxlength="100"
                        placeholder="e.g. E-commerce platform"
                        data-testid="project-name"
                    />
                </label>
                <button type="submit" class="btn" disabled=move || create.pending() data-testid="create-project-submit">
                    "Create project"
                </button>
            </PostForm>
            <p class="form-error" role="alert" data-testid="projects-error">{move || error.get().unwrap_or_default()}</p>
            <Suspense fallback=|| view! { <div class="project-list project-list--loading" aria-busy="true"></div> }>
                {move || {
                    projects
                        .get()
                        .map(|answer| match answer {
                            Ok(list) if list.is_empty() => view! { <EmptyProjects/> }.into_any(),
                            Ok(list) => view! { <ProjectList list rename delete/> }.into_any(),
                            Err(e) => {
                                view! {
                                    <p class="form-error" role="alert">{error_words("", &e.to_string())}</p>
                                }
                                    .into_any()
                            }
                        })
                }}
            </Suspense>
        </section>
    }
}

#[component]
fn EmptyProjects() -> impl IntoView {
    view! {
        <div class="empty-state card" data-testid="projects-empty">
            <svg class="empty-state__art" viewBox="0 0 120 64" aria-hidden="true">
                <rect x="4" y="20" width="30" height="24" rx="5"/>
                <rect x="86" y="6" width="30" height="24" rx="5"/>
                <rect x="86" y="36" width="30" height="24" rx="5"/>
                <path d="M34 32 H60 V18 H86 M60 32 V48 H86"/>
            </svg>
            <h2>"No projects yet"</h2>
            <p class="muted">"Create one above, then start with a prompt such as “Build a complete e-commerce platform with auth, catalog, cart and payments”."</p>
        </div>
    }
}

#[component]
fn ProjectList(list: Vec<ProjectItem>, rename: FormState, delete: FormState) -> impl IntoView {
    view! {
        <ul class="project-list" data-testid="project-list">
            {list
                .into_iter()
                .map(|p| view! { <ProjectRow project=p rename delete/> })
                .collect_view()}
        </ul>
    }
}

#[component]
fn ProjectRow(project: ProjectItem, rename: FormState, delete: FormState) -> impl IntoView {
    let (status_key, status_label) = project
        .last_run
        .as_ref()
        .map(|r| status_badge(&r.status))
        .unwrap_or_else(|| status_badge(""));
    let href = format!("/projects/{}", project.id);
    let id = project.id.clone();
    let rename_target = project.id.clone();
    let delete_target = project.id.clone();
    let name = project.name.clone();
    let rename_value = project.name.clone();
    let confirm = format!(
        "Delete “{}” and all its runs and files? This cannot be undone.",
        project.name
    );
    let nodes = project.node_count;
    let updated = short_time(&project.updated_at);
    let rename_id = format!("rename-{}", project.id);
    view! {
        <li class="project-row card" data-testid="project-row" data-project-id=id>
            <div class="project-row__main">
                <a class="project-row__name" href=href.clone() data-testid="project-open">{name}</a>
                <span class="project-row__meta muted">
                    {format!("{nodes} component{} · updated {updated}", if nodes == 1 { "" } else { "s" })}
                </span>
            </div>
            <span class=format!("badge badge--{status_key}") data-testid="project-status" data-status=status_key.clone()>
                {status_label}
            </span>
            <div class="project-row__actions">
                <a class="btn btn--ghost" href=href>"Open"</a>
                <details class="disclosure">
                    <summary class="btn btn--ghost" data-testid="project-rename">"Rename"</summary>
                    <PostForm action=RenameProject::PATH state=rename class="disclosure__panel card">
                        <input type="hidden" name="id" value=rename_target/>
                        <label class="field" for=rename_id.clone()>
                            <span class="field__label">"New name"</span>
                        </label>
                        <input
                            id=rename_id
                            type="text"
                            name="name"
                            required
                            maxlength="100"
                            value=rename_value
                            data-testid="rename-input"
                        />
                        <button type="submit" class="btn" data-testid="rename-submit">"Save name"</button>
                    </PostForm>
                </details>
                <details class="disclosure">
                    <summary class="btn btn--ghost btn--danger-text" data-testid="project-delete">"Delete"</summary>
                    <PostForm action=DeleteProject::PATH state=delete class="disclosure__panel card" role="alertdialog" label="Confirm deletion">
                        <input type="hidden" name="id" value=delete_target/>
                        <p>{confirm}</p>
                        <button type="submit" class="btn btn--danger" data-testid="delete-confirm">"Yes, delete it"</button>
                    </PostForm>
                </details>
            </div>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_short_and_stable() {
        assert_eq!(
            short_time("2025-01-02T10:11:12.000Z"),
            "2025-01-02 10:11 UTC"
        );
        assert_eq!(short_time("bad"), "bad");
    }

    #[test]
    fn badges_name_the_run_state() {
        assert_eq!(
            status_badge("running"),
            ("running".into(), "Running".into())
        );
        assert_eq!(status_badge(""), ("none".into(), "No runs yet".into()));
    }
}
