#!/usr/bin/env python3
"""Parse atoms with portage's own parser, for the differential test tests/atom_portage.rs.

Reads atoms from stdin, one per line (split on "\\n" only: an atom may hold other odd
characters), and prints one JSON object per atom, in order:

    {"atom": TEXT, "ok": true, "blocker": "!"|"!!"|null, "operator": "<"|...|"=*"|null,
     "cp": "cat/pkg", "version": STR|null, "slot": STR|null, "subslot": STR|null,
     "slot_operator": "="|"*"|null, "repo": STR|null, "use": [TOKEN, ...]}
    {"atom": TEXT, "ok": false, "error": MESSAGE}

The atom is built as `Atom(s, allow_repo=True, allow_wildcard=False, eapi="8",
allow_build_id=False)`:

- eapi="8" applies the EAPI 8 rules (slot operators and sub-slots, `!!` strong blockers, USE
  dependency defaults); with eapi=None portage is lenient and guesses (it would accept build ids).
- allow_repo=True: `::repo` is a portage extension that no EAPI enables (portage's default
  for an explicit eapi is the EAPI's repo_deps attribute, false for EAPI 8); image definitions
  use it, so the Rust parser supports it.
- allow_wildcard=False: wildcard atoms (`*/*`, `=cat/pkg-*1*`) are a config-file extension,
  not dependency syntax.
- allow_build_id=False: binary package build ids (`=cat/pkg-1-2`) are not dependency syntax.

The first output line is a header: {"portage": VERSION, "native_parser": BOOL}.
"""

import json
import sys

try:
    import portage
    import portage.dep
    from portage.exception import InvalidAtom
except ImportError as e:  # reported by the Rust test, with how to install portage
    print(f"cannot import portage: {e}", file=sys.stderr)
    sys.exit(3)


def describe(text):
    try:
        atom = portage.dep.Atom(
            text,
            allow_repo=True,
            allow_wildcard=False,
            eapi="8",
            allow_build_id=False,
        )
    except InvalidAtom as e:
        return {"atom": text, "ok": False, "error": str(e)}
    blocker = None
    if atom.blocker:
        blocker = "!!" if atom.blocker.overlap.forbid else "!"
    return {
        "atom": text,
        "ok": True,
        "blocker": blocker,
        "operator": atom.operator,
        "cp": atom.cp,
        "version": atom.version,
        "slot": atom.slot,
        "subslot": atom.sub_slot,
        "slot_operator": atom.slot_operator,
        "repo": atom.repo,
        "use": list(atom.use.tokens) if atom.use else [],
    }


def main():
    data = sys.stdin.buffer.read().decode("utf-8")
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out = sys.stdout
    header = {
        "portage": portage.VERSION,
        "native_parser": getattr(portage.dep, "_c_dep_parser", None) is not None,
    }
    out.write(json.dumps(header) + "\n")
    for line in lines:
        out.write(json.dumps(describe(line)) + "\n")


if __name__ == "__main__":
    main()
