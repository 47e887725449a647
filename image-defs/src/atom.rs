//! Package dependency specifications ("atoms"), PMS 8.3 as of EAPI 8, plus portage's `::repo`.
//!
//! ```text
//! atom     = [ "!" | "!!" ] ( cat "/" pkg | op cat "/" pkg "-" version | "=" cat "/" pkg "-" version "*" )
//!            [ ":" ( slot [ "/" subslot ] [ "=" ] | "*" | "=" ) ] [ "::" repo ] [ "[" use { "," use } "]" ]
//! op       = "<" | "<=" | "=" | "~" | ">=" | ">"
//! version  = [0-9]+ ("." [0-9]+)* [a-z]? ("_" ("alpha" | "beta" | "pre" | "rc" | "p") [0-9]*)* ("-r" [0-9]+)?
//! use      = ( [ "-" ] flag [ default ] ) | ( [ "!" ] flag [ default ] ( "?" | "=" ) )
//! default  = "(+)" | "(-)"
//! ```
//!
//! Names follow PMS 3.1: a category is `[A-Za-z0-9_][A-Za-z0-9+_.-]*`, a package
//! `[A-Za-z0-9_][A-Za-z0-9+_-]*` not ending in `-` and a version, a slot or sub-slot
//! `[A-Za-z0-9_][A-Za-z0-9+_.-]*`, a repository `[A-Za-z0-9_][A-Za-z0-9_-]*` that is also a
//! valid package name, a USE flag `[A-Za-z0-9][A-Za-z0-9+_@-]*`. Like portage, a flag named more
//! than once in one USE dependency must carry the same default (`(+)`, `(-)` or none) each time.

use core::fmt;

use crate::const_text;
use crate::use_flag::{is_flag_char, is_flag_start};

/// A package dependency specification such as `>=dev-libs/openssl-3.0:0/3=[-bindist(-)]`.
///
/// It keeps the text as given plus the spans of its parts, so parsing allocates nothing and
/// works in const context: [`atom!`](crate::atom!) rejects an invalid literal at compile time.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Atom<'a> {
    text: &'a str,
    blocker: Option<Blocker>,
    operator: Option<Operator>,
    slot_operator: Option<SlotOperator>,
    category: Span,
    package: Span,
    // The optional parts below are empty spans when absent (none of them can be empty).
    version: Span,
    slot: Span,
    subslot: Span,
    repo: Span,
    /// Between the brackets.
    use_deps: Span,
}

/// A blocker prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Blocker {
    /// `!`
    Weak,
    /// `!!`
    Strong,
}

impl Blocker {
    /// `!` or `!!`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Blocker::Weak => "!",
            Blocker::Strong => "!!",
        }
    }
}

/// A version operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `=`
    Equal,
    /// `=` with the version followed by `*`: matches versions starting with the given components.
    EqualGlob,
    /// `~`: equal when revisions are ignored.
    Approximate,
    /// `>=`
    GreaterOrEqual,
    /// `>`
    Greater,
}

impl Operator {
    /// The operator as written, `=*` for [`Operator::EqualGlob`] (as portage spells it).
    pub const fn as_str(self) -> &'static str {
        match self {
            Operator::Less => "<",
            Operator::LessOrEqual => "<=",
            Operator::Equal => "=",
            Operator::EqualGlob => "=*",
            Operator::Approximate => "~",
            Operator::GreaterOrEqual => ">=",
            Operator::Greater => ">",
        }
    }
}

/// A slot operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SlotOperator {
    /// `:=` or `:slot=`: rebuild when the slot or sub-slot of the dependency changes.
    Equal,
    /// `:*`: any slot, no rebuild.
    Any,
}

impl SlotOperator {
    /// `=` or `*`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SlotOperator::Equal => "=",
            SlotOperator::Any => "*",
        }
    }
}

/// Why a text is not an atom: the byte offset where parsing stopped and what was expected there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AtomError {
    /// Byte offset into the parsed text.
    pub position: usize,
    /// What would have been valid at `position`, in words.
    pub expected: &'static str,
}

impl fmt::Display for AtomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: expected {}", self.position, self.expected)
    }
}

impl std::error::Error for AtomError {}

/// A byte range of the atom text; empty when the part is absent.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Span {
    start: u32,
    end: u32,
}

const NONE: Span = Span { start: 0, end: 0 };

