//! The files panel: the tree of a run's generated files and a viewer with syntax
//! highlighting, copy to clipboard, download of one file and of all files as a zip. File
//! links are real URLs (`?file=path`), so with JavaScript off the server renders the viewer;
//! hydrated, a click opens the file in place. File content is only ever rendered as text.

pub mod highlight;
pub mod tree;

use crate::app::codec::JsonResource;
use crate::app::data::file_text;
use crate::components::run::model::FileEntry;
use crate::components::run::words;
use highlight::{lines, Lang};
use leptos::prelude::*;

/// Lines shown at most; larger files are downloaded instead.
pub const MAX_VIEW_LINES: usize = 3000;

/// `base?file=path` (the page's own URL with the file selected).
pub fn file_href(base: &str, path: &str) -> String {
    format!("{base}?tab=files&file={}", tree::encode_segment(path))
}

#[component]
pub fn FilesPanel(
    #[prop(into)] run_id: Signal<Option<String>>,
    #[prop(into)] files: Signal<Vec<FileEntry>>,
    selected: RwSignal<Option<String>>,
    /// The page URL without query (`/projects/{id}`).
    base: String,
) -> impl IntoView {
    let collapsed = RwSignal::new(Vec::<String>::new());
    let rows = Memo::new(move |_| files.with(|f| tree::rows(f, &collapsed.get())));
    let count = move || files.with(Vec::len);
    let zip = move || {
        run_id
            .get()
            .map(|id| format!("/api/runs/{}/archive.zip", tree::encode_segment(&id)))
    };
    view! {
        <section class="files" aria-label="Generated files" data-testid="files-panel">
            <header class="files__toolbar">
                <span class="files__count" data-testid="files-count">
                    {move || match count() {
                        0 => "No files yet".to_string(),
                        1 => "1 file".to_string(),
                        n => format!("{n} files"),
                    }}
                </span>
                <Show when=move || { zip().is_some() && count() > 0 }>
                    <a class="btn btn--ghost btn--small" href=zip download="" data-testid="download-zip">
                        "Download all (.zip)"
                    </a>
                </Show>
            </header>
            <ul class="files__tree" role="tree" aria-label="Files" data-testid="file-tree">
                <For
                    each=move || rows.get()
                    key=|row| (row.path.clone(), row.is_dir)
                    children=move |row| {
                        let indent = format!("--depth: {}", row.depth);
                        if row.is_dir {
                            let path = row.path.clone();
                            let path_for_state = path.clone();
                            let open = Memo::new(move |_| !collapsed.with(|c| c.contains(&path_for_state)));
                            view! {
                                <li class="tree-row tree-row--dir" role="treeitem" aria-expanded=move || open.get().to_string() style=indent>
                                    <button
                                        type="button"
                                        class="tree-row__dir"
                                        on:click=move |_| {
                                            let p = path.clone();
                                            collapsed.update(|c| {
                                                if let Some(i) = c.iter().position(|x| *x == p) {
                                                    c.remove(i);
                                                } else {
                                                    c.push(p);
                                                }
                                            });
                                        }
                                    >
                                        <span class="tree-row__icon" aria-hidden="true">{move || if open.get() { "▾" } else { "▸" }}</span>
                                        {row.name.clone()}
                                    </button>
                                </li>
                            }
                                .into_any()
                        } else {
                            let path = row.path.clone();
                            let href = file_href(&base, &row.path);
                            let is_selected = Memo::new({
                                let path = path.clone();
                                move |_| selected.with(|s| s.as_deref() == Some(path.as_str()))
                            });
                            view! {
                                <li class="tree-row tree-row--file" role="treeitem" style=indent aria-selected=move || is_selected.get().to_string()>
                                    <a
                                        class="tree-row__file"
                                        class:tree-row__file--selected=is_selected
                                        href=href
                                        data-testid="file-link"
                                        data-path=row.path.clone()
                                        on:click=move |ev| {
                                            ev.prevent_default();
                                            selected.set(Some(path.clone()));
                                        }
                                    >
                                        <span class="tree-row__name">{row.name.clone()}</span>
                                        <span class="tree-row__size muted">{words::bytes(row.bytes)}</span>
                                    </a>
                                </li>
                            }
                                .into_any()
                        }
                    }
                />
            </ul>
        </section>
    }
    .into_any()
}

/// Copies `text` to the clipboard (hydrated pages only); `true` when the browser accepted.
#[cfg(feature = "hydrate")]
async fn copy_to_clipboard(text: String) -> bool {
    use wasm_bindgen::JsCast;
    let Some(window) = web_sys::window() else {
        return false;
    };
    let navigator = window.navigator();
    let Ok(clipboard) = js_sys::Reflect::get(&navigator, &"clipboard".into()) else {
        return false;
    };
    let Ok(write) = js_sys::Reflect::get(&clipboard, &"writeText".into()) else {
        return false;
    };
    let Some(write) = write.dyn_ref::<js_sys::Function>() else {
        return false;
    };
    let Ok(promise) = write.call1(&clipboard, &text.into()) else {
        return false;
    };
    let Ok(promise) = promise.dyn_into::<js_sys::Promise>() else {
        return false;
    };
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}

