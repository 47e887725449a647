//! Per-package portage configuration an image declares: USE flags (`package.use`) and accepted
//! keywords (`package.accept_keywords`), written as validated, whitespace-separated lists.

use crate::{Atom, Keyword, UseFlag};

/// A whitespace-separated list of USE flags, e.g. `"http2 ssl -debug"`, every flag checked at compile
/// time when built with [`use_flags!`](crate::use_flags) or the [`package_use!`](crate::package_use) macro.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UseList<'a> {
    text: &'a str,
}

impl<'a> UseList<'a> {
    /// Checks every flag; panics (a compile error in const context) naming the first invalid one.
    pub const fn new(text: &'a str) -> Self {
        let mut rest = text;
        while let Some((token, after)) = next_token(rest) {
            let _ = UseFlag::new(token);
            rest = after;
        }
        UseList { text }
    }

    /// The flags in the order written.
    pub fn iter(&self) -> impl Iterator<Item = UseFlag<'a>> + 'a {
        self.text.split_ascii_whitespace().map(UseFlag::new)
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

/// A whitespace-separated list of keywords, e.g. `"~amd64"` or `"**"`, checked like [`UseList`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeywordList<'a> {
    text: &'a str,
}

impl<'a> KeywordList<'a> {
    /// Checks every keyword; panics (a compile error in const context) naming the first invalid one.
    pub const fn new(text: &'a str) -> Self {
        let mut rest = text;
        while let Some((token, after)) = next_token(rest) {
            let _ = Keyword::new(token);
            rest = after;
        }
        KeywordList { text }
    }

    /// The keywords in the order written.
    pub fn iter(&self) -> impl Iterator<Item = Keyword<'a>> + 'a {
        self.text.split_ascii_whitespace().map(Keyword::new)
    }
}

/// One `package.use` line: an atom and the USE flags it gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackageUse {
    pub atom: Atom<'static>,
    pub flags: UseList<'static>,
}

/// One `package.accept_keywords` line: an atom and the keywords accepted for it
/// (an empty list means the arch's testing keyword, as portage reads it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackageKeywords {
    pub atom: Atom<'static>,
    pub keywords: KeywordList<'static>,
}

/// Splits off the first whitespace-separated token, in a `const` context.
const fn next_token(text: &str) -> Option<(&str, &str)> {
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() && bytes[start].is_ascii_whitespace() {
        start += 1;
    }
    if start == bytes.len() {
        return None;
    }
    let mut end = start;
    while end < bytes.len() && !bytes[end].is_ascii_whitespace() {
        end += 1;
    }
    let (_, from_start) = text.split_at(start);
    let (token, after) = from_start.split_at(end - start);
    Some((token, after))
}

/// A [`UseList`] checked at compile time: `use_flags!("ssl -X")`.
#[macro_export]
macro_rules! use_flags {
    ($flags:literal) => {{
        const LIST: $crate::UseList<'static> = $crate::UseList::new($flags);
        LIST
    }};
}

/// A `package.use` entry checked at compile time:
/// `package_use!("www-servers/nginx" => "http2 ssl -debug")`.
#[macro_export]
macro_rules! package_use {
    ($atom:literal => $flags:literal) => {
        const { $crate::PackageUse { atom: $crate::Atom::new($atom), flags: $crate::UseList::new($flags) } }
    };
}

/// A `package.accept_keywords` entry checked at compile time:
/// `accept_keywords!("dev-lang/go" => "~amd64")`, or `accept_keywords!("dev-lang/go")` for the
/// arch's testing keyword.
#[macro_export]
macro_rules! accept_keywords {
    ($atom:literal) => {
        $crate::accept_keywords!($atom => "")
    };
    ($atom:literal => $keywords:literal) => {{
        const ENTRY: $crate::PackageKeywords =
            $crate::PackageKeywords { atom: $crate::Atom::new($atom), keywords: $crate::KeywordList::new($keywords) };
        ENTRY
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_on_any_whitespace() {
        let list = UseList::new("  http2\tssl\n -debug ");
        let flags: Vec<String> = list.iter().map(|f| f.to_string()).collect();
        assert_eq!(flags, ["http2", "ssl", "-debug"]);
        assert!(UseList::new(" \n").is_empty());
    }

    #[test]
    fn macros_build_entries() {
        let entry = package_use!("www-servers/nginx" => "http2 -debug");
        assert_eq!(entry.atom.as_str(), "www-servers/nginx");
        assert_eq!(entry.flags.iter().count(), 2);
        let kw = accept_keywords!("dev-lang/go");
        assert_eq!(kw.keywords.iter().count(), 0);
    }
}
