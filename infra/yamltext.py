"""YAML errors as one line: where (line, column) and what, for a file a user edits by hand."""

from __future__ import annotations

import yaml


def yaml_problem(exc: yaml.YAMLError) -> str:
    """`not valid YAML at line L, column C: <problem> (<context>)`; PyYAML's own text spans
    several lines and quotes the parser's internals."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}"
        context = f" ({exc.context})" if exc.context else ""
        return f"not valid YAML{where}: {exc.problem}{context}"
    return "not valid YAML: " + " ".join(str(exc).split())
