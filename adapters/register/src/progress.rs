//! Showing how far an import has got: a bar on a terminal, plain lines in a log.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How an import shows its progress (rows, rows/s, and an ETA from bytes read against the
/// file's size).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Progress {
    /// A bar when stderr is a terminal, else a plain line on stderr every 5 seconds.
    #[default]
    Auto,
    /// Always a bar on stderr.
    Bar,
    /// A plain line on stderr at most this often, and one at the end.
    Plain { every: Duration },
    /// Nothing (tests).
    Hidden,
}

impl Progress {
    /// The period of plain lines under [`Progress::Auto`].
    pub const DEFAULT_EVERY: Duration = Duration::from_secs(5);
}

enum Display {
    Bar(ProgressBar),
    Plain { every: Duration, last: Instant },
    Hidden,
}

/// Driven by the parsing thread.
pub(crate) struct Tracker {
    display: Display,
    total_bytes: u64,
    started: Instant,
}

impl Tracker {
    pub(crate) fn new(progress: &Progress, total_bytes: u64) -> Self {
        let started = Instant::now();
        let plain = |every| Display::Plain {
            every,
            last: started,
        };
        let display = match progress {
            Progress::Hidden => Display::Hidden,
            Progress::Plain { every } => plain(*every),
            Progress::Bar => Display::Bar(bar(total_bytes)),
            Progress::Auto if std::io::stderr().is_terminal() => Display::Bar(bar(total_bytes)),
            Progress::Auto => plain(Progress::DEFAULT_EVERY),
        };
        Self {
            display,
            total_bytes,
            started,
        }
    }

    /// Cheap enough to call every few thousand rows.
    pub(crate) fn update(&mut self, bytes: u64, rows: u64) {
        let elapsed = self.started.elapsed();
        match &mut self.display {
            Display::Hidden => {}
            Display::Bar(bar) => {
                bar.set_position(bytes);
                bar.set_message(format!("{rows} rows, {:.0} rows/s", rate(rows, elapsed)));
            }
            Display::Plain { every, last } => {
                if last.elapsed() >= *every {
                    *last = Instant::now();
                    eprintln!("{}", plain_line(rows, bytes, self.total_bytes, elapsed));
                }
            }
        }
    }

    pub(crate) fn finish(&mut self, bytes: u64, rows: u64) {
        let elapsed = self.started.elapsed();
        match &mut self.display {
            Display::Hidden => {}
            Display::Bar(bar) => {
                bar.set_position(bytes);
                bar.finish_with_message(format!(
                    "{rows} rows read in {:.1} s",
                    elapsed.as_secs_f64()
                ));
            }
            Display::Plain { .. } => {
                eprintln!("{}", plain_line(rows, bytes, self.total_bytes, elapsed));
            }
        }
    }
}

fn bar(total_bytes: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {elapsed_precise} [{wide_bar}] {percent:>3}% {msg} ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

#[allow(clippy::cast_precision_loss)]
fn rate(rows: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        rows as f64 / seconds
    } else {
        0.0
    }
}

#[allow(clippy::cast_precision_loss)]
pub(crate) fn plain_line(rows: u64, bytes: u64, total_bytes: u64, elapsed: Duration) -> String {
    let fraction = if total_bytes > 0 {
        (bytes as f64 / total_bytes as f64).min(1.0)
    } else {
        1.0
    };
    let seconds = elapsed.as_secs_f64();
    let eta = if fraction > 0.0 {
        seconds * (1.0 - fraction) / fraction
    } else {
        f64::NAN
    };
    format!(
        "register import: {rows} rows, {:.1}% of {:.1} MB, {:.0} rows/s, ETA {:.0} s",
        fraction * 100.0,
        total_bytes as f64 / 1_000_000.0,
        rate(rows, elapsed),
        eta
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_give_rows_share_rate_and_eta() {
        let line = plain_line(500_000, 25_000_000, 100_000_000, Duration::from_secs(10));
        assert_eq!(
            line,
            "register import: 500000 rows, 25.0% of 100.0 MB, 50000 rows/s, ETA 30 s"
        );
    }

    #[test]
    fn an_empty_file_is_done() {
        let line = plain_line(0, 0, 0, Duration::from_secs(1));
        assert!(line.contains("100.0%"), "{line}");
        assert!(line.contains("ETA 0 s"), "{line}");
    }
}