impl Span {
    /// `end` is at most the text length, which `Atom::parse` checks fits in a `u32`.
    const fn new(start: usize, end: usize) -> Span {
        Span { start: start as u32, end: end as u32 }
    }
}

/// `?` for const fns.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Err(e),
        }
    };
}

const fn err<T>(position: usize, expected: &'static str) -> Result<T, AtomError> {
    Err(AtomError { position, expected })
}

/// The byte at `i`, or 0 past the end (0 is in no character class).
const fn peek(b: &[u8], i: usize) -> u8 {
    if i < b.len() {
        b[i]
    } else {
        0
    }
}

/// The character classes of PMS 3.1 names.
#[derive(Clone, Copy)]
enum Class {
    /// Category and slot names: `[A-Za-z0-9+_.-]`.
    Category,
    /// Package names: `[A-Za-z0-9+_-]`.
    Package,
    /// A package name possibly followed by a version: `[A-Za-z0-9+_.-]`.
    PackageVersion,
    /// Repository names: `[A-Za-z0-9_-]`.
    Repo,
}

/// The first character of category, package, slot and repository names: `[A-Za-z0-9_]`.
const fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

const fn in_class(c: u8, class: Class) -> bool {
    is_name_start(c)
        || match class {
            Class::Category | Class::PackageVersion => matches!(c, b'+' | b'.' | b'-'),
            Class::Package => matches!(c, b'+' | b'-'),
            Class::Repo => c == b'-',
        }
}

/// The end of the run of `class` characters starting at `i`.
const fn scan(b: &[u8], mut i: usize, class: Class) -> usize {
    while i < b.len() && in_class(b[i], class) {
        i += 1;
    }
    i
}

