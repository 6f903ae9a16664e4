//! The in-memory model of a directory tree: names pointing at inodes, so a
//! rename moves a name while open descriptors keep writing to the file,
//! and a file unlinked while open stays writable but unreachable.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

/// An inode number of the model (not the real one).
pub type Ino = u32;

/// What a name in the tree points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// A regular file.
    File(Ino),
    /// A directory.
    Dir,
}

/// A directory tree: paths relative to the root (the root itself is the
/// empty path and always exists) and file contents per inode.
#[derive(Debug, Clone, Default)]
pub struct Fs {
    entries: BTreeMap<PathBuf, Node>,
    inodes: HashMap<Ino, Vec<u8>>,
    next_ino: Ino,
}

impl Fs {
    /// The tree under `root` as it is on disk now (regular files and
    /// directories; anything else panics, as the model has no place for it).
    pub fn snapshot(root: &Path) -> Fs {
        let mut fs_ = Fs::default();
        fs_.entries.insert(PathBuf::new(), Node::Dir);
        let mut stack = vec![PathBuf::new()];
        while let Some(rel) = stack.pop() {
            let dir = root.join(&rel);
            let rd = fs::read_dir(&dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
            for e in rd {
                let e = e.expect("directory entry");
                let r = rel.join(e.file_name());
                let ft = e.file_type().expect("file type");
                if ft.is_dir() {
                    fs_.entries.insert(r.clone(), Node::Dir);
                    stack.push(r);
                } else if ft.is_file() {
                    let bytes = fs::read(e.path()).expect("read file");
                    let ino = fs_.new_inode();
                    fs_.inodes.insert(ino, bytes);
                    fs_.entries.insert(r, Node::File(ino));
                } else {
                    panic!("{}: neither a file nor a directory", e.path().display());
                }
            }
        }
        fs_
    }

    /// A fresh inode number (the inode itself appears with its first use).
    pub fn new_inode(&mut self) -> Ino {
        let ino = self.next_ino;
        self.next_ino += 1;
        ino
    }

    /// What `path` names, if anything.
    pub fn lookup(&self, path: &Path) -> Option<Node> {
        self.entries.get(path).copied()
    }

    /// The bytes of an inode (empty when it has none yet).
    pub fn content(&self, ino: Ino) -> &[u8] {
        self.inodes.get(&ino).map_or(&[], |v| v.as_slice())
    }

    /// Every name with what it points at, sorted.
    pub fn entries(&self) -> impl Iterator<Item = (&PathBuf, &Node)> {
        self.entries.iter()
    }

    /// Regular files with their content, sorted by path.
    pub fn files(&self) -> Vec<(PathBuf, &[u8])> {
        self.entries
            .iter()
            .filter_map(|(p, n)| match n {
                Node::File(ino) => Some((p.clone(), self.content(*ino))),
                Node::Dir => None,
            })
            .collect()
    }

    /// Names `ino` as `path` (a new empty file, or one that gets its data
    /// from later writes).
    pub(crate) fn create(&mut self, path: &Path, ino: Ino) -> Result<(), String> {
        self.parent_must_exist(path)?;
        if self.entries.contains_key(path) {
            return Err(format!("create {}: exists", path.display()));
        }
        self.entries.insert(path.to_path_buf(), Node::File(ino));
        self.inodes.entry(ino).or_default();
        self.next_ino = self.next_ino.max(ino + 1);
        Ok(())
    }

    pub(crate) fn mkdir(&mut self, path: &Path) -> Result<(), String> {
        self.parent_must_exist(path)?;
        if self.entries.contains_key(path) {
            return Err(format!("mkdir {}: exists", path.display()));
        }
        self.entries.insert(path.to_path_buf(), Node::Dir);
        Ok(())
    }

    /// `rename(2)`: replaces `to` if it exists (a file, or an empty
    /// directory when a directory moves); moves a directory's whole subtree.
    pub(crate) fn rename(&mut self, from: &Path, to: &Path) -> Result<(), String> {
        let node = self
            .lookup(from)
            .ok_or_else(|| format!("rename {}: missing", from.display()))?;
        self.parent_must_exist(to)?;
        if from == to {
            return Ok(());
        }
        if self.lookup(to) == Some(Node::Dir) {
            self.rmdir(to)?;
        }
        self.entries.remove(from);
        if node == Node::Dir {
            let moved: Vec<(PathBuf, Node)> = self
                .entries
                .range(from.to_path_buf()..)
                .take_while(|(p, _)| p.starts_with(from))
                .map(|(p, n)| (p.clone(), *n))
                .collect();
            for (p, n) in moved {
                self.entries.remove(&p);
                let rest = p.strip_prefix(from).expect("prefix");
                self.entries.insert(to.join(rest), n);
            }
        }
        self.entries.insert(to.to_path_buf(), node);
        Ok(())
    }

    pub(crate) fn link(&mut self, from: &Path, to: &Path) -> Result<(), String> {
        match self.lookup(from) {
            Some(Node::File(ino)) => self.create(to, ino),
            _ => Err(format!("link {}: not a file", from.display())),
        }
    }

    pub(crate) fn unlink(&mut self, path: &Path) -> Result<(), String> {
        match self.lookup(path) {
            Some(Node::File(_)) => {
                self.entries.remove(path);
                Ok(())
            }
            _ => Err(format!("unlink {}: not a file", path.display())),
        }
    }

    pub(crate) fn rmdir(&mut self, path: &Path) -> Result<(), String> {
        if self.lookup(path) != Some(Node::Dir) || path.as_os_str().is_empty() {
            return Err(format!("rmdir {}: not a directory", path.display()));
        }
        let busy = self
            .entries
            .range(path.to_path_buf()..)
            .nth(1)
            .is_some_and(|(p, _)| p.starts_with(path));
        if busy {
            return Err(format!("rmdir {}: not empty", path.display()));
        }
        self.entries.remove(path);
        Ok(())
    }

    /// Writes `data` at `off`, zero-filling any gap (also for building a
    /// particular crash state by hand).
    pub fn write(&mut self, ino: Ino, off: u64, data: &[u8]) {
        let v = self.inodes.entry(ino).or_default();
        let (off, end) = (off as usize, off as usize + data.len());
        if v.len() < end {
            v.resize(end, 0);
        }
        v[off..end].copy_from_slice(data);
    }

    pub(crate) fn truncate(&mut self, ino: Ino, len: u64) {
        self.inodes.entry(ino).or_default().resize(len as usize, 0);
    }

    fn parent_must_exist(&self, path: &Path) -> Result<(), String> {
        let parent = path.parent().unwrap_or(Path::new(""));
        if self.lookup(parent) == Some(Node::Dir) {
            Ok(())
        } else {
            Err(format!("{}: no parent directory", path.display()))
        }
    }

    /// Writes the tree into `dir` (which must exist and be empty).
    pub fn materialize(&self, dir: &Path) {
        for (p, n) in &self.entries {
            let to = dir.join(p);
            match n {
                Node::Dir => fs::create_dir_all(&to).expect("mkdir"),
                Node::File(ino) => fs::write(&to, self.content(*ino))
                    .unwrap_or_else(|e| panic!("write {}: {e}", to.display())),
            }
        }
    }

    /// How this tree differs from `other`, one line per path, for failure
    /// messages (`+` only here, `-` only there, `~` different content).
    pub fn diff(&self, other: &Fs) -> Vec<String> {
        let mut out = Vec::new();
        for (p, n) in &self.entries {
            match (n, other.lookup(p)) {
                (_, None) => out.push(format!("+ {}{}", p.display(), self.describe(*n))),
                (Node::File(a), Some(Node::File(b))) if self.content(*a) != other.content(b) => out
                    .push(format!(
                        "~ {}{} (there{})",
                        p.display(),
                        self.describe(*n),
                        other.describe(Node::File(b))
                    )),
                _ => {}
            }
        }
        for (p, n) in &other.entries {
            if self.lookup(p).is_none() {
                out.push(format!("- {}{}", p.display(), other.describe(*n)));
            }
        }
        out
    }

    fn describe(&self, n: Node) -> String {
        match n {
            Node::Dir => "/".into(),
            Node::File(ino) => format!(" [{} bytes]", self.content(ino).len()),
        }
    }
}
