//! Content hashes, the bottom floor every other module may use: hex SHA-256 of bytes, of a file and
//! of a whole folder tree.

use anyhow::{Context, Result};
use camino::Utf8Path;
use sha2::{Digest, Sha256};

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text
}

/// Hex SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Hex SHA-256 of the file at `path`.
pub fn file_hash(path: &Utf8Path) -> Result<String> {
    Ok(sha256(&std::fs::read(path).with_context(|| format!("reading {path}"))?))
}

/// A hash of every file under `dir` (paths and contents, in sorted order; a symbolic link by its
/// target).
pub fn tree_hash(dir: &Utf8Path) -> Result<String> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    files.sort();
    let mut hasher = Sha256::new();
    for relative in files {
        let path = dir.join(&relative);
        hasher.update(relative.as_bytes());
        hasher.update([0]);
        if path.is_symlink() {
            hasher.update(std::fs::read_link(&path)?.to_string_lossy().as_bytes());
        } else {
            hasher.update(Sha256::digest(std::fs::read(&path).with_context(|| format!("reading {path}"))?));
        }
    }
    Ok(hex(&hasher.finalize()))
}

fn collect(base: &Utf8Path, dir: &Utf8Path, files: &mut Vec<String>) -> Result<()> {
    for entry in dir.read_dir_utf8().with_context(|| format!("reading {dir}"))? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect(base, path, files)?;
        } else {
            files.push(path.strip_prefix(base).expect("under base").to_string());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(hex(&[]), "");
        // FIPS 180-2's example.
        assert_eq!(sha256(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
