//! One module per subcommand.

pub mod demo;
pub mod eval;
pub mod logs;
pub mod model;
pub mod rules;
pub mod scan;
pub mod simulate;
pub mod train;

use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Mutex;

/// The bar drawn last: lines for the terminal go through [`eprint_line`], which
/// clears the bar, prints, and redraws it, so a line never lands on the bar.
static ACTIVE_BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Runs `f` with the progress bar (if any) cleared from the terminal: anything
/// printed to standard output or error inside `f` starts on a clean line, and the
/// bar is drawn again after. Output must be flushed inside `f`.
pub fn suspend_progress<R>(f: impl FnOnce() -> R) -> R {
    let bar = ACTIVE_BAR.lock().ok().and_then(|b| b.clone());
    match bar {
        Some(bar) => bar.suspend(f),
        None => f(),
    }
}

/// Prints a line on standard error without landing on a progress bar.
pub fn eprint_line(line: &str) {
    suspend_progress(|| eprintln!("{line}"));
}

/// A progress bar on standard error (hidden when it is not a terminal).
pub fn progress(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{msg:>10} [{bar:30}] {pos}/{len} files {elapsed} ({eta} left)",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    pb.set_style(style);
    pb.set_message(what.to_owned());
    if let Ok(mut active) = ACTIVE_BAR.lock() {
        *active = Some(pb.clone());
    }
    pb
}

/// Runs a future whose ports are local (they never wait on I/O readiness).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        // Building a current-thread runtime only fails when the OS refuses resources.
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(2)
        }
    }
}
