//! How the parser reaches other files without doing I/O itself: the caller passes a
//! [`Loader`] for `includefile` (and, in `check_config_main`, the main and key files), and
//! answers filesystem questions for `Config::check`.

use std::collections::{HashMap, HashSet};

/// Supplies file contents and filesystem facts to the parser and the checker.
pub trait Loader {
    /// The text of `path` exactly as written in the configuration (relative paths are the
    /// caller's business). The error text is shown to the operator after the path.
    ///
    /// # Errors
    /// A human-readable reason (e.g. "No such file or directory") when the file cannot be read.
    fn load(&self, path: &str) -> Result<String, String>;

    /// Whether `path` is an existing directory; `None` when unknown (no warning is given).
    fn is_dir(&self, _path: &str) -> Option<bool> {
        None
    }
}

/// A loader that refuses every file: for configurations without `includefile`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFiles;

impl Loader for NoFiles {
    fn load(&self, _path: &str) -> Result<String, String> {
        Err("file access is not available here".to_string())
    }
}

/// An in-memory loader: a map of path to text and a set of existing directories.
#[derive(Debug, Clone, Default)]
pub struct MapLoader {
    files: HashMap<String, String>,
    dirs: HashSet<String>,
}

impl MapLoader {
    /// An empty loader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add (or replace) a file.
    pub fn with_file(mut self, path: &str, text: &str) -> Self {
        self.files.insert(path.to_string(), text.to_string());
        self
    }

    /// Declare an existing directory.
    pub fn with_dir(mut self, path: &str) -> Self {
        self.dirs.insert(path.trim_end_matches('/').to_string());
        self
    }
}

impl Loader for MapLoader {
    fn load(&self, path: &str) -> Result<String, String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| "No such file or directory".to_string())
    }

    fn is_dir(&self, path: &str) -> Option<bool> {
        let p = path.trim_end_matches('/');
        Some(p.is_empty() || self.dirs.contains(p))
    }
}
