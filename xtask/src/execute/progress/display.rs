//! Shows where each building image stands, on the stream the build's human output goes to: on a
//! terminal, one line per building image refreshed in place (indicatif); elsewhere (CI logs), a
//! line each time an image starts a package and at most one `still at ...` line per image every
//! [`STILL_AT_EVERY`]; with `--quiet`, nothing. Every other line of the build goes through
//! [`ProgressDisplay::say`], so it prints above the live lines instead of through them.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::image_progress::{short_duration, Change, ImageProgress};
use crate::execute::summary::Packages;

/// How often a plain (not a terminal) display says an image is still at the same package.
pub const STILL_AT_EVERY: Duration = Duration::from_secs(30);
/// How often the live lines and the `still at` checks run.
const TICK: Duration = Duration::from_secs(1);

/// The stream the build's human output goes to.
#[derive(Clone, Debug)]
pub enum Stream {
    Stdout,
    Stderr,
    /// Lines kept in memory (tests of the display).
    #[cfg(test)]
    Memory(Arc<Mutex<Vec<String>>>),
}

impl Stream {
    fn print(&self, line: &str) {
        match self {
            Stream::Stdout => println!("{line}"),
            Stream::Stderr => eprintln!("{line}"),
            #[cfg(test)]
            Stream::Memory(lines) => lines.lock().unwrap().push(line.to_owned()),
        }
    }

    fn is_terminal(&self) -> bool {
        match self {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
            #[cfg(test)]
            Stream::Memory(_) => false,
        }
    }
}

/// How progress shows.
enum Mode {
    /// Nothing beyond the build's own lines (`--quiet`).
    Quiet,
    /// Lines refreshed in place.
    Terminal(MultiProgress),
    /// Plain lines, for logs.
    Lines,
}

/// An image building now.
struct Watched {
    /// `[3/8] nginx`.
    label: String,
    progress: ImageProgress,
    bar: Option<ProgressBar>,
    /// When its last line was printed (plain lines).
    last_said: Instant,
}

type Images = Arc<Mutex<BTreeMap<usize, Watched>>>;

/// The build's progress display, shared by its worker threads.
pub struct ProgressDisplay {
    stream: Stream,
    mode: Arc<Mode>,
    images: Images,
    /// Stops the ticker when dropped.
    ticker: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
}

