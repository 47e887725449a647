//! A fixed-size text buffer that works in `const fn`, used to build readable panic messages.
//!
//! A const panic only accepts `panic!("{}", some_str)`, so the message for an invalid literal
//! (`invalid atom `…`: at byte 13: expected …`) has to be assembled by hand in a byte buffer.

/// Capacity of the message buffer, in bytes.
const CAPACITY: usize = 512;

/// How many bytes of the offending text a message quotes before cutting it short with `…`.
const MAX_QUOTED: usize = 256;

/// A string builder over a fixed byte array; it silently stops at [`CAPACITY`] bytes, always on
/// a character boundary.
struct ConstText {
    buf: [u8; CAPACITY],
    len: usize,
}

impl ConstText {
    const fn new() -> Self {
        ConstText { buf: [0; CAPACITY], len: 0 }
    }

    /// Appends at most `limit` bytes of `s` (whole characters only) and reports whether all of
    /// `s` fitted.
    const fn push_limited(mut self, s: &str, limit: usize) -> (Self, bool) {
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let width = utf8_width(bytes[i]);
            if i + width > limit || self.len + width > CAPACITY {
                return (self, false);
            }
            let mut k = 0;
            while k < width {
                self.buf[self.len] = bytes[i + k];
                self.len += 1;
                k += 1;
            }
            i += width;
        }
        (self, true)
    }

    const fn push(self, s: &str) -> Self {
        self.push_limited(s, usize::MAX).0
    }

    const fn push_usize(self, mut n: usize) -> Self {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let (_, used) = digits.split_at(start);
        match core::str::from_utf8(used) {
            Ok(s) => self.push(s),
            Err(_) => self,
        }
    }

    const fn as_str(&self) -> &str {
        let (used, _) = self.buf.split_at(self.len);
        match core::str::from_utf8(used) {
            Ok(s) => s,
            // Unreachable: only whole UTF-8 characters are ever copied in.
            Err(_) => "(message is not UTF-8)",
        }
    }
}

/// The byte length of the UTF-8 character whose first byte is `lead`.
const fn utf8_width(lead: u8) -> usize {
    if lead < 0x80 {
        1
    } else if lead >= 0xF0 {
        4
    } else if lead >= 0xE0 {
        3
    } else {
        2
    }
}

/// `a == b` for `const fn` (`PartialEq` is not const).
pub(crate) const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Panics with `invalid {what} `{text}`: at byte {position}: expected {expected}`.
///
/// Usable in const context, where the panic becomes a compile error carrying that message.
#[track_caller]
pub(crate) const fn invalid(what: &str, text: &str, position: usize, expected: &str) -> ! {
    let msg = ConstText::new().push("invalid ").push(what).push(" `");
    let (msg, complete) = msg.push_limited(text, MAX_QUOTED);
    let msg = if complete { msg } else { msg.push("…") };
    let msg = msg.push("`: at byte ").push_usize(position).push(": expected ").push(expected);
    panic!("{}", msg.as_str())
}

/// Panics with `image `{image}`: invalid {what} `{value}`: expected {expected}`.
///
/// Usable in const context, where the panic becomes a compile error carrying that message.
#[track_caller]
pub(crate) const fn refuse(image: &str, what: &str, value: &str, expected: &str) -> ! {
    let msg = ConstText::new().push("image `").push(image).push("`: invalid ").push(what).push(" `");
    quote_and_expect(msg, value, expected)
}

/// Panics with `invalid {kind} {what} `{value}`: expected {expected}`.
#[track_caller]
pub(crate) const fn invalid_value(kind: &str, what: &str, value: &str, expected: &str) -> ! {
    let msg = ConstText::new().push("invalid ").push(kind).push(" ").push(what).push(" `");
    quote_and_expect(msg, value, expected)
}

/// Panics with `msg` followed by `value` (cut short past [`MAX_QUOTED`] bytes) and
/// `` `: expected {expected}``.
#[track_caller]
const fn quote_and_expect(msg: ConstText, value: &str, expected: &str) -> ! {
    let (msg, complete) = msg.push_limited(value, MAX_QUOTED);
    let msg = if complete { msg } else { msg.push("…") };
    let msg = msg.push("`: expected ").push(expected);
    panic!("{}", msg.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn message(text: &str) -> ConstText {
        ConstText::new().push("a ").push(text).push(" ").push_usize(1234)
    }

    #[test]
    fn builds_text_in_const_context() {
        const MSG: ConstText = message("é`x`");
        assert_eq!(MSG.as_str(), "a é`x` 1234");
        assert_eq!(ConstText::new().push_usize(0).as_str(), "0");
        assert_eq!(ConstText::new().push_usize(usize::MAX).as_str(), usize::MAX.to_string());
    }

    #[test]
    fn stops_on_a_character_boundary() {
        let (text, complete) = ConstText::new().push_limited("abé", 3);
        assert!(!complete);
        assert_eq!(text.as_str(), "ab");
        let long = "ü".repeat(CAPACITY);
        assert_eq!(ConstText::new().push(&long).as_str().len(), CAPACITY);
    }

    #[test]
    fn invalid_panics_with_the_readable_message() {
        let err = std::panic::catch_unwind(|| {
            invalid("thing", "x-", 2, "more");
        })
        .unwrap_err();
        assert_eq!(
            err.downcast_ref::<String>().map(String::as_str),
            Some("invalid thing `x-`: at byte 2: expected more")
        );
        let long = "a".repeat(MAX_QUOTED + 10);
        let err = std::panic::catch_unwind(|| {
            invalid("thing", &long, 0, "b");
        })
        .unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.ends_with("a…`: at byte 0: expected b"), "{msg}");
    }
}
