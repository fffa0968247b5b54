"""The ten elements of the Service Data Schedule, read from the dbt seed that names them.

`dbt_project/seeds/service_data_elements.csv` is the one home of the catalogue: the SQL joins it
by `element_key`, and the report, its Notes and `o211 explain` take names, units and what feeds
each element from here instead of restating them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from o211.dbt_config import seed_rows

ELEMENTS_SEED = "service_data_elements"
# The contact channels whose counted outcome is an element (the Monthly chart's lines).
CONTACT_KINDS = ("calls", "chats", "emails", "texts")


@dataclass(frozen=True)
class Element:
    order: int
    name: str  # the ministry's wording, verbatim (mission.md)
    definition: str
    unit: str  # count, percent or currency
    key: str
    source_kind: str  # the extract kind whose files feed it
    measure: str  # counted, abandoned, sessions, satisfied_share or ministry_funded
    survey_channel: str | None  # phone or chat for a satisfaction element


@cache
def element_catalogue() -> tuple[Element, ...]:
    """Every element in schedule order."""
    elements = [
        Element(
            order=int(row["element_order"]),
            name=row["element"],
            definition=row["definition"],
            unit=row["unit"],
            key=row["element_key"],
            source_kind=row["source_kind"],
            measure=row["measure"],
            survey_channel=row["survey_channel"] or None,
        )
        for row in seed_rows(ELEMENTS_SEED)
    ]
    return tuple(sorted(elements, key=lambda element: element.order))


def element_of_order(order: int) -> Element | None:
    return next((e for e in element_catalogue() if e.order == order), None)


def contact_elements() -> tuple[Element, ...]:
    """The elements that count contacts served: one per contact channel, in schedule order."""
    return tuple(
        e for e in element_catalogue() if e.measure == "counted" and e.source_kind in CONTACT_KINDS
    )


def element_counting(kind: str, outcome: str) -> Element | None:
    """The element a contact of this kind counts in when its outcome is `outcome`, if any."""
    return next(
        (e for e in element_catalogue() if e.source_kind == kind and e.measure == outcome), None
    )
