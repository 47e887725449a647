//! Differential test: `image_defs::Atom::parse` against portage's own parser.
//!
//! A deterministic corpus (atoms built from the grammar's pieces, mutations of them, and
//! hand-written edge cases) goes to `support/portage_atoms.py`, which parses each atom with
//! `portage.dep.Atom(s, allow_repo=True, allow_wildcard=False, eapi="8", allow_build_id=False)`
//! (the script documents why those flags). Validity must agree on every atom and the parts on
//! every valid one, except for the differences listed in [`KNOWN_DIFFERENCES`].
//!
//! The interpreter is `$PORTAGE_PYTHON`, else `python3`; it must be able to `import portage`
//! (`cargo xtask test` installs it, or `pip install portage`). Without it the test fails.

use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Stdio};

use image_defs::{Atom, Blocker, Operator, SlotOperator};
use serde_json::{json, Value};

/// Where our parser and portage legitimately disagree. Each entry must still be observed in the
/// corpus (so the list cannot go stale), and only explains atoms for which `applies` holds.
struct KnownDifference {
    reason: &'static str,
    /// Given the atom and our parse result, whether this difference explains a disagreement.
    applies: fn(&str, &Result<Atom<'_>, image_defs::AtomError>) -> bool,
}

const KNOWN_DIFFERENCES: &[KnownDifference] = &[KnownDifference {
    reason: "PMS 3.1.5 (EAPI 8): \"every repository name must also be a valid package name\", so a \
             repository name must not end in `-` and a version (`::overlay-1`); portage's \
             `_repo_name` regex `[\\w][\\w-]*` does not check that and accepts it",
    applies: |_, ours| matches!(ours, Err(e) if e.expected.starts_with("a repository name that does not end in")),
}];

/// Hand-written edge cases, on top of the generated corpus.
const EDGE_CASES: &[&str] = &[
    // Shapes from the grammar.
    "dev-libs/foo",
    "!dev-libs/foo",
    "!!dev-libs/foo",
    "!!!dev-libs/foo",
    "<dev-libs/foo-1",
    "<=dev-libs/foo-1",
    "=dev-libs/foo-1",
    "~dev-libs/foo-1",
    ">=dev-libs/foo-1",
    ">dev-libs/foo-1",
    "=dev-libs/foo-1*",
    "=dev-libs/foo-1.2*",
    "=dev-libs/foo-1-r1*",
    "=dev-libs/foo-1.*",
    "=dev-libs/foo-1**",
    "=dev-libs/foo-*",
    "=dev-libs/foo*",
    "~dev-libs/foo-1*",
    ">=dev-libs/foo-1*",
    "<dev-libs/foo-1*",
    "dev-libs/foo*",
    "<<dev-libs/foo-1",
    "=<dev-libs/foo-1",
    "==dev-libs/foo-1",
    "=>dev-libs/foo-1",
    "!>=dev-libs/foo-1",
    ">=!dev-libs/foo-1",
    // Package names and versions.
    "foo/bar-1-r",
    "foo/bar-1-r1",
    "foo/bar-r1",
    "foo/bar-1",
    "foo/bar-1a",
    "foo/bar-1x1",
    "foo/bar-1_",
    "foo/bar-1_p-",
    "foo/bar-",
    "foo/bar--",
    "foo/bar+",
    "foo/bar+-1",
    "foo/bar-1+",
    "foo/bar-1*",
    "foo/bar-1.0",
    "foo/bar.baz",
    "foo/bar-_1",
    "foo/_bar",
    "_foo/bar",
    "foo.bar/baz",
    "foo+bar/baz",
    "-foo/bar",
    ".foo/bar",
    "+foo/bar",
    "foo/-bar",
    "foo/+bar",
    "foo/",
    "/bar",
    "foo",
    "",
    "foo/bar/baz",
    "=foo/bar",
    "=foo/bar-",
    "=foo/bar-r1",
    "=foo/bar-1-r",
    "=foo/bar-1-rust",
    "=foo/bar-rust",
    "~foo/bar-1-r1",
    "~foo/bar-1-r01",
    "=foo/bar-1-1",
    "=foo/bar-1a-1",
    "=foo/bar-1-r1-2",
    "=foo/bar-1_p01",
    "=foo/bar-01.002",
    "=foo/bar-1.0-x",
    "=foo/bar-1.0a.1",
    "=foo/bar-1..0",
    "=foo/bar-1.",
    "=foo/bar-.1",
    "=foo/bar-1A",
    "=foo/bar-1ab",
    "=foo/bar-1_",
    "=foo/bar-1_pr",
    "=foo/bar-1_pre_p_alpha1_beta2_rc",
    "=foo/bar-1_p_p",
    "=foo/bar-1-r1_p",
    "=foo/bar-1a_p-r0",
    "=foo/bar-c-1-r0",
    "=foo/bar-r1-2",
    "=foo/bar-1a-x-2",
    "=foo/bar.x-1",
    "=foo/bar-1.0-r1-r2",
    // Slots.
    ">=foo/bar-1:=slot",
    ">=foo/bar-1:slot=",
    "foo/bar:",
    "foo/bar:=",
    "foo/bar:*",
    "foo/bar:0",
    "foo/bar:0=",
    "foo/bar:0*",
    "foo/bar:0/1",
    "foo/bar:0/1=",
    "foo/bar:0/1*",
    "foo/bar:0/",
    "foo/bar:/1",
    "foo/bar:0/1/2",
    "foo/bar:*=",
    "foo/bar:=*",
    "foo/bar:==",
    "foo/bar:-1",
    "foo/bar:.1",
    "foo/bar:+1",
    "foo/bar:_1",
    "foo/bar:1+.-_",
    "foo/bar:0:1",
    "!!foo/bar:=",
    // Repositories.
    "foo/bar::gentoo",
    "foo/bar::_r",
    "foo/bar::r-x1",
    "foo/bar::gentoo-1",
    "foo/bar::my-overlay-2.0",
    "foo/bar::r-1x",
    "foo/bar::-r",
    "foo/bar::r.x",
    "foo/bar::",
    "foo/bar:::r",
    "foo/bar::r::s",
    "foo/bar::r:0",
    "foo/bar:0::r",
    "foo/bar:=::r[a]",
    // USE dependencies.
    "foo/bar[a,-b,c?,!d?,e=,!f=,g(+),h(-)]",
    "foo/bar[a(+)?,!b(-)=,-c(+)]",
    "foo/bar[]",
    "foo/bar[,]",
    "foo/bar[a,]",
    "foo/bar[,a]",
    "foo/bar[a,,b]",
    "foo/bar[a",
    "foo/bar[a]]",
    "foo/bar[a][b]",
    "foo/bar[a]:0",
    "foo/bar[a]::r",
    "foo/bar[!a]",
    "foo/bar[-a?]",
    "foo/bar[-a=]",
    "foo/bar[!-a?]",
    "foo/bar[--a]",
    "foo/bar[a?=]",
    "foo/bar[a(+)(-)]",
    "foo/bar[a(x)]",
    "foo/bar[a(+]",
    "foo/bar[a()]",
    "foo/bar[a (+)]",
    "foo/bar[a ]",
    "foo/bar[_a]",
    "foo/bar[a_]",
    "foo/bar[a@b]",
    "foo/bar[a-]",
    "foo/bar[a:b]",
    "foo/bar[a,-a]",
    "foo/bar[a,a]",
    "foo/bar[a(+),a]",
    "foo/bar[a,a(-)]",
    "foo/bar[a(+),a(-)]",
    "foo/bar[a(+),-a(+)]",
    "foo/bar[a(+),b,!a(-)?]",
    // Odd characters.
    " foo/bar",
    "foo/bar ",
    "foo/b ar",
    "foo/bar\t",
    "foo/bär",
    "fóo/bar",
    "foo/bar[ä]",
    "foo/bar:é",
    "foo/bar::é",
];

/// A small deterministic PRNG (xorshift64*), so the corpus is the same on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn byte(&mut self, class: &[u8]) -> char {
        self.pick(class) as char
    }
}

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const NAME_START: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
const CATEGORY_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_+.-";
const PACKAGE_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABC0123456789_+-";
const REPO_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_-";
const FLAG_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzAB0123456789+_@-";

