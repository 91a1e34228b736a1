//! Progress of long commands (seed, import, warehouse export, key rotation, backups).
//!
//! On a terminal, an `indicatif` bar on stderr (count, rate, time left). Anywhere else (a log
//! file, a pipe, systemd's journal) no control characters: one plain line at each tenth of the
//! work and at the end, so a log shows the job moving without a line per item. Progress is
//! counts only — never a name or anything about the people being processed.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Progress {
    label: String,
    unit: &'static str,
    total: u64,
    bar: Option<ProgressBar>,
    /// Next tenth to print in plain mode.
    next_tenth: AtomicU64,
}

impl Progress {
    /// A progress report of `total` items (`unit`: « dossiers », « lignes »…).
    pub fn new(label: &str, unit: &'static str, total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            let style = ProgressStyle::with_template(
                "{msg} [{bar:30}] {human_pos}/{human_len} {prefix} ({per_sec}, reste {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_message(label.to_string());
            bar.set_prefix(unit);
            bar
        });
        Progress {
            label: label.to_string(),
            unit,
            total,
            bar,
            next_tenth: AtomicU64::new(1),
        }
    }

    /// `done` items out of the total are done.
    pub fn set(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            return;
        }
        if self.total == 0 {
            return;
        }
        let tenth = done.saturating_mul(10) / self.total;
        let next = self.next_tenth.load(Ordering::Relaxed);
        if tenth >= next
            && self
                .next_tenth
                .compare_exchange(next, tenth + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            eprintln!(
                "{} : {done}/{} {} ({} %)",
                self.label,
                self.total,
                self.unit,
                done.saturating_mul(100) / self.total
            );
        }
    }

    /// The work is over: the bar is left complete on the terminal.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Progress;

    #[test]
    fn plain_mode_prints_each_tenth_once() {
        // Not a terminal under `cargo test`: plain mode.
        let p = Progress::new("Import", "lignes", 1000);
        assert!(p.bar.is_none());
        for done in [0, 50, 100, 150, 990, 1000] {
            p.set(done);
        }
        // 100 printed tenth 1, 990 tenth 9, 1000 tenth 10: next to print is the 11th.
        assert_eq!(p.next_tenth.load(std::sync::atomic::Ordering::Relaxed), 11);
    }
}
