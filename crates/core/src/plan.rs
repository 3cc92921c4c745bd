//! Plan validation and parsing: the rules a task list must satisfy before the scheduler may run
//! it, and a tolerant reader for the plans an LLM writes. Owns the limits below; the graph
//! algorithms live in `dag`, impact analysis in `impact`. Pure: no IO, no clock.

use crate::dag;
use crate::model::{Plan, Task};
use std::collections::HashMap;
use std::fmt;
use std::ops::ControlFlow;
use thiserror::Error;

/// Most tasks one plan may hold. The DAG algorithms are linear, so this bounds the work an
/// LLM reply can cause (and the size of a run snapshot). A tier may lower it per call with
/// [`validate_with_limit`], never raise it.
pub const MAX_TASKS: usize = 1000;

/// Longest task id, in characters. Ids use only `A-Z a-z 0-9 _ -` so they are safe in URLs
/// (`/tasks/{taskId}`), file names and log lines without escaping.
pub const MAX_ID_CHARS: usize = 64;

/// Longest task name, in characters (it is a title shown on the plan board).
pub const MAX_NAME_CHARS: usize = 200;

/// Longest task prompt, in characters. An agent prompt is instructions, not data; 8,000
/// characters keeps a whole plan within one LLM context window.
pub const MAX_PROMPT_CHARS: usize = 8000;

/// Largest `estimatedTime`, in seconds (one hour). A longer step should be split: estimates
/// drive the progress display and the impact analysis' time and cost.
pub const MAX_ESTIMATED_TIME_SECS: u32 = 3600;

/// Most dependencies one task may declare. A final task rarely needs more than the few tasks
/// that bound the rest of the plan; it also keeps the scheduler's per-completion work small.
pub const MAX_DEPENDENCIES: usize = 64;

/// What is wrong with a task id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdProblem {
    Empty,
    TooLong { chars: usize, max: usize },
    BadCharacter { ch: char },
}

impl fmt::Display for IdProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "it is empty"),
            Self::TooLong { chars, max } => {
                write!(f, "it has {chars} characters, at most {max} are allowed")
            }
            Self::BadCharacter { ch } => write!(f, "it contains {ch:?}"),
        }
    }
}

/// Why a plan was refused. Each message says what is wrong and what to do, so it can be shown
/// to a user or sent back to the LLM that wrote the plan (see [`describe_all`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlanError {
    #[error(
        "the text contains no JSON plan; reply with {{\"tasks\": [...]}} or a bare [...] array \
         of tasks, optionally inside a ```json block"
    )]
    NoJson,
    #[error(
        "the plan is not valid JSON at line {line}, column {column}: {message}; fix the syntax \
         (quotes, commas, brackets) and send the whole plan again"
    )]
    InvalidJson {
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "the plan JSON has the wrong shape at line {line}, column {column}: {message}; every \
         task needs id, name, type, estimatedTime, agent and prompt"
    )]
    InvalidShape {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the plan has no tasks; add at least one task")]
    Empty,
    #[error(
        "the plan has {count} tasks but at most {max} are allowed; merge small steps into \
         larger ones"
    )]
    TooManyTasks { count: usize, max: usize },
    #[error(
        "the task at index {index} has an invalid id {id:?} ({problem}); use 1 to {max} letters, \
         digits, '_' or '-', e.g. \"task_1\"",
        max = MAX_ID_CHARS
    )]
    InvalidId {
        index: usize,
        id: String,
        problem: IdProblem,
    },
    #[error(
        "task id `{id}` is used by the tasks at index {first} and {second}; give every task a \
         unique id"
    )]
    DuplicateId {
        id: String,
        first: usize,
        second: usize,
    },
    #[error("task `{task}` has an empty name; give it a short title such as \"Auth Service\"")]
    EmptyName { task: String },
    #[error(
        "task `{task}` has a name of {chars} characters, at most {max} are allowed; shorten it"
    )]
    NameTooLong {
        task: String,
        chars: usize,
        max: usize,
    },
    #[error("task `{task}` has an empty prompt; write the instructions its agent should follow")]
    EmptyPrompt { task: String },
    #[error(
        "task `{task}` has a prompt of {chars} characters, at most {max} are allowed; shorten \
         it or split the task"
    )]
    PromptTooLong {
        task: String,
        chars: usize,
        max: usize,
    },
    #[error(
        "task `{task}` has estimatedTime {seconds} s; it must be between 1 and {max} seconds \
         (split longer work into several tasks)"
    )]
    EstimatedTimeOutOfRange {
        task: String,
        seconds: u32,
        max: u32,
    },
    #[error(
        "task `{task}` has {count} dependencies, at most {max} are allowed; depend on the few \
         tasks that already depend on the rest"
    )]
    TooManyDependencies {
        task: String,
        count: usize,
        max: usize,
    },
    #[error("task `{task}` depends on itself; remove `{task}` from its dependencies")]
    SelfDependency { task: String },
    #[error("task `{task}` lists dependency `{dependency}` twice; list it once")]
    DuplicateDependency { task: String, dependency: String },
    #[error(
        "task `{task}` depends on `{dependency}`, which is not a task of this plan; use an \
         existing task id or remove the dependency"
    )]
    UnknownDependency { task: String, dependency: String },
    #[error(
        "the dependencies form a cycle: {} (each depends on the next); remove one of these \
         dependencies so the plan can start",
        cycle_text(.tasks)
    )]
    Cycle { tasks: Vec<String> },
}