/// The end of the run of ASCII digits starting at `i` (stopping at `end`).
const fn digits_end(b: &[u8], mut i: usize, end: usize) -> usize {
    while i < end && b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

const fn starts_with(b: &[u8], i: usize, end: usize, word: &[u8]) -> bool {
    if end < i || end - i < word.len() {
        return false;
    }
    let mut k = 0;
    while k < word.len() {
        if b[i + k] != word[k] {
            return false;
        }
        k += 1;
    }
    true
}

const fn bytes_eq(b: &[u8], a_start: usize, a_end: usize, c_start: usize, c_end: usize) -> bool {
    if a_end - a_start != c_end - c_start {
        return false;
    }
    let mut k = 0;
    while a_start + k < a_end {
        if b[a_start + k] != b[c_start + k] {
            return false;
        }
        k += 1;
    }
    true
}

/// Parses the version starting at `i` (after a `-`), reading no further than `end`; returns
/// where it stops.
const fn version_end(b: &[u8], mut i: usize, end: usize) -> Result<usize, AtomError> {
    if !(i < end && b[i].is_ascii_digit()) {
        return err(i, "a version after `-`");
    }
    i = digits_end(b, i, end);
    while i < end && b[i] == b'.' {
        if !(i + 1 < end && b[i + 1].is_ascii_digit()) {
            return err(i + 1, "a number after `.` in the version");
        }
        i = digits_end(b, i + 1, end);
    }
    if i < end && b[i].is_ascii_lowercase() {
        i += 1;
    }
    while i < end && b[i] == b'_' {
        i += 1;
        let suffix: &[u8] = if starts_with(b, i, end, b"alpha") {
            b"alpha"
        } else if starts_with(b, i, end, b"beta") {
            b"beta"
        } else if starts_with(b, i, end, b"pre") {
            b"pre"
        } else if starts_with(b, i, end, b"rc") {
            b"rc"
        } else if starts_with(b, i, end, b"p") {
            b"p"
        } else {
            return err(i, "`alpha`, `beta`, `pre`, `rc` or `p` after `_` in the version");
        };
        i = digits_end(b, i + suffix.len(), end);
    }
    if starts_with(b, i, end, b"-r") {
        if !(i + 2 < end && b[i + 2].is_ascii_digit()) {
            return err(i + 2, "a revision number after `-r`");
        }
        i = digits_end(b, i + 2, end);
    }
    Ok(i)
}

/// Whether `b[start..end]` is exactly a version.
const fn is_version(b: &[u8], start: usize, end: usize) -> bool {
    matches!(version_end(b, start, end), Ok(stop) if stop == end)
}

/// The hyphen at which `b[start..end]` ends in `-` and a version (forbidden at the end of
/// package and repository names), if it does.
const fn version_suffix(b: &[u8], start: usize, end: usize) -> Option<usize> {
    let mut h = start;
    while h < end {
        if b[h] == b'-' && is_version(b, h + 1, end) {
            return Some(h);
        }
        h += 1;
    }
    None
}

/// Checks the package name `b[start..end]` (its first character is already checked).
const fn check_package(b: &[u8], start: usize, end: usize) -> Result<(), AtomError> {
    let mut p = start;
    while p < end {
        if !in_class(b[p], Class::Package) {
            return err(p, "a package name character ([A-Za-z0-9+_-])");
        }
        p += 1;
    }
    if let Some(h) = version_suffix(b, start, end) {
        return err(h, "a package name that does not end in `-` and a version");
    }
    Ok(())
}

/// Splits `package-version` (`b[start..end]`) into the package and version spans.
const fn split_version(b: &[u8], start: usize, end: usize) -> Result<(Span, Span), AtomError> {
    // A version holds at most one hyphen, in its `-rN` suffix: so the version starts after the
    // last hyphen, or after the one before it when what follows the last is a revision (or
    // looks like one missing its number: `-r`).
    let mut hyphen = end;
    let mut k = end;
    while k > start {
        k -= 1;
        if b[k] == b'-' {
            hyphen = k;
            break;
        }
    }
    if hyphen == end {
        return err(end, "`-` and a version after the package name, as the atom has an operator");
    }
    if hyphen + 1 < end && b[hyphen + 1] == b'r' && digits_end(b, hyphen + 2, end) == end {
        while k > start {
            k -= 1;
            if b[k] == b'-' {
                hyphen = k;
                break;
            }
        }
    }
    let stop = tri!(version_end(b, hyphen + 1, end));
    if stop != end {
        return err(stop, "a well-formed version such as `1.2.3b_rc4-r5`");
    }
    tri!(check_package(b, start, hyphen));
    Ok((Span::new(start, hyphen), Span::new(hyphen + 1, end)))
}

/// The default of the USE dependency token starting at `i`: `+`, `-` or 0 for none, and the
/// flag span. The token is already validated.
const fn use_token(b: &[u8], mut i: usize) -> (usize, usize, u8, usize) {
    if b[i] == b'!' || b[i] == b'-' {
        i += 1;
    }
    let flag_start = i;
    while is_flag_char(peek(b, i)) {
        i += 1;
    }
    let flag_end = i;
    let default = if b[i] == b'(' { b[i + 1] } else { 0 };
    while b[i] != b',' && b[i] != b']' {
        i += 1;
    }
    (flag_start, flag_end, default, i)
}

/// Parses the USE dependencies after `[`; returns the position of the closing `]`.
const fn use_deps_end(b: &[u8], mut i: usize) -> Result<usize, AtomError> {
    let first = i;
    loop {
        let token_start = i;
        let bang = peek(b, i) == b'!';
        let minus = peek(b, i) == b'-';
        if bang || minus {
            i += 1;
        }
        if !is_flag_start(peek(b, i)) {
            return err(i, "a USE flag name");
        }
        let flag_start = i;
        while is_flag_char(peek(b, i)) {
            i += 1;
        }
        let flag_end = i;
        let mut default = 0;
        if peek(b, i) == b'(' {
            default = peek(b, i + 1);
            if default != b'+' && default != b'-' {
                return err(i + 1, "`+` or `-` in a USE default `(+)` or `(-)`");
            }
            if peek(b, i + 2) != b')' {
                return err(i + 2, "`)` closing the USE default");
            }
            i += 3;
        }
        if peek(b, i) == b'?' || peek(b, i) == b'=' {
            if minus {
                return err(i, "`,` or `]`: a `-flag` USE dependency takes no `?` or `=`");
            }
            i += 1;
        } else if bang {
            return err(i, "`?` or `=` after a `!`-prefixed USE flag");
        }
        // Portage rejects a flag given twice with different defaults (`[a(+),a]`).
        let mut t = first;
        while t < token_start {
            let (other_start, other_end, other_default, next) = use_token(b, t);
            if other_default != default && bytes_eq(b, other_start, other_end, flag_start, flag_end) {
                return err(flag_start, "the same USE default (`(+)`, `(-)` or none) as the flag's earlier dependency");
            }
            t = next + 1;
        }
        match peek(b, i) {
            b',' => i += 1,
            b']' => return Ok(i),
            _ => return err(i, "`,` or `]` after a USE dependency"),
        }
    }
}

impl<'a> Atom<'a> {
    /// Parses an atom.
    pub const fn parse(text: &'a str) -> Result<Atom<'a>, AtomError> {
        let b = text.as_bytes();
        let len = b.len();
        if len > u32::MAX as usize {
            return err(u32::MAX as usize, "an atom shorter than 4 GiB");
        }
        let mut i = 0;

        let blocker = match (peek(b, 0), peek(b, 1)) {
            (b'!', b'!') => Some(Blocker::Strong),
            (b'!', _) => Some(Blocker::Weak),
            _ => None,
        };
        if let Some(blocker) = blocker {
            i += blocker.as_str().len();
        }

        let operator_at = i;
        let mut operator = match (peek(b, i), peek(b, i + 1)) {
            (b'<', b'=') => Some(Operator::LessOrEqual),
            (b'<', _) => Some(Operator::Less),
            (b'>', b'=') => Some(Operator::GreaterOrEqual),
            (b'>', _) => Some(Operator::Greater),
            (b'=', _) => Some(Operator::Equal),
            (b'~', _) => Some(Operator::Approximate),
            _ => None,
        };
        if let Some(operator) = operator {
            i += operator.as_str().len();
        }

        if peek(b, i) == b'*' {
            // `*`, `*/*`: package.use's `*/*` is no atom of portage's; a USE flag for every package is
            // the image's `use_flags`.
            return err(
                i,
                "a category name (`*` and `*/*` name no package: for every package, use the image's `use_flags`)",
            );
        }
        if !is_name_start(peek(b, i)) {
            return err(i, "a category name");
        }
        let category_start = i;
        i = scan(b, i, Class::Category);
        if peek(b, i) != b'/' {
            return err(i, "`/` after the category name");
        }
        let category = Span::new(category_start, i);
        i += 1;

        if !is_name_start(peek(b, i)) {
            return err(i, "a package name after `/`");
        }
        let name_end = scan(b, i, Class::PackageVersion);
        let (package, version) = if operator.is_some() {
            tri!(split_version(b, i, name_end))
        } else {
            if version_suffix(b, i, name_end).is_some() {
                return err(operator_at, "an operator (`<`, `<=`, `=`, `~`, `>=` or `>`) before a versioned package");
            }
            tri!(check_package(b, i, name_end));
            (Span::new(i, name_end), NONE)
        };
        i = name_end;
        if peek(b, i) == b'*' && operator.is_some() {
            if !matches!(operator, Some(Operator::Equal)) {
                return err(operator_at, "the `=` operator, as the version ends in the `*` wildcard");
            }
            operator = Some(Operator::EqualGlob);
            i += 1;
        }

        let mut slot = NONE;
        let mut subslot = NONE;
        let mut slot_operator = None;
        if peek(b, i) == b':' && peek(b, i + 1) != b':' {
            i += 1;
            match peek(b, i) {
                b'*' => {
                    slot_operator = Some(SlotOperator::Any);
                    i += 1;
                }
                b'=' => {
                    slot_operator = Some(SlotOperator::Equal);
                    i += 1;
                }
                c if is_name_start(c) => {
                    let start = i;
                    i = scan(b, i, Class::Category);
                    slot = Span::new(start, i);
                    if peek(b, i) == b'/' {
                        i += 1;
                        if !is_name_start(peek(b, i)) {
                            return err(i, "a sub-slot name after `/`");
                        }
                        let start = i;
                        i = scan(b, i, Class::Category);
                        subslot = Span::new(start, i);
                    }
                    if peek(b, i) == b'=' {
                        slot_operator = Some(SlotOperator::Equal);
                        i += 1;
                    }
                }
                _ => return err(i, "a slot name, `*` or `=` after `:`"),
            }
        }

        let mut repo = NONE;
        if peek(b, i) == b':' && peek(b, i + 1) == b':' {
            i += 2;
            if !is_name_start(peek(b, i)) {
                return err(i, "a repository name after `::`");
            }
            let start = i;
            i = scan(b, i, Class::Repo);
            if let Some(h) = version_suffix(b, start, i) {
                return err(
                    h,
                    "a repository name that does not end in `-` and a version \
                     (it must also be a valid package name)",
                );
            }
            repo = Span::new(start, i);
        }

        let mut use_deps = NONE;
        if peek(b, i) == b'[' {
            let start = i + 1;
            i = tri!(use_deps_end(b, start));
            use_deps = Span::new(start, i);
            i += 1;
            if i < len {
                return err(i, "the end of the atom after `]`");
            }
        }

        if i < len {
            return err(
                i,
                if repo.end > 0 {
                    "`[` or the end of the atom"
                } else if slot.end > 0 || slot_operator.is_some() {
                    "`::`, `[` or the end of the atom"
                } else {
                    "`:`, `::`, `[` or the end of the atom"
                },
            );
        }

        Ok(Atom { text, blocker, operator, slot_operator, category, package, version, slot, subslot, repo, use_deps })
    }

    /// Parses `text`, panicking with a readable message (a compile error in const context),
    /// such as "invalid atom `=dev-libs/foo-`: at byte 14: expected a version after `-`".
    #[track_caller]
    pub const fn new(text: &'a str) -> Atom<'a> {
        match Atom::parse(text) {
            Ok(atom) => atom,
            Err(e) => const_text::invalid("atom", text, e.position, e.expected),
        }
    }

    /// The text as given.
    pub const fn as_str(&self) -> &'a str {
        self.text
    }

    const fn part(&self, span: Span) -> &'a str {
        self.text.split_at(span.end as usize).0.split_at(span.start as usize).1
    }

    const fn optional_part(&self, span: Span) -> Option<&'a str> {
        if span.end > span.start {
            Some(self.part(span))
        } else {
            None
        }
    }

    /// `!` or `!!`, if the atom is a blocker.
    pub const fn blocker(&self) -> Option<Blocker> {
        self.blocker
    }

    /// The version operator; `=` with a trailing `*` is [`Operator::EqualGlob`].
    pub const fn operator(&self) -> Option<Operator> {
        self.operator
    }

    /// The category: `dev-libs` in `>=dev-libs/foo-1`.
    pub const fn category(&self) -> &'a str {
        self.part(self.category)
    }

    /// The package name: `foo` in `>=dev-libs/foo-1`.
    pub const fn package(&self) -> &'a str {
        self.part(self.package)
    }

    /// The qualified package name: `dev-libs/foo` in `>=dev-libs/foo-1`.
    pub const fn cp(&self) -> &'a str {
        self.part(Span { start: self.category.start, end: self.package.end })
    }

    /// The version, with its revision but without the glob `*`: `1.2_rc3-r1`.
    pub const fn version(&self) -> Option<&'a str> {
        self.optional_part(self.version)
    }

    /// The slot name: `0` in `:0/3=`.
    pub const fn slot(&self) -> Option<&'a str> {
        self.optional_part(self.slot)
    }

    /// The sub-slot name: `3` in `:0/3=`.
    pub const fn subslot(&self) -> Option<&'a str> {
        self.optional_part(self.subslot)
    }

    /// `=` in `:=` and `:0=`, `*` in `:*`.
    pub const fn slot_operator(&self) -> Option<SlotOperator> {
        self.slot_operator
    }

    /// The repository: `gentoo` in `::gentoo`.
    pub const fn repo(&self) -> Option<&'a str> {
        self.optional_part(self.repo)
    }

    /// The USE dependency tokens as written: `a`, `-b`, `c?`, `!d=`, `e(+)`.
    pub fn use_deps(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.optional_part(self.use_deps).into_iter().flat_map(|deps| deps.split(','))
    }
}

