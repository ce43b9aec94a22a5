"""Similarity report: which submissions share code with each other or with the public code.

Tests cannot tell whether a student wrote a function or copied it: from a classmate, from the
public ``course_lib`` (the reference implementations the checkers compare with) or from the
instructor notebook in ``solutions/``. This module lists the pairs that share unusually much
code, so that an instructor knows where to look. **A high score is a reason to look, not
proof**: short exercises have few natural solutions, and two honest students can write the
same ten lines. Read both notebooks before concluding anything.

Run from the course root (reads ``submitted/*/ASSIGNMENT/*.ipynb`` and
``exercises/ASSIGNMENT/``)::

    python -m course_lib.autograde.similarity ps01 --threshold 0.5 --csv ps01_similarity.csv

Method: document fingerprinting by winnowing (S. Schleimer, D. S. Wilkerson and A. Aiken,
"Winnowing: local algorithms for document fingerprinting", SIGMOD 2003), the method behind
MOSS.

1. A submission's own code is the source of its answer cells and of any code cell the
   student added (``answer_code``).
2. The code is tokenized with Python's ``tokenize``; comments, docstrings and layout tokens
   (NEWLINE, NL, INDENT, DEDENT) are dropped, every identifier that is not a keyword or a
   builtin becomes ``V`` and every literal ``0`` (numbers) or ``"s"`` (strings). Renaming
   variables, rewording comments, changing constants or re-indenting changes nothing.
3. Every run of ``k`` consecutive tokens (a k-gram) is hashed with BLAKE2b (stable across
   runs, unlike Python's salted ``hash``); of each window of ``w`` consecutive hashes the
   smallest is kept. The kept hashes are the fingerprints.
4. Hashes of the released notebook's answer cells (the starter code everyone got: signatures,
   docstrings, ``raise NotImplementedError()``) are removed from every set.
5. Two sets are compared by containment (``similarity``): the share of the smaller set that
   is also in the larger one.

Choice of k and w. Winnowing guarantees that any shared run of at least ``w + k - 1`` tokens
is detected and ignores runs shorter than ``k`` tokens. After normalisation a statement is
about 12 tokens (the average over course_lib's code) over a small alphabet (``V``,
operators, keywords), so a short k matches by accident: ``V = V . V ( V )`` is everywhere.
``k = 12`` (one statement) makes chance matches rare; ``w = 6`` keeps about one hash in
3.5 (the expected density is 2 / (w + 1)), enough for answers of a few lines, and detects
every shared run of 17 tokens. On ps01 (k from 6 to 15, w from 4 to 8), a renamed copy of
the solution scored 1.0 with every setting, while two independently written versions of
``local_random_search`` scored up to 0.15 with k = 6 and 0.0 from k = 12.

Why containment rather than Jaccard: Jaccard divides the shared fingerprints by the union of
both sets, so a student whose three answers include one pasted library function shares at
most about a third of the union with that function, however exact the copy; the share of
the smaller set found in the larger is then close to 1. Sets smaller than ``MIN_SIZE``
fingerprints count as ``MIN_SIZE`` in the denominator, so that a few identical lines alone
never give a high score.

Natural code. Short exercises have few natural solutions: an experiment cell that follows
the notebook's instructions (loop over the given values, call the functions just written,
collect the results) comes out much alike from every honest student, and alike to the
instructor's. Fingerprints that the instructor notebook shares with an independently written
*correct alternative* are therefore removed from every set, students' and references' alike
(``honest``; by default the notebooks in ``solutions/<assignment>/alternatives/``): what two
independent correct solutions share is evidence of nothing. A copy of the solution keeps
everything the alternatives did not write the same way, so it still scores high.

Optionally (``common``, like MOSS's ``-m`` option) student pairs ignore fingerprints found
in many submissions: code that a large part of the class wrote alike is an idiom rather than
evidence against two of them. It is off by default, because a solution passed around among
that many students would disappear with it; reference comparisons never ignore anything.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import csv
import hashlib
import keyword
import math
import sys
import tokenize
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable, NamedTuple, Optional, Sequence

import nbformat

__all__ = [
    "Match",
    "answer_code",
    "fingerprints",
    "kgram_hashes",
    "similarity",
    "reference_code",
    "report",
    "main",
]

K = 12  # tokens per k-gram
W = 6  # hashes per winnowing window
MIN_SIZE = 8  # smaller fingerprint sets count as this many in `similarity`
THRESHOLD = 0.5  # default score from which a pair is printed
EXCLUDED = ("course_lib.grading", "course_lib.autograde", "course_lib.widgets")

_KEEP = frozenset(keyword.kwlist) | frozenset(dir(builtins))
_SKIP = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENCODING,
    tokenize.ENDMARKER,
}
_FSTRING = {
    getattr(tokenize, n)
    for n in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
    if hasattr(tokenize, n)
}  # Python >= 3.12 splits f-strings into these


class Match(NamedTuple):
    """One compared pair.

    Attributes:
      student: the submission's student id.
      other: another student id (kind "student") or a reference: a course_lib function or
        class (``course_lib.search.local_random_search``) or an answer cell of the
        instructor notebook (``solutions/ps01/ps01.ipynb:local_random_search``).
      kind: "student", "reference", or "unreadable" (no notebook of this student could be
        read; ``note`` says why, ``other`` is empty).
      score: ``similarity`` of the two fingerprint sets, in [0, 1].
      shared: the number of fingerprints both have (how much evidence the score rests on).
      note: why a submission is unreadable, else empty.
    """

    student: str
    other: str
    kind: str
    score: float
    shared: int = 0
    note: str = ""


# --------------------------------------------------------------------------------------------
# From notebooks to code
# --------------------------------------------------------------------------------------------
def _is_answer(cell) -> bool:
    """Answer cells, and code cells without nbgrader metadata (cells the student added).

    Added cells count because a copied helper function would otherwise go unseen, and an
    answer cell whose metadata was deleted is then still read.
    """
    if cell.get("cell_type") != "code":
        return False
    meta = cell.get("metadata", {}).get("nbgrader")
    return not meta or bool(meta.get("solution")) or not (meta.get("grade") or meta.get("locked"))


def answer_code(nb) -> str:
    """The student's own code in a notebook: the source of its answer cells, in order.

    Args:
      nb: a notebook (``nbformat.NotebookNode``, version 4).

    Returns:
      The sources of the code cells marked ``solution`` in their nbgrader metadata (and of
      code cells without nbgrader metadata), separated by blank lines.
    """
    return "\n\n".join(cell.get("source", "") for cell in nb.get("cells", []) if _is_answer(cell))


# --------------------------------------------------------------------------------------------
# Fingerprints
# --------------------------------------------------------------------------------------------
def _without_magics(code: str) -> str:
    """Drop IPython magics and shell escapes (``%timeit``, ``!pip``): not Python."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines()
    )


