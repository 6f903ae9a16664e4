//! From system calls to operations on the model: descriptors, offsets and
//! paths are resolved against a live copy of the tree that every operation
//! is applied to as it is read, so the recording can be checked against the
//! real directory at the end.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use super::fsmodel::{Fs, Ino, Node};
use super::parse::{self, Arg, Call, Ret};

/// One operation of the recording, with the log line it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    /// Line of the strace log (1-based).
    pub line: usize,
    /// What happened.
    pub kind: OpKind,
    /// The file's name when it was opened (for messages; data operations
    /// name inodes, which renames do not change).
    pub name: PathBuf,
}

/// What an operation does. Paths are relative to the recorded root.
#[derive(Debug, Clone, PartialEq)]
pub enum OpKind {
    /// A new empty file.
    Create { path: PathBuf, ino: Ino },
    /// A new directory.
    Mkdir { path: PathBuf },
    /// `rename(2)`, replacing `to` if it exists.
    Rename { from: PathBuf, to: PathBuf },
    /// A hard link.
    Link { from: PathBuf, to: PathBuf },
    /// A file's name removed.
    Unlink { path: PathBuf },
    /// An empty directory removed.
    Rmdir { path: PathBuf },
    /// Bytes written at an offset.
    Write { ino: Ino, off: u64, data: Vec<u8> },
    /// Length set (`ftruncate`, `truncate`, `O_TRUNC`, `fallocate` growth).
    Truncate { ino: Ino, len: u64 },
    /// `fsync`/`fdatasync` of a file returned.
    Sync { ino: Ino },
    /// `fsync` of a directory returned.
    DirSync { path: PathBuf },
    /// `sync`/`syncfs` returned: everything before is durable.
    SyncAll,
    /// The program printed `ack N`.
    Ack(u64),
}

impl OpKind {
    /// The directories whose entries this operation changes (empty for data
    /// operations).
    pub fn dirs(&self) -> Vec<&Path> {
        fn up(p: &Path) -> &Path {
            p.parent().unwrap_or(Path::new(""))
        }
        match self {
            OpKind::Create { path, .. }
            | OpKind::Mkdir { path }
            | OpKind::Unlink { path }
            | OpKind::Rmdir { path } => vec![up(path)],
            OpKind::Rename { from, to } | OpKind::Link { from, to } => vec![up(from), up(to)],
            _ => Vec::new(),
        }
    }

    /// Whether this changes a directory (rather than a file's bytes).
    pub fn is_namespace(&self) -> bool {
        !self.dirs().is_empty()
    }

    /// The inode whose bytes this changes, for data operations.
    pub fn data_ino(&self) -> Option<Ino> {
        match self {
            OpKind::Write { ino, .. } | OpKind::Truncate { ino, .. } => Some(*ino),
            _ => None,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.name.display();
        write!(f, "line {:>6}: ", self.line)?;
        match &self.kind {
            OpKind::Create { path, ino } => write!(f, "create {} (ino {ino})", path.display()),
            OpKind::Mkdir { path } => write!(f, "mkdir {}", path.display()),
            OpKind::Rename { from, to } => {
                write!(f, "rename {} -> {}", from.display(), to.display())
            }
            OpKind::Link { from, to } => write!(f, "link {} -> {}", from.display(), to.display()),
            OpKind::Unlink { path } => write!(f, "unlink {}", path.display()),
            OpKind::Rmdir { path } => write!(f, "rmdir {}", path.display()),
            OpKind::Write { ino, off, data } => {
                write!(f, "write {n} (ino {ino}) at {off}, {} bytes", data.len())
            }
            OpKind::Truncate { ino, len } => write!(f, "truncate {n} (ino {ino}) to {len}"),
            OpKind::Sync { ino } => write!(f, "fsync {n} (ino {ino})"),
            OpKind::DirSync { path } => write!(f, "fsync dir {}/", path.display()),
            OpKind::SyncAll => write!(f, "sync"),
            OpKind::Ack(k) => write!(f, "ack {k}"),
        }
    }
}

/// A recorded run: the tree before it and what it did to it.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The tree when recording started.
    pub initial: Fs,
    /// Every operation, in the order the calls returned.
    pub ops: Vec<Op>,
    /// The tree after every operation (what the program saw).
    pub live: Fs,
}

