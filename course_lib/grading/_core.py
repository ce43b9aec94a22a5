"""The machinery shared by every checker: run a student's function safely, compare, diagnose.

A checker (one per autograded question, in ``search.py``, ``gradients.py``, ...) builds a few
seeded random :class:`Case` objects, calls the student's function through :func:`run`,
converts what comes back with :func:`as_array`, compares it with course_lib's reference and,
when something is wrong, raises a :class:`GradingError` through :func:`fail`. Before giving a
generic verdict it tries a list of :class:`Mistake` objects, the typical slips for that
question ("forward instead of centred difference"), so the student reads what went wrong
rather than two arrays of numbers::

    def check_numerical_gradient(student, seed=0, hidden=False):
        from course_lib.models import numerical_gradient as reference   # imported here
        mistakes = [Mistake("forward", "you used a forward difference ...",
                            variant=lambda f, x, h: reference(f, x, h, method="forward"))]
        check_against_reference(student, reference, make_cases(seed), name="numerical_gradient",
                                hidden=hidden, mistakes=mistakes)

``hidden=True`` is for hidden tests: the message then says what is wrong and why it is
probably wrong, but never shows the inputs, the expected values or the student's numbers.

Under plain ``nbgrader autograde`` (and when a student runs the visible tests) the student's
code runs in the same Python process as the checker. ``python -m course_lib.autograde`` runs
the checkers in a clean process instead, where the student's function is a proxy that returns
only data (see ``course_lib.autograde``). In both cases the checkers convert
every output to a plain float64 NumPy array themselves before comparing (an array subclass
cannot fake equality), import their reference inside the checker function, and never trust
an attribute of the student's objects beyond reading its numbers.
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import io
import math
import os
import signal
import threading
import traceback
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

__all__ = [
    "GradingError",
    "Case",
    "Mistake",
    "TIME_LIMIT",
    "fail",
    "run",
    "as_array",
    "close",
    "diagnose",
    "explains_every_case",
    "NO_OUTPUT",
    "check_against_reference",
    "describe",
    "time_limit",
    "student_frame",
    "arrays_in",
    "encode_exception",
    "decode_exception",
]

TIME_LIMIT = float(os.environ.get("COURSE_GRADING_TIME_LIMIT", "10"))
"""Seconds a single call of a student's function may take before it is stopped (10, or the
environment variable COURSE_GRADING_TIME_LIMIT when the module is imported)."""

_GRADING_DIR = os.path.dirname(os.path.abspath(__file__))


class GradingError(AssertionError):
    """A failed check. Its message, and nothing else, is what the student sees.

    In Jupyter the error is displayed as its message alone, without the traceback (which
    would show the test cell's source and the checker's internals).
    """

    def _render_traceback_(self) -> list[str]:  # IPython's hook for custom tracebacks
        return [f"\x1b[0;31mGradingError\x1b[0m: {self}"]


@dataclass(frozen=True)
class Case:
    """One test input.

    Attributes:
      args: argument name -> value, passed to the student's function positionally, in this
        order (the names are used in messages, e.g. "modified its argument `x0`").
      label: a short description shown in visible tests ("a 3-D bowl, 40 evaluations").
    """

    args: Mapping[str, Any]
    label: str = ""


@dataclass(frozen=True)
class Mistake:
    """A typical mistake and the message that explains it.

    It matches a wrong output either through ``variant``, a function with the reference's
    signature that *makes* the mistake (the output is compared with the variant's output on
    the same case), or through ``predicate(got, case) -> bool``.

    A mistake is named only when it reproduces the student's output on every case of the
    checker, not just on the one that failed (see :func:`explains_every_case`): a diagnosis
    that is wrong sends the student to change code that is right.
    """

    name: str
    message: str
    variant: Optional[Callable] = None
    predicate: Optional[Callable] = None
    rtol: float = 1e-6
    atol: float = 1e-10

    def matches(self, got, case: Case) -> bool:
        try:  # a diagnosis that cannot be evaluated simply does not apply
            with _quiet():
                if self.variant is not None:
                    wrong = as_array(
                        self.variant(*copy.deepcopy(dict(case.args)).values()),
                        name="variant",
                        what="output",
                        hidden=True,
                    )
                    got = np.array(got, dtype=np.float64)
                    # the slip reproduces a NaN where it makes one (a diverging iterate)
                    return got.shape == wrong.shape and bool(
                        np.allclose(got, wrong, self.rtol, self.atol, equal_nan=True)
                    )
                return bool(self.predicate(got, case))
        except Exception:
            return False


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------
def describe(value: Any, max_items: int = 6) -> str:
    """A short, readable rendering of a value for visible-test messages."""
    if isinstance(value, np.ndarray) or (
        isinstance(value, (list, tuple)) and not hasattr(value, "_fields")
    ):
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            return repr(value)[:200]
        text = np.array2string(arr.reshape(-1)[:max_items], precision=5, separator=", ")
        more = ", ..." if arr.size > max_items else ""
        return f"array of shape {arr.shape}: {text[:-1]}{more}]" if arr.ndim else text
    if isinstance(value, float):
        return f"{value:.6g}"
    if callable(value):
        return getattr(value, "__name__", "a function")
    return repr(value)[:200]


def fail(
    name: str, problem: str, *, hidden: bool = False, case: Optional[Case] = None, details: str = ""
) -> None:
    """Raise ``GradingError("<name>: <problem>")``.

    In visible tests the case's label and ``details`` (inputs, expected and actual values)
    follow on separate lines; in hidden tests they are left out, so ``problem`` itself must
    not contain inputs or expected values when ``hidden`` is True.
    """
    where = " (hidden test)" if hidden else ""
    lines = [f"{name}{where}: {problem}"]
    if not hidden:
        if case is not None and case.label:
            lines.append(f"  test case: {case.label}")
        if details:
            lines.extend("  " + line for line in details.splitlines())
    raise GradingError("\n".join(lines))


# --------------------------------------------------------------------------------------------
# Running a student's function
# --------------------------------------------------------------------------------------------
class _OutOfTime(BaseException):
    """Raised in the student's code when the time limit is reached (a BaseException, so an
    ``except Exception`` in the student's loop does not swallow it)."""