const CATEGORIES: &[&str] = &[
    "dev-libs",
    "sys-apps",
    "app-emulation",
    "virtual",
    "x11-libs",
    "dev-python",
    "net-misc",
    "sys-kernel",
    "dev-lang",
    "media-libs",
    "_x",
    "a",
    "0a",
    "cat.with.dots",
    "c+x",
    "dev-1",
];
const PACKAGES: &[&str] = &[
    "foo",
    "bar-baz",
    "gtk+",
    "c++",
    "libfoo-r",
    "foo-1-r",
    "foo-",
    "foo--",
    "foo_",
    "_",
    "foo-r1",
    "foo-1a-x",
    "x11",
    "foo-bar-2x",
    "perl-Foo-Bar",
    "a-1_",
    "b-1_p-",
    "py-2to3",
    "foo-1x1",
    "foo-rust",
    "glibc",
    "openssl",
    "buildah",
    "R",
];
const SLOTS: &[&str] = &["0", "1", "2.0", "3.12", "stable", "_x", "a+b", "a-b", "1.2.3", "0_rc"];
const REPOS: &[&str] = &["gentoo", "guru", "my_overlay", "local", "_r", "r-x1", "x-1-r", "a-"];
const FLAGS: &[&str] = &["ssl", "python_targets_python3_12", "l10n_pt-BR", "gtk+", "a@b", "x-", "0", "debug", "X"];
const SUFFIXES: &[&str] = &["alpha", "beta", "pre", "rc", "p"];
/// Characters that mutations insert: the atom syntax's punctuation, name characters and a few
/// that are never valid.
const MUTATION_CHARS: &[char] = &[
    '!', '<', '>', '=', '~', '*', ':', '/', '[', ']', '(', ')', ',', '?', '+', '-', '_', '.', '@', ' ', 'a', 'b', 'r',
    'p', 'x', 'Z', '0', '1', '9', '-', ':', '*', '=', 'é',
];