impl PlanError {
    /// A stable snake_case code for logs, metrics and API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoJson => "plan_no_json",
            Self::InvalidJson { .. } => "plan_invalid_json",
            Self::InvalidShape { .. } => "plan_invalid_shape",
            Self::Empty => "plan_empty",
            Self::TooManyTasks { .. } => "plan_too_many_tasks",
            Self::InvalidId { .. } => "plan_invalid_task_id",
            Self::DuplicateId { .. } => "plan_duplicate_task_id",
            Self::EmptyName { .. } => "plan_empty_name",
            Self::NameTooLong { .. } => "plan_name_too_long",
            Self::EmptyPrompt { .. } => "plan_empty_prompt",
            Self::PromptTooLong { .. } => "plan_prompt_too_long",
            Self::EstimatedTimeOutOfRange { .. } => "plan_estimated_time_out_of_range",
            Self::TooManyDependencies { .. } => "plan_too_many_dependencies",
            Self::SelfDependency { .. } => "plan_self_dependency",
            Self::DuplicateDependency { .. } => "plan_duplicate_dependency",
            Self::UnknownDependency { .. } => "plan_unknown_dependency",
            Self::Cycle { .. } => "plan_cycle",
        }
    }
}

fn cycle_text(tasks: &[String]) -> String {
    let mut text = tasks.join(" → ");
    if let Some(first) = tasks.first() {
        text.push_str(" → ");
        text.push_str(first);
    }
    text
}

/// Checks a plan against every rule with the global [`MAX_TASKS`]; returns the first problem,
/// in a fixed order: plan-level problems, then each task in plan order, then cycles.
pub fn validate(plan: &Plan) -> Result<(), PlanError> {
    validate_with_limit(plan, MAX_TASKS)
}

/// Like [`validate`] with a lower task limit (e.g. a free tier). A `max_tasks` above
/// [`MAX_TASKS`] is capped at [`MAX_TASKS`].
pub fn validate_with_limit(plan: &Plan, max_tasks: usize) -> Result<(), PlanError> {
    let mut first = None;
    check(plan, max_tasks, &mut |error| {
        first = Some(error);
        ControlFlow::Break(())
    });
    first.map_or(Ok(()), Err)
}

/// Every problem of the plan, in the same order [`validate`] would find them one by one.
/// Meant for asking an LLM to repair its plan in one round trip (see [`describe_all`]).
pub fn validate_all(plan: &Plan) -> Vec<PlanError> {
    validate_all_with_limit(plan, MAX_TASKS)
}

