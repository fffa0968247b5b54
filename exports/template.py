"""The blank finance upload workbook that finance staff fill in (extracts.md, "finance")."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from exports.safety import set_text
from exports.sheet_writer import HEADER_FILL, HEADER_FONT, LINE_HEIGHT, wrapped_lines
from exports.versions import replace_file
from exports.workbook import workbook_bytes
from o211.paths import DBT_PROJECT_DIR

HEADERS = ("period", "account", "description", "funding_source", "amount")
# Rows prepared with formats and the drop-down; staff may add more below.
TEMPLATE_ROWS = 1000
AMOUNT_FORMAT = "#,##0.00;-#,##0.00"

INSTRUCTIONS: tuple[tuple[str, str], ...] = (
    (
        "English",
        "Fill in one row per ledger line on the Expenditures sheet. Keep the header row as it is.",
    ),
    ("period", "The month of the expense, typed as YYYY-MM (for example 2025-07), or a date."),
    ("account", "The general-ledger account code."),
    ("description", "Optional free text. It is not loaded into the warehouse."),
    (
        "funding_source",
        "Choose from the drop-down list (sheet Funding sources). Any other value rejects the"
        " whole file.",
    ),
    (
        "amount",
        "Dollars, as a number, at most 4 decimals. Negative amounts (corrections) are allowed.",
    ),
    (
        "Revisions",
        "A new upload that contains a month replaces every earlier line of that month: send the"
        " whole month again to correct it.",
    ),
    (
        "Before uploading",
        "Check the file with: o211 check FILE --kind finance. It lists every row and cell to fix.",
    ),
    (
        "Français",
        "Remplissez une ligne par écriture comptable dans la feuille Expenditures. Ne modifiez"
        " pas la ligne d'en-tête.",
    ),
    (
        "period",
        "Le mois de la dépense, au format AAAA-MM (par exemple 2025-07), ou une date.",
    ),
    ("account", "Le code du compte du grand livre."),
    ("description", "Texte libre facultatif. Il n'est pas chargé dans l'entrepôt de données."),
    (
        "funding_source",
        "Choisissez dans la liste déroulante (feuille Funding sources). Toute autre valeur fait"
        " rejeter le fichier entier.",
    ),
    (
        "amount",
        "Montant en dollars, en nombre, 4 décimales au plus. Les montants négatifs"
        " (corrections) sont acceptés.",
    ),
    (
        "Révisions",
        "Un nouveau dépôt qui contient un mois remplace toutes les lignes antérieures de ce"
        " mois : renvoyez le mois complet pour le corriger.",
    ),
    (
        "Avant le dépôt",
        "Vérifiez le fichier avec : o211 check FICHIER --kind finance. La commande indique"
        " chaque ligne et cellule à corriger.",
    ),
)


def seed_funding_sources(seed: Path | None = None) -> list[str]:
    """The funding sources of the dbt seed `funding_sources.csv`, in the seed's order."""
    path = seed or DBT_PROJECT_DIR / "seeds" / "funding_sources.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if "funding_source" not in (reader.fieldnames or []):
            raise ValueError(f"{path}: no funding_source column in the header {reader.fieldnames}")
        sources: list[str] = []
        for row in reader:
            name = (row["funding_source"] or "").strip()
            if name and name not in sources:
                sources.append(name)
    return sources


def _print_setup(ws: Worksheet) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_LETTER
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_title_rows = "1:1"
    ws.freeze_panes = "A2"


def _header(ws: Worksheet, headers: tuple[str, ...]) -> None:
    for column, heading in enumerate(headers, start=1):
        cell = set_text(ws.cell(row=1, column=column), heading)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL


def write_finance_template(path: Path, funding_sources: list[str]) -> Path:
    """Write the blank finance upload workbook; an existing file is replaced atomically."""
    if not funding_sources:
        raise ValueError("no funding sources: the drop-down would be empty; check the seed")
    wb = Workbook()
    ws = wb.active
    ws.title = "Expenditures"
    _header(ws, HEADERS)
    for letter, width in zip("ABCDE", (12, 14, 40, 44, 16), strict=True):
        ws.column_dimensions[letter].width = width
    for row in range(2, TEMPLATE_ROWS + 2):
        # Text, so Excel keeps "2025-07" as typed instead of turning it into a date.
        ws.cell(row=row, column=1).number_format = "@"
        ws.cell(row=row, column=2).number_format = "@"
        ws.cell(row=row, column=5).number_format = AMOUNT_FORMAT
    ws.auto_filter.ref = f"A1:E{TEMPLATE_ROWS + 1}"
    _print_setup(ws)

    lists = wb.create_sheet("Funding sources")
    _header(lists, ("funding_source",))
    lists.column_dimensions["A"].width = 52
    for row, name in enumerate(funding_sources, start=2):
        set_text(lists.cell(row=row, column=1), name)
    _print_setup(lists)

    # A list taken from cells, because a source name may hold a comma ("Ministry of Children,
    # Community and Social Services"), which an inline list would split.
    validation = DataValidation(
        type="list",
        formula1=f"'Funding sources'!$A$2:$A${len(funding_sources) + 1}",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Unknown funding source",
        error="Choose a funding source from the list (sheet Funding sources).",
        promptTitle="funding_source",
        prompt="Choose from the list",
        showInputMessage=True,
    )
    validation.add(f"D2:D{TEMPLATE_ROWS + 1}")
    ws.add_data_validation(validation)

    notes = wb.create_sheet("Instructions")
    _header(notes, ("Topic", "Instruction"))
    notes.column_dimensions["A"].width = 20
    notes.column_dimensions["B"].width = 100
    for row, (topic, text) in enumerate(INSTRUCTIONS, start=2):
        set_text(notes.cell(row=row, column=1), topic).font = Font(
            bold=topic in ("English", "Français")
        )
        set_text(notes.cell(row=row, column=2), text).alignment = Alignment(wrap_text=True)
        notes.row_dimensions[row].height = LINE_HEIGHT * wrapped_lines(text, 100)
    _print_setup(notes)

    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, workbook_bytes(wb))
    return path