fn name(rng: &mut XorShift, first: &[u8], rest: &[u8], max_len: usize) -> String {
    let mut s = String::new();
    s.push(rng.byte(first));
    for _ in 0..rng.below(max_len) {
        s.push(rng.byte(rest));
    }
    s
}

fn number(rng: &mut XorShift) -> String {
    match rng.below(10) {
        0 => "0".to_owned(),
        1 => format!("0{}", rng.below(10)),
        2 => format!("{}", 2000 + rng.below(30)),
        3 => format!("{}", rng.next() % 100_000),
        _ => format!("{}", rng.below(20)),
    }
}

fn version(rng: &mut XorShift) -> String {
    let mut v = number(rng);
    for _ in 0..rng.below(4) {
        v.push('.');
        v.push_str(&number(rng));
    }
    if rng.chance(20) {
        v.push(rng.byte(b"abcdefghijklmnopqrstuvwxyz"));
    }
    let suffixes = if rng.chance(35) { 1 + rng.below(3) } else { 0 };
    for _ in 0..suffixes {
        v.push('_');
        v.push_str(rng.pick(SUFFIXES));
        if rng.chance(50) {
            v.push_str(&number(rng));
        }
    }
    if rng.chance(30) {
        v.push_str("-r");
        v.push_str(&number(rng));
    }
    v
}

fn slot_name(rng: &mut XorShift) -> String {
    if rng.chance(60) {
        rng.pick(SLOTS).to_string()
    } else {
        name(rng, NAME_START, CATEGORY_CHARS, 6)
    }
}

fn flag(rng: &mut XorShift) -> String {
    if rng.chance(50) {
        rng.pick(FLAGS).to_string()
    } else {
        name(rng, ALNUM, FLAG_CHARS, 8)
    }
}

