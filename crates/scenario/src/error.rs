//! Errors of loading a world: every problem with its file, line, column and field path.

use std::fmt;

/// One problem in a world file.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// File it was found in.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// Field path, e.g. `pools[2].fee_bps` (empty for the whole document).
    pub path: String,
    /// What was wrong and what was expected.
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.message)
        } else {
            write!(f, "{}:{}:{}: {}: {}", self.file, self.line, self.col, self.path, self.message)
        }
    }
}

/// Why a world could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read: I/O, over its size limit, or not UTF-8.
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
    /// RON syntax or a value of the wrong shape (the first one serde met).
    #[error("{0}")]
    Syntax(Issue),
    /// The document parsed but is not a valid world: every problem found.
    #[error("{} problem{} in the world:\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, list(.0))]
    Invalid(Vec<Issue>),
    /// The command log parsed but does not fit its world: every problem found.
    #[error("{} problem{} in the command log:\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, list(.0))]
    InvalidCommands(Vec<Issue>),
}

fn list(issues: &[Issue]) -> String {
    issues.iter().map(|i| format!("  {i}")).collect::<Vec<_>>().join("\n")
}

impl ScenarioError {
    /// Every located issue (empty for I/O and size errors).
    pub fn issues(&self) -> Vec<&Issue> {
        match self {
            ScenarioError::Syntax(i) => vec![i],
            ScenarioError::Invalid(v) | ScenarioError::InvalidCommands(v) => v.iter().collect(),
            _ => Vec::new(),
        }
    }
}
