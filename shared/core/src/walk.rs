//! The one directory walker of trailhound: CloudTrail trees, subscription files,
//! Sigma rule folders and the bench all list their inputs with it, each with its
//! own filter.
//!
//! What must stay true: a walk ends whatever the tree holds. Symbolic links are
//! followed (to files and to directories), a directory is entered at most once
//! (by device and inode on Unix, by canonical path elsewhere), so a link back to an
//! ancestor cannot loop; depth is bounded by [`MAX_DEPTH`]; and nothing that cannot
//! be read stops the walk: it is listed in [`Walk::skipped`] with the operating
//! system's reason, for the caller to report. Only regular files are returned, so
//! that a FIFO or a device under a log folder is never opened (opening a FIFO for
//! reading blocks until a writer comes).

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Deepest directory level entered below a root (the root's entries are level 1).
pub const MAX_DEPTH: usize = 64;

/// What the filter is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// A directory (or a link to one): `true` to walk into it.
    Dir,
    /// A regular file (or a link to one): `true` to keep it.
    File,
}

/// Why an entry was left out.
#[derive(Debug)]
pub enum SkipReason {
    /// It could not be listed or examined (permission, dangling link, I/O error).
    Unreadable(io::Error),
    /// A directory that is one of its own ancestors (a symbolic link loop).
    Loop,
    /// A directory already walked through another path (a second link to it).
    AlreadyWalked,
    /// A directory deeper than the maximum depth.
    TooDeep(usize),
    /// A FIFO, socket or device.
    NotRegular,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Unreadable(e) => write!(f, "cannot read: {e}"),
            SkipReason::Loop => f.write_str("symbolic link loop (a directory inside itself)"),
            SkipReason::AlreadyWalked => {
                f.write_str("directory already walked through another path")
            }
            SkipReason::TooDeep(max) => write!(f, "deeper than {max} directory levels"),
            SkipReason::NotRegular => f.write_str("not a regular file (FIFO, socket or device)"),
        }
    }
}

/// An entry left out of a walk.
#[derive(Debug)]
pub struct Skipped {
    /// The entry's path.
    pub path: PathBuf,
    /// Why.
    pub reason: SkipReason,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

/// The result of a walk.
#[derive(Debug, Default)]
pub struct Walk {
    /// Regular files the filter kept, sorted by path.
    pub files: Vec<PathBuf>,
    /// Entries left out, sorted by path.
    pub skipped: Vec<Skipped>,
}

impl Walk {
    /// One line per skipped entry, at most `max` of them, then how many more:
    /// `None` when nothing was skipped.
    pub fn skipped_summary(&self, max: usize) -> Option<String> {
        if self.skipped.is_empty() {
            return None;
        }
        let n = self.skipped.len();
        let mut s = format!("skipped {n} {}", if n == 1 { "entry" } else { "entries" });
        for e in self.skipped.iter().take(max) {
            s.push_str(&format!("\n  {e}"));
        }
        if n > max {
            s.push_str(&format!("\n  … and {} more", n - max));
        }
        Some(s)
    }
}

/// Walks the directory `root` (following symbolic links), asking `keep` about
/// every directory (walk into it?) and regular file (keep it?). FIFOs, sockets and
/// devices are never handed to `keep`: they are skipped and listed.
pub fn walk(root: &Path, keep: impl FnMut(&Path, Entry) -> bool) -> Walk {
    walk_with(&RealFs, root, MAX_DEPTH, keep)
}

/// What the walker needs of a file system (a fake one in tests).
trait Fs {
    /// The kind of `path` after following links, and a directory's identity.
    fn kind(&self, path: &Path) -> io::Result<Kind>;
    /// The entries of a directory.
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Dir(DirId),
    File,
    Other,
}

/// Identity of a directory, the same whatever path leads to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum DirId {
    #[cfg_attr(not(unix), allow(dead_code))]
    Inode(u64, u64),
    #[cfg_attr(unix, allow(dead_code))]
    Path(PathBuf),
}

struct RealFs;

impl Fs for RealFs {
    fn kind(&self, path: &Path) -> io::Result<Kind> {
        let meta = std::fs::metadata(path)?;
        if meta.is_dir() {
            #[cfg(unix)]
            let id = {
                use std::os::unix::fs::MetadataExt;
                DirId::Inode(meta.dev(), meta.ino())
            };
            #[cfg(not(unix))]
            let id = DirId::Path(std::fs::canonicalize(path)?);
            Ok(Kind::Dir(id))
        } else if meta.is_file() {
            Ok(Kind::File)
        } else {
            Ok(Kind::Other)
        }
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.path()))
            .collect()
    }
}

struct Walker<'f, F, K> {
    fs: &'f F,
    keep: K,
    max_depth: usize,
    /// Directories entered so far.
    visited: HashSet<DirId>,
    /// Directories from the root down to the current one.
    ancestors: Vec<DirId>,
    out: Walk,
}