/// A USE dependency list: distinct flags, plus sometimes a repeat of an earlier flag (with the
/// same or another default, which portage rejects).
fn use_deps(rng: &mut XorShift) -> String {
    let mut flags: Vec<(String, &str)> = Vec::new();
    let mut tokens = Vec::new();
    for _ in 0..1 + rng.below(4) {
        let (flag, default) = if !flags.is_empty() && rng.chance(8) {
            let (flag, default) = flags[rng.below(flags.len())].clone();
            let default = if rng.chance(50) { default } else { rng.pick(&["", "(+)", "(-)"]) };
            (flag, default)
        } else {
            let flag = flag(rng);
            if flags.iter().any(|(f, _)| *f == flag) {
                continue;
            }
            let default = rng.pick(&["", "", "", "(+)", "(-)"]);
            flags.push((flag.clone(), default));
            (flag, default)
        };
        let (prefix, suffix) = rng.pick(&[("", ""), ("-", ""), ("", "?"), ("!", "?"), ("", "="), ("!", "=")]);
        tokens.push(format!("{prefix}{flag}{default}{suffix}"));
    }
    format!("[{}]", tokens.join(","))
}

/// An atom assembled from valid pieces (it can still be invalid, e.g. when a random package
/// name ends in `-` and a version: portage decides).
fn generated_atom(rng: &mut XorShift) -> String {
    let mut atom = String::new();
    if rng.chance(20) {
        atom.push_str(rng.pick(&["!", "!!"]));
    }
    let operator = if rng.chance(55) { Some(rng.pick(&["<", "<=", "=", "~", ">=", ">", "="])) } else { None };
    atom.push_str(operator.unwrap_or(""));
    if rng.chance(70) {
        atom.push_str(rng.pick(CATEGORIES));
    } else {
        atom.push_str(&name(rng, NAME_START, CATEGORY_CHARS, 10));
    }
    atom.push('/');
    if rng.chance(60) {
        atom.push_str(rng.pick(PACKAGES));
    } else {
        atom.push_str(&name(rng, NAME_START, PACKAGE_CHARS, 10));
    }
    if let Some(operator) = operator {
        atom.push('-');
        atom.push_str(&version(rng));
        if operator == "=" && rng.chance(30) {
            atom.push('*');
        }
    }
    if rng.chance(45) {
        atom.push(':');
        match rng.below(6) {
            0 => atom.push('='),
            1 => atom.push('*'),
            2 => atom.push_str(&slot_name(rng)),
            3 => atom.push_str(&format!("{}=", slot_name(rng))),
            4 => atom.push_str(&format!("{}/{}", slot_name(rng), slot_name(rng))),
            _ => atom.push_str(&format!("{}/{}=", slot_name(rng), slot_name(rng))),
        }
    }
    if rng.chance(20) {
        atom.push_str("::");
        if rng.chance(60) {
            atom.push_str(rng.pick(REPOS));
        } else {
            atom.push_str(&name(rng, NAME_START, REPO_CHARS, 8));
        }
    }
    if rng.chance(35) {
        atom.push_str(&use_deps(rng));
    }
    atom
}

/// `atom` with one to three random edits (insert, delete, replace, duplicate, swap, truncate).
fn mutated_atom(rng: &mut XorShift, atom: &str) -> String {
    let mut chars: Vec<char> = atom.chars().collect();
    for _ in 0..1 + rng.below(3) {
        let len = chars.len();
        let at = rng.below(len + 1);
        match rng.below(6) {
            0 => chars.insert(at, rng.pick(MUTATION_CHARS)),
            1 if at < len => {
                chars.remove(at);
            }
            2 if at < len => chars[at] = rng.pick(MUTATION_CHARS),
            3 if at < len => {
                let end = (at + 1 + rng.below(4)).min(len);
                let piece: Vec<char> = chars[at..end].to_vec();
                chars.splice(end..end, piece);
            }
            4 if at + 1 < len => chars.swap(at, at + 1),
            5 if at > 0 => chars.truncate(at),
            _ => chars.insert(at, rng.pick(MUTATION_CHARS)),
        }
    }
    chars.into_iter().collect()
}