def _raw_tokens(code: str) -> list:
    """Python tokens of ``code``; a tokenizer error skips to the next line instead of failing.

    An unfinished bracket or string at the end stops the tokens there; an inconsistent
    dedent restarts after the offending line.
    """
    lines = _without_magics(code).splitlines(keepends=True)
    out, start = [], 0
    while start < len(lines):
        try:
            out.extend(tokenize.generate_tokens(iter(lines[start:]).__next__))
            break
        except tokenize.TokenError:
            break
        except SyntaxError as err:  # IndentationError: "unindent does not match ..."
            start += max(err.lineno or 1, 1)
    return out


def _statements(tokens: list) -> Iterable[list]:
    """Split tokens into logical lines at NEWLINE."""
    line = []
    for tok in tokens:
        if tok.type == tokenize.NEWLINE:
            yield line
            line = []
        elif tok.type not in _SKIP:
            line.append(tok)
    yield line


def _normalize(tok) -> str:
    if tok.type == tokenize.NAME:
        return tok.string if tok.string in _KEEP else "V"
    if tok.type == tokenize.NUMBER:
        return "0"
    if tok.type == tokenize.STRING or tok.type in _FSTRING:
        return '"s"'
    return tok.string


def normalized_tokens(code: str) -> list[str]:
    """Tokens of ``code`` with names and literals replaced, comments and docstrings dropped.

    A statement made of string literals alone (a docstring, or a string used as a comment)
    is dropped whole.
    """
    out = []
    for stmt in _statements(_raw_tokens(code)):
        if all(t.type == tokenize.STRING or t.type in _FSTRING for t in stmt):
            continue
        out.extend(_normalize(t) for t in stmt)
    return out