impl ProgressDisplay {
    /// A display on `stream`: live on a terminal, plain lines elsewhere, none when `quiet`.
    pub fn start(stream: Stream, quiet: bool) -> ProgressDisplay {
        let mut display = ProgressDisplay::new(stream, quiet);
        if !matches!(*display.mode, Mode::Quiet) {
            let (stop, stopped) = mpsc::channel::<()>();
            let (mode, stream, images) = (display.mode.clone(), display.stream.clone(), display.images.clone());
            let thread = std::thread::spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                    tick(&mode, &stream, &images, Instant::now());
                }
            });
            display.ticker = Some((stop, thread));
        }
        display
    }

    /// A display without its ticker.
    fn new(stream: Stream, quiet: bool) -> ProgressDisplay {
        let mode = if quiet {
            Mode::Quiet
        } else if stream.is_terminal() {
            let target = match stream {
                Stream::Stdout => ProgressDrawTarget::stdout(),
                _ => ProgressDrawTarget::stderr(),
            };
            let multi = MultiProgress::with_draw_target(target);
            // A terminal indicatif would not draw on (TERM=dumb): plain lines, or they are lost.
            if multi.is_hidden() {
                Mode::Lines
            } else {
                Mode::Terminal(multi)
            }
        } else {
            Mode::Lines
        };
        ProgressDisplay { stream, mode: Arc::new(mode), images: Images::default(), ticker: None }
    }

    /// Prints a line of the build (`==> [3/8] nginx: building ...`), above the live lines.
    pub fn say(&self, line: &str) {
        match &*self.mode {
            Mode::Terminal(multi) => {
                if multi.println(line).is_err() {
                    self.stream.print(line);
                }
            }
            Mode::Quiet | Mode::Lines => self.stream.print(line),
        }
    }

    /// Starts following an image's output (its time counts from now); `number` (of `total`) is its
    /// place in the build. Its live line shows once it [builds](ImageWatch::show).
    pub fn watch(&self, number: usize, total: usize, name: &str) -> ImageWatch<'_> {
        self.watch_at(number, total, name, Instant::now())
    }

    fn watch_at(&self, number: usize, total: usize, name: &str, now: Instant) -> ImageWatch<'_> {
        let label = format!("[{number}/{total}] {name}");
        let watched = Watched { label: label.clone(), progress: ImageProgress::new(now), bar: None, last_said: now };
        self.images.lock().unwrap().insert(number, watched);
        ImageWatch { display: self, number, label }
    }

    /// Shows an image's live line (on a terminal).
    fn show(&self, number: usize) {
        let Mode::Terminal(multi) = &*self.mode else { return };
        let mut images = self.images.lock().unwrap();
        let Some(watched) = images.get_mut(&number).filter(|watched| watched.bar.is_none()) else { return };
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_style(ProgressStyle::with_template("{prefix} {wide_msg}").expect("a valid template"));
        bar.set_prefix(watched.label.clone());
        bar.set_message(live_text(&watched.progress, Instant::now()));
        watched.bar = Some(bar);
    }

    /// Reads a line of an image's output, read at `now`.
    fn line(&self, number: usize, line: &str, now: Instant) {
        let mut images = self.images.lock().unwrap();
        let Some(watched) = images.get_mut(&number) else { return };
        let change = watched.progress.feed(line, now);
        if change == Change::None {
            return;
        }
        match &*self.mode {
            Mode::Terminal(_) => {
                if let Some(bar) = &watched.bar {
                    bar.set_message(live_text(&watched.progress, now));
                }
            }
            Mode::Lines if change == Change::Started => {
                if let Some(current) = watched.progress.current() {
                    self.stream.print(&format!("==> {}: {}", watched.label, current.describe()));
                    watched.last_said = now;
                }
            }
            Mode::Lines | Mode::Quiet => {}
        }
    }
}

impl Drop for ProgressDisplay {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.ticker.take() {
            drop(stop);
            let _ = thread.join();
        }
        if let Mode::Terminal(multi) = &*self.mode {
            let _ = multi.clear();
        }
    }
}

/// One image followed by the display, until dropped.
pub struct ImageWatch<'d> {
    display: &'d ProgressDisplay,
    number: usize,
    /// `[3/8] nginx`.
    label: String,
}

impl ImageWatch<'_> {
    /// Prints a line about the image (`==> [3/8] nginx: TEXT`), above the live lines.
    pub fn say(&self, text: &str) {
        self.display.say(&format!("==> {}: {text}", self.label));
    }

    /// The image builds: its live line shows (on a terminal).
    pub fn show(&self) {
        self.display.show(self.number);
    }

    /// Reads a line of the image's output (what its steps print, as it comes).
    pub fn line(&self, line: &str) {
        self.display.line(self.number, line, Instant::now());
    }

    /// Stops following the image (its live line goes); the packages it merged. Lines it reads
    /// after are not read.
    pub fn finish(&self) -> Packages {
        let watched = self.display.images.lock().unwrap().remove(&self.number);
        let Some(watched) = watched else { return Packages::default() };
        if let (Some(bar), Mode::Terminal(multi)) = (&watched.bar, &*self.display.mode) {
            bar.finish_and_clear();
            multi.remove(bar);
        }
        watched.progress.packages()
    }
}

impl Drop for ImageWatch<'_> {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A live line's text: `1m02s  (1 of 2) dev-util/buildtool-1 (compiling) 12s`.
fn live_text(progress: &ImageProgress, now: Instant) -> String {
    format!("{}  {}", short_duration(progress.elapsed(now)), progress.describe(now))
}

