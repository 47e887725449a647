//! A small YAML writer for the generated pipelines: block style, keys in the order given, every
//! string either plain (when nothing could read it as another type), single-quoted, a literal block
//! (scripts) or JSON-quoted (anything else: JSON strings are YAML double-quoted scalars).

use std::fmt::Write;

/// A YAML value whose maps keep the order they were built in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Yaml {
    Str(String),
    Int(u64),
    Bool(bool),
    List(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
}

impl Yaml {
    pub fn str(text: impl Into<String>) -> Yaml {
        Yaml::Str(text.into())
    }

    /// A map from `(key, value)` pairs, in this order.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Yaml)>) -> Yaml {
        Yaml::Map(entries.into_iter().map(|(key, value)| (key.into(), value)).collect())
    }

    pub fn list(items: impl IntoIterator<Item = Yaml>) -> Yaml {
        Yaml::List(items.into_iter().collect())
    }
}

/// The document: `header` lines as `# ` comments, then `document` (a map) in block style.
pub fn render(header: &[String], document: &Yaml) -> String {
    let mut out = String::new();
    for line in header {
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            writeln!(out, "# {line}").unwrap();
        }
    }
    match document {
        Yaml::Map(entries) => map(&mut out, entries, 0),
        other => after_key(&mut out, other, 0),
    }
    out
}

fn map(out: &mut String, entries: &[(String, Yaml)], indent: usize) {
    for (key, value) in entries {
        write!(out, "{:indent$}{}:", "", scalar_inline(key)).unwrap();
        after_key(out, value, indent);
    }
}

/// A value after `key:` or `-`: on the same line when it is a scalar or empty, else below, indented.
fn after_key(out: &mut String, value: &Yaml, indent: usize) {
    match value {
        Yaml::Map(entries) if entries.is_empty() => out.push_str(" {}\n"),
        Yaml::List(items) if items.is_empty() => out.push_str(" []\n"),
        Yaml::Map(entries) => {
            out.push('\n');
            map(out, entries, indent + 2);
        }
        Yaml::List(items) => {
            out.push('\n');
            list(out, items, indent + 2);
        }
        scalar => {
            out.push(' ');
            write_scalar(out, scalar, indent + 2);
        }
    }
}

fn list(out: &mut String, items: &[Yaml], indent: usize) {
    for item in items {
        write!(out, "{:indent$}-", "").unwrap();
        match item {
            Yaml::Map(entries) if !entries.is_empty() => {
                // The first entry on the dash's line, the others under it.
                let (key, value) = &entries[0];
                write!(out, " {}:", scalar_inline(key)).unwrap();
                after_key(out, value, indent + 2);
                map(out, &entries[1..], indent + 2);
            }
            other => after_key(out, other, indent),
        }
    }
}

/// A scalar and its line end; a literal block's lines are indented by `indent`.
fn write_scalar(out: &mut String, value: &Yaml, indent: usize) {
    match value {
        Yaml::Str(text) if literal_block_fits(text) => {
            out.push_str(if text.ends_with('\n') { "|\n" } else { "|-\n" });
            for line in text.trim_end_matches('\n').split('\n') {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    writeln!(out, "{:indent$}{line}", "").unwrap();
                }
            }
        }
        Yaml::Str(text) => writeln!(out, "{}", scalar_inline(text)).unwrap(),
        Yaml::Int(number) => writeln!(out, "{number}").unwrap(),
        Yaml::Bool(value) => writeln!(out, "{value}").unwrap(),
        Yaml::List(_) | Yaml::Map(_) => unreachable!("collections are written by `after_key`"),
    }
}

/// A multi-line text that reads back the same as a literal block (`|` or `|-`): printable, one final
/// line end at most, and a first line that does not start with a space (it sets the indentation).
fn literal_block_fits(text: &str) -> bool {
    text.contains('\n')
        && !text.contains(|c: char| c.is_control() && c != '\n' && c != '\t')
        && !text.ends_with("\n\n")
        && !text.starts_with([' ', '\t', '\n'])
}