def kgram_hashes(code: str, k: int = K) -> list[int]:
    """Stable 64-bit hashes of every run of ``k`` consecutive normalized tokens, in order."""
    toks = normalized_tokens(code)
    return [
        int.from_bytes(
            hashlib.blake2b("\x1f".join(toks[i : i + k]).encode(), digest_size=8).digest(), "big"
        )
        for i in range(len(toks) - k + 1)
    ]


def fingerprints(code: str, k: int = K, w: int = W) -> set[int]:
    """Winnowed fingerprints of ``code`` (Schleimer, Wilkerson & Aiken 2003).

    Args:
      code: Python source.
      k: tokens per k-gram, an int >= 1.
      w: window size, an int >= 1: the smallest hash of every ``w`` consecutive k-gram
        hashes is kept.

    Returns:
      The set of kept hashes (empty for code shorter than ``k`` tokens).
    """
    if not (isinstance(k, int) and k >= 1):
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    if not (isinstance(w, int) and w >= 1):
        raise ValueError(f"w must be an int >= 1, got {w!r}")
    h = kgram_hashes(code, k)
    if len(h) <= w:
        return {min(h)} if h else set()
    return {min(h[i : i + w]) for i in range(len(h) - w + 1)}


def similarity(a: set, b: set, min_size: int = MIN_SIZE) -> float:
    """Containment of the smaller fingerprint set in the larger, in [0, 1].

    ``|a & b| / max(min(|a|, |b|), min_size)``: 1 when all of the smaller set is in the
    larger; sets smaller than ``min_size`` count as ``min_size``, so a few shared
    fingerprints alone never give a high score. 0 if either set is empty.
    """
    smaller = min(len(a), len(b))
    if smaller == 0:
        return 0.0
    return len(a & b) / max(smaller, min_size)


# --------------------------------------------------------------------------------------------
# Reference code
# --------------------------------------------------------------------------------------------
def _library_root() -> Path:
    return Path(__file__).resolve().parent.parent


def reference_code(root: Optional[Path] = None) -> dict[str, str]:
    """Source of every top-level function and class of course_lib, by qualified name.

    ``course_lib.grading``, ``course_lib.autograde`` and ``course_lib.widgets`` are left out
    (checkers, tooling and widgets are not what students implement).
    """
    root = Path(root) if root is not None else _library_root()
    refs = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if any(module == e or module.startswith(e + ".") for e in EXCLUDED):
            continue
        source = path.read_text(encoding="utf-8")
        for node in ast.parse(source).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                refs[f"{module}.{node.name}"] = ast.get_source_segment(source, node) or ""
    return refs


