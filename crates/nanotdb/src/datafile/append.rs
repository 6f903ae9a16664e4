//! Appending frames to `data-<p>.dat`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// The append handle of one partition's data file, opened on its first
/// flush and kept while the partition is open.
#[derive(Debug)]
pub(crate) struct DataFileAppender {
    path: PathBuf,
    file: File,
}

impl DataFileAppender {
    /// Opens (creating if missing) the data file at `path` for appending.
    pub fn open(path: &Path) -> Result<DataFileAppender> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .at(path)?;
        Ok(DataFileAppender {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends one encoded frame to a file of `len` bytes. When the write
    /// fails the file is cut back to `len`, so the next frame never lands
    /// after a partial one.
    pub fn append(&mut self, frame: &[u8], len: u64) -> Result<()> {
        if let Err(e) = self.file.write_all(frame) {
            if let Err(t) = self.file.set_len(len) {
                tracing::error!(file = %self.path.display(), "cannot cut a partial frame: {t}");
            }
            return Err(Error::io(&self.path, e));
        }
        Ok(())
    }

    /// fsyncs the file's data.
    pub fn sync_data(&self) -> Result<()> {
        self.file.sync_data().at(&self.path)
    }
}
