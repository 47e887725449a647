//! Keywords as used in `KEYWORDS` and `ACCEPT_KEYWORDS`: `amd64`, `~amd64`, `-amd64` and the
//! wildcards `*`, `~*`, `**`, `-*`.

use core::fmt;

use crate::const_text;

/// A keyword: a keyword name (PMS 3.1.8: `[A-Za-z0-9_][A-Za-z0-9_-]*`) optionally prefixed by
/// `~` (testing) or `-` (negated), or one of the wildcards `*` (any stable), `~*` (any testing),
/// `**` (anything, even unkeyworded) and `-*`.
///
/// Parsing is a `const fn`; [`keyword!`](crate::keyword!) checks a literal at compile time.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Keyword<'a> {
    text: &'a str,
}

/// Why a text is not a keyword: the byte offset where parsing stopped and what was expected
/// there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeywordError {
    /// Byte offset into the parsed text.
    pub position: usize,
    /// What would have been valid at `position`, in words.
    pub expected: &'static str,
}

impl fmt::Display for KeywordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: expected {}", self.position, self.expected)
    }
}

impl std::error::Error for KeywordError {}

const fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

const fn is_name_char(c: u8) -> bool {
    is_name_start(c) || c == b'-'
}

const fn error(position: usize, expected: &'static str) -> Result<Keyword<'static>, KeywordError> {
    Err(KeywordError { position, expected })
}

impl<'a> Keyword<'a> {
    /// Parses a keyword or keyword wildcard.
    pub const fn parse(text: &'a str) -> Result<Keyword<'a>, KeywordError> {
        let b = text.as_bytes();
        let len = b.len();
        let prefixed = len > 0 && (b[0] == b'~' || b[0] == b'-');
        let mut i = if prefixed { 1 } else { 0 };
        if i < len && b[i] == b'*' {
            i += 1;
            if !prefixed && i < len && b[i] == b'*' {
                i += 1;
            }
            if i < len {
                return error(i, "the end of the keyword after `*`");
            }
            return Ok(Keyword { text });
        }
        if i >= len {
            return if prefixed { error(i, "a keyword name or `*` after the prefix") } else { error(i, "a keyword") };
        }
        if !is_name_start(b[i]) {
            return error(i, "a keyword name starting with a letter, digit or `_`");
        }
        while i < len {
            if !is_name_char(b[i]) {
                return error(i, "a keyword name character ([A-Za-z0-9_-])");
            }
            i += 1;
        }
        Ok(Keyword { text })
    }

    /// Parses `text`, panicking with a readable message (a compile error in const context)
    /// when it is not a keyword.
    #[track_caller]
    pub const fn new(text: &'a str) -> Keyword<'a> {
        match Keyword::parse(text) {
            Ok(keyword) => keyword,
            Err(e) => const_text::invalid("keyword", text, e.position, e.expected),
        }
    }

    /// The text as given (`~amd64`).
    pub const fn as_str(&self) -> &'a str {
        self.text
    }

    /// The keyword without its `~` or `-` prefix: the architecture name, `*` or `**`.
    pub const fn name(&self) -> &'a str {
        if self.is_testing() || self.is_negated() {
            self.text.split_at(1).1
        } else {
            self.text
        }
    }

    /// Whether the keyword has the `~` (testing) prefix.
    pub const fn is_testing(&self) -> bool {
        self.text.as_bytes()[0] == b'~'
    }

    /// Whether the keyword has the `-` prefix.
    pub const fn is_negated(&self) -> bool {
        self.text.as_bytes()[0] == b'-'
    }
}

impl fmt::Display for Keyword<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

impl fmt::Debug for Keyword<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Keyword").field(&self.text).finish()
    }
}

impl serde::Serialize for Keyword<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.text)
    }
}

/// A [`Keyword`] from a string literal, checked at compile time: `keyword!("~amd64")`.
/// An invalid literal fails the build with "invalid keyword `…`: at byte N: expected …".
#[macro_export]
macro_rules! keyword {
    ($s:literal) => {{
        // A named const item rather than an inline `const { }` block: const items are evaluated
        // by `cargo check` too, and even in generic or unused fns.
        const KEYWORD: $crate::Keyword<'static> = $crate::Keyword::new($s);
        KEYWORD
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keywords_and_wildcards() {
        const TESTING: Keyword<'static> = crate::keyword!("~amd64");
        assert_eq!(TESTING.as_str(), "~amd64");
        assert_eq!(format!("{TESTING} {TESTING:?}"), r#"~amd64 Keyword("~amd64")"#);

        for (text, name, testing, negated) in [
            ("amd64", "amd64", false, false),
            ("~amd64", "amd64", true, false),
            ("-amd64", "amd64", false, true),
            ("~amd64-linux", "amd64-linux", true, false),
            ("x86-macos", "x86-macos", false, false),
            ("_x", "_x", false, false),
            ("0", "0", false, false),
            ("*", "*", false, false),
            ("**", "**", false, false),
            ("~*", "*", true, false),
            ("-*", "*", false, true),
        ] {
            let keyword = Keyword::parse(text).unwrap();
            assert_eq!(
                (keyword.name(), keyword.is_testing(), keyword.is_negated()),
                (name, testing, negated),
                "{text:?}"
            );
            assert_eq!(keyword.to_string(), text);
        }
    }

    #[test]
    fn rejects_bad_keywords_with_position() {
        for (text, position, expected) in [
            ("", 0, "a keyword"),
            ("~", 1, "a keyword name or `*` after the prefix"),
            ("-", 1, "a keyword name or `*` after the prefix"),
            ("~-amd64", 1, "a keyword name starting with a letter, digit or `_`"),
            ("~~amd64", 1, "a keyword name starting with a letter, digit or `_`"),
            ("-~amd64", 1, "a keyword name starting with a letter, digit or `_`"),
            (".amd64", 0, "a keyword name starting with a letter, digit or `_`"),
            ("amd 64", 3, "a keyword name character ([A-Za-z0-9_-])"),
            ("amd64+", 5, "a keyword name character ([A-Za-z0-9_-])"),
            ("x86.64", 3, "a keyword name character ([A-Za-z0-9_-])"),
            ("***", 2, "the end of the keyword after `*`"),
            ("~**", 2, "the end of the keyword after `*`"),
            ("-**", 2, "the end of the keyword after `*`"),
            ("*amd64", 1, "the end of the keyword after `*`"),
        ] {
            assert_eq!(Keyword::parse(text), Err(KeywordError { position, expected }), "{text:?}");
        }
    }

    #[test]
    fn new_panics_with_a_readable_message() {
        let err = std::panic::catch_unwind(|| {
            Keyword::new("~amd 64");
        })
        .unwrap_err();
        assert_eq!(
            err.downcast_ref::<String>().map(String::as_str),
            Some(
                "invalid keyword `~amd 64`: at byte 4: expected a keyword name character \
                 ([A-Za-z0-9_-])"
            )
        );
    }

    #[test]
    fn serializes_as_the_text() {
        // serde can serialize into a `fmt::Formatter`, which accepts plain strings only.
        struct ViaSerde<'a>(Keyword<'a>);
        impl fmt::Display for ViaSerde<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                serde::Serialize::serialize(&self.0, f)
            }
        }
        assert_eq!(ViaSerde(Keyword::new("-*")).to_string(), "-*");
    }
}
