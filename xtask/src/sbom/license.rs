//! Gentoo `LICENSE` expressions as SPDX license expressions.

/// Gentoo license names with an SPDX identifier; any other name becomes `LicenseRef-gentoo-<name>`.
const SPDX_IDS: &[(&str, &str)] = &[
    ("AFL-2.1", "AFL-2.1"),
    ("AGPL-3", "AGPL-3.0-only"),
    ("AGPL-3+", "AGPL-3.0-or-later"),
    ("Apache-1.1", "Apache-1.1"),
    ("Apache-2.0", "Apache-2.0"),
    ("Artistic", "Artistic-1.0-Perl"),
    ("Artistic-2", "Artistic-2.0"),
    ("BSD", "BSD-3-Clause"),
    ("BSD-1", "BSD-1-Clause"),
    ("BSD-2", "BSD-2-Clause"),
    ("BSD-4", "BSD-4-Clause"),
    ("BSL-1.1", "BSL-1.0"),
    ("BZIP2", "bzip2-1.0.6"),
    ("CC0-1.0", "CC0-1.0"),
    ("CC-BY-4.0", "CC-BY-4.0"),
    ("CC-BY-SA-4.0", "CC-BY-SA-4.0"),
    ("curl", "curl"),
    ("EPL-1.0", "EPL-1.0"),
    ("EPL-2.0", "EPL-2.0"),
    ("FDL-1.3", "GFDL-1.3-only"),
    ("FDL-1.3+", "GFDL-1.3-or-later"),
    ("GPL-1", "GPL-1.0-only"),
    ("GPL-1+", "GPL-1.0-or-later"),
    ("GPL-2", "GPL-2.0-only"),
    ("GPL-2+", "GPL-2.0-or-later"),
    ("GPL-3", "GPL-3.0-only"),
    ("GPL-3+", "GPL-3.0-or-later"),
    ("ISC", "ISC"),
    ("LGPL-2", "LGPL-2.0-only"),
    ("LGPL-2+", "LGPL-2.0-or-later"),
    ("LGPL-2.1", "LGPL-2.1-only"),
    ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("LGPL-3", "LGPL-3.0-only"),
    ("LGPL-3+", "LGPL-3.0-or-later"),
    ("MIT", "MIT"),
    ("MPL-1.1", "MPL-1.1"),
    ("MPL-2.0", "MPL-2.0"),
    ("OpenSSL", "OpenSSL"),
    ("PSF-2", "PSF-2.0"),
    ("Ruby", "Ruby"),
    ("Unicode-DFS-2016", "Unicode-DFS-2016"),
    ("Unlicense", "Unlicense"),
    ("Vim", "Vim"),
    ("ZLIB", "Zlib"),
    ("ZPL", "ZPL-2.1"),
];

/// A license expression and the `LicenseRef-` names it uses (they need an extracted-licensing entry).
#[derive(Debug, PartialEq, Eq)]
pub struct Expression {
    pub spdx: String,
    pub references: Vec<(String, String)>,
}

/// The SPDX form of a Gentoo `LICENSE` value. `use_flags` are the package's enabled flags: `flag? ( … )`
/// groups count only when their flag is (`!flag?` when it is not). `NOASSERTION` for an empty value.
pub fn to_spdx(license: &str, use_flags: &[String]) -> Expression {
    let tokens: Vec<&str> = license.split_whitespace().collect();
    let mut position = 0;
    let mut references = Vec::new();
    let terms = group(&tokens, &mut position, use_flags, &mut references);
    let joined = join(terms.clone(), " AND ");
    // The outermost parentheses (several terms at the top level) are not needed.
    let spdx = if terms.len() > 1 { joined[1..joined.len() - 1].to_owned() } else { joined };
    references.sort();
    references.dedup();
    Expression { spdx: if spdx.is_empty() { "NOASSERTION".into() } else { spdx }, references }
}

/// The terms of one level, up to a `)` or the end.
fn group(tokens: &[&str], position: &mut usize, flags: &[String], refs: &mut Vec<(String, String)>) -> Vec<String> {
    let mut terms = Vec::new();
    while let Some(token) = tokens.get(*position).copied() {
        *position += 1;
        match token {
            ")" => break,
            "(" => {
                let inner = join(group(tokens, position, flags, refs), " AND ");
                if !inner.is_empty() {
                    terms.push(inner);
                }
            }
            "||" => {
                if tokens.get(*position) == Some(&"(") {
                    *position += 1;
                }
                let inner = join(group(tokens, position, flags, refs), " OR ");
                if !inner.is_empty() {
                    terms.push(inner);
                }
            }
            conditional if conditional.ends_with('?') => {
                let flag = conditional.trim_end_matches('?');
                let wanted = match flag.strip_prefix('!') {
                    Some(flag) => !flags.iter().any(|on| on == flag),
                    None => flags.iter().any(|on| on == flag),
                };
                if tokens.get(*position) == Some(&"(") {
                    *position += 1;
                }
                let inner = join(group(tokens, position, flags, refs), " AND ");
                if wanted && !inner.is_empty() {
                    terms.push(inner);
                }
            }
            name => terms.push(identifier(name, refs)),
        }
    }
    terms
}

/// The terms joined by `operator`, parenthesised when there are several.
fn join(terms: Vec<String>, operator: &str) -> String {
    if terms.len() > 1 {
        format!("({})", terms.join(operator))
    } else {
        terms.into_iter().next().unwrap_or_default()
    }
}

fn identifier(name: &str, refs: &mut Vec<(String, String)>) -> String {
    if let Some((_, id)) = SPDX_IDS.iter().find(|(gentoo, _)| *gentoo == name) {
        return (*id).to_owned();
    }
    let id: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' }).collect();
    let id = format!("LicenseRef-gentoo-{id}");
    refs.push((id.clone(), name.to_owned()));
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gentoo_licenses_become_spdx_expressions() {
        let flags = vec!["ssl".to_owned()];
        assert_eq!(to_spdx("MIT", &flags).spdx, "MIT");
        assert_eq!(to_spdx("GPL-2+ LGPL-2.1", &flags).spdx, "GPL-2.0-or-later AND LGPL-2.1-only");
        assert_eq!(to_spdx("|| ( MIT Apache-2.0 ) ZLIB", &flags).spdx, "(MIT OR Apache-2.0) AND Zlib");
        assert_eq!(to_spdx("BSD ssl? ( OpenSSL ) doc? ( FDL-1.3 )", &flags).spdx, "BSD-3-Clause AND OpenSSL");
        assert_eq!(to_spdx("!ssl? ( GPL-3 )", &flags).spdx, "NOASSERTION");
        assert_eq!(to_spdx("", &flags).spdx, "NOASSERTION");
        let custom = to_spdx("MIT public-domain", &flags);
        assert_eq!(custom.spdx, "MIT AND LicenseRef-gentoo-public-domain");
        assert_eq!(custom.references, [("LicenseRef-gentoo-public-domain".to_owned(), "public-domain".to_owned())]);
    }
}