impl Recording {
    /// Reads a log of [`super::strace_command`]. `initial` is the tree under
    /// `root` before the program started; `cwd` its working directory.
    /// Calls on paths outside `root` are ignored.
    pub fn from_strace(
        log: &str,
        root: &Path,
        cwd: &Path,
        initial: Fs,
    ) -> Result<Recording, String> {
        let mut r = Recorder::new(root, cwd, initial.clone());
        for call in parse::calls(log)? {
            if matches!(call.ret, Ret::Ok(_)) {
                r.call(&call)
                    .map_err(|e| format!("line {}: {}: {e}", call.line, call.name))?;
            }
        }
        Ok(Recording {
            initial,
            ops: r.ops,
            live: r.live,
        })
    }

    /// Fails, listing the differences, unless the recording's end state is
    /// the tree now under `root`.
    pub fn check_final(&self, root: &Path) -> Result<(), String> {
        let diff = Fs::snapshot(root).diff(&self.live);
        if diff.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the recording does not reproduce {} (+ real only, - model only):\n{}",
                root.display(),
                diff.join("\n")
            ))
        }
    }

    /// The largest `N` of the `ack N` lines among the first `cut` operations.
    pub fn acked(&self, cut: usize) -> Option<u64> {
        self.ops[..cut]
            .iter()
            .filter_map(|o| match o.kind {
                OpKind::Ack(n) => Some(n),
                _ => None,
            })
            .max()
    }

    /// The operations from `from` to `to` (clamped), one per line, with
    /// their index, for failure messages.
    pub fn describe(&self, from: usize, to: usize) -> String {
        let to = to.min(self.ops.len());
        (from.min(to)..to)
            .map(|i| format!("#{i:<6} {}", self.ops[i]))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// An open file description: shared by duplicated descriptors.
#[derive(Debug)]
struct Desc {
    offset: u64,
    append: bool,
}

#[derive(Debug, Clone)]
enum Target {
    File {
        ino: Ino,
        name: PathBuf,
    },
    /// A directory, by absolute path (for `*at` calls and directory fsyncs).
    Dir(PathBuf),
    /// A file outside the root, or a pipe, socket or terminal.
    Other,
    Stdout,
}

#[derive(Debug, Clone)]
struct OpenFd {
    target: Target,
    desc: Rc<RefCell<Desc>>,
}

struct Recorder {
    root: PathBuf,
    cwd: PathBuf,
    live: Fs,
    fds: HashMap<i64, OpenFd>,
    ops: Vec<Op>,
    stdout: Vec<u8>,
}

fn fd(target: Target, append: bool) -> OpenFd {
    OpenFd {
        target,
        desc: Rc::new(RefCell::new(Desc { offset: 0, append })),
    }
}

/// Lexically resolves `.` and `..` (the traced program is not expected to
/// go through symbolic links under the root).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

impl Recorder {
    fn new(root: &Path, cwd: &Path, live: Fs) -> Recorder {
        let mut fds = HashMap::new();
        fds.insert(0, fd(Target::Other, false));
        fds.insert(1, fd(Target::Stdout, true));
        fds.insert(2, fd(Target::Other, true));
        Recorder {
            root: normalize(root),
            cwd: normalize(cwd),
            live,
            fds,
            ops: Vec::new(),
            stdout: Vec::new(),
        }
    }

    fn push(&mut self, line: usize, kind: OpKind, name: PathBuf) -> Result<(), String> {
        apply(&mut self.live, &kind)?;
        self.ops.push(Op { line, kind, name });
        Ok(())
    }

    /// The absolute path of a path argument, relative to `dirfd` (`None`
    /// or `AT_FDCWD` for the working directory).
    fn resolve(&self, dirfd: Option<&Arg>, path: &Arg) -> Result<PathBuf, String> {
        let p = Path::new(OsStr::from_bytes(path.bytes()?));
        if p.is_absolute() {
            return Ok(normalize(p));
        }
        let base = match dirfd {
            None => self.cwd.clone(),
            Some(a) if a.word() == "AT_FDCWD" => self.cwd.clone(),
            Some(a) => match self.fds.get(&a.int()?).map(|f| &f.target) {
                Some(Target::Dir(d)) => d.clone(),
                _ => return Err(format!("relative path from an unknown directory fd {a:?}")),
            },
        };
        Ok(normalize(&base.join(p)))
    }

    /// The path relative to the root, or `None` outside it.
    fn rel(&self, abs: &Path) -> Option<PathBuf> {
        abs.strip_prefix(&self.root).ok().map(Path::to_path_buf)
    }

    fn get(&self, fd: &Arg) -> Result<Option<OpenFd>, String> {
        Ok(self.fds.get(&fd.int()?).cloned())
    }

    fn call(&mut self, c: &Call) -> Result<(), String> {
        let Ret::Ok(ret) = c.ret else { return Ok(()) };
        let name = c.name.as_str();
        if matches!(name, "clone" | "clone3" | "fork" | "vfork") {
            if ret > 0 && !c.args.contains("CLONE_THREAD") {
                return Err(
                    "the traced program started a process; only threads are modelled".into(),
                );
            }
            return Ok(());
        }
        let a = parse::parse_args(&c.args)?;
        let arg = |i: usize| a.get(i).ok_or_else(|| format!("argument {i} missing"));
        match name {
            "open" => self.open(c.line, None, arg(0)?, arg(1)?, ret),
            "openat" => self.open(c.line, Some(arg(0)?), arg(1)?, arg(2)?, ret),
            "creat" => {
                let flags = Arg::Word("O_CREAT|O_WRONLY|O_TRUNC".into());
                self.open(c.line, None, arg(0)?, &flags, ret)
            }
            "close" => {
                self.fds.remove(&arg(0)?.int()?);
                Ok(())
            }
            "dup" | "dup2" | "dup3" => self.dup(arg(0)?, ret),
            "fcntl" => {
                let cmd = arg(1)?.word();
                if cmd == "F_DUPFD" || cmd == "F_DUPFD_CLOEXEC" {
                    self.dup(arg(0)?, ret)?;
                }
                Ok(())
            }
            "write" => self.write(c.line, arg(0)?, arg(1)?.bytes()?, None, ret),
            "pwrite64" => self.write(c.line, arg(0)?, arg(1)?.bytes()?, Some(arg(3)?.int()?), ret),
            "writev" => self.write(c.line, arg(0)?, &iov(arg(1)?)?, None, ret),
            "pwritev" | "pwritev2" => {
                self.write(c.line, arg(0)?, &iov(arg(1)?)?, Some(arg(3)?.int()?), ret)
            }
            "read" | "readv" => {
                if let Some(f) = self.get(arg(0)?)? {
                    f.desc.borrow_mut().offset += ret as u64;
                }
                Ok(())
            }
            "lseek" => {
                if let Some(f) = self.get(arg(0)?)? {
                    f.desc.borrow_mut().offset = ret as u64;
                }
                Ok(())
            }
            "ftruncate" => {
                let len = arg(1)?.int()? as u64;
                match self.get(arg(0)?)?.map(|f| f.target) {
                    Some(Target::File { ino, name }) => {
                        self.push(c.line, OpKind::Truncate { ino, len }, name)
                    }
                    _ => Ok(()),
                }
            }
            "truncate" => {
                let abs = self.resolve(None, arg(0)?)?;
                match self
                    .rel(&abs)
                    .and_then(|r| self.live.lookup(&r).map(|n| (r, n)))
                {
                    Some((r, Node::File(ino))) => self.push(
                        c.line,
                        OpKind::Truncate {
                            ino,
                            len: arg(1)?.int()? as u64,
                        },
                        r,
                    ),
                    Some(_) => Err("truncate of a directory".into()),
                    None => Ok(()),
                }
            }
            "fsync" | "fdatasync" => self.fsync(c.line, arg(0)?),
            "sync" | "syncfs" => self.push(c.line, OpKind::SyncAll, PathBuf::new()),
            "rename" => self.two_paths(c.line, None, arg(0)?, None, arg(1)?, true),
            "renameat" => {
                self.two_paths(c.line, Some(arg(0)?), arg(1)?, Some(arg(2)?), arg(3)?, true)
            }
            "renameat2" => {
                if arg(4)?.has_flag("RENAME_EXCHANGE") || arg(4)?.has_flag("RENAME_WHITEOUT") {
                    return Err("renameat2 flags the model lacks".into());
                }
                self.two_paths(c.line, Some(arg(0)?), arg(1)?, Some(arg(2)?), arg(3)?, true)
            }
            "link" => self.two_paths(c.line, None, arg(0)?, None, arg(1)?, false),
            "linkat" => self.two_paths(
                c.line,
                Some(arg(0)?),
                arg(1)?,
                Some(arg(2)?),
                arg(3)?,
                false,
            ),
            "unlink" => self.remove(c.line, None, arg(0)?, false),
            "rmdir" => self.remove(c.line, None, arg(0)?, true),
            "unlinkat" => self.remove(
                c.line,
                Some(arg(0)?),
                arg(1)?,
                arg(2)?.has_flag("AT_REMOVEDIR"),
            ),
            "mkdir" => self.mkdir(c.line, None, arg(0)?),
            "mkdirat" => self.mkdir(c.line, Some(arg(0)?), arg(1)?),
            "symlink" | "symlinkat" => {
                let abs = self.resolve(None, a.last().ok_or("no path")?)?;
                match self.rel(&abs) {
                    Some(_) => Err("symbolic links under the root are not modelled".into()),
                    None => Ok(()),
                }
            }
            "copy_file_range" => self.copy(c.line, arg(0)?, arg(1)?, arg(2)?, arg(3)?, ret),
            "sendfile" => self.copy(
                c.line,
                arg(1)?,
                arg(2)?,
                arg(0)?,
                &Arg::Word("NULL".into()),
                ret,
            ),
            "fallocate" => self.fallocate(c.line, arg(0)?, arg(1)?, arg(2)?.int()?, arg(3)?.int()?),
            "chdir" => {
                self.cwd = self.resolve(None, arg(0)?)?;
                Ok(())
            }
            "fchdir" => match self.get(arg(0)?)?.map(|f| f.target) {
                Some(Target::Dir(d)) => {
                    self.cwd = d;
                    Ok(())
                }
                _ => Err("fchdir to an unknown directory".into()),
            },
            "mmap" => {
                let shared_write = arg(2)?.has_flag("PROT_WRITE") && arg(3)?.has_flag("MAP_SHARED");
                let file = matches!(
                    self.get(arg(4)?)?.map(|f| f.target),
                    Some(Target::File { .. })
                );
                if shared_write && file {
                    return Err("shared writable mmap of a file under the root".into());
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn open(
        &mut self,
        line: usize,
        dirfd: Option<&Arg>,
        path: &Arg,
        flags: &Arg,
        ret: i64,
    ) -> Result<(), String> {
        let abs = self.resolve(dirfd, path)?;
        let append = flags.has_flag("O_APPEND");
        let Some(rel) = self.rel(&abs) else {
            let target = if flags.has_flag("O_DIRECTORY") {
                Target::Dir(abs)
            } else {
                Target::Other
            };
            self.fds.insert(ret, fd(target, append));
            return Ok(());
        };
        if flags.has_flag("O_TMPFILE") {
            return Err("O_TMPFILE is not modelled".into());
        }
        let target = match self.live.lookup(&rel) {
            Some(Node::Dir) => Target::Dir(abs),
            Some(Node::File(ino)) => {
                let writable = flags.has_flag("O_WRONLY") || flags.has_flag("O_RDWR");
                if flags.has_flag("O_TRUNC") && writable {
                    self.push(line, OpKind::Truncate { ino, len: 0 }, rel.clone())?;
                }
                Target::File { ino, name: rel }
            }
            None if flags.has_flag("O_CREAT") => {
                let ino = self.live.new_inode();
                self.push(
                    line,
                    OpKind::Create {
                        path: rel.clone(),
                        ino,
                    },
                    rel.clone(),
                )?;
                Target::File { ino, name: rel }
            }
            None => {
                return Err(format!(
                    "{} opened but missing from the model",
                    rel.display()
                ));
            }
        };
        self.fds.insert(ret, fd(target, append));
        Ok(())
    }

    fn dup(&mut self, old: &Arg, new: i64) -> Result<(), String> {
        match self.get(old)? {
            Some(f) => self.fds.insert(new, f),
            None => self.fds.remove(&new),
        };
        Ok(())
    }

    fn write(
        &mut self,
        line: usize,
        fd: &Arg,
        data: &[u8],
        at: Option<i64>,
        n: i64,
    ) -> Result<(), String> {
        let Some(f) = self.get(fd)? else {
            return Ok(());
        };
        let data = data
            .get(..n as usize)
            .ok_or_else(|| format!("{n} bytes written but only {} printed", data.len()))?;
        match f.target {
            Target::File { ino, name } => {
                let off = match at {
                    Some(off) => off as u64,
                    None => {
                        let mut d = f.desc.borrow_mut();
                        if d.append {
                            d.offset = self.live.content(ino).len() as u64;
                        }
                        d.offset += data.len() as u64;
                        d.offset - data.len() as u64
                    }
                };
                let kind = OpKind::Write {
                    ino,
                    off,
                    data: data.to_vec(),
                };
                self.push(line, kind, name)
            }
            Target::Stdout => {
                self.stdout.extend_from_slice(data);
                while let Some(end) = self.stdout.iter().position(|&b| b == b'\n') {
                    let l: Vec<u8> = self.stdout.drain(..=end).collect();
                    let l = String::from_utf8_lossy(&l);
                    if let Some(k) = l.trim().strip_prefix("ack ").and_then(|k| k.parse().ok()) {
                        self.push(line, OpKind::Ack(k), PathBuf::new())?;
                    }
                }
                Ok(())
            }
            Target::Dir(_) => Err("write to a directory".into()),
            Target::Other => {
                if at.is_none() {
                    f.desc.borrow_mut().offset += data.len() as u64;
                }
                Ok(())
            }
        }
    }

    fn fsync(&mut self, line: usize, fd: &Arg) -> Result<(), String> {
        match self.get(fd)?.map(|f| f.target) {
            Some(Target::File { ino, name }) => self.push(line, OpKind::Sync { ino }, name),
            Some(Target::Dir(abs)) => match self.rel(&abs) {
                Some(rel) => self.push(line, OpKind::DirSync { path: rel.clone() }, rel),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Rename (`rename`) or hard link (`!rename`).
    fn two_paths(
        &mut self,
        line: usize,
        d1: Option<&Arg>,
        p1: &Arg,
        d2: Option<&Arg>,
        p2: &Arg,
        rename: bool,
    ) -> Result<(), String> {
        let (from, to) = (self.resolve(d1, p1)?, self.resolve(d2, p2)?);
        let kind = match (self.rel(&from), self.rel(&to)) {
            (None, None) => return Ok(()),
            (Some(from), Some(to)) if rename => OpKind::Rename { from, to },
            (Some(from), Some(to)) => OpKind::Link { from, to },
            _ => return Err("a name moved across the root's boundary".into()),
        };
        self.push(line, kind, PathBuf::new())
    }

    fn remove(
        &mut self,
        line: usize,
        dirfd: Option<&Arg>,
        path: &Arg,
        dir: bool,
    ) -> Result<(), String> {
        let abs = self.resolve(dirfd, path)?;
        match self.rel(&abs) {
            Some(path) if dir => self.push(line, OpKind::Rmdir { path }, PathBuf::new()),
            Some(path) => self.push(line, OpKind::Unlink { path }, PathBuf::new()),
            None => Ok(()),
        }
    }

    fn mkdir(&mut self, line: usize, dirfd: Option<&Arg>, path: &Arg) -> Result<(), String> {
        let abs = self.resolve(dirfd, path)?;
        match self.rel(&abs) {
            Some(path) => self.push(line, OpKind::Mkdir { path }, PathBuf::new()),
            None => Ok(()),
        }
    }

    /// `copy_file_range` / `sendfile`: `n` bytes from `src` to `dst`, each
    /// at its own offset when given (`[N]`) or its descriptor's offset.
    fn copy(
        &mut self,
        line: usize,
        src: &Arg,
        src_off: &Arg,
        dst: &Arg,
        dst_off: &Arg,
        n: i64,
    ) -> Result<(), String> {
        let Some(out) = self.get(dst)? else {
            return Ok(());
        };
        let Target::File { ino: out_ino, name } = out.target else {
            return Ok(());
        };
        let Some(Target::File { ino: in_ino, .. }) = self.get(src)?.map(|f| f.target.clone())
        else {
            return Err("copy into the root from an unknown file".into());
        };
        let input = self.get(src)?.expect("checked");
        let offset = |a: &Arg, desc: &Rc<RefCell<Desc>>| -> Result<u64, String> {
            match a {
                Arg::Array(v) if v.len() == 1 => Ok(v[0].int()? as u64),
                _ if a.word() == "NULL" => {
                    let mut d = desc.borrow_mut();
                    d.offset += n as u64;
                    Ok(d.offset - n as u64)
                }
                other => Err(format!("offset {other:?}")),
            }
        };
        let from = offset(src_off, &input.desc)? as usize;
        let to = offset(dst_off, &out.desc)?;
        let data = self.live.content(in_ino)[from..from + n as usize].to_vec();
        self.push(
            line,
            OpKind::Write {
                ino: out_ino,
                off: to,
                data,
            },
            name,
        )
    }

    fn fallocate(
        &mut self,
        line: usize,
        fd: &Arg,
        mode: &Arg,
        off: i64,
        len: i64,
    ) -> Result<(), String> {
        let Some(Target::File { ino, name }) = self.get(fd)?.map(|f| f.target) else {
            return Ok(());
        };
        if mode.int() != Ok(0) {
            return Err(format!("fallocate mode {mode:?} is not modelled"));
        }
        let end = (off + len) as u64;
        if end > self.live.content(ino).len() as u64 {
            self.push(line, OpKind::Truncate { ino, len: end }, name)?;
        }
        Ok(())
    }
}

/// The bytes of an iovec array, in order.
fn iov(a: &Arg) -> Result<Vec<u8>, String> {
    let Arg::Array(items) = a else {
        return Err(format!("iovec {a:?}"));
    };
    let mut out = Vec::new();
    for it in items {
        let Arg::Struct(fields) = it else {
            return Err(format!("iovec element {it:?} (raise strace -s)"));
        };
        let base = fields
            .iter()
            .find(|(k, _)| k == "iov_base")
            .ok_or("iovec without iov_base")?;
        out.extend_from_slice(base.1.bytes()?);
    }
    Ok(out)
}

/// Applies one operation to a tree (the live one while recording, a crash
/// state's while replaying a subset).
pub(crate) fn apply(fs_: &mut Fs, kind: &OpKind) -> Result<(), String> {
    match kind {
        OpKind::Create { path, ino } => fs_.create(path, *ino),
        OpKind::Mkdir { path } => fs_.mkdir(path),
        OpKind::Rename { from, to } => fs_.rename(from, to),
        OpKind::Link { from, to } => fs_.link(from, to),
        OpKind::Unlink { path } => fs_.unlink(path),
        OpKind::Rmdir { path } => fs_.rmdir(path),
        OpKind::Write { ino, off, data } => {
            fs_.write(*ino, *off, data);
            Ok(())
        }
        OpKind::Truncate { ino, len } => {
            fs_.truncate(*ino, *len);
            Ok(())
        }
        OpKind::Sync { .. } | OpKind::DirSync { .. } | OpKind::SyncAll | OpKind::Ack(_) => Ok(()),
    }
}
