"""Ingest's problems in the reader's language.

The English sentence is the gettext message id; a problem whose sentence has no French entry
is shown as ingest wrote it.
"""

from __future__ import annotations

from ingest.problems import Problem
from portal.i18n import Language


def problem_text(language: Language, problem: Problem) -> str:
    return language.gettext(problem.problem)


def fix_text(language: Language, problem: Problem) -> str:
    return language.gettext(problem.fix) if problem.fix else ""