/// The corpus: edge cases, generated atoms and mutations of generated atoms, without duplicates.
fn corpus() -> Vec<String> {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut seen = HashSet::new();
    let mut atoms = Vec::new();
    let mut add = |atom: String| {
        assert!(!atom.contains('\n'));
        if seen.insert(atom.clone()) {
            atoms.push(atom);
        }
    };
    for atom in EDGE_CASES {
        add(atom.to_string());
    }
    for _ in 0..2500 {
        let atom = generated_atom(&mut rng);
        for _ in 0..2 {
            add(mutated_atom(&mut rng, &atom));
        }
        add(atom);
    }
    for _ in 0..500 {
        let mut atom = generated_atom(&mut rng);
        // Splice the tail of another atom in: mismatched parts in odd places.
        let other = generated_atom(&mut rng);
        let cut = other.char_indices().map(|(i, _)| i).nth(rng.below(other.chars().count())).unwrap_or(0);
        atom.push_str(&other[cut..]);
        add(atom);
    }
    atoms
}

/// Our parse in the shape `portage_atoms.py` prints.
fn describe(atom: &str, parsed: &Result<Atom<'_>, image_defs::AtomError>) -> Value {
    match parsed {
        Ok(a) => json!({
            "atom": atom,
            "ok": true,
            "blocker": a.blocker().map(Blocker::as_str),
            "operator": a.operator().map(Operator::as_str),
            "cp": a.cp(),
            "version": a.version(),
            "slot": a.slot(),
            "subslot": a.subslot(),
            "slot_operator": a.slot_operator().map(SlotOperator::as_str),
            "repo": a.repo(),
            "use": a.use_deps().collect::<Vec<_>>(),
        }),
        Err(e) => json!({ "atom": atom, "ok": false, "error": e.to_string() }),
    }
}