impl fmt::Display for Atom<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

impl fmt::Debug for Atom<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Atom").field(&self.text).finish()
    }
}

impl serde::Serialize for Atom<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.text)
    }
}

/// An [`Atom`] from a string literal, checked at compile time wherever it is written (a fn
/// body too, generic or not, and by `cargo check` as well as `cargo build`):
/// `atom!(">=dev-libs/openssl-3:0=")`. An invalid literal fails the build with
/// "invalid atom `…`: at byte N: expected …".
#[macro_export]
macro_rules! atom {
    ($s:literal) => {{
        // A named const item rather than an inline `const { }` block: const items are evaluated
        // by `cargo check` too, and even in generic or unused fns.
        const ATOM: $crate::Atom<'static> = $crate::Atom::new($s);
        ATOM
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts of an atom, in the order of the struct fields, with `None` for absent parts.
    type Parts<'a> = (
        Option<&'static str>,
        Option<&'static str>,
        &'a str,
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'static str>,
        Option<&'a str>,
        Vec<&'a str>,
    );

    fn parts<'a>(atom: &Atom<'a>) -> Parts<'a> {
        (
            atom.blocker().map(Blocker::as_str),
            atom.operator().map(Operator::as_str),
            atom.category(),
            atom.package(),
            atom.version(),
            atom.slot(),
            atom.subslot(),
            atom.slot_operator().map(SlotOperator::as_str),
            atom.repo(),
            atom.use_deps().collect(),
        )
    }

    #[test]
    fn parses_every_part() {
        let atom =
            Atom::parse("!!>=dev-libs/foo-bar-1.2.3b_alpha_p4_rc-r10:0/1.2=::gentoo[a,-b,c?,!d?,e=,!f=,g(+),h(-)?]")
                .unwrap();
        assert_eq!(
            parts(&atom),
            (
                Some("!!"),
                Some(">="),
                "dev-libs",
                "foo-bar",
                Some("1.2.3b_alpha_p4_rc-r10"),
                Some("0"),
                Some("1.2"),
                Some("="),
                Some("gentoo"),
                vec!["a", "-b", "c?", "!d?", "e=", "!f=", "g(+)", "h(-)?"],
            )
        );
        assert_eq!(atom.cp(), "dev-libs/foo-bar");
        assert_eq!(atom.to_string(), atom.as_str());
    }

    #[test]
    fn parses_good_atoms() {
        #[rustfmt::skip]
        let cases: &[(&str, Parts<'_>)] = &[
            ("dev-libs/foo", (None, None, "dev-libs", "foo", None, None, None, None, None, vec![])),
            ("!dev-libs/foo", (Some("!"), None, "dev-libs", "foo", None, None, None, None, None, vec![])),
            ("<a/b-1", (None, Some("<"), "a", "b", Some("1"), None, None, None, None, vec![])),
            ("<=a/b-1", (None, Some("<="), "a", "b", Some("1"), None, None, None, None, vec![])),
            ("=a/b-01.002a", (None, Some("="), "a", "b", Some("01.002a"), None, None, None, None, vec![])),
            ("=a/b-1.2*", (None, Some("=*"), "a", "b", Some("1.2"), None, None, None, None, vec![])),
            ("=a/b-1-r1*:2", (None, Some("=*"), "a", "b", Some("1-r1"), Some("2"), None, None, None, vec![])),
            ("~a/b-1-r1", (None, Some("~"), "a", "b", Some("1-r1"), None, None, None, None, vec![])),
            (">a/b-1_pre", (None, Some(">"), "a", "b", Some("1_pre"), None, None, None, None, vec![])),
            ("=a/b-c-1-r0", (None, Some("="), "a", "b-c", Some("1-r0"), None, None, None, None, vec![])),
            ("=a/b-r1-2", (None, Some("="), "a", "b-r1", Some("2"), None, None, None, None, vec![])),
            ("=a/b-1a-x-2", (None, Some("="), "a", "b-1a-x", Some("2"), None, None, None, None, vec![])),
            // Package names may end in things that are not `-version`.
            ("dev-libs/foo-", (None, None, "dev-libs", "foo-", None, None, None, None, None, vec![])),
            ("a/b-1-r", (None, None, "a", "b-1-r", None, None, None, None, None, vec![])),
            ("a/b-r1", (None, None, "a", "b-r1", None, None, None, None, None, vec![])),
            ("a/b-1_", (None, None, "a", "b-1_", None, None, None, None, None, vec![])),
            ("a/b-1x1", (None, None, "a", "b-1x1", None, None, None, None, None, vec![])),
            ("_a.b+c/_d+e", (None, None, "_a.b+c", "_d+e", None, None, None, None, None, vec![])),
            ("x11-libs/gtk+:3", (None, None, "x11-libs", "gtk+", None, Some("3"), None, None, None, vec![])),
            ("a/b:=", (None, None, "a", "b", None, None, None, Some("="), None, vec![])),
            ("a/b:*", (None, None, "a", "b", None, None, None, Some("*"), None, vec![])),
            ("a/b:_s+.-=", (None, None, "a", "b", None, Some("_s+.-"), None, Some("="), None, vec![])),
            ("a/b:1/2", (None, None, "a", "b", None, Some("1"), Some("2"), None, None, vec![])),
            ("a/b::r-x1", (None, None, "a", "b", None, None, None, None, Some("r-x1"), vec![])),
            ("a/b:*::_r", (None, None, "a", "b", None, None, None, Some("*"), Some("_r"), vec![])),
            ("a/b[x,x,-x]", (None, None, "a", "b", None, None, None, None, None, vec!["x", "x", "-x"])),
            ("a/b[x(+),!x(+)?,y]", (None, None, "a", "b", None, None, None, None, None, vec!["x(+)", "!x(+)?", "y"])),
            ("a/b[l10n_pt-BR,a@b+]", (None, None, "a", "b", None, None, None, None, None, vec!["l10n_pt-BR", "a@b+"])),
        ];
        for (text, expected) in cases {
            let atom = Atom::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(&parts(&atom), expected, "{text}");
            assert_eq!(atom.as_str(), *text);
            assert_eq!(atom.cp(), format!("{}/{}", atom.category(), atom.package()));
        }
    }

    #[test]
    fn rejects_bad_atoms_with_position() {
        const OPERATOR: &str = "an operator (`<`, `<=`, `=`, `~`, `>=` or `>`) before a versioned package";
        const PACKAGE_CHAR: &str = "a package name character ([A-Za-z0-9+_-])";
        const PACKAGE_END: &str = "a package name that does not end in `-` and a version";
        const AFTER_PACKAGE: &str = "`:`, `::`, `[` or the end of the atom";
        const NEEDS_VERSION: &str = "`-` and a version after the package name, as the atom has an operator";
        const GLOB: &str = "the `=` operator, as the version ends in the `*` wildcard";
        const DEFAULTS: &str = "the same USE default (`(+)`, `(-)` or none) as the flag's earlier dependency";
        #[rustfmt::skip]
        let cases: &[(&str, usize, &str)] = &[
            ("", 0, "a category name"),
            ("!!!a/b", 2, "a category name"),
            ("<<a/b-1", 1, "a category name"),
            ("=<a/b-1", 1, "a category name"),
            ("-a/b", 0, "a category name"),
            (".a/b", 0, "a category name"),
            ("+a/b", 0, "a category name"),
            ("ab", 2, "`/` after the category name"),
            ("a b/c", 1, "`/` after the category name"),
            ("é/b", 0, "a category name"),
            ("a/", 2, "a package name after `/`"),
            ("a/-b", 2, "a package name after `/`"),
            ("a/+b", 2, "a package name after `/`"),
            ("a/b/c", 3, AFTER_PACKAGE),
            ("a/b.c", 3, PACKAGE_CHAR),
            ("a/bé", 3, AFTER_PACKAGE),
            ("a/b-1", 0, OPERATOR),
            ("!a/b-1", 1, OPERATOR),
            ("dev-libs/foo-1.0", 0, OPERATOR),
            ("a/b-1-r1", 0, OPERATOR),
            ("a/b+-1", 0, OPERATOR),
            ("a/b-1*", 0, OPERATOR),
            ("a/b*", 3, AFTER_PACKAGE),
            ("=a/b", 4, NEEDS_VERSION),
            ("=dev-libs/foo-", 14, "a version after `-`"),
            ("=a/b-r1", 5, "a version after `-`"),
            ("=a/b-1.", 7, "a number after `.` in the version"),
            ("=a/b-1..2", 7, "a number after `.` in the version"),
            ("=a/b-1_x", 7, "`alpha`, `beta`, `pre`, `rc` or `p` after `_` in the version"),
            ("=a/b-1_", 7, "`alpha`, `beta`, `pre`, `rc` or `p` after `_` in the version"),
            ("=a/b-1_pr", 8, "a well-formed version such as `1.2.3b_rc4-r5`"),
            ("=a/b-1ab", 7, "a well-formed version such as `1.2.3b_rc4-r5`"),
            ("=a/b-1A", 6, "a well-formed version such as `1.2.3b_rc4-r5`"),
            ("=a/b-1-r", 8, "a revision number after `-r`"),
            ("=a/b-rust", 5, "a version after `-`"),
            ("=a/b-1-1", 4, PACKAGE_END),
            ("=a/b-1a-1", 4, PACKAGE_END),
            ("=a/b.c-1", 4, PACKAGE_CHAR),
            ("=a/b-1.0-x", 9, "a version after `-`"),
            ("~a/b-1*", 0, GLOB),
            ("!>=a/b-1*", 1, GLOB),
            ("=a/b-1**", 7, AFTER_PACKAGE),
            ("=a/b-1*-r1", 7, AFTER_PACKAGE),
            ("a/b:", 4, "a slot name, `*` or `=` after `:`"),
            ("a/b:-1", 4, "a slot name, `*` or `=` after `:`"),
            ("a/b:.1", 4, "a slot name, `*` or `=` after `:`"),
            ("a/b:1/", 6, "a sub-slot name after `/`"),
            ("a/b:1/=", 6, "a sub-slot name after `/`"),
            ("a/b:/2", 4, "a slot name, `*` or `=` after `:`"),
            ("a/b:1/2/3", 7, "`::`, `[` or the end of the atom"),
            ("a/b:1*", 5, "`::`, `[` or the end of the atom"),
            ("a/b:*=", 5, "`::`, `[` or the end of the atom"),
            ("a/b:=1", 5, "`::`, `[` or the end of the atom"),
            ("a/b:1:2", 5, "`::`, `[` or the end of the atom"),
            ("a/b::", 5, "a repository name after `::`"),
            ("a/b:::r", 5, "a repository name after `::`"),
            ("a/b::-r", 5, "a repository name after `::`"),
            ("a/b::r.x", 6, "`[` or the end of the atom"),
            ("a/b::r:1", 6, "`[` or the end of the atom"),
            ("a/b::r-1x", 6, "a repository name that does not end in `-` and a version (it must also be a valid package name)"),
            ("a/b::gentoo-1", 11, "a repository name that does not end in `-` and a version (it must also be a valid package name)"),
            ("a/b[]", 4, "a USE flag name"),
            ("a/b[a,]", 6, "a USE flag name"),
            ("a/b[,a]", 4, "a USE flag name"),
            ("a/b[a,,b]", 6, "a USE flag name"),
            ("a/b[_a]", 4, "a USE flag name"),
            ("a/b[--a]", 5, "a USE flag name"),
            ("a/b[!-a?]", 5, "a USE flag name"),
            ("a/b[a", 5, "`,` or `]` after a USE dependency"),
            ("a/b[a b]", 5, "`,` or `]` after a USE dependency"),
            ("a/b[a?=]", 6, "`,` or `]` after a USE dependency"),
            ("a/b[a(+)(-)]", 8, "`,` or `]` after a USE dependency"),
            ("a/b[!a]", 6, "`?` or `=` after a `!`-prefixed USE flag"),
            ("a/b[-a?]", 6, "`,` or `]`: a `-flag` USE dependency takes no `?` or `=`"),
            ("a/b[a(x)]", 6, "`+` or `-` in a USE default `(+)` or `(-)`"),
            ("a/b[a(+]", 7, "`)` closing the USE default"),
            ("a/b[a]]", 6, "the end of the atom after `]`"),
            ("a/b[a][b]", 6, "the end of the atom after `]`"),
            ("a/b[a]:1", 6, "the end of the atom after `]`"),
            ("a/b[a(+),a]", 9, DEFAULTS),
            ("a/b[a,-a(-)]", 7, DEFAULTS),
            ("a/b[x,a(+),b,!a(-)?]", 14, DEFAULTS),
        ];
        for &(text, position, expected) in cases {
            assert_eq!(Atom::parse(text).map(|a| a.as_str()), Err(AtomError { position, expected }), "{text:?}");
        }
    }

    #[test]
    fn works_in_const_context() {
        const ATOM: Atom<'static> = crate::atom!(">=sys-libs/glibc-2.38-r1:2.2::gentoo[-multilib]");
        const CP: &str = ATOM.cp();
        assert_eq!(CP, "sys-libs/glibc");
        assert_eq!(ATOM.version(), Some("2.38-r1"));
        let in_fn = crate::atom!("virtual/libc");
        assert_eq!((in_fn.category(), in_fn.package()), ("virtual", "libc"));
        assert_eq!(format!("{in_fn:?}"), r#"Atom("virtual/libc")"#);
        assert_eq!(AtomError { position: 3, expected: "x" }.to_string(), "at byte 3: expected x");
    }

    #[test]
    fn new_panics_with_a_readable_message() {
        let err = std::panic::catch_unwind(|| {
            Atom::new("=dev-libs/foo-");
        })
        .unwrap_err();
        assert_eq!(
            err.downcast_ref::<String>().map(String::as_str),
            Some("invalid atom `=dev-libs/foo-`: at byte 14: expected a version after `-`")
        );
    }

    #[test]
    fn serializes_as_the_text() {
        // serde can serialize into a `fmt::Formatter`, which accepts plain strings only.
        struct ViaSerde<'a>(Atom<'a>);
        impl fmt::Display for ViaSerde<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                serde::Serialize::serialize(&self.0, f)
            }
        }
        assert_eq!(ViaSerde(Atom::new("a/b:0[x]")).to_string(), "a/b:0[x]");
    }
}
