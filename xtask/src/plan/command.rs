//! A command line as plain data: the one form a plan step takes both when it is printed as shell and
//! when it is executed, so the preview cannot drift from what runs.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// A shell variable a command refers to or assigns (`ctr`, `image`, `PWD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Var(pub &'static str);

/// One piece of an argument: literal text or a variable's value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Piece {
    Text(String),
    Var(Var),
}

/// One argv element, made of pieces concatenated without separators.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Word(pub Vec<Piece>);

impl Word {
    pub fn text(text: impl Into<String>) -> Word {
        Word(vec![Piece::Text(text.into())])
    }

    pub fn var(var: Var) -> Word {
        Word(vec![Piece::Var(var)])
    }

    /// `$var` followed by literal text, e.g. `"$PWD"/tests/rig/repo`.
    pub fn var_then(var: Var, text: impl Into<String>) -> Word {
        Word(vec![Piece::Var(var), Piece::Text(text.into())])
    }

    /// Literal text followed by `$var`, e.g. `repo:inputs-"${inputs}"`.
    pub fn text_then_var(text: impl Into<String>, var: Var) -> Word {
        Word(vec![Piece::Text(text.into()), Piece::Var(var)])
    }

    /// The argument's value once every variable is known.
    pub fn resolve(&self, vars: &BTreeMap<Var, String>) -> Result<String, UnsetVar> {
        let mut value = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(text) => value.push_str(text),
                Piece::Var(var) => value.push_str(vars.get(var).ok_or(UnsetVar(*var))?),
            }
        }
        Ok(value)
    }

    /// The argument as POSIX shell: literal text quoted, variables double-quoted.
    pub fn to_shell(&self) -> String {
        let mut shell = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(text) if text.is_empty() && self.0.len() == 1 => shell.push_str("''"),
                Piece::Text(text) if text.is_empty() => {}
                Piece::Text(text) => shell.push_str(&quote(text)),
                Piece::Var(var) => {
                    shell.push_str("\"${");
                    shell.push_str(var.0);
                    shell.push_str("}\"");
                }
            }
        }
        shell
    }
}

impl From<&str> for Word {
    fn from(text: &str) -> Word {
        Word::text(text)
    }
}

impl From<String> for Word {
    fn from(text: String) -> Word {
        Word::text(text)
    }
}

/// A command whose variable was never assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsetVar(pub Var);

impl fmt::Display for UnsetVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shell variable `{}` is used before it is assigned", self.0 .0)
    }
}

impl std::error::Error for UnsetVar {}

/// One command: argv, optionally assigning its trimmed standard output to a variable
/// (`ctr=$(buildah from ...)`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Command {
    pub assign: Option<Var>,
    pub argv: Vec<Word>,
    /// How the line runs: always, only when two words differ, or not at all (a value assigned).
    pub form: Form,
}

/// What kind of shell line a [`Command`] is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// `argv` (or `var=$(argv)`).
    #[default]
    Run,
    /// `var=VALUE`: the one word of `argv` is the value; nothing runs.
    Value,
    /// `[ A = B ] || argv || true`: runs only when the two words differ, and a failure is only a
    /// warning (removing a tag another container's image still needs must not fail a build).
    UnlessEqualTolerant(Word, Word),
}

impl Command {
    pub fn new<I, W>(argv: I) -> Command
    where
        I: IntoIterator<Item = W>,
        W: Into<Word>,
    {
        Command { assign: None, argv: argv.into_iter().map(Into::into).collect(), form: Form::Run }
    }

    /// `var=VALUE`: a value known when the plan is made, printed as an assignment.
    pub fn value(var: Var, value: impl Into<Word>) -> Command {
        Command { assign: Some(var), argv: vec![value.into()], form: Form::Value }
    }

    /// Runs only when `a` and `b` differ; a failure is a warning (see [`Form::UnlessEqualTolerant`]).
    pub fn unless_equal_tolerant(mut self, a: Word, b: Word) -> Command {
        self.form = Form::UnlessEqualTolerant(a, b);
        self
    }