fn walk_with<F: Fs>(
    fs: &F,
    root: &Path,
    max_depth: usize,
    keep: impl FnMut(&Path, Entry) -> bool,
) -> Walk {
    let mut w = Walker {
        fs,
        keep,
        max_depth,
        visited: HashSet::new(),
        ancestors: Vec::new(),
        out: Walk::default(),
    };
    match fs.kind(root) {
        Ok(Kind::Dir(id)) => w.enter(root, id, 0),
        Ok(_) => w.skip(
            root,
            SkipReason::Unreadable(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a directory",
            )),
        ),
        Err(e) => w.skip(root, SkipReason::Unreadable(e)),
    }
    w.out.files.sort();
    w.out.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    w.out
}

impl<F: Fs, K: FnMut(&Path, Entry) -> bool> Walker<'_, F, K> {
    fn skip(&mut self, path: &Path, reason: SkipReason) {
        self.out.skipped.push(Skipped {
            path: path.to_path_buf(),
            reason,
        });
    }

    /// Lists the directory `dir` (at `depth`) and handles its entries in name
    /// order. The recursion is at most `max_depth` deep.
    fn enter(&mut self, dir: &Path, id: DirId, depth: usize) {
        self.visited.insert(id.clone());
        let mut entries = match self.fs.list(dir) {
            Ok(e) => e,
            Err(e) => return self.skip(dir, SkipReason::Unreadable(e)),
        };
        entries.sort();
        self.ancestors.push(id);
        for path in entries {
            match self.fs.kind(&path) {
                Err(e) => self.skip(&path, SkipReason::Unreadable(e)),
                Ok(Kind::File) => {
                    if (self.keep)(&path, Entry::File) {
                        self.out.files.push(path);
                    }
                }
                // Never handed to the filter: a filter that peeks at contents
                // would block on a FIFO.
                Ok(Kind::Other) => self.skip(&path, SkipReason::NotRegular),
                Ok(Kind::Dir(sub)) => {
                    if !(self.keep)(&path, Entry::Dir) {
                        continue;
                    }
                    if self.ancestors.contains(&sub) {
                        self.skip(&path, SkipReason::Loop);
                    } else if self.visited.contains(&sub) {
                        self.skip(&path, SkipReason::AlreadyWalked);
                    } else if depth + 1 > self.max_depth {
                        self.skip(&path, SkipReason::TooDeep(self.max_depth));
                    } else {
                        self.enter(&path, sub, depth + 1);
                    }
                }
            }
        }
        self.ancestors.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn any(_: &Path, _: Entry) -> bool {
        true
    }

    fn json_only(p: &Path, e: Entry) -> bool {
        e == Entry::Dir || p.extension().is_some_and(|x| x == "json")
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("th-walk-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn names(root: &Path, paths: &[PathBuf]) -> Vec<String> {
        paths
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_end_and_are_reported() {
        use std::os::unix::fs::symlink;
        let d = tmp("loop");
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        std::fs::write(d.join("a/b/x.json"), "{}").unwrap();
        symlink(&d, d.join("a/b/up")).unwrap();
        symlink(d.join("a"), d.join("a/b/back")).unwrap();
        let w = walk(&d, any);
        assert_eq!(names(&d, &w.files), ["a/b/x.json"]);
        let skipped: Vec<String> = w.skipped.iter().map(|s| s.to_string()).collect();
        assert_eq!(w.skipped.len(), 2, "{skipped:?}");
        assert!(
            w.skipped
                .iter()
                .all(|s| matches!(s.reason, SkipReason::Loop)),
            "{skipped:?}"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn follows_links_to_files_and_directories() {
        use std::os::unix::fs::symlink;
        let d = tmp("links");
        let elsewhere = tmp("links-target");
        std::fs::create_dir_all(d.join("real")).unwrap();
        std::fs::write(d.join("real/r.json"), "{}").unwrap();
        std::fs::write(elsewhere.join("t.json"), "{}").unwrap();
        std::fs::create_dir_all(elsewhere.join("sub")).unwrap();
        std::fs::write(elsewhere.join("sub/s.json"), "{}").unwrap();
        symlink(elsewhere.join("t.json"), d.join("linked.json")).unwrap();
        symlink(elsewhere.join("sub"), d.join("linked-dir")).unwrap();
        symlink(d.join("nowhere"), d.join("dangling.json")).unwrap();
        let w = walk(&d, json_only);
        assert_eq!(
            names(&d, &w.files),
            ["linked-dir/s.json", "linked.json", "real/r.json"]
        );
        assert_eq!(w.skipped.len(), 1);
        assert!(matches!(w.skipped[0].reason, SkipReason::Unreadable(_)));
        let line = w.skipped[0].to_string();
        assert!(
            line.contains("dangling.json") && line.contains("No such file"),
            "{line}"
        );
        std::fs::remove_dir_all(&d).unwrap();
        std::fs::remove_dir_all(&elsewhere).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_skipped_not_opened() {
        let d = tmp("fifo");
        std::fs::write(d.join("a.json"), "{}").unwrap();
        let fifo = d.join("pipe.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("mkfifo unavailable: FIFO case not run");
            return;
        }
        let w = walk(&d, json_only);
        assert_eq!(names(&d, &w.files), ["a.json"]);
        assert_eq!(w.skipped.len(), 1);
        assert!(matches!(w.skipped[0].reason, SkipReason::NotRegular));
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// A tree in memory, so that failures root cannot have (an unreadable
    /// directory) can be injected.
    #[derive(Default)]
    struct FakeFs {
        dirs: BTreeMap<PathBuf, Result<Vec<PathBuf>, io::ErrorKind>>,
        files: Vec<PathBuf>,
    }

    impl Fs for FakeFs {
        fn kind(&self, path: &Path) -> io::Result<Kind> {
            if self.dirs.contains_key(path) {
                Ok(Kind::Dir(DirId::Path(path.to_path_buf())))
            } else if self.files.iter().any(|f| f == path) {
                Ok(Kind::File)
            } else {
                Err(io::ErrorKind::NotFound.into())
            }
        }
        fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
            match self.dirs.get(dir) {
                Some(Ok(v)) => Ok(v.clone()),
                Some(Err(k)) => Err(io::Error::from(*k)),
                None => Err(io::ErrorKind::NotFound.into()),
            }
        }
    }

    #[test]
    fn an_unreadable_directory_is_skipped_with_its_reason() {
        let p = PathBuf::from;
        let mut fs = FakeFs::default();
        fs.dirs.insert(
            p("/r"),
            Ok(vec![p("/r/ok"), p("/r/locked"), p("/r/z.json")]),
        );
        fs.dirs.insert(p("/r/ok"), Ok(vec![p("/r/ok/a.json")]));
        fs.dirs
            .insert(p("/r/locked"), Err(io::ErrorKind::PermissionDenied));
        fs.files = vec![p("/r/ok/a.json"), p("/r/z.json")];
        let w = walk_with(&fs, Path::new("/r"), MAX_DEPTH, any);
        assert_eq!(w.files, [p("/r/ok/a.json"), p("/r/z.json")]);
        assert_eq!(w.skipped.len(), 1);
        assert_eq!(w.skipped[0].path, p("/r/locked"));
        assert!(matches!(
            &w.skipped[0].reason,
            SkipReason::Unreadable(e) if e.kind() == io::ErrorKind::PermissionDenied
        ));
        let summary = w.skipped_summary(5).unwrap();
        assert!(
            summary.starts_with("skipped 1 entry\n  /r/locked: cannot read"),
            "{summary}"
        );
    }

    #[test]
    fn depth_is_bounded_and_counted() {
        let mut fs = FakeFs::default();
        let mut dir = PathBuf::from("/d");
        for _ in 0..10 {
            let sub = dir.join("s");
            fs.dirs
                .insert(dir.clone(), Ok(vec![sub.clone(), dir.join("f.json")]));
            fs.files.push(dir.join("f.json"));
            dir = sub;
        }
        fs.dirs.insert(dir, Ok(Vec::new()));
        let w = walk_with(&fs, Path::new("/d"), 3, any);
        assert_eq!(w.files.len(), 4, "{:?}", w.files);
        assert_eq!(w.skipped.len(), 1);
        assert!(matches!(w.skipped[0].reason, SkipReason::TooDeep(3)));
        let all = walk_with(&fs, Path::new("/d"), MAX_DEPTH, any);
        assert_eq!(all.files.len(), 10);
        assert!(all.skipped.is_empty());
    }

    #[test]
    fn output_is_sorted_and_the_filter_decides() {
        let p = PathBuf::from;
        let mut fs = FakeFs::default();
        fs.dirs.insert(
            p("/r"),
            Ok(vec![
                p("/r/b.json"),
                p("/r/digest"),
                p("/r/a.json"),
                p("/r/c.txt"),
            ]),
        );
        fs.dirs
            .insert(p("/r/digest"), Ok(vec![p("/r/digest/d.json")]));
        fs.files = vec![
            p("/r/a.json"),
            p("/r/b.json"),
            p("/r/c.txt"),
            p("/r/digest/d.json"),
        ];
        let w = walk_with(&fs, Path::new("/r"), MAX_DEPTH, |p, e| match e {
            Entry::Dir => !p.ends_with("digest"),
            Entry::File => p.extension().is_some_and(|x| x == "json"),
        });
        assert_eq!(w.files, [p("/r/a.json"), p("/r/b.json")]);
        assert!(w.skipped.is_empty());
    }

    #[test]
    fn a_missing_root_is_reported_not_fatal() {
        let w = walk(Path::new("/nonexistent/trailhound-walk-root"), any);
        assert!(w.files.is_empty());
        assert_eq!(w.skipped.len(), 1);
        assert!(w.skipped[0].to_string().contains("No such file"));
    }
}