/// Once a [`TICK`]: refreshes the live lines (their times move), or says which images are still at
/// the same package since [`STILL_AT_EVERY`].
fn tick(mode: &Mode, stream: &Stream, images: &Mutex<BTreeMap<usize, Watched>>, now: Instant) {
    let mut images = images.lock().unwrap();
    for watched in images.values_mut() {
        match mode {
            Mode::Terminal(_) => {
                if let Some(bar) = &watched.bar {
                    bar.set_message(live_text(&watched.progress, now));
                }
            }
            Mode::Lines => {
                let Some(current) = watched.progress.current() else { continue };
                if now.saturating_duration_since(watched.last_said) >= STILL_AT_EVERY {
                    stream.print(&format!(
                        "==> {}: still at {} for {}, image {}",
                        watched.label,
                        current.describe(),
                        short_duration(now.saturating_duration_since(current.since)),
                        short_duration(watched.progress.elapsed(now))
                    ));
                    watched.last_said = now;
                }
            }
            Mode::Quiet => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn display(quiet: bool) -> (ProgressDisplay, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        (ProgressDisplay::new(Stream::Memory(lines.clone()), quiet), lines)
    }

    fn tick_at(display: &ProgressDisplay, now: Instant) {
        tick(&display.mode, &display.stream, &display.images, now);
    }

    fn taken(lines: &Mutex<Vec<String>>) -> Vec<String> {
        std::mem::take(&mut *lines.lock().unwrap())
    }

    #[test]
    fn plain_lines_say_each_package_once_then_still_at_it_at_most_every_interval() {
        let (display, lines) = display(false);
        let t0 = Instant::now();
        let at = |seconds: u64| t0 + Duration::from_secs(seconds);
        let watch = display.watch_at(3, 8, "rig/greeter", t0);
        watch.say("building (log x.log)");
        display.line(3, ">>> Emerging (1 of 2) dev-util/buildtool-1::gentoo", at(2));
        display.line(3, ">>> Compiling source in /var/tmp/portage/dev-util/buildtool-1/work ...", at(3));
        display.line(3, ">>> Installing (1 of 2) dev-util/buildtool-1::gentoo", at(4));
        assert_eq!(
            taken(&lines),
            [
                "==> [3/8] rig/greeter: building (log x.log)",
                "==> [3/8] rig/greeter: (1 of 2) dev-util/buildtool-1 (compiling)"
            ]
        );
        tick_at(&display, at(31));
        assert_eq!(taken(&lines), Vec::<String>::new(), "not yet {STILL_AT_EVERY:?} since the last line");
        tick_at(&display, at(32));
        assert_eq!(
            taken(&lines),
            ["==> [3/8] rig/greeter: still at (1 of 2) dev-util/buildtool-1 (installing) for 30s, image 32s"]
        );
        tick_at(&display, at(61));
        assert_eq!(taken(&lines), Vec::<String>::new(), "at most one line per interval");
        tick_at(&display, at(62));
        assert_eq!(taken(&lines).len(), 1);
        display.line(3, ">>> Completed (1 of 2) dev-util/buildtool-1::gentoo", at(70));
        display.line(3, ">>> Emerging binary (2 of 2) app-misc/greeter-1::gentoo", at(71));
        assert_eq!(taken(&lines), ["==> [3/8] rig/greeter: (2 of 2) app-misc/greeter-1 (binary)"]);
        display.line(3, ">>> Completed (2 of 2) app-misc/greeter-1::gentoo", at(73));
        tick_at(&display, at(200));
        assert_eq!(taken(&lines), Vec::<String>::new(), "no package emerging: nothing to be still at");
        let packages = watch.finish();
        assert_eq!((packages.binary, packages.compiled), (1, 1));
        assert_eq!(packages.slowest.map(|slowest| slowest.seconds), Some(68.0));
        display.line(3, ">>> Emerging (1 of 1) app-misc/late-1::gentoo", at(201));
        assert_eq!(taken(&lines), Vec::<String>::new(), "a finished image is not followed");
    }

    #[test]
    fn quiet_says_the_builds_lines_only_and_still_counts() {
        let (display, lines) = display(true);
        let t0 = Instant::now();
        let watch = display.watch_at(1, 1, "rig/hello", t0);
        watch.say("building");
        display.line(1, ">>> Emerging binary (1 of 1) app-misc/hello-1::gentoo", t0);
        display.line(1, ">>> Completed (1 of 1) app-misc/hello-1::gentoo", t0 + Duration::from_secs(2));
        tick_at(&display, t0 + Duration::from_secs(100));
        assert_eq!(taken(&lines), ["==> [1/1] rig/hello: building"]);
        assert_eq!(watch.finish().binary, 1);
    }
}