/// [`validate_all`] with a lower task limit.
pub fn validate_all_with_limit(plan: &Plan, max_tasks: usize) -> Vec<PlanError> {
    let mut all = Vec::new();
    check(plan, max_tasks, &mut |error| {
        all.push(error);
        ControlFlow::Continue(())
    });
    all
}

/// The problems as a numbered list, ready to paste into a repair prompt.
pub fn describe_all(errors: &[PlanError]) -> String {
    errors
        .iter()
        .enumerate()
        .map(|(n, error)| format!("{}. {error}\n", n + 1))
        .collect()
}

type Sink<'a> = dyn FnMut(PlanError) -> ControlFlow<()> + 'a;

/// The one walk behind `validate` and `validate_all`, so both report problems in the same
/// order. The sink decides whether to go on after each problem.
fn check(plan: &Plan, max_tasks: usize, sink: &mut Sink<'_>) {
    // The result only says whether the sink stopped early; nothing to do with it here.
    let _ = check_flow(plan, max_tasks, sink);
}

fn check_flow(plan: &Plan, max_tasks: usize, sink: &mut Sink<'_>) -> ControlFlow<()> {
    let tasks = &plan.tasks;
    if tasks.is_empty() {
        return sink(PlanError::Empty);
    }
    let max = max_tasks.min(MAX_TASKS);
    if tasks.len() > max {
        sink(PlanError::TooManyTasks {
            count: tasks.len(),
            max,
        })?;
    }

    // First occurrence of every id: later duplicates and dependencies resolve against it.
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(tasks.len());
    for (i, task) in tasks.iter().enumerate() {
        if let Err(problem) = check_id(&task.id) {
            sink(PlanError::InvalidId {
                index: i,
                id: task.id.clone(),
                problem,
            })?;
        }
        match index.get(task.id.as_str()) {
            Some(&first) => sink(PlanError::DuplicateId {
                id: task.id.clone(),
                first,
                second: i,
            })?,
            None => {
                index.insert(&task.id, i);
            }
        }
    }

    for task in tasks {
        check_task_fields(task, sink)?;
        check_task_dependencies(task, &index, sink)?;
    }

    let deps = resolved_dependencies(tasks, &index);
    for cycle in dag::find_cycles(&deps) {
        let tasks = cycle
            .iter()
            .filter_map(|&i| tasks.get(i))
            .map(|task| task.id.clone())
            .collect();
        sink(PlanError::Cycle { tasks })?;
    }
    ControlFlow::Continue(())
}

fn check_id(id: &str) -> Result<(), IdProblem> {
    if id.is_empty() {
        return Err(IdProblem::Empty);
    }
    if let Some(ch) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(IdProblem::BadCharacter { ch });
    }
    // Only ASCII is left, so bytes are characters.
    if id.len() > MAX_ID_CHARS {
        return Err(IdProblem::TooLong {
            chars: id.len(),
            max: MAX_ID_CHARS,
        });
    }
    Ok(())
}

fn check_task_fields(task: &Task, sink: &mut Sink<'_>) -> ControlFlow<()> {
    let name_chars = task.name.chars().count();
    if task.name.trim().is_empty() {
        sink(PlanError::EmptyName {
            task: task.id.clone(),
        })?;
    } else if name_chars > MAX_NAME_CHARS {
        sink(PlanError::NameTooLong {
            task: task.id.clone(),
            chars: name_chars,
            max: MAX_NAME_CHARS,
        })?;
    }
    let prompt_chars = task.prompt.chars().count();
    if task.prompt.trim().is_empty() {
        sink(PlanError::EmptyPrompt {
            task: task.id.clone(),
        })?;
    } else if prompt_chars > MAX_PROMPT_CHARS {
        sink(PlanError::PromptTooLong {
            task: task.id.clone(),
            chars: prompt_chars,
            max: MAX_PROMPT_CHARS,
        })?;
    }
    if task.estimated_time == 0 || task.estimated_time > MAX_ESTIMATED_TIME_SECS {
        sink(PlanError::EstimatedTimeOutOfRange {
            task: task.id.clone(),
            seconds: task.estimated_time,
            max: MAX_ESTIMATED_TIME_SECS,
        })?;
    }
    if task.dependencies.len() > MAX_DEPENDENCIES {
        sink(PlanError::TooManyDependencies {
            task: task.id.clone(),
            count: task.dependencies.len(),
            max: MAX_DEPENDENCIES,
        })?;
    }
    ControlFlow::Continue(())
}

