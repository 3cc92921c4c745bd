//! Modal dialogs. `edit_step` is Example 3's "Edit step": change a task's prompt while the
//! run goes on, see the impact first, then confirm or cancel.

pub mod edit_step;

pub use edit_step::{EditDone, EditStepModal};