def _solution_cells(path: Path, label: str) -> dict[str, str]:
    """Answer cells of an instructor notebook, ``<label>:<grade_id>`` -> source."""
    nb = nbformat.read(path, as_version=4)
    out = {}
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            out[f"{label}:{meta.get('grade_id', i)}"] = cell.source
    return out


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------
def _notebooks(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.ipynb") if p.is_file())


def _read_code(directory: Path) -> tuple[Optional[str], str]:
    """(answer code of every notebook in ``directory``, "") or (None, why it is unreadable)."""
    paths = _notebooks(directory)
    if not paths:
        return None, f"no notebook in {directory.as_posix()}"
    codes, problems = [], []
    for path in paths:
        try:
            codes.append(answer_code(nbformat.read(path, as_version=4)))
        except Exception as err:  # any broken file: report it, never stop the report
            problems.append(f"{path.name}: {type(err).__name__}: {err}".splitlines()[0][:200])
    if not codes:
        return None, "; ".join(problems)
    return "\n\n".join(codes), "; ".join(problems)


def _starter_hashes(course: Path, assignment: str, k: int) -> set[int]:
    """Every k-gram hash of the released notebook's answer cells (the starter code)."""
    released = course / "exercises" / assignment
    paths = _notebooks(released)
    if not paths:
        raise FileNotFoundError(
            f"no released notebook in {released.as_posix()}: the report subtracts its starter "
            f"code (run from the course root, or pass course_dir)"
        )
    hashes = set()
    for path in paths:
        hashes.update(kgram_hashes(answer_code(nbformat.read(path, as_version=4)), k))
    return hashes


def _student_pairs(sets: dict[str, set], common: Optional[int], min_size: int) -> list[Match]:
    """Every pair of students sharing a fingerprint (one set intersection per pair).

    With ``common``, fingerprints held by more than ``common`` students are ignored first.
    """
    if common is not None:
        counts = Counter(fp for fps in sets.values() for fp in fps)
        sets = {s: {fp for fp in fps if counts[fp] <= common} for s, fps in sets.items()}
    names = sorted(sets)
    matches = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if n := len(sets[a] & sets[b]):
                matches.append(Match(a, b, "student", similarity(sets[a], sets[b], min_size), n))
    return matches


def _reference_pairs(sets: dict[str, set], refs: dict[str, set], min_size: int) -> list[Match]:
    """Every (student, reference) pair sharing a fingerprint."""
    owners = defaultdict(list)
    for name, fps in refs.items():
        for fp in fps:
            owners[fp].append(name)
    matches = []
    for student, fps in sets.items():
        shared = Counter(name for fp in fps for name in owners.get(fp, ()))
        matches += [
            Match(student, name, "reference", n / max(min(len(fps), len(refs[name])), min_size), n)
            for name, n in shared.items()
        ]
    return matches


def _natural_hashes(solution_codes: Iterable[str], honest: Sequence[Path], prints) -> set[int]:
    """Fingerprints of the instructor notebook that a correct alternative also has."""
    solution = set().union(*(prints(code) for code in solution_codes))
    natural = set()
    for path in honest:
        natural |= solution & prints(answer_code(nbformat.read(path, as_version=4)))
    return natural


def report(
    assignment: str,
    course_dir=".",
    threshold: float = THRESHOLD,
    *,
    k: int = K,
    w: int = W,
    min_size: int = MIN_SIZE,
    common: Optional[int] = None,
    honest: Optional[Sequence[Path]] = None,
) -> list[Match]:
    """Compare every pair of submissions, and every submission with the reference code.

    Args:
      assignment: the assignment name (``"ps01"``).
      course_dir: the course root, holding ``submitted/<student>/<assignment>/*.ipynb`` and
        ``exercises/<assignment>/*.ipynb`` (the released notebook, whose starter code is
        subtracted). The instructor notebook ``solutions/<assignment>/*.ipynb``, if present,
        is a reference too, like every function and class of course_lib.
      threshold: only pairs with a score >= threshold are returned (0: every pair that
        shares at least one fingerprint).
      k, w: k-gram length and winnowing window (see the module docstring).
      min_size: see ``similarity``.
      common: if given, student pairs ignore fingerprints held by more than this many
        submissions (code most of the class wrote alike; MOSS's ``-m``). Off by default:
        it would also hide a solution that circulated among that many students.
      honest: notebooks of correct solutions written independently of the instructor's
        (default: ``solutions/<assignment>/alternatives/*.ipynb``, if any); code they share
        with the instructor notebook is natural and ignored everywhere.

    Returns:
      Matches sorted by score, highest first, then one "unreadable" match per student whose
      notebooks could not be read (whatever the threshold).
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    if common is not None and not (isinstance(common, int) and common >= 1):
        raise ValueError(f"common must be an int >= 1 or None, got {common!r}")
    course = Path(course_dir)
    starter = _starter_hashes(course, assignment, k)
    solution_cells = {}
    for path in _notebooks(course / "solutions" / assignment):
        solution_cells.update(_solution_cells(path, f"solutions/{assignment}/{path.name}"))
    if honest is None:
        honest = _notebooks(course / "solutions" / assignment / "alternatives")
    natural = _natural_hashes(
        solution_cells.values(), list(honest), lambda code: fingerprints(code, k, w) - starter
    )

    def prints(code: str) -> set[int]:
        return fingerprints(code, k, w) - starter - natural

    sets, unreadable = {}, []
    for directory in sorted((course / "submitted").glob(f"*/{assignment}")):
        student = directory.parent.name
        code, problem = _read_code(directory)
        if code is None:
            unreadable.append(Match(student, "", "unreadable", 0.0, 0, problem))
        else:
            sets[student] = prints(code)

    sources = {**reference_code(), **solution_cells}
    refs = {name: fps for name, code in sources.items() if (fps := prints(code))}

    matches = _student_pairs(sets, common, min_size) + _reference_pairs(sets, refs, min_size)
    matches = [m for m in matches if m.score >= threshold]
    matches.sort(key=lambda m: (-m.score, -m.shared, m.student, m.other))
    return matches + unreadable


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def _table(matches: Sequence[Match]) -> str:
    rows = [m for m in matches if m.kind != "unreadable"]
    if not rows:
        return "No pair reaches the threshold."
    wide = max(len("student"), *(len(m.student) for m in rows))
    lines = [f"{'score':>5}  {'shared':>6}  {'student':<{wide}}  {'kind':<9}  other"]
    lines += [
        f"{m.score:5.2f}  {m.shared:6d}  {m.student:<{wide}}  {m.kind:<9}  {m.other}" for m in rows
    ]
    return "\n".join(lines)


def _write_csv(path: Path, matches: Sequence[Match]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(Match._fields)
        for m in matches:
            writer.writerow([m.student, m.other, m.kind, f"{m.score:.4f}", m.shared, m.note])


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"--threshold must be a number in [0, 1], got {text}")
    return value


def _common(text: str) -> int:
    if not (text.isdigit() and int(text) >= 1):
        raise argparse.ArgumentTypeError(f"--common must be an integer >= 1, got {text}")
    return int(text)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m course_lib.autograde.similarity ASSIGNMENT [--threshold T] [--csv FILE]``."""
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.autograde.similarity",
        description="Pairs of submissions (and submissions and the public reference code) "
        "that share much code. A high score is a reason to look, not proof.",
    )
    parser.add_argument("assignment", help="assignment name, e.g. ps01")
    parser.add_argument(
        "--threshold",
        type=_threshold,
        default=THRESHOLD,
        help=f"print pairs scoring at least this (default {THRESHOLD})",
    )
    parser.add_argument(
        "--csv",
        type=Path,
        metavar="FILE",
        help="write every pair that shares code, whatever its score, to FILE",
    )
    parser.add_argument(
        "--common",
        type=_common,
        metavar="N",
        help="between students, ignore code found in more than N submissions "
        "(default: ignore nothing)",
    )
    parser.add_argument(
        "--honest",
        type=Path,
        nargs="+",
        metavar="NOTEBOOK",
        help="correct solutions written independently of the instructor's: "
        "code they share with it is ignored (default: "
        "solutions/ASSIGNMENT/alternatives/*.ipynb)",
    )
    parser.add_argument(
        "--course-dir",
        type=Path,
        default=Path("."),
        help="course root (default: the current directory)",
    )
    args = parser.parse_args(argv)
    try:
        everything = report(
            args.assignment, args.course_dir, threshold=0.0, common=args.common, honest=args.honest
        )
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    shown = [m for m in everything if m.kind != "unreadable" and m.score >= args.threshold]
    unreadable = [m for m in everything if m.kind == "unreadable"]
    print(
        f"{args.assignment}: pairs with a score >= {args.threshold:g} "
        f"(a reason to read both notebooks, not proof of copying)\n"
    )
    print(_table(shown))
    if unreadable:
        print("\nUnreadable submissions (not compared):")
        print("\n".join(f"  {m.student}: {m.note}" for m in unreadable))
    if args.csv is not None:
        _write_csv(args.csv, everything)
        print(f"\nEvery pair sharing code: {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
