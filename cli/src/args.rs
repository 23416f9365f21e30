//! A small command-line parser: `--name value`, `--name=value` and
//! positional words, enough for four commands without a dependency.

/// The words after the command name, consumed as the command asks for them.
pub struct Args {
    words: Vec<String>,
}

impl Args {
    pub fn new(words: Vec<String>) -> Args {
        Args { words }
    }

    /// The value of `--name value` or `--name=value`, removed from the words.
    pub fn value(&mut self, name: &str) -> Result<Option<String>, String> {
        let flag = format!("--{name}");
        let prefix = format!("{flag}=");
        for i in 0..self.words.len() {
            if self.words[i] == flag {
                if i + 1 == self.words.len() {
                    return Err(format!("`{flag}` needs a value"));
                }
                self.words.remove(i);
                return Ok(Some(self.words.remove(i)));
            }
            if let Some(value) = self.words[i].strip_prefix(&prefix) {
                let value = value.to_string();
                self.words.remove(i);
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    /// Whether the bare flag `--name` was given, removed from the words.
    pub fn flag(&mut self, name: &str) -> bool {
        let flag = format!("--{name}");
        let before = self.words.len();
        self.words.retain(|w| *w != flag);
        self.words.len() != before
    }

    /// The next word that is not a flag, removed from the words.
    pub fn positional(&mut self) -> Option<String> {
        let i = self.words.iter().position(|w| !w.starts_with("--"))?;
        Some(self.words.remove(i))
    }

    /// Fails on anything the command did not consume.
    pub fn finish(self) -> Result<(), String> {
        match self.words.first() {
            None => Ok(()),
            Some(word) => Err(format!("unexpected argument `{word}`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Args {
        Args::new(words.iter().map(|w| w.to_string()).collect())
    }

    #[test]
    fn values_and_positionals_in_any_order() {
        let mut a = args(&["my-api", "--git=https://x", "--timings", "--version", "1"]);
        assert!(a.flag("timings"));
        assert!(!a.flag("bin"));
        assert_eq!(a.value("git").unwrap().as_deref(), Some("https://x"));
        assert_eq!(a.value("version").unwrap().as_deref(), Some("1"));
        assert_eq!(a.positional().as_deref(), Some("my-api"));
        assert!(a.finish().is_ok());
    }

    #[test]
    fn leftovers_and_missing_values_are_errors() {
        assert_eq!(
            args(&["--git"]).value("git").unwrap_err(),
            "`--git` needs a value"
        );
        assert_eq!(
            args(&["--nope"]).finish().unwrap_err(),
            "unexpected argument `--nope`"
        );
    }
}
