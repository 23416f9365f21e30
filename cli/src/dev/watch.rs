//! What wakes `dev` up: a saved file in one of the app's folders, or a
//! signal to stop.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// An editor's save is several events (a temp file, a write, a rename):
/// a change is over once nothing happened for this long.
const QUIET: Duration = Duration::from_millis(25);
/// Once a file was closed after writing, renamed into place or removed,
/// what is left of a save comes at once: wait only this long for it.
const QUIET_AFTER_CLOSE: Duration = Duration::from_millis(2);
/// A steady stream of events (a `git checkout`) is taken in one round.
const MOST: Duration = Duration::from_millis(500);

pub enum Wake {
    /// Files changed: the paths, sorted, once each, and when the first
    /// change was seen.
    Changed(Vec<PathBuf>, Instant),
    /// SIGINT, SIGTERM or SIGHUP: stop the server and exit.
    Stop,
}

enum Message {
    /// A changed path, and whether the event ends a save (see [`ends_a_save`]).
    Path(PathBuf, bool),
    Stop,
}

/// Watches `folders` (each and all below it, if it exists) and `files` in
/// `crate_dir`; keep it alive as long as events are wanted.
pub struct Watch {
    watcher: notify::RecommendedWatcher,
    messages: Receiver<Message>,
    /// The folders to watch that did not exist yet when last looked at.
    missing: Vec<PathBuf>,
}

impl Watch {
    pub fn new(crate_dir: &Path, folders: &[&str], files: &[&str]) -> Result<Watch, String> {
        let (send, messages) = channel();
        let watched: Vec<PathBuf> = folders
            .iter()
            .chain(files)
            .map(|name| crate_dir.join(name))
            .collect();
        let events = send.clone();
        let filter = watched.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                if !is_change(&event.kind) {
                    return;
                }
                let ends = ends_a_save(&event.kind);
                for path in event.paths {
                    if filter.iter().any(|w| path.starts_with(w)) && !is_editor_noise(&path) {
                        let _ = events.send(Message::Path(path, ends));
                    }
                }
            })
            .map_err(|e| format!("cannot watch files: {e}"))?;
        // The crate folder itself, not below: a folder created later
        // (`public/`) and Cargo.toml show up here.
        watcher
            .watch(crate_dir, RecursiveMode::NonRecursive)
            .map_err(|e| format!("cannot watch {}: {e}", crate_dir.display()))?;
        stop_on_signals(send)?;
        let mut watch = Watch {
            watcher,
            messages,
            missing: folders.iter().map(|f| crate_dir.join(f)).collect(),
        };
        watch.watch_new_folders()?;
        Ok(watch)
    }

    /// Watches each folder that exists by now (`public/` made after
    /// `dev` started), all below it.
    fn watch_new_folders(&mut self) -> Result<(), String> {
        let (found, missing) = self.missing.drain(..).partition(|p: &PathBuf| p.is_dir());
        self.missing = missing;
        for path in found {
            self.watcher
                .watch(&path, RecursiveMode::Recursive)
                .map_err(|e| format!("cannot watch {}: {e}", path.display()))?;
        }
        Ok(())
    }

    /// Blocks until a change is over or a signal came.
    pub fn next(&mut self) -> Wake {
        let (mut paths, mut ended) = match self.messages.recv() {
            Ok(Message::Path(path, ends)) => (vec![path], ends),
            Ok(Message::Stop) | Err(_) => return Wake::Stop,
        };
        let first = Instant::now();
        while first.elapsed() < MOST {
            let quiet = if ended { QUIET_AFTER_CLOSE } else { QUIET };
            match self.messages.recv_timeout(quiet) {
                Ok(Message::Path(path, ends)) => {
                    paths.push(path);
                    ended = ends;
                }
                Ok(Message::Stop) => return Wake::Stop,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return Wake::Stop,
            }
        }
        if let Err(e) = self.watch_new_folders() {
            eprintln!("approute dev: {e}");
        }
        paths.sort();
        paths.dedup();
        Wake::Changed(paths, first)
    }
}

/// Writes, creations, removals and renames; not reads (cargo reads every
/// source file on each build, which would wake `dev` again).
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Other | EventKind::Any => false,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
    }
}

/// A file closed after writing, renamed into place, or removed: the last
/// event of a save.
fn ends_a_save(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Access(AccessKind::Close(AccessMode::Write))
            | EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both))
            | EventKind::Remove(_)
    )
}

/// Swap and backup files editors write beside the one being saved.
fn is_editor_noise(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.starts_with(".#")
        || name == "4913"
}

/// A thread that turns SIGINT, SIGTERM and SIGHUP into [`Wake::Stop`].
fn stop_on_signals(send: Sender<Message>) -> Result<(), String> {
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .map_err(|e| format!("cannot listen for signals: {e}"))?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _ = send.send(Message::Stop);
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_swap_files_are_not_changes() {
        assert!(is_editor_noise(Path::new("app/.route.rs.swp")));
        assert!(is_editor_noise(Path::new("app/route.rs~")));
        assert!(!is_editor_noise(Path::new("app/route.rs")));
    }

    #[test]
    fn a_write_is_over_when_the_file_is_closed_not_when_it_is_created() {
        use notify::event::{CreateKind, DataChange};
        let closed = EventKind::Access(AccessKind::Close(AccessMode::Write));
        let written = EventKind::Modify(ModifyKind::Data(DataChange::Any));
        let renamed = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        assert!(ends_a_save(&closed) && ends_a_save(&renamed));
        assert!(!ends_a_save(&written));
        assert!(!ends_a_save(&EventKind::Create(CreateKind::File)));
    }
}
