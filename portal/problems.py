"""Ingest's problems in the reader's language.

Every `Problem` carries a stable `code` and its `params`; its English sentence is the template
of that code in `ingest.messages` filled with the params. Here the template is the gettext
message id: the French catalogue holds its translation, filled with the same params.
"""

from __future__ import annotations

from ingest.messages import MESSAGES
from ingest.problems import Problem
from portal.i18n import Language


def _rendered(language: Language, template: str, params: object, english: str) -> str:
    try:
        return language.gettext(template).format_map(params)  # type: ignore[arg-type]
    except (KeyError, IndexError, ValueError):
        # A translation with a wrong placeholder must not hide the problem: say it in English.
        return english


def problem_text(language: Language, problem: Problem) -> str:
    templates = MESSAGES.get(problem.code)
    if templates is None:
        return problem.problem
    return _rendered(language, templates[0], problem.params, problem.problem)


def fix_text(language: Language, problem: Problem) -> str:
    templates = MESSAGES.get(problem.code)
    if templates is None:
        return problem.fix
    return _rendered(language, templates[1], problem.params, problem.fix)