@contextlib.contextmanager
def time_limit(seconds: Optional[float], error: type = _OutOfTime):
    """Raise ``error`` in the code inside once it has run ``seconds`` (in the main thread).

    ``error`` should derive from BaseException only, so that an ``except Exception`` in the
    code inside cannot swallow it. Without a timer (another thread, ``seconds`` None, no
    ``setitimer``) the code runs unlimited. Used by :func:`run` and by the grading sandbox
    (``course_lib.autograde``) for cells and calls.
    """
    usable = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def _alarm(signum, frame):
        raise error()

    previous = signal.signal(signal.SIGALRM, _alarm)
    # The timer repeats (every second at most) until the block ends. An alarm can be swallowed:
    # if it arrives while Python runs a garbage-collection callback (a weakref finaliser),
    # the exception raised here is printed as "unraisable" and dropped. The next alarm raises
    # again, so a function that never returns cannot hold grading forever.
    signal.setitimer(signal.ITIMER_REAL, seconds, min(seconds, 1.0))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_within = time_limit  # for run(), whose parameter `time_limit` hides the function


@contextlib.contextmanager
def _quiet():
    """Swallow prints, progress bars and warnings of the code inside.

    nbgrader gives 0 points to a test cell that writes to stderr, so a harmless warning or a
    tqdm bar in a correct function must not reach the cell's output.
    """
    sink = io.StringIO()
    with (
        warnings.catch_warnings(),
        np.errstate(all="ignore"),
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        warnings.simplefilter("ignore")
        yield


def student_frame(exc: BaseException) -> str:
    """' (in f, line N: `source`)' for the innermost frame of ``exc`` outside libraries.

    An error raised by the student's code in the grading sandbox arrives as a copy (see
    :func:`decode_exception`) whose ``student_frame`` attribute carries this text, computed
    where the code ran.
    """
    remote = getattr(exc, "student_frame", None)
    if isinstance(remote, str):
        return remote
    library_dirs = (_GRADING_DIR, os.path.dirname(np.__file__), os.path.dirname(os.__file__))
    frames = [
        fr
        for fr in traceback.extract_tb(exc.__traceback__)
        if not os.path.abspath(fr.filename).startswith(library_dirs)
        and "site-packages" not in fr.filename
    ]
    if not frames:
        return ""
    fr = frames[-1]
    code = f": `{fr.line.strip()}`" if fr.line else ""
    return f" (in {fr.name}, line {fr.lineno}{code})"


def _explain_exception(
    exc: BaseException, hidden: bool, explain: Optional[Callable[[BaseException], Optional[str]]]
) -> str:
    if isinstance(exc, NotImplementedError):
        return (
            "is not implemented yet: replace `raise NotImplementedError()` with your code "
            "and run the cell again"
        )
    text = f"raised {type(exc).__name__}"
    if not hidden and str(exc):
        text += f": {exc}"
    text += student_frame(exc)
    hint = explain(exc) if explain is not None else None
    return f"{text}. {hint}" if hint else text


def _same(a: Any, b: Any) -> bool:
    """True if ``a`` still equals its deep copy ``b`` (used to detect mutated inputs)."""
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        )
    if isinstance(a, (list, tuple)):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(_same(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (int, float, complex, str, bytes, bool, type(None), np.generic)):
        return a == b or (a != a and b != b)  # NaN equals NaN here
    return True  # functions, generators, random generators: not data the student may keep


def arrays_in(value: Any, depth: int = 0) -> Iterable[np.ndarray]:
    """The NumPy arrays in ``value``: itself, or inside lists, tuples and dict values (three
    levels deep). Used to tell whether an output shares memory with an input."""
    if isinstance(value, np.ndarray):
        yield value
    elif depth < 3 and isinstance(value, (list, tuple)):
        for item in value:
            yield from arrays_in(item, depth + 1)
    elif depth < 3 and isinstance(value, dict):
        for item in value.values():
            yield from arrays_in(item, depth + 1)


# --------------------------------------------------------------------------------------------
# Exceptions that cross a process boundary (the grading sandbox)
# --------------------------------------------------------------------------------------------
def encode_exception(exc: BaseException, *, limit: int = 2000, frame: bool = True) -> dict:
    """``exc`` as plain data: ``{"type", "builtin", "message"[, "frame"]}``.

    ``builtin`` says whether the type's name is one of Python's built-in exceptions; the
    message is cut to ``limit`` characters; with ``frame``, the text of
    :func:`student_frame` is computed here, where the traceback is. Never raises (an
    exception whose ``str()`` fails has an empty message). :func:`decode_exception` turns the
    data back into an exception.
    """
    name = type(exc).__name__
    builtin = isinstance(getattr(builtins, name, None), type) and issubclass(
        getattr(builtins, name), BaseException
    )
    try:
        message = str(exc)[:limit]
    except BaseException:
        message = ""
    info = {"type": name[:100], "builtin": builtin, "message": message}
    if frame:
        try:
            info["frame"] = student_frame(exc)
        except BaseException:
            info["frame"] = ""
    return info


def decode_exception(info: Mapping, *, qualify: bool = True) -> Exception:
    """The exception described by :func:`encode_exception`'s data.

    A built-in exception type comes back as itself, any other as a RuntimeError whose
    message starts with the type's name (with ``qualify``) or is the message alone. A
    ``frame`` in the data becomes the ``student_frame`` attribute, which
    :func:`student_frame` (and so every grading message) uses instead of the local
    traceback. Only data is read: no class or code of the sender is ever loaded.
    """
    name = str(info.get("type", "Exception"))
    cls = getattr(builtins, name, None) if info.get("builtin") else None
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = RuntimeError
    message = str(info.get("message", ""))
    try:
        exc = cls(message)
    except Exception:
        exc = RuntimeError(message)
    if qualify and cls is RuntimeError and name != "RuntimeError":
        exc = RuntimeError(f"{name}: {message}" if message else name)
    if "frame" in info:
        exc.student_frame = str(info["frame"])[:500]
    return exc


def run(
    student: Callable,
    case: Case,
    *,
    name: str,
    hidden: bool = False,
    time_limit: Optional[float] = TIME_LIMIT,
    allow_none: bool = False,
    no_aliasing: bool = False,
    explain: Optional[Callable[[BaseException], Optional[str]]] = None,
    check_inputs: bool = True,
    explain_mutation: Optional[Callable[[str, Any, Any], Optional[str]]] = None,
) -> Any:
    """Call ``student(*case.args.values())`` on deep copies of the inputs and return its output.

    Fails (GradingError) with a diagnosis if the function is not callable, raises, runs longer
    than ``time_limit`` seconds, modifies one of its inputs (unless ``check_inputs`` is False,
    for a test cell that leaves this to another one), returns None (unless ``allow_none``) or,
    with ``no_aliasing``, returns an array that shares memory with an input.
    ``explain(exception) -> hint or None`` adds a question-specific hint to errors;
    ``explain_mutation(arg, before, after) -> message or None`` replaces the generic message
    about a modified input (e.g. "x is left perturbed by h"). Prints and warnings of the
    student's code are swallowed.
    """
    if not callable(student):
        fail(
            name,
            f"expected a function, got {type(student).__name__}: did you overwrite "
            f"`{name}` with a value?",
            hidden=hidden,
        )
    given = copy.deepcopy(dict(case.args))
    before = copy.deepcopy(given)
    try:
        with _quiet(), _within(time_limit):
            out = student(*given.values())
    except GradingError:
        raise
    except _OutOfTime:
        fail(
            name,
            f"did not return within {time_limit:g} s: is there a loop that never ends "
            "(a counter that is never increased, a condition that never changes)?",
            hidden=hidden,
            case=case,
        )
    except Exception as exc:  # any error of the student's code is a verdict
        fail(name, _explain_exception(exc, hidden, explain), hidden=hidden, case=case)
    for arg, value in given.items():
        if check_inputs and not _same(value, before[arg]):
            why = None
            if explain_mutation is not None:
                try:
                    with _quiet():
                        why = explain_mutation(arg, before[arg], value)
                except Exception:  # a diagnosis that cannot be evaluated does not apply
                    why = None
            fail(
                name,
                why
                or f"modified its argument `{arg}` in place (for example with `+=` "
                f"or slice assignment on the array it was given); work on a "
                f"copy, e.g. `np.array({arg}, dtype=float)`, and leave the "
                f"caller's data untouched",
                hidden=hidden,
                case=case,
            )
    if out is None and not allow_none:
        fail(
            name, "returned None: did you forget the `return` statement?", hidden=hidden, case=case
        )
    if no_aliasing:
        for arg, value in given.items():
            for a in arrays_in(value):
                if any(np.shares_memory(a, o) for o in arrays_in(out)):
                    fail(
                        name,
                        f"returned the array `{arg}` it was given (or a view of it) "
                        f"instead of a new array: return a copy",
                        hidden=hidden,
                        case=case,
                    )
    return out


# --------------------------------------------------------------------------------------------
# Converting and comparing outputs
# --------------------------------------------------------------------------------------------
def as_array(
    value: Any,
    *,
    name: str,
    what: str,
    shape: Optional[Sequence[int]] = None,
    hidden: bool = False,
    case: Optional[Case] = None,
    mistakes: Sequence[Mistake] = (),
    others: Union[Outputs, Callable[[], Outputs], None] = None,
) -> np.ndarray:
    """``value`` as a new plain float64 ndarray, checked against ``shape`` if given.

    ``what`` names the output in messages, with its meaning when useful
    ("xs, one row per evaluation"). On a wrong shape the ``mistakes`` are tried first (one
    that also explains ``others``, see :func:`diagnose`).
    """
    try:
        with _quiet():
            arr = np.array(value, dtype=np.float64)  # never an ndarray subclass: a copy
    except (TypeError, ValueError):
        fail(
            name,
            f"{what} must be numbers (an array, a list or a float), got {type(value).__name__}",
            hidden=hidden,
            case=case,
        )
    if shape is not None and arr.shape != tuple(shape):
        found = diagnose(mistakes, arr, case, others) if case is not None else None
        if found is not None:
            fail(
                name,
                found.message,
                hidden=hidden,
                case=case,
                details=f"{what}: got shape {arr.shape}, expected {tuple(shape)}",
            )
        if hidden:
            fail(name, f"{what} has the wrong shape {arr.shape} for this input", hidden=True)
        fail(name, f"{what} has shape {arr.shape}, expected {tuple(shape)}", case=case)
    return arr


def close(got: np.ndarray, expected: np.ndarray, rtol: float = 1e-7, atol: float = 1e-12) -> bool:
    """Same shape and equal within tolerance (NaN never equals anything)."""
    got, expected = np.array(got, dtype=np.float64), np.array(expected, dtype=np.float64)
    return got.shape == expected.shape and bool(np.allclose(got, expected, rtol, atol))


Outputs = Sequence[tuple[Case, Any, bool]]
"""The student's output on each case of a checker: ``(case, got, correct)``, with ``got`` the
array compared (None if the output could not be read) and ``correct`` whether it equals the
reference."""


NO_OUTPUT = object()  # in Outputs: the student's function failed on that case


def explains_every_case(
    mistake: Mistake, outputs: Outputs, variants: Sequence[Mistake] = ()
) -> bool:
    """True if ``mistake`` reproduces the student's output on every case of ``outputs``.

    A wrong output must match the mistake; a case on which the function failed otherwise
    (raised, could not be read) is explained by no mistake.
    A correct output must equal what the mistake gives too when the mistake is a ``variant``
    (a student who makes the slip makes it on every case, also where it happens to change
    nothing); a ``predicate`` describes wrong outputs only, so correct ones are left to it.
    ``variants`` are other forms of the same slip (Mistakes of the same name, e.g. the two
    orders of unsorted eigenvalues): on each case one of them may match instead.
    """
    forms = [mistake, *variants]
    for case, got, correct in outputs:
        if got is NO_OUTPUT:
            return False
        if correct and all(m.variant is None for m in forms):
            continue
        if not any(m.matches(got, case) for m in forms):
            return False
    return True


def diagnose(
    mistakes: Sequence[Mistake],
    got: Any,
    case: Case,
    others: Union[Outputs, Callable[[], Outputs], None] = None,
) -> Optional[Mistake]:
    """The first mistake that explains ``got`` on ``case``, or None.

    ``others`` (the outputs on the checker's other cases, or a function returning them, called
    only when a mistake matches ``case``) restricts the answer to a mistake that explains
    those too (:func:`explains_every_case`; mistakes sharing a name are forms of one slip).
    """
    for mistake in mistakes:
        if not mistake.matches(got, case):
            continue
        if others is None:
            return mistake
        if callable(others):
            others = others()
        same = [m for m in mistakes if m.name == mistake.name and m is not mistake]
        if explains_every_case(mistake, others, same):
            return mistake
    return None


def _is_complex(value: Any) -> bool:
    try:
        return bool(np.iscomplexobj(np.asarray(value)))
    except Exception:  # not numbers at all: as_array says so
        return False


def check_against_reference(
    student: Callable,
    reference: Callable,
    cases: Sequence[Case],
    *,
    name: str,
    hidden: bool = False,
    what: str = "the result",
    rtol: float = 1e-7,
    atol: float = 1e-12,
    mistakes: Sequence[Mistake] = (),
    hint: str = "",
    time_limit: Optional[float] = TIME_LIMIT,
    no_aliasing: bool = False,
    extract: Optional[Callable[[Any], Any]] = None,
    explain: Optional[Callable[[BaseException], Optional[str]]] = None,
    check_inputs: bool = True,
    explain_mutation: Optional[Callable[[str, Any, Any], Optional[str]]] = None,
    unreadable: Union[str, Callable[[Any], str], None] = None,
    complex_message: Optional[str] = None,
    allow_none: Union[bool, Callable[[Case], bool]] = False,
    read: Optional[Callable[[Any, Case], Any]] = None,
    accept: Optional[Callable[[np.ndarray, Case], bool]] = None,
    details: Optional[Callable[[Any, Any, Any], str]] = None,
    verdict: Union[str, Callable[[np.ndarray, np.ndarray, Case], str], None] = None,
) -> None:
    """The common checker: the student's output equals the reference on every case.

    For each case: run the student's function (see :func:`run`), convert its output to a
    float array, compare shape and values with ``reference`` on the same inputs, and on a
    mismatch fail with the first matching ``mistakes`` message, else with a generic one
    (plus ``hint``). Returns None, so a passing test cell shows nothing. Every checker that
    compares with a reference goes through this loop; the keyword arguments below adapt it
    to a question.

    Reading the output:
      ``extract(output)`` picks what to compare from both outputs, e.g. ``lambda out: out[1]``
      for the gradient of a ``(loss, grad)`` pair (a ``Mistake.variant`` then returns that
      part too); if it fails on the student's output, the message is ``unreadable`` (a text,
      followed by the output in visible tests, or a function of the output) or a generic one.
      ``complex_message`` is the message for a complex output (np.linalg.eigvals).
      ``read(output, case)`` replaces the conversion to an array of the reference's shape:
      it returns the array to compare (or None) and fails with its own messages; the
      reference is then computed after it (a reference may read what the student's call
      left, e.g. the points a test function recorded). ``allow_none`` (or
      ``allow_none(case)``) lets None through to the comparison, where a mistake can
      explain it.

    Comparing:
      ``rtol``, ``atol`` as in ``np.allclose``; ``accept(got, case)`` accepts other correct
      outputs (e.g. a trajectory with one row more).

    Messages:
      ``details(expected, got, output)`` replaces the visible "expected: ... / got: ..."
      lines (``expected`` as the reference returned it, ``got`` the array, ``output`` what
      the student returned); ``verdict`` (a text, or ``verdict(got, expected, case)``, which
      may also call :func:`fail` itself) replaces the generic message for a wrong output
      that no typical mistake explains.

    ``explain``, ``check_inputs`` and ``explain_mutation`` are passed on to :func:`run`.
    """
    cases = list(cases)

    def evaluate(case: Case, mistakes: Sequence[Mistake], others, shaped: bool = True) -> tuple:
        """(output, array compared or None, reference's output, expected array, correct);
        without ``shaped`` (to diagnose) an output of the wrong shape is returned as it is
        and a complex one as its real part."""
        out = run(
            student,
            case,
            name=name,
            hidden=hidden,
            time_limit=time_limit,
            no_aliasing=no_aliasing,
            explain=explain,
            check_inputs=check_inputs,
            explain_mutation=explain_mutation,
            allow_none=allow_none(case) if callable(allow_none) else allow_none,
        )
        if extract is not None:
            out = _extracted(out, extract, unreadable, what, name, hidden, case)
        if complex_message is not None and shaped and out is not None and _is_complex(out):
            fail(name, complex_message, hidden=hidden, case=case)

        def expect():
            with _quiet():
                value = reference(*copy.deepcopy(dict(case.args)).values())
                return value if extract is None else extract(value)

        if read is not None:
            got = read(out, case)
            wanted = expect()
        else:
            wanted = expect()
            shape = np.shape(np.array(wanted, dtype=np.float64))
            got = (
                None
                if out is None
                else as_array(
                    out,
                    name=name,
                    what=what,
                    shape=shape if shaped else None,
                    hidden=hidden,
                    case=case,
                    mistakes=mistakes,
                    others=others,
                )
            )
        expected = np.array(wanted, dtype=np.float64)
        correct = got is not None and (
            close(got, expected, rtol, atol) or (accept is not None and accept(got, case))
        )
        return out, got, wanted, expected, correct

    seen: list = []  # (case, got, correct) of the cases checked so far, all correct
    for index, case in enumerate(cases):
        others = _other_outputs(evaluate, seen, cases[index + 1 :])
        out, got, wanted, expected, correct = evaluate(case, mistakes, others)
        if correct:
            seen.append((case, got, True))
            continue
        found = diagnose(mistakes, got, case, others)
        text = (
            details(wanted, got, out)
            if details is not None
            else f"expected: {describe(expected)}\ngot:      {describe(got)}"
        )
        if found is not None:
            fail(name, found.message, hidden=hidden, case=case, details=text)
        _fail_wrong(got, expected, case, name, hidden, what, hint, verdict, text)


def _other_outputs(evaluate: Callable, seen: list, later: Sequence[Case]) -> Callable[[], Outputs]:
    """For :func:`check_against_reference`: the outputs on the cases checked before (``seen``)
    and on the ``later`` ones, which are run when first asked (once)."""
    cache: list = []

    def outputs() -> Outputs:
        if not cache:
            cache.append(list(seen))
            for case in later:
                try:
                    with _quiet():
                        _, got, _, _, correct = evaluate(case, (), None, shaped=False)
                except GradingError:  # it fails otherwise there: nothing reproduces that
                    got, correct = NO_OUTPUT, False
                cache[0].append((case, got, correct))
        return cache[0]

    return outputs


def _extracted(out, extract, unreadable, what: str, name: str, hidden: bool, case: Case):
    """``extract(out)`` for :func:`check_against_reference`, failing with ``unreadable`` (or a
    generic message) when the output does not have the expected structure."""
    try:
        return extract(out)
    except GradingError:
        raise
    except Exception:
        if callable(unreadable):
            problem = unreadable(out)
        elif unreadable:
            problem = unreadable + ("" if hidden else f"; got {describe(out)}")
        else:
            problem = (
                f"{what} could not be read from what it returned ({type(out).__name__}); "
                f"check the return statement against the docstring"
            )
        fail(name, problem, hidden=hidden, case=case)


def _fail_wrong(got, expected, case, name, hidden, what, hint, verdict, text) -> None:
    """The verdict of :func:`check_against_reference` on a wrong output no mistake explains."""
    if verdict is not None:
        fail(
            name,
            verdict if isinstance(verdict, str) else verdict(got, expected, case),
            hidden=hidden,
            case=case,
            details=text,
        )
    if not np.all(np.isfinite(got)):
        fail(
            name,
            f"{what} contains NaN or infinite values" + (f"; {hint}" if hint else ""),
            hidden=hidden,
            case=case,
            details=text,
        )
    worst = float(np.max(np.abs(got - expected)))
    scale = f" (largest difference {worst:.3g})" if not hidden and math.isfinite(worst) else ""
    fail(
        name,
        f"{what} differs from the correct one{scale}" + (f"; {hint}" if hint else ""),
        hidden=hidden,
        case=case,
        details=text,
    )
