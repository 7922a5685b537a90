//! Errors of the normalization module, grouped by who is at fault.

use std::path::PathBuf;

use thiserror::Error;

/// A format policy that cannot be used: the file, the line of the offending value, and why.
#[derive(Debug, Error)]
#[error("{file}{}: {reason}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct PolicyError {
    /// The policy file (`<built-in>` for the embedded default).
    pub file: String,
    /// 1-based line of the offending value, where known.
    pub line: Option<usize>,
    pub reason: String,
}

/// Something that stopped a normalization run (one bad *file* never does: that is a record with
/// outcome `failure`).
#[derive(Debug, Error)]
pub enum NormalizeError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The caller asked for something impossible: an output inside the input, a non-empty output, ….
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl NormalizeError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        NormalizeError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Why one action on one file failed; becomes the detail of a `failure` record.
#[derive(Debug, Error)]
pub enum ActionError {
    #[error("malformed input: {0}")]
    Malformed(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("{tool} failed: {message}")]
    Tool { tool: String, message: String },
}

impl From<image::ImageError> for ActionError {
    fn from(e: image::ImageError) -> Self {
        match e {
            image::ImageError::IoError(io) => ActionError::Io(io),
            image::ImageError::Unsupported(u) => ActionError::Unsupported(u.to_string()),
            other => ActionError::Malformed(other.to_string()),
        }
    }
}

impl From<tiff::TiffError> for ActionError {
    fn from(e: tiff::TiffError) -> Self {
        match e {
            tiff::TiffError::IoError(io) => ActionError::Io(io),
            other => ActionError::Malformed(other.to_string()),
        }
    }
}

/// A failed external program (`crate::tool`) is a failed action.
impl From<crate::tool::ToolError> for ActionError {
    fn from(e: crate::tool::ToolError) -> Self {
        use crate::tool::ToolError;
        let (tool, message) = match e {
            ToolError::Failed { tool, message } => (tool, message),
            ToolError::TimedOut { tool, secs } => (tool, format!("timed out after {secs} s")),
            ToolError::Start { tool, source } => (tool, format!("cannot run: {source}")),
            ToolError::Io { tool, source } => (tool, source.to_string()),
        };
        ActionError::Tool { tool, message }
    }
}

impl From<crate::raster::RasterError> for ActionError {
    fn from(e: crate::raster::RasterError) -> Self {
        match e {
            crate::raster::RasterError::Unsupported(u) => ActionError::Unsupported(u),
            other => ActionError::Malformed(other.to_string()),
        }
    }
}
