"""Source files that do not compile: their functions, each function's own error, Python 2 code.

A submission file that ``ast`` cannot parse is still the student's work, not the grader's
failure. This module finds its top-level functions without ``ast`` (the tokenizer, or a line
scan of ``def`` lines where the tokenizer gives up), compiles each function's lines on their
own to find the error inside it (or none: the error is elsewhere in the file), and recognises
Python 2 code from the compiler's message and the offending line.

Invariants: nothing here runs submission code (``compile`` only, never ``exec``); recognition
reads only the compiler's message and the offending source line; ``PYTHON2`` is the one
wording of "this is Python 2 code", also used by ``harness.diagnose`` for Python 2 idioms
that compile but fail at run time (integer division, ``xrange``).
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass

PYTHON2 = "this is Python 2 code ({kinds}); the assignment needs Python 3: {advice}"
"""How a Python 2 construct is named to the student (``kinds``: what was found, ``advice``: what to change)."""
CONVERT = "2to3 converts a file"


@dataclass(frozen=True)
class Construct:
    """A Python 2 construct that Python 3 rejects, and how to recognise it."""

    kind: str
    """What the student wrote, e.g. ``print statement``."""
    advice: str
    """What Python 3 wants instead."""
    message: str = ""
    """A regex matching the compiler's message when it names the construct ('' none does)."""
    line: str = ""
    """A regex matching the offending source line (for messages as vague as 'invalid syntax')."""


CONSTRUCTS = (
    Construct("print statement", "print(...) is a function", r"Missing parentheses in call to 'print'"),
    Construct("exec statement", "exec(...) is a function", r"Missing parentheses in call to 'exec'"),
    Construct(
        "`except E, e:`",
        "write `except E as e:`",
        r"multiple exception types must be parenthesized",
        r"^\s*except\s+[\w.]+\s*,\s*\w+\s*:",
    ),
    Construct("`raise E, message`", "write `raise E(message)`", "", r"^\s*raise\s+[\w.]+\s*,"),
    Construct("backquotes", "write repr(x) instead of `x`", "", r"`[^`]+`"),
    Construct("`<>` operator", "write !=", "", r"<>"),
    Construct("octal literal 0NNN", "write 0oNNN", r"leading zeros in decimal integer literals"),
    Construct("long literal NNNL", "drop the L", r"invalid decimal literal", r"\b\d+[lL]\b"),
    Construct(
        "tuple parameters",
        "unpack inside the function",
        r"(parameters|Function parameters) cannot be parenthesized",
    ),
    Construct("ur'' string", "write r'' (strings are unicode)", "", r"\bur['\"]"),
    Construct(
        "tabs and spaces mixed in indentation",
        "indent with spaces only",
        r"inconsistent use of tabs and spaces",
    ),
)
"""Python 2 constructs that do not compile under Python 3, in the order they are looked for."""


def recognise(message: str, source_line: str) -> Construct | None:
    """The Python 2 construct a syntax error is, from its message and its line; None otherwise."""
    for c in CONSTRUCTS:
        if c.message and re.search(c.message, message or ""):
            if c.line and not re.search(c.line, source_line or "") and "invalid" in c.message:
                continue  # a vague message: the line must show the construct too
            return c
    if re.search(r"invalid syntax|invalid decimal literal|unexpected", message or ""):
        for c in CONSTRUCTS:
            if c.line and re.search(c.line, source_line or ""):
                return c
    return None


def python2_advice(found: list[Construct]) -> str:
    """``PYTHON2`` filled in for the constructs found ('' when none)."""
    unique = list(dict.fromkeys(found))
    if not unique:
        return ""
    return PYTHON2.format(
        kinds=" / ".join(c.kind for c in unique),
        advice="; ".join(c.advice for c in unique) + f" ({CONVERT})",
    )


def error_text(exc: SyntaxError, where: str = "") -> str:
    """``line 12: invalid syntax`` (``where`` after the number) and, below, the offending line with a caret."""
    head = f"line {exc.lineno}{where}: {exc.msg}"
    text = (exc.text or "").rstrip("\n")
    if not text.strip():
        return head
    stripped = text.lstrip()
    caret = " " * max((exc.offset or 1) - 1 - (len(text) - len(stripped)), 0) + "^"
    return f"{head}\n    {stripped[:200]}\n    {caret if len(caret) <= 201 else ''}".rstrip()


_BLOCK_LINE = re.compile(r"^(?:async\s+)?(def|class)\s+([A-Za-z_]\w*)\s*[(:]")
_ALIAS_LINE = re.compile(r"^([A-Za-z_]\w*)\s*=[^=]")