    pub fn assigning(mut self, var: Var) -> Command {
        self.assign = Some(var);
        self
    }

    pub fn arg(mut self, word: impl Into<Word>) -> Command {
        self.argv.push(word.into());
        self
    }

    pub fn args<I, W>(mut self, words: I) -> Command
    where
        I: IntoIterator<Item = W>,
        W: Into<Word>,
    {
        self.argv.extend(words.into_iter().map(Into::into));
        self
    }

    /// The command as POSIX shell: one line, or when longer than `width`, continued lines with each
    /// option (and the container) starting a line of its own; what follows `--` stays together.
    pub fn to_shell_wrapped(&self, width: usize) -> String {
        let line = self.to_shell();
        if line.len() <= width || self.form != Form::Run {
            return line;
        }
        let mut out = String::new();
        let mut after_separator = false;
        for (index, word) in self.argv.iter().enumerate() {
            let shell = word.to_shell();
            let is_option = matches!(word.0.as_slice(), [Piece::Text(t)] if t.starts_with("--") && t.len() > 2);
            let is_var = matches!(word.0.as_slice(), [Piece::Var(_)]);
            if index == 0 {
                if let Some(var) = self.assign {
                    out.push_str(var.0);
                    out.push_str("=$(");
                }
            } else if !after_separator && (is_option || is_var) {
                out.push_str(" \\\n    ");
            } else {
                out.push(' ');
            }
            out.push_str(&shell);
            after_separator |= matches!(word.0.as_slice(), [Piece::Text(t)] if t == "--");
        }
        if self.assign.is_some() {
            out.push(')');
        }
        out
    }

    /// The command as one line of POSIX shell.
    pub fn to_shell(&self) -> String {
        let line = self.argv.iter().map(Word::to_shell).collect::<Vec<_>>().join(" ");
        match (&self.form, self.assign) {
            (Form::Value, Some(var)) => format!("{}={line}", var.0),
            (Form::Value, None) => unreachable!("a value is always assigned"),
            (Form::Run, Some(var)) => format!("{}=$({line})", var.0),
            (Form::Run, None) => line,
            (Form::UnlessEqualTolerant(a, b), _) => {
                format!("[ {} = {} ] || {line} || true", a.to_shell(), b.to_shell())
            }
        }
    }
}

/// Quotes a literal for POSIX sh (plain words stay as they are). Values never contain NUL: argv
/// cannot carry it, and the planner rejects it before rendering.
pub fn quote(text: &str) -> String {
    shlex::try_quote(text).expect("no NUL byte in a shell word").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_quote_literals_and_keep_variables_expandable() {
        let word = Word::var_then(Var("PWD"), "/it's here");
        assert_eq!(word.to_shell(), r#""${PWD}""/it's here""#);
        let command = Command::new(["buildah", "run"]).arg(Word::var(Var("ctr"))).assigning(Var("out"));
        assert_eq!(command.to_shell(), r#"out=$(buildah run "${ctr}")"#);
        assert_eq!(Word::text("").to_shell(), "''");
    }

    #[test]
    fn long_commands_wrap_before_options_and_the_container() {
        let command = Command::new(["buildah", "run", "--volume", "/a:/b"]).arg(Word::var(Var("ctr"))).args([
            "--",
            "emerge",
            "--verbose",
            "pkg",
        ]);
        assert_eq!(command.to_shell_wrapped(200), command.to_shell());
        assert_eq!(
            command.to_shell_wrapped(20),
            "buildah run \\\n    --volume /a:/b \\\n    \"${ctr}\" -- emerge --verbose pkg"
        );
    }

    #[test]
    fn resolving_needs_every_variable() {
        let word = Word::var_then(Var("ctr"), "-x");
        let mut vars = BTreeMap::new();
        assert_eq!(word.resolve(&vars), Err(UnsetVar(Var("ctr"))));
        vars.insert(Var("ctr"), "abc".to_owned());
        assert_eq!(word.resolve(&vars).unwrap(), "abc-x");
    }
}