#[component]
pub fn FileViewer(
    #[prop(into)] run_id: Signal<Option<String>>,
    selected: RwSignal<Option<String>>,
    #[prop(into)] files: Signal<Vec<FileEntry>>,
    /// Where "Close" leads with JavaScript off.
    close_href: String,
) -> impl IntoView {
    let content = JsonResource::<Option<String>>::new(
        move || serde_json::json!([run_id.get(), selected.get()]),
        |key| async move {
            match (key[0].as_str(), key[1].as_str()) {
                (Some(run), Some(path)) => file_text(run.to_string(), path.to_string()).await,
                _ => Ok(serde_json::Value::Null),
            }
        },
    );
    let entry = Memo::new(move |_| {
        let path = selected.get()?;
        files.with(|f| f.iter().find(|e| e.path == path).cloned())
    });
    let copied = RwSignal::new(false);
    let download = move || {
        run_id
            .get()
            .zip(selected.get())
            .map(|(r, p)| tree::file_url(&r, &p))
    };
    let on_copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let text = content.get_untracked().and_then(|r| r.ok()).flatten();
            if let Some(text) = text {
                leptos::task::spawn_local(async move {
                    if copy_to_clipboard(text).await {
                        copied.set(true);
                        // Without a timer the "Copied" mark stays; the copy itself worked.
                        crate::components::later::after(
                            std::time::Duration::from_millis(2000),
                            move || {
                                copied.try_set(false);
                            },
                        );
                    }
                });
            }
        }
    };
    view! {
        <Show when=move || selected.with(Option::is_some)>
            <section class="viewer card" aria-label="File viewer" data-testid="file-viewer">
                <header class="viewer__header">
                    <div class="viewer__title">
                        <span class="viewer__path" data-testid="viewer-path">{move || selected.get().unwrap_or_default()}</span>
                        <span class="viewer__meta muted">
                            {move || {
                                entry
                                    .get()
                                    .map(|e| format!("{} · {}", if e.language.is_empty() { "text".to_string() } else { e.language.clone() }, words::bytes(e.bytes)))
                                    .unwrap_or_default()
                            }}
                        </span>
                    </div>
                    <div class="viewer__actions">
                        <button type="button" class="btn btn--ghost btn--small" on:click=on_copy data-testid="copy-file">
                            {move || if copied.get() { "Copied ✓" } else { "Copy" }}
                        </button>
                        <a class="btn btn--ghost btn--small" href=download download="" data-testid="download-file">"Download"</a>
                        <a
                            class="btn btn--ghost btn--small"
                            href=close_href.clone()
                            aria-label="Close the file"
                            data-testid="close-file"
                            on:click=move |ev| {
                                ev.prevent_default();
                                selected.set(None);
                            }
                        >
                            "Close"
                        </a>
                    </div>
                </header>
                <Suspense fallback=|| view! { <p class="viewer__loading muted">"Loading…"</p> }>
                    {move || {
                        let lang = entry
                            .get()
                            .map(|e| Lang::detect(&e.language, &e.path))
                            .or_else(|| selected.get().map(|p| Lang::detect("", &p)))
                            .unwrap_or(Lang::Plain);
                        content
                            .get()
                            .map(|answer| match answer {
                                Ok(Some(text)) => view! { <Code text lang/> }.into_any(),
                                Ok(None) => ().into_any(),
                                Err(e) => {
                                    view! {
                                        <p class="form-error" role="alert">
                                            {format!("The file could not be loaded: {e}")}
                                        </p>
                                    }
                                        .into_any()
                                }
                            })
                    }}
                </Suspense>
            </section>
        </Show>
    }
    .into_any()
}

/// Highlighted, numbered code. Each token is a text node: nothing is parsed as HTML.
#[component]
pub fn Code(text: String, lang: Lang) -> impl IntoView {
    let all = lines(&text, lang);
    let total = all.len();
    let shown: Vec<_> = all.into_iter().take(MAX_VIEW_LINES).collect();
    view! {
        <pre class="code" data-testid="file-content" data-lines=total><code>
            {shown
                .into_iter()
                .enumerate()
                .map(|(i, tokens)| {
                    view! {
                        <span class="code__line">
                            <span class="code__ln" aria-hidden="true">{i + 1}</span>
                            <span class="code__text">
                                {tokens
                                    .into_iter()
                                    .map(|(tok, s)| view! { <span class=tok.class()>{s}</span> })
                                    .collect_view()}
                            </span>
                        </span>
                    }
                })
                .collect_view()}
        </code></pre>
        <Show when=move || { total > MAX_VIEW_LINES }>
            <p class="muted viewer__more">{format!("Showing the first {MAX_VIEW_LINES} of {total} lines; download the file to see all of it.")}</p>
        </Show>
    }
    .into_any()
}