/// A string on one line: plain when YAML (1.1 or 1.2) reads it back as this string, else quoted:
/// single quotes when it is printable and has none, else a JSON string.
pub fn scalar_inline(text: &str) -> String {
    if is_plain(text) {
        text.to_owned()
    } else if !text.contains(|c: char| c.is_control() || c == '\'') && text.trim() == text {
        format!("'{text}'")
    } else {
        serde_json::to_string(text).expect("a string serializes")
    }
}

/// Letters, digits, single spaces and `_ . / $ @ + = -`, starting with a letter, `_`, `$` or `/`
/// and not ending with a space, and none of the words YAML 1.1 reads as booleans or null. Nothing
/// starting so is a number, and without `:` and `#` nothing in it is a key or a comment.
fn is_plain(text: &str) -> bool {
    const WORDS: &[&str] = &["y", "n", "yes", "no", "true", "false", "on", "off", "null"];
    let mut chars = text.chars();
    let Some(first) = chars.next() else { return false };
    (first.is_ascii_alphabetic() || "_$/".contains(first))
        && chars.all(|c| c.is_ascii_alphanumeric() || "_./$@+=- ".contains(c))
        && !text.ends_with(' ')
        && !text.contains("  ")
        && !WORDS.contains(&text.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_plain_only_when_nothing_else_can_be_read() {
        let cases = [
            ("rig-hello", "rig-hello"),
            ("actions/checkout@v4", "actions/checkout@v4"),
            ("$CI_PROJECT_DIR/xtask", "$CI_PROJECT_DIR/xtask"),
            ("on", "'on'"),
            ("No", "'No'"),
            ("1", "'1'"),
            (".inf", "'.inf'"),
            ("", "''"),
            ("a: b", "'a: b'"),
            ("cargo build --release -p xtask", "cargo build --release -p xtask"),
            ("1 day", "'1 day'"),
            ("two  spaces", "'two  spaces'"),
            ("# not a comment", "'# not a comment'"),
            ("\"$BUILDAH_GENTOO\" ci job rig/hello", "'\"$BUILDAH_GENTOO\" ci job rig/hello'"),
            ("it's", "\"it's\""),
            (" padded", "\" padded\""),
            ("tab\there", "\"tab\\there\""),
        ];
        for (text, expected) in cases {
            assert_eq!(scalar_inline(text), expected, "{text:?}");
        }
    }

    #[test]
    fn documents_render_in_block_style() {
        let document = Yaml::map([
            ("stages", Yaml::list([Yaml::str("build")])),
            ("empty", Yaml::list([])),
            ("none", Yaml::map::<&str>([])),
            (
                "job",
                Yaml::map([
                    (
                        "needs",
                        Yaml::list([
                            Yaml::map([("job", Yaml::str("driver")), ("artifacts", Yaml::Bool(true))]),
                            Yaml::str("base"),
                        ]),
                    ),
                    ("run", Yaml::str("one\n  two\n\nthree\n")),
                    ("last", Yaml::str("a\nb")),
                    ("days", Yaml::Int(1)),
                ]),
            ),
        ]);
        let expected = "# head\n#\nstages:\n  - build\nempty: []\nnone: {}\njob:\n  needs:\n    - job: driver\n      \
                        artifacts: true\n    - base\n  run: |\n    one\n      two\n\n    three\n  last: |-\n    a\n    \
                        b\n  days: 1\n";
        assert_eq!(render(&["head".to_owned(), String::new()], &document), expected);
    }

    #[test]
    fn texts_a_literal_block_would_change_are_quoted() {
        for text in [" lead\n", "two ends\n\n", "bell\u{7}\n", "\nfirst empty"] {
            assert!(!literal_block_fits(text), "{text:?}");
        }
        assert_eq!(scalar_inline("two ends\n\n"), "\"two ends\\n\\n\"");
    }
}
