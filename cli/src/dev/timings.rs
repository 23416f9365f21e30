//! `--timings` (or `APPROUTE_DEV_TIMINGS=1`): when each stage of one
//! rebuild ended, in seconds after the change was seen, so the time from a
//! save to the new server can be taken apart.

use std::time::Instant;

/// The stages of one rebuild, in the order they were reached.
pub struct Stages {
    start: Instant,
    marks: Vec<(&'static str, Instant)>,
    shown: bool,
}

impl Stages {
    pub fn new(start: Instant, shown: bool) -> Stages {
        Stages {
            start,
            marks: Vec::new(),
            shown,
        }
    }

    /// Notes that `stage` ended now.
    pub fn mark(&mut self, stage: &'static str) {
        self.marks.push((stage, Instant::now()));
    }

    /// Notes that `stage` ended at `at` (seen in passing, shown in order).
    pub fn mark_at(&mut self, stage: &'static str, at: Instant) {
        self.marks.push((stage, at));
    }

    /// Seconds from the change to now.
    pub fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// `settled 0.025, checked 0.031, ...`, or nothing unless asked for.
    pub fn line(&self) -> Option<String> {
        if !self.shown {
            return None;
        }
        let mut marks = self.marks.clone();
        marks.sort_by_key(|(_, at)| *at);
        let marks: Vec<String> = marks
            .iter()
            .map(|(stage, at)| format!("{stage} {:.3}", (*at - self.start).as_secs_f64()))
            .collect();
        Some(format!(
            "timings (s after the change): {}",
            marks.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_listed_in_order_only_when_asked_for() {
        let mut shown = Stages::new(Instant::now(), true);
        shown.mark("settled");
        shown.mark("built");
        let line = shown.line().unwrap();
        assert!(line.starts_with("timings (s after the change): settled 0.0"));
        assert!(line.find("settled").unwrap() < line.find(", built 0.").unwrap());
        let mut hidden = Stages::new(Instant::now(), false);
        hidden.mark("settled");
        assert_eq!(hidden.line(), None);
    }
}