fn check_task_dependencies(
    task: &Task,
    index: &HashMap<&str, usize>,
    sink: &mut Sink<'_>,
) -> ControlFlow<()> {
    for (n, dependency) in task.dependencies.iter().enumerate() {
        if *dependency == task.id {
            sink(PlanError::SelfDependency {
                task: task.id.clone(),
            })?;
        } else if !index.contains_key(dependency.as_str()) {
            sink(PlanError::UnknownDependency {
                task: task.id.clone(),
                dependency: dependency.clone(),
            })?;
        } else if task.dependencies[..n].contains(dependency) {
            sink(PlanError::DuplicateDependency {
                task: task.id.clone(),
                dependency: dependency.clone(),
            })?;
        }
    }
    ControlFlow::Continue(())
}

/// Index adjacency (task → the tasks it depends on) over the dependencies that resolve,
/// without self-loops, so cycle detection still works on an otherwise broken plan.
fn resolved_dependencies(tasks: &[Task], index: &HashMap<&str, usize>) -> Vec<Vec<usize>> {
    tasks
        .iter()
        .enumerate()
        .map(|(i, task)| {
            let mut deps: Vec<usize> = Vec::with_capacity(task.dependencies.len());
            for dependency in &task.dependencies {
                if let Some(&d) = index.get(dependency.as_str()) {
                    if d != i && !deps.contains(&d) {
                        deps.push(d);
                    }
                }
            }
            deps
        })
        .collect()
}

/// Reads a plan an LLM wrote: `{"tasks": [...]}` or a bare `[...]` array, alone or inside a
/// Markdown code fence (```` ```json ... ``` ````), with prose around the fence ignored.
/// Only parses; call [`validate`] on the result. Line and column numbers in errors refer to
/// the text as given (fence included), so they can be quoted back to the model.
pub fn parse_plan_json(text: &str) -> Result<Plan, PlanError> {
    let body = extract_json(text);
    let json = body.text;
    let first = json.trim_start().chars().next();
    let parsed = match first {
        Some('[') => serde_json::from_str::<Vec<Task>>(json).map(|tasks| Plan { tasks }),
        Some('{') => serde_json::from_str::<Plan>(json),
        _ => return Err(PlanError::NoJson),
    };
    parsed.map_err(|error| {
        let line = error.line() + body.line_offset;
        let column = if error.line() == 1 {
            error.column() + body.first_line_column_offset
        } else {
            error.column()
        };
        let message = error_message_without_position(&error);
        match error.classify() {
            serde_json::error::Category::Data => PlanError::InvalidShape {
                line,
                column,
                message,
            },
            _ => PlanError::InvalidJson {
                line,
                column,
                message,
            },
        }
    })
}

/// serde_json appends " at line L column C" to its messages; the error carries those apart.
fn error_message_without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

struct JsonBody<'a> {
    text: &'a str,
    /// Lines of the original text before `text` starts.
    line_offset: usize,
    /// Characters before `text` on its first line (when the fence and JSON share a line).
    first_line_column_offset: usize,
}

