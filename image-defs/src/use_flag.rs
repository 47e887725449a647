//! USE flags as written in `package.use` style lists: `foo` (enable) or `-foo` (disable).

use core::fmt;

use crate::const_text;

/// A USE flag setting: a flag name (PMS 3.1.4: `[A-Za-z0-9][A-Za-z0-9+_@-]*`), optionally
/// prefixed by `-` to disable it.
///
/// Parsing is a `const fn`; [`use_flag!`](crate::use_flag!) checks a literal at compile time.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct UseFlag<'a> {
    /// The text as given, including a leading `-`.
    text: &'a str,
    enabled: bool,
}

/// Why a text is not a USE flag: the byte offset where parsing stopped and what was expected
/// there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlagError {
    /// Byte offset into the parsed text.
    pub position: usize,
    /// What would have been valid at `position`, in words.
    pub expected: &'static str,
}

impl fmt::Display for FlagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: expected {}", self.position, self.expected)
    }
}

impl std::error::Error for FlagError {}

/// Whether `c` may start a USE flag name (PMS: an alphanumeric character).
pub(crate) const fn is_flag_start(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

/// Whether `c` may appear in a USE flag name (`[A-Za-z0-9+_@-]`).
pub(crate) const fn is_flag_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'_' | b'@' | b'-')
}

impl<'a> UseFlag<'a> {
    /// Parses `foo` or `-foo`.
    pub const fn parse(text: &'a str) -> Result<UseFlag<'a>, FlagError> {
        let b = text.as_bytes();
        let enabled = b.is_empty() || b[0] != b'-';
        let mut i = if enabled { 0 } else { 1 };
        if i >= b.len() {
            let expected = if enabled { "a USE flag name" } else { "a USE flag name after `-`" };
            return Err(FlagError { position: i, expected });
        }
        if b[i] == b'+' {
            // Portage's IUSE defaults (`+ssl`) are not USE settings: a flag is on by its name alone.
            return Err(FlagError {
                position: i,
                expected: "a USE flag name starting with a letter or digit (write `ssl`, not `+ssl`: a flag is \
                           on by its name alone, `-ssl` turns it off)",
            });
        }
        if b[i] == b'*' {
            return Err(FlagError {
                position: i,
                expected: "a USE flag name (`-*` resets every flag in make.conf's USE only: list the flags \
                           the image turns off, `-flag`)",
            });
        }
        if !is_flag_start(b[i]) {
            return Err(FlagError { position: i, expected: "a USE flag name starting with a letter or digit" });
        }
        while i < b.len() {
            if !is_flag_char(b[i]) {
                return Err(FlagError { position: i, expected: "a USE flag name character ([A-Za-z0-9+_@-])" });
            }
            i += 1;
        }
        Ok(UseFlag { text, enabled })
    }

    /// Parses `text`, panicking with a readable message (a compile error in const context)
    /// when it is not a USE flag.
    #[track_caller]
    pub const fn new(text: &'a str) -> UseFlag<'a> {
        match UseFlag::parse(text) {
            Ok(flag) => flag,
            Err(e) => const_text::invalid("USE flag", text, e.position, e.expected),
        }
    }

    /// The text as given (`-foo` or `foo`).
    pub const fn as_str(&self) -> &'a str {
        self.text
    }

    /// The flag name, without the `-`.
    pub const fn name(&self) -> &'a str {
        if self.enabled {
            self.text
        } else {
            self.text.split_at(1).1
        }
    }

    /// `false` for `-foo`.
    pub const fn enabled(&self) -> bool {
        self.enabled
    }
}

impl fmt::Display for UseFlag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

impl fmt::Debug for UseFlag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UseFlag").field(&self.text).finish()
    }
}

impl serde::Serialize for UseFlag<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.text)
    }
}

/// A [`UseFlag`] from a string literal, checked at compile time:
/// `use_flag!("-introspection")`. An invalid literal fails the build with
/// "invalid USE flag `…`: at byte N: expected …".
#[macro_export]
macro_rules! use_flag {
    ($s:literal) => {{
        // A named const item rather than an inline `const { }` block: const items are evaluated
        // by `cargo check` too, and even in generic or unused fns.
        const USE_FLAG: $crate::UseFlag<'static> = $crate::UseFlag::new($s);
        USE_FLAG
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_enabled_and_disabled_flags() {
        const FLAG: UseFlag<'static> = crate::use_flag!("-gtk+");
        assert_eq!(FLAG.name(), "gtk+");
        assert!(!FLAG.enabled());
        assert_eq!(FLAG.to_string(), "-gtk+");
        assert_eq!(format!("{FLAG:?}"), r#"UseFlag("-gtk+")"#);

        for (text, name, enabled) in [
            ("foo", "foo", true),
            ("-foo", "foo", false),
            ("0", "0", true),
            ("python_targets_python3_12", "python_targets_python3_12", true),
            ("l10n_pt-BR", "l10n_pt-BR", true),
            ("a@b", "a@b", true),
            ("x-", "x-", true),
        ] {
            let flag = UseFlag::parse(text).unwrap();
            assert_eq!((flag.name(), flag.enabled(), flag.as_str()), (name, enabled, text));
            assert_eq!(flag.to_string(), text);
        }
    }

    #[test]
    fn rejects_bad_flags_with_position() {
        for (text, position, expected) in [
            ("", 0, "a USE flag name"),
            ("-", 1, "a USE flag name after `-`"),
            ("--foo", 1, "a USE flag name starting with a letter or digit"),
            ("_foo", 0, "a USE flag name starting with a letter or digit"),
            (
                "+foo",
                0,
                "a USE flag name starting with a letter or digit (write `ssl`, not `+ssl`: a flag is on by its \
                 name alone, `-ssl` turns it off)",
            ),
            ("!foo", 0, "a USE flag name starting with a letter or digit"),
            ("foo bar", 3, "a USE flag name character ([A-Za-z0-9+_@-])"),
            ("foo?", 3, "a USE flag name character ([A-Za-z0-9+_@-])"),
            ("foo.bar", 3, "a USE flag name character ([A-Za-z0-9+_@-])"),
            ("fü", 1, "a USE flag name character ([A-Za-z0-9+_@-])"),
        ] {
            assert_eq!(UseFlag::parse(text), Err(FlagError { position, expected }), "{text:?}");
        }
        assert_eq!(
            UseFlag::parse("a:b").unwrap_err().to_string(),
            "at byte 1: expected a USE flag name character ([A-Za-z0-9+_@-])"
        );
    }

    #[test]
    fn new_panics_with_a_readable_message() {
        let err = std::panic::catch_unwind(|| {
            UseFlag::new("-");
        })
        .unwrap_err();
        assert_eq!(
            err.downcast_ref::<String>().map(String::as_str),
            Some("invalid USE flag `-`: at byte 1: expected a USE flag name after `-`")
        );
    }

    #[test]
    fn serializes_as_the_text() {
        // serde can serialize into a `fmt::Formatter`, which accepts plain strings only.
        struct ViaSerde<'a>(UseFlag<'a>);
        impl fmt::Display for ViaSerde<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                serde::Serialize::serialize(&self.0, f)
            }
        }
        assert_eq!(ViaSerde(UseFlag::new("-foo")).to_string(), "-foo");
    }
}