fn python() -> String {
    std::env::var("PORTAGE_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

fn require_portage(python: &str) {
    let help = "run `cargo xtask test` (which installs portage) or `pip install portage`, \
                or point PORTAGE_PYTHON at an interpreter that has it";
    match Command::new(python).args(["-c", "import portage.dep"]).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`{python} -c 'import portage.dep'` failed: {}\nthe portage differential test needs \
             portage: {help}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!("cannot run `{python}`: {e}\nthe portage differential test needs portage: {help}"),
    }
}

/// Runs `portage_atoms.py` on the corpus; returns its header and one JSON value per atom.
fn portage_verdicts(python: &str, atoms: &[String]) -> (Value, Vec<Value>) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/support/portage_atoms.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{python} {script}`: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input: String = atoms.iter().map(|a| format!("{a}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().expect("writing the corpus to portage_atoms.py");
    assert!(
        out.status.success(),
        "`{python} {script}` failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("portage_atoms.py prints UTF-8");
    let mut lines = stdout
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("bad JSON line {line:?}: {e}")));
    let header = lines.next().expect("portage_atoms.py printed nothing");
    let verdicts: Vec<Value> = lines.collect();
    assert_eq!(verdicts.len(), atoms.len(), "one verdict per atom");
    for (atom, verdict) in atoms.iter().zip(&verdicts) {
        assert_eq!(verdict["atom"].as_str(), Some(atom.as_str()), "verdicts are in corpus order");
    }
    (header, verdicts)
}

/// Counts of the features seen among the atoms both parsers accept, so the corpus provably
/// exercises all of the syntax.
fn features(atom: &Atom<'_>) -> Vec<String> {
    let mut seen = vec![
        format!("blocker {:?}", atom.blocker()),
        format!("operator {:?}", atom.operator()),
        format!(
            "slot {}{}{:?}",
            if atom.slot().is_some() { "S" } else { "-" },
            if atom.subslot().is_some() { "/SUB" } else { "" },
            atom.slot_operator()
        ),
        format!("repo {}", atom.repo().is_some()),
    ];
    for token in atom.use_deps() {
        let prefix = token.chars().next().filter(|c| matches!(c, '!' | '-'));
        let suffix = token.chars().last().filter(|c| matches!(c, '?' | '='));
        seen.push(format!("use {prefix:?} {suffix:?}"));
        for default in ["(+)", "(-)"] {
            if token.contains(default) {
                seen.push(format!("use default {default}"));
            }
        }
    }
    seen
}

#[test]
fn atom_parser_agrees_with_portage() {
    let python = python();
    require_portage(&python);
    let atoms = corpus();
    let (header, verdicts) = portage_verdicts(&python, &atoms);
    println!("portage: {header}");

    let mut valid = 0;
    let mut invalid = 0;
    let mut mismatches = Vec::new();
    let mut known_hits = vec![Vec::new(); KNOWN_DIFFERENCES.len()];
    let mut feature_counts = std::collections::BTreeMap::<String, usize>::new();
    for (atom, theirs) in atoms.iter().zip(&verdicts) {
        let parsed = Atom::parse(atom);
        let ours = describe(atom, &parsed);
        let portage_ok = theirs["ok"] == json!(true);
        let agree = if portage_ok && parsed.is_ok() { ours == *theirs } else { portage_ok == parsed.is_ok() };
        if agree {
            if portage_ok {
                valid += 1;
                for feature in features(parsed.as_ref().unwrap()) {
                    *feature_counts.entry(feature).or_default() += 1;
                }
            } else {
                invalid += 1;
            }
            continue;
        }
        match KNOWN_DIFFERENCES.iter().position(|d| (d.applies)(atom, &parsed)) {
            Some(k) => known_hits[k].push(atom.clone()),
            None => mismatches.push((atom.clone(), ours, theirs.clone())),
        }
    }

    println!("corpus: {} atoms, {valid} valid and {invalid} invalid for both parsers", atoms.len());
    for (difference, hits) in KNOWN_DIFFERENCES.iter().zip(&known_hits) {
        println!("known difference ({} atoms, e.g. {:?}): {}", hits.len(), hits.first(), difference.reason);
    }
    for (feature, count) in &feature_counts {
        println!("  {count:5} valid atoms with {feature}");
    }

    if !mismatches.is_empty() {
        let mut report =
            format!("{} of {} atoms parse differently from portage; the first ones:\n", mismatches.len(), atoms.len());
        for (atom, ours, theirs) in mismatches.iter().take(20) {
            report.push_str(&format!("  {atom:?}\n    ours:    {ours}\n    portage: {theirs}\n"));
        }
        panic!("{report}");
    }
    for (difference, hits) in KNOWN_DIFFERENCES.iter().zip(&known_hits) {
        assert!(
            !hits.is_empty(),
            "a known difference never showed up in the corpus; is it still real? {}",
            difference.reason
        );
    }
    assert!(valid >= 2000, "only {valid} valid atoms in the corpus");
    assert!(invalid >= 3000, "only {invalid} invalid atoms in the corpus");
    let expected_features = [
        "blocker None",
        "blocker Some(Weak)",
        "blocker Some(Strong)",
        "operator None",
        "operator Some(Less)",
        "operator Some(LessOrEqual)",
        "operator Some(Equal)",
        "operator Some(EqualGlob)",
        "operator Some(Approximate)",
        "operator Some(GreaterOrEqual)",
        "operator Some(Greater)",
        "slot -None",
        "slot -Some(Equal)",
        "slot -Some(Any)",
        "slot SNone",
        "slot SSome(Equal)",
        "slot S/SUBNone",
        "slot S/SUBSome(Equal)",
        "repo true",
        "use None None",
        "use Some('-') None",
        "use None Some('?')",
        "use Some('!') Some('?')",
        "use None Some('=')",
        "use Some('!') Some('=')",
        "use default (+)",
        "use default (-)",
    ];
    for feature in expected_features {
        let count = feature_counts.get(feature).copied().unwrap_or(0);
        assert!(count >= 20, "only {count} valid atoms with {feature}");
    }
}