def top_level_functions(source: str) -> dict[str, tuple[int, int]]:
    """Name -> (first line, last line) of each top-level ``def`` (and ``name = ...`` alias),
    each class and each ``Class.method`` defined in a class's body.

    For source that ``ast`` rejects. The tokenizer skips strings and comments; where it gives
    up (Python 2 indentation, an unterminated string) each line is read instead. A definition
    ends before the next line of code indented no deeper than its own ``def``.
    """
    try:
        starts, code = _scan_tokens(source)
    except (tokenize.TokenError, SyntaxError):
        starts, code = _scan_lines(source)
    lines = source.splitlines()
    found: dict[str, tuple[int, int]] = {}
    for name, first, is_block, col in starts:
        last = first
        if is_block:
            last = next((n - 1 for n, c in code if n > first and c <= col), len(lines))
            while last > first and not lines[last - 1].strip():
                last -= 1
        found[name] = (first, last)  # the last definition wins, as when Python runs the file
    return found


_Start = tuple[str, int, bool, int]
"""(name, first line, whether it is a block (def or class), its column)."""


def _scan_tokens(source: str) -> tuple[list[_Start], list[tuple[int, int]]]:
    starts: list[_Start] = []
    code: list[tuple[int, int]] = []  # (line, column) of each logical line's first token
    skip = (
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.COMMENT,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENDMARKER,
    )
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    cls, body = "", -1
    line_start = True
    for i, tok in enumerate(tokens[:-1]):
        if tok.type in (tokenize.NEWLINE, tokenize.NL):
            line_start = True
            continue
        if tok.type in skip or not line_start:
            continue
        line_start = False
        line = tok.start[0]
        col = len(tok.line[: tok.start[1]].expandtabs(8))  # a tab as Python 2 read it
        code.append((line, col))
        nxt = tokens[i + 1]
        if col == 0:
            cls, body = "", -1
        if tok.type != tokenize.NAME:
            continue
        if tok.string in ("def", "class") and nxt.type == tokenize.NAME:
            if col == 0:
                starts.append((nxt.string, line, True, 0))
                if tok.string == "class":
                    cls = nxt.string
            elif cls and tok.string == "def" and body in (-1, col):
                body = col
                starts.append((f"{cls}.{nxt.string}", line, True, col))
        elif col == 0 and nxt.type == tokenize.OP and nxt.string == "=":
            starts.append((tok.string, line, False, 0))
    return starts, code


def _scan_lines(source: str) -> tuple[list[_Start], list[tuple[int, int]]]:
    starts: list[_Start] = []
    code: list[tuple[int, int]] = []
    cls, body = "", -1
    for number, line in enumerate(source.splitlines(), 1):
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        col = len(line.expandtabs(8)) - len(stripped.expandtabs(8))  # a tab as Python 2 read it
        code.append((number, col))
        if col == 0:
            cls, body = "", -1
        if m := _BLOCK_LINE.match(stripped):
            if col == 0:
                starts.append((m.group(2), number, True, 0))
                cls = m.group(2) if m.group(1) == "class" else ""
            elif cls and m.group(1) == "def" and body in (-1, col):
                body = col
                starts.append((f"{cls}.{m.group(2)}", number, True, col))
        elif col == 0 and (m := _ALIAS_LINE.match(line)):
            starts.append((m.group(1), number, False, 0))
    return starts, code


def compile_error(
    source: str, first: int = 1, last: int | None = None, filename: str = ""
) -> SyntaxError | None:
    """The first syntax error of lines ``first..last`` compiled on their own (numbered as in the file), or None."""
    lines = source.splitlines()[first - 1 : last]
    indent = lines[0][: len(lines[0]) - len(lines[0].lstrip())] if lines else ""
    if indent and all(line.startswith(indent) or not line.strip() for line in lines):
        lines = [line[len(indent) :] for line in lines]  # a method: compiled as if at the top
    try:
        compile("\n" * (first - 1) + "\n".join(lines) + "\n", filename or "<submission>", "exec")
    except SyntaxError as exc:  # IndentationError and TabError included
        return exc
    except ValueError:  # null bytes
        return None
    return None


def python2_constructs(
    source: str, functions: dict[str, tuple[int, int]], file_error: SyntaxError
) -> list[Construct]:
    """Every Python 2 construct found: the file's first error and each function's own."""
    found = []
    for exc in [file_error, *(compile_error(source, a, b) for a, b in functions.values())]:
        if exc is not None and (c := recognise(exc.msg, exc.text or "")):
            found.append(c)
    return found


def explain(file: str, source: str, name: str, span: tuple[int, int], file_error: SyntaxError) -> str:
    """Why function ``name`` of ``file`` (which does not compile) cannot run: a one-line head
    naming Python 2 code when that is the cause, then the line, its source and a caret --
    the function's own error, or the file's first one when the function's lines compile."""
    functions = top_level_functions(source)
    own = compile_error(source, *span)
    shown = own or file_error
    construct = recognise(shown.msg, shown.text or "")
    kinds = [construct] if construct else python2_constructs(source, functions, file_error)
    cause = python2_advice(kinds) or shown.msg
    where = (
        f", in {name}"
        if own
        else " (outside the function: no function of a file runs until all of it compiles)"
    )
    return f"{file} does not compile (line {shown.lineno}): {cause}\n{error_text(shown, where)}"