fn extract_json(text: &str) -> JsonBody<'_> {
    let Some(open) = text.find("```") else {
        return JsonBody {
            text,
            line_offset: 0,
            first_line_column_offset: 0,
        };
    };
    let after_ticks = open + 3;
    // Skip the info string ("json", "JSON", "jsonc", ...) and the rest of the fence line
    // when the JSON starts on the next line.
    let info_len = text[after_ticks..]
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(text.len() - after_ticks);
    let mut start = after_ticks + info_len;
    let rest = &text[start..];
    let blank = rest.len() - rest.trim_start_matches([' ', '\t', '\r']).len();
    if rest[blank..].starts_with('\n') {
        start += blank + 1;
    }
    let end = text[start..].find("```").map_or(text.len(), |c| start + c);
    let line_start = text[..start].rfind('\n').map_or(0, |nl| nl + 1);
    JsonBody {
        text: &text[start..end],
        line_offset: text[..start].matches('\n').count(),
        first_line_column_offset: text[line_start..start].chars().count(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{Isolation, TaskStatus, TaskType};

    /// A minimal valid task for tests of this crate.
    pub(crate) fn task(id: &str, deps: &[&str], secs: u32) -> Task {
        Task {
            id: id.to_string(),
            name: format!("Task {id}"),
            description: String::new(),
            kind: TaskType::CodeGeneration,
            dependencies: deps.iter().map(|d| d.to_string()).collect(),
            estimated_time: secs,
            isolation: Isolation::Dependent,
            agent: "code-001".to_string(),
            prompt: format!("Do {id}"),
            can_run_in_parallel: false,
            inputs: Vec::new(),
            outputs: Vec::new(),
            status: TaskStatus::Pending,
            started_at: None,
            finished_at: None,
            modification_count: 0,
        }
    }

    /// Example 1's eight-task e-commerce plan (ids, dependencies and estimates as designed).
    pub(crate) fn example_1() -> Plan {
        Plan {
            tasks: vec![
                task("task_1", &[], 45),
                task("task_2", &["task_1"], 30),
                task("task_3", &["task_2"], 60),
                task("task_4", &["task_2"], 50),
                task("task_5", &["task_3", "task_4"], 40),
                task("task_6", &["task_3"], 55),
                // The design's JSON lists task_1 as a dependency, but its narrative (and the
                // expected parallel groups) start task_7 at 0 s next to task_1.
                task("task_7", &[], 70),
                task("task_8", &["task_3", "task_4", "task_5", "task_6"], 35),
            ],
        }
    }

    /// A 1,000-task plan: 20 layers of 50, each task depending on up to three tasks of the
    /// layer before (a deterministic spread), so the DAG is wide and deep at once.
    pub(crate) fn large_plan(n: usize) -> Plan {
        let width = 50;
        let tasks = (0..n)
            .map(|i| {
                let layer = i / width;
                let mut deps = Vec::new();
                if layer > 0 {
                    let base = (layer - 1) * width;
                    for k in [i % width, (i * 7 + 3) % width, (i * 13 + 5) % width] {
                        let d = format!("t{}", base + k);
                        if !deps.contains(&d) {
                            deps.push(d);
                        }
                    }
                }
                let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
                let mut t = task(&format!("t{i}"), &deps, 10 + (i % 7) as u32);
                t.inputs = vec![format!("api.s{}", (i + 1) % width), "schema.*".to_string()];
                t.outputs = vec![format!("api.s{}", i % width)];
                t
            })
            .collect();
        Plan { tasks }
    }

    #[test]
    fn example_1_plan_is_valid() {
        assert_eq!(validate(&example_1()), Ok(()));
        assert!(validate_all(&example_1()).is_empty());
    }

    #[test]
    fn an_empty_plan_is_refused() {
        assert_eq!(validate(&Plan::default()), Err(PlanError::Empty));
        assert_eq!(validate_all(&Plan::default()), vec![PlanError::Empty]);
    }

    #[test]
    fn more_tasks_than_the_limit_are_refused_and_a_tier_can_lower_it() {
        let plan = Plan {
            tasks: (0..=MAX_TASKS)
                .map(|i| task(&format!("t{i}"), &[], 1))
                .collect(),
        };
        assert_eq!(
            validate(&plan),
            Err(PlanError::TooManyTasks {
                count: MAX_TASKS + 1,
                max: MAX_TASKS
            })
        );
        let small = example_1();
        assert_eq!(
            validate_with_limit(&small, 5),
            Err(PlanError::TooManyTasks { count: 8, max: 5 })
        );
        // A tier cannot raise the global limit.
        assert!(matches!(
            validate_with_limit(&plan, MAX_TASKS * 10),
            Err(PlanError::TooManyTasks { max: MAX_TASKS, .. })
        ));
    }

    #[test]
    fn a_plan_of_exactly_max_tasks_is_accepted() {
        assert_eq!(validate(&large_plan(MAX_TASKS)), Ok(()));
    }

    #[test]
    fn duplicate_ids_name_both_positions() {
        let mut plan = example_1();
        plan.tasks[3].id = "task_2".to_string();
        // task_5 and task_8 depended on task_4, which no longer exists.
        assert_eq!(
            validate(&plan),
            Err(PlanError::DuplicateId {
                id: "task_2".to_string(),
                first: 1,
                second: 3
            })
        );
    }

    #[test]
    fn invalid_ids_say_what_is_wrong() {
        let mut plan = Plan {
            tasks: vec![task("", &[], 1)],
        };
        assert_eq!(
            validate(&plan),
            Err(PlanError::InvalidId {
                index: 0,
                id: String::new(),
                problem: IdProblem::Empty
            })
        );
        plan.tasks[0].id = "task 1".to_string();
        assert_eq!(
            validate(&plan),
            Err(PlanError::InvalidId {
                index: 0,
                id: "task 1".to_string(),
                problem: IdProblem::BadCharacter { ch: ' ' }
            })
        );
        plan.tasks[0].id = "é".to_string();
        assert!(matches!(
            validate(&plan),
            Err(PlanError::InvalidId {
                problem: IdProblem::BadCharacter { ch: 'é' },
                ..
            })
        ));
        plan.tasks[0].id = "a".repeat(MAX_ID_CHARS + 1);
        assert!(matches!(
            validate(&plan),
            Err(PlanError::InvalidId {
                problem: IdProblem::TooLong { chars: 65, max: 64 },
                ..
            })
        ));
        plan.tasks[0].id = format!("A-z_9{}", "a".repeat(MAX_ID_CHARS - 5));
        assert_eq!(validate(&plan), Ok(()));
    }

    #[test]
    fn unknown_self_and_duplicate_dependencies_are_refused() {
        let plan = Plan {
            tasks: vec![task("a", &[], 1), task("b", &["a", "ghost"], 1)],
        };
        assert_eq!(
            validate(&plan),
            Err(PlanError::UnknownDependency {
                task: "b".to_string(),
                dependency: "ghost".to_string()
            })
        );
        let plan = Plan {
            tasks: vec![task("a", &["a"], 1)],
        };
        assert_eq!(
            validate(&plan),
            Err(PlanError::SelfDependency {
                task: "a".to_string()
            })
        );
        let plan = Plan {
            tasks: vec![task("a", &[], 1), task("b", &["a", "a"], 1)],
        };
        assert_eq!(
            validate(&plan),
            Err(PlanError::DuplicateDependency {
                task: "b".to_string(),
                dependency: "a".to_string()
            })
        );
    }

    #[test]
    fn a_cycle_is_reported_with_its_tasks_in_order() {
        let plan = Plan {
            tasks: vec![
                task("start", &[], 1),
                task("a", &["start", "c"], 1),
                task("b", &["a"], 1),
                task("c", &["b"], 1),
                task("after", &["c"], 1),
            ],
        };
        let error = validate(&plan);
        assert_eq!(
            error,
            Err(PlanError::Cycle {
                tasks: vec!["a".to_string(), "c".to_string(), "b".to_string()]
            })
        );
        let message = error.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("a → c → b → a"),
            "message should show the loop, got: {message}"
        );
    }

    #[test]
    fn every_separate_cycle_is_reported_once() {
        let plan = Plan {
            tasks: vec![
                task("a", &["b"], 1),
                task("b", &["a"], 1),
                task("c", &["d"], 1),
                task("d", &["c"], 1),
                task("e", &["a", "c"], 1),
            ],
        };
        let cycles: Vec<_> = validate_all(&plan)
            .into_iter()
            .filter(|e| matches!(e, PlanError::Cycle { .. }))
            .collect();
        assert_eq!(
            cycles,
            vec![
                PlanError::Cycle {
                    tasks: vec!["a".to_string(), "b".to_string()]
                },
                PlanError::Cycle {
                    tasks: vec!["c".to_string(), "d".to_string()]
                },
            ]
        );
    }

    #[test]
    fn empty_names_prompts_and_bad_estimates_are_refused() {
        let mut plan = example_1();
        plan.tasks[2].name = "  ".to_string();
        assert_eq!(
            validate(&plan),
            Err(PlanError::EmptyName {
                task: "task_3".to_string()
            })
        );
        let mut plan = example_1();
        plan.tasks[2].prompt = "\n".to_string();
        assert_eq!(
            validate(&plan),
            Err(PlanError::EmptyPrompt {
                task: "task_3".to_string()
            })
        );
        let mut plan = example_1();
        plan.tasks[2].estimated_time = 0;
        assert!(matches!(
            validate(&plan),
            Err(PlanError::EstimatedTimeOutOfRange { seconds: 0, .. })
        ));
        plan.tasks[2].estimated_time = MAX_ESTIMATED_TIME_SECS + 1;
        assert!(matches!(
            validate(&plan),
            Err(PlanError::EstimatedTimeOutOfRange {
                seconds: 3601,
                max: 3600,
                ..
            })
        ));
        plan.tasks[2].estimated_time = MAX_ESTIMATED_TIME_SECS;
        assert_eq!(validate(&plan), Ok(()));
    }

    #[test]
    fn overlong_prompts_and_names_are_counted_in_characters() {
        let mut plan = example_1();
        // Multi-byte characters: the limit is about characters, not bytes.
        plan.tasks[0].prompt = "é".repeat(MAX_PROMPT_CHARS);
        assert_eq!(validate(&plan), Ok(()));
        plan.tasks[0].prompt.push('é');
        assert_eq!(
            validate(&plan),
            Err(PlanError::PromptTooLong {
                task: "task_1".to_string(),
                chars: MAX_PROMPT_CHARS + 1,
                max: MAX_PROMPT_CHARS
            })
        );
        let mut plan = example_1();
        plan.tasks[0].name = "n".repeat(MAX_NAME_CHARS + 1);
        assert!(matches!(
            validate(&plan),
            Err(PlanError::NameTooLong { .. })
        ));
    }

    #[test]
    fn too_many_dependencies_are_refused() {
        let mut tasks: Vec<Task> = (0..=MAX_DEPENDENCIES)
            .map(|i| task(&format!("d{i}"), &[], 1))
            .collect();
        let ids: Vec<String> = tasks.iter().map(|t| t.id.clone()).collect();
        let deps: Vec<&str> = ids.iter().map(String::as_str).collect();
        tasks.push(task("final", &deps, 1));
        assert_eq!(
            validate(&Plan { tasks }),
            Err(PlanError::TooManyDependencies {
                task: "final".to_string(),
                count: MAX_DEPENDENCIES + 1,
                max: MAX_DEPENDENCIES
            })
        );
    }

    #[test]
    fn validate_returns_the_first_of_validate_all_in_task_order() {
        let mut plan = example_1();
        plan.tasks[1].prompt = String::new();
        plan.tasks[4].dependencies.push("nope".to_string());
        plan.tasks[6].estimated_time = 0;
        plan.tasks[0].dependencies.push("task_8".to_string()); // closes a cycle
        let all = validate_all(&plan);
        let codes: Vec<&str> = all.iter().map(PlanError::code).collect();
        assert_eq!(
            codes,
            vec![
                "plan_empty_prompt",
                "plan_unknown_dependency",
                "plan_estimated_time_out_of_range",
                "plan_cycle"
            ]
        );
        assert_eq!(validate(&plan).err().as_ref(), all.first());
        let text = describe_all(&all);
        assert!(
            text.starts_with("1. task `task_2` has an empty prompt"),
            "{text}"
        );
        assert!(
            text.contains("\n4. the dependencies form a cycle"),
            "{text}"
        );
    }

    #[test]
    fn parse_accepts_an_object_with_tasks() {
        let text = r#"{"tasks": [{"id": "task_1", "name": "Architecture Design",
            "type": "ARCHITECTURE", "dependencies": [], "estimatedTime": 45,
            "isolation": "INDEPENDENT", "agent": "arch-001", "prompt": "Design it",
            "canRunInParallel": true}]}"#;
        let plan = parse_plan_json(text);
        assert_eq!(plan.as_ref().map(|p| p.tasks.len()), Ok(1), "got {plan:?}");
    }

    #[test]
    fn parse_accepts_a_bare_array_in_a_fence_with_prose_around() {
        let text = "Here is the plan:\n\n```json\n[\n  {\"id\": \"a\", \"name\": \"A\", \
                    \"type\": \"TESTING\", \"estimatedTime\": 5, \"agent\": \"test-001\", \
                    \"prompt\": \"test\"}\n]\n```\nLet me know!";
        let plan = parse_plan_json(text);
        assert_eq!(
            plan.map(|p| p.tasks.into_iter().map(|t| t.id).collect::<Vec<_>>()),
            Ok(vec!["a".to_string()])
        );
        // A fence without a language, and a fence on the JSON's own line.
        assert_eq!(
            parse_plan_json("```\n{\"tasks\": []}\n```").map(|p| p.tasks.len()),
            Ok(0)
        );
        assert_eq!(
            parse_plan_json("```json {\"tasks\": []} ```").map(|p| p.tasks.len()),
            Ok(0)
        );
    }

    #[test]
    fn parse_reports_syntax_errors_with_the_line_and_column_of_the_original_text() {
        // Line 3 of the original text holds the JSON's second line, with a missing comma.
        let text = "Plan:\n```json\n{\"tasks\": [\n  {\"id\": \"a\" \"name\": \"A\"}\n]}\n```";
        match parse_plan_json(text) {
            Err(PlanError::InvalidJson {
                line,
                column,
                message,
            }) => {
                assert_eq!(line, 4, "line of the original text");
                assert_eq!(column, 14, "column of the unexpected quote");
                assert!(message.contains("expected"), "{message}");
                assert!(!message.contains("at line"), "{message}");
            }
            other => panic!("expected InvalidJson, got {other:?}"),
        }
    }

    #[test]
    fn parse_reports_shape_errors_and_missing_json() {
        match parse_plan_json(r#"{"tasks": [{"id": "a"}]}"#) {
            Err(PlanError::InvalidShape {
                line: 1, message, ..
            }) => {
                assert!(message.contains("missing field"), "{message}")
            }
            other => panic!("expected InvalidShape, got {other:?}"),
        }
        assert!(matches!(
            parse_plan_json(r#"{"steps": []}"#),
            Err(PlanError::InvalidShape { .. })
        ));
        assert_eq!(parse_plan_json(""), Err(PlanError::NoJson));
        assert_eq!(parse_plan_json("I cannot do that."), Err(PlanError::NoJson));
        assert!(matches!(
            parse_plan_json("[{\"id\": "),
            Err(PlanError::InvalidJson { .. })
        ));
    }

    #[test]
    fn every_error_has_a_code_and_an_actionable_message() {
        let errors = validate_all(&Plan {
            tasks: vec![task("a", &["a"], 0), task("a", &["zz"], 1)],
        });
        assert!(errors.len() >= 4, "{errors:?}");
        for error in errors {
            assert!(error.code().starts_with("plan_"));
            assert!(error.to_string().contains(';'), "no advice in: {error}");
        }
    }
}
