"""The synthetic extract generator: deterministic, complete, and realistic in its shares."""

from __future__ import annotations

import csv
import hashlib
import re
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pandas as pd
import pytest

from ingest.sample import KINDS, SampleSummary, write_sample

SCALE = 0.05
TORONTO = ZoneInfo("America/Toronto")

# Column names per kind, from extracts.md: (required, optional).
SPEC_COLUMNS = {
    "calls": (
        {"contact_id", "started_at", "ended_at", "queue"},
        {"segment_id", "queued_at", "answered_at", "caller_number", "disposition", "language"},
    ),
    "chats": (
        {"contact_id", "started_at", "ended_at"},
        {"answered_at", "visitor_id", "spam_flag", "disposition", "language"},
    ),
    "emails": ({"contact_id", "received_at"}, {"sender", "spam_flag", "disposition"}),
    "texts": ({"contact_id", "started_at"}, {"sender", "spam_flag", "disposition"}),
    "surveys": ({"response_id", "channel", "submitted_at", "answer"}, {"contact_id"}),
    "web": ({"date", "sessions"}, {"hostname"}),
    "finance": ({"period", "account", "funding_source", "amount"}, {"description"}),
}
TIMESTAMP_COLUMNS = {
    "calls": ("started_at", "queued_at", "answered_at", "ended_at"),
    "chats": ("started_at", "answered_at", "ended_at"),
    "emails": ("received_at",),
    "texts": ("started_at",),
    "surveys": ("submitted_at",),
}
ISO_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})?$")
TRUE_TEXT = {"true", "yes", "1", "y"}
BOOLEAN_TEXT = TRUE_TEXT | {"false", "no", "0", "n", ""}
WITHHELD = {"", "anonymous", "restricted", "private", "unknown", "unavailable"}
EXCLUDING_DISPOSITIONS = {"spam", "prank", "robocall", "junk", "static", "dead air", "test call"}
UNMAPPED_EXCLUSION_CODES = {"hoax caller", "fax tone"}
MINISTRY_FUNDED = {"mccss", "ministry"}
FISCAL_START = datetime(2025, 4, 1, tzinfo=TORONTO)
FISCAL_END = datetime(2026, 4, 1, tzinfo=TORONTO)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return write_sample(tmp_path_factory.mktemp("sample"), "2025-26", SCALE, 7)


def read_text_csv(path: Path, encoding: str = "utf-8-sig") -> pd.DataFrame:
    lines = [
        line
        for line in path.read_text(encoding=encoding).splitlines()
        if line.strip() and not line.startswith("#")
    ]
    frame = pd.read_csv(pd.io.common.StringIO("\n".join(lines)), dtype=str, keep_default_na=False)
    frame.columns = [column.strip().lower() for column in frame.columns]
    return frame


def read_kind(summary: SampleSummary, kind: str) -> pd.DataFrame:
    frames = []
    for path in summary.files_of(kind):
        frame = read_text_csv(path)
        frame["_file"] = path.name
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def instant(text: str) -> datetime:
    """An extract timestamp as extracts.md reads it: naive text is America/Toronto time."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=TORONTO)


def timestamps(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].map(lambda text: instant(text) if text else None)


def calls_by_contact(sample: SampleSummary) -> pd.DataFrame:
    """Calls after later-file-wins and the segment roll-up of rules.md."""
    segments = read_kind(sample, "calls")
    segments["segment_id"] = segments["segment_id"].fillna("")
    segments = segments.drop_duplicates(["contact_id", "segment_id", "started_at"], keep="last")
    code = segments["disposition"].str.strip().str.lower()
    segments = segments.assign(
        queued=segments["queued_at"] != "",
        answered=segments["answered_at"] != "",
        excluded=code.isin(EXCLUDING_DISPOSITIONS),
        unmapped_exclusion=code.isin(UNMAPPED_EXCLUSION_CODES),
    )
    return (
        segments.sort_values("started_at")
        .groupby("contact_id")
        .agg(
            queued=("queued", "max"),
            answered=("answered", "max"),
            excluded=("excluded", "max"),
            unmapped_exclusion=("unmapped_exclusion", "max"),
            queue=("queue", "first"),
            caller=("caller_number", "first"),
        )
    )


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    def digests(root: Path) -> dict[str, str]:
        return {
            str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }

    first = digests(write_sample(tmp_path / "a", scale=0.01, seed=11).out_dir)
    again = digests(write_sample(tmp_path / "b", scale=0.01, seed=11).out_dir)
    other = digests(write_sample(tmp_path / "c", scale=0.01, seed=12).out_dir)
    assert first == again
    # At this tiny scale a quiet week may hold no texts for one seed and so have no file.
    common = first.keys() & other.keys()
    assert len(common) > len(first) * 0.9
    changed = [name for name in common if first[name] != other[name]]
    assert len(changed) > len(common) * 0.9


def test_every_kind_written_and_summary_matches_files(tmp_path: Path) -> None:
    reported: list[tuple[str, int]] = []
    summary = write_sample(
        tmp_path, scale=0.01, progress=lambda kind, rows: reported.append((kind, rows))
    )
    for kind in KINDS:
        folder = tmp_path / "inbox" / kind
        assert sorted(folder.iterdir()) == sorted(summary.files_of(kind)), kind
        assert summary.rows[kind] > 0, kind
        assert sum(rows for seen, rows in reported if seen == kind) == summary.rows[kind]
    assert len(reported) == len(summary.files)
    for kind in ("calls", "chats", "texts", "emails", "surveys", "web"):
        assert sum(len(read_text_csv(p)) for p in summary.files_of(kind)) == summary.rows[kind]
    blocklist = read_text_csv(tmp_path / "config" / "blocklist.csv")
    assert list(blocklist.columns) == ["number"]
    assert len(blocklist) >= 3
    assert len({re.sub(r"\d", "9", number) for number in blocklist["number"]}) >= 3


@pytest.mark.parametrize("kind", ["calls", "chats", "texts", "emails", "surveys", "web"])
def test_csv_headers_follow_extracts_contract(sample: SampleSummary, kind: str) -> None:
    required, optional = SPEC_COLUMNS[kind]
    for path in sample.files_of(kind):
        columns = set(read_text_csv(path).columns)
        assert required <= columns, (path.name, required - columns)
        assert columns <= required | optional, (path.name, columns - required - optional)


def test_some_exports_carry_a_utf8_byte_order_mark(sample: SampleSummary) -> None:
    boms = [path.read_bytes().startswith(b"\xef\xbb\xbf") for path in sample.files]
    assert any(boms) and not all(boms)


def test_optional_segment_id_is_missing_from_some_call_files(sample: SampleSummary) -> None:
    without = [p.name for p in sample.files_of("calls") if "segment_id" not in read_text_csv(p)]
    assert 1 <= len(without) < len(sample.files_of("calls"))


@pytest.mark.parametrize("kind", list(TIMESTAMP_COLUMNS))
def test_timestamps_are_iso_inside_the_fiscal_year_and_ordered(
    sample: SampleSummary, kind: str
) -> None:
    frame = read_kind(sample, kind)
    for column in TIMESTAMP_COLUMNS[kind]:
        texts = frame.loc[frame[column] != "", column]
        assert texts.str.match(ISO_TIMESTAMP).all(), texts[~texts.str.match(ISO_TIMESTAMP)]
    first_column = TIMESTAMP_COLUMNS[kind][0]
    starts = timestamps(frame, first_column)
    assert starts.map(lambda moment: FISCAL_START <= moment < FISCAL_END).all()
    if kind in ("calls", "chats"):
        ends = timestamps(frame, "ended_at")
        assert (ends >= starts).all()
        for column in ("queued_at", "answered_at"):
            if column in frame:
                moments = timestamps(frame, column)
                known = moments.notna()
                assert (moments[known] >= starts[known]).all(), column
                assert (moments[known] <= ends[known]).all(), column


def test_timestamp_styles_offsets_naive_and_utc(sample: SampleSummary) -> None:
    styles = set()
    for path in sample.files_of("calls"):
        frame = read_text_csv(path)
        for text in frame["started_at"]:
            if text.endswith("Z"):
                styles.add("utc")
            elif re.search(r"[+-]\d{2}:\d{2}$", text):
                styles.add("offset")
                moment = datetime.fromisoformat(text)
                # The offset written must be Toronto's offset at that instant.
                assert moment.utcoffset() == moment.astimezone(TORONTO).utcoffset(), text
            else:
                styles.add("naive")
    assert styles == {"utc", "offset", "naive"}


def test_file_names_sort_in_delivery_order_within_the_fiscal_year(
    sample: SampleSummary,
) -> None:
    for kind in ("calls", "chats", "texts", "emails", "surveys", "web"):
        names = [path.name for path in sample.files_of(kind)]
        firsts = [re.search(r"\d{4}-\d{2}(-\d{2})?", name).group(0) for name in names]
        assert firsts == sorted(firsts), kind
        assert names == sorted(names), kind
    assert len(sample.files_of("calls")) >= 52
    assert len(sample.files_of("surveys")) == 12


def test_redelivered_call_day_repeats_the_previous_week_with_one_correction(
    sample: SampleSummary,
) -> None:
    first_file, second_file = sample.files_of("calls")[:2]
    first, second = read_text_csv(first_file), read_text_csv(second_file)
    last_day = first["started_at"].str[:10].max()
    assert second_file.name.startswith(f"calls_{last_day}_")
    original = first[first["started_at"].str[:10] == last_day].reset_index(drop=True)
    repeated = second[second["started_at"].str[:10] == last_day].reset_index(drop=True)
    assert len(original) == len(repeated) > 0
    assert (original["segment_id"] == repeated["segment_id"]).all()
    differing = (original != repeated).any(axis=1)
    assert differing.sum() == 1


def test_call_shares_match_a_real_year(sample: SampleSummary) -> None:
    calls = calls_by_contact(sample)
    total = len(calls)
    assert total == pytest.approx(420_000 * SCALE, rel=0.1)
    excluded = calls["excluded"]
    test_queue = calls["queue"].str.contains("TEST", case=False)
    ivr_only = ~calls["queued"] & ~calls["answered"]
    abandoned = calls["queued"] & ~calls["answered"]
    assert 0.08 <= abandoned.sum() / total <= 0.12
    assert 0.05 <= ivr_only.sum() / total <= 0.10
    assert 0.02 <= excluded.sum() / total <= 0.05
    assert 0 < test_queue.sum() / total < 0.01
    assert calls["unmapped_exclusion"].any()
    withheld = calls["caller"].str.strip().str.lower().isin(WITHHELD)
    assert 0.03 <= withheld.sum() / total <= 0.07
    assert set(calls["queue"]) >= {"211_EN", "211_FR"}
    segments = read_kind(sample, "calls")
    assert segments.groupby("contact_id")["started_at"].nunique().max() >= 2  # transfers
    assert {"anonymous", "restricted", "private", "unknown"} <= set(
        segments["caller_number"].str.lower()
    )
    formats = {re.sub(r"\d", "9", number) for number in segments["caller_number"]}
    assert {"+9 (999) 999-9999", "999.999.9999", "99999999999", "9999999999"} <= formats
    assert set(segments["language"]) >= {"en", "fr"}


def test_auto_dialer_burst_present(sample: SampleSummary) -> None:
    segments = read_kind(sample, "calls")
    segments["digits"] = segments["caller_number"].str.replace(r"\D", "", regex=True).str[-10:]
    segments["start"] = timestamps(segments, "started_at")
    answered = timestamps(segments, "answered_at")
    talk = (timestamps(segments, "ended_at") - answered).map(
        lambda gap: gap.total_seconds() if pd.notna(gap) else 0
    )
    short = segments[(talk < 10) & (segments["digits"].str.len() == 10)]
    burst_callers = set()
    for caller, calls in short.groupby("digits"):
        starts = sorted(calls["start"])
        for index, anchor in enumerate(starts):
            window = [s for s in starts[index:] if s < anchor + timedelta(minutes=60)]
            if len(window) >= 5:
                burst_callers.add(caller)
    assert burst_callers


def test_chat_shares_and_boolean_spellings(sample: SampleSummary) -> None:
    chats = read_kind(sample, "chats")
    total = len(chats)
    assert total == pytest.approx(30_000 * SCALE, rel=0.15)
    flags = chats["spam_flag"].str.strip().str.lower()
    assert flags.isin(BOOLEAN_TEXT).all()
    assert {"true", "yes", "1", "y", "false", "no", "0", "n", ""} <= set(flags)
    spam = flags.isin(TRUE_TEXT) | chats["disposition"].str.lower().isin(
        {"spam", "robocall", "junk"}
    )
    abandoned = chats["answered_at"] == ""
    assert 0.10 <= abandoned.sum() / total <= 0.20
    assert 0.02 <= spam.sum() / total <= 0.05
    assert chats["visitor_id"].str.startswith("v-").mean() > 0.9


@pytest.mark.parametrize(("kind", "annual"), [("texts", 10_000), ("emails", 8_000)])
def test_text_and_email_spam_share(sample: SampleSummary, kind: str, annual: int) -> None:
    messages = read_kind(sample, kind)
    assert len(messages) == pytest.approx(annual * SCALE, rel=0.15)
    blocklist = read_text_csv(sample.blocklist)["number"].str.replace(r"\D", "", regex=True)
    blocked_digits = set(blocklist.str[-10:])
    flagged = messages["spam_flag"].str.strip().str.lower().isin(TRUE_TEXT)
    coded = messages["disposition"].str.lower().isin({"spam", "junk"})
    spam = flagged | coded
    if kind == "texts":
        digits = messages["sender"].str.replace(r"\D", "", regex=True).str[-10:]
        blocked = digits.isin(blocked_digits)
        assert blocked.any()
        spam |= blocked
    else:
        assert (
            messages["sender"]
            .str.strip()
            .str.lower()
            .str.endswith((".example.com", "@example.com", "@example.org", "@example.net"))
            .all()
        )
    assert 0.05 <= spam.mean() <= 0.15


def normalised_answer(text: str) -> str:
    folded = text.strip().lower().replace("è", "e")
    return {
        "very satisfied": "very satisfied",
        "tres satisfait": "very satisfied",
        "satisfied": "satisfied",
        "satisfait": "satisfied",
        "not satisfied": "not satisfied",
        "dissatisfied": "not satisfied",
        "pas satisfait": "not satisfied",
    }.get(folded, "invalid")


def test_survey_response_rate_and_satisfaction(sample: SampleSummary) -> None:
    surveys = read_kind(sample, "surveys")
    channel = surveys["channel"].str.strip().str.lower()
    phone = channel.isin({"phone", "telephone", "call", "voice"})
    chat = channel.isin({"chat", "webchat", "web chat", "live chat"})
    assert (~phone & ~chat).any()  # another channel: kept, not reported
    calls = calls_by_contact(sample)
    served_calls = calls[
        calls["answered"]
        & ~calls["queue"].str.contains("TEST")
        & ~calls["excluded"]
        & ~calls["unmapped_exclusion"]
    ]
    chats = read_kind(sample, "chats")
    served_chats = chats[chats["answered_at"] != ""]
    assert 0.10 <= phone.sum() / len(served_calls) <= 0.20
    assert 0.10 <= chat.sum() / len(served_chats) <= 0.20
    answers = surveys.loc[phone | chat, "answer"].map(normalised_answer)
    valid = answers[answers != "invalid"]
    assert 0.85 <= valid.isin({"very satisfied", "satisfied"}).mean() <= 0.95
    assert (answers == "invalid").any()
    assert {"Très satisfait", "satisfait", "Pas satisfait", "N/A", "", "5"} <= set(
        surveys["answer"]
    )
    assert (surveys["contact_id"] != "").mean() > 0.8


def test_web_sessions_scale_and_exports_look_like_ga4(sample: SampleSummary) -> None:
    web = read_kind(sample, "web")
    sessions = web["sessions"].astype(int)
    assert (sessions >= 0).all()
    production = web["hostname"].str.lower().isin({"www.211ontario.ca", "211ontario.ca"})
    assert sessions[production].sum() == pytest.approx(1_500_000 * SCALE, rel=0.05)
    assert sessions[~production].sum() > 0
    compact = web["date"].str.fullmatch(r"\d{8}")
    assert compact.any() and (~compact).any()
    dates = web["date"].map(
        lambda text: text if "-" in text else f"{text[:4]}-{text[4:6]}-{text[6:]}"
    )
    assert dates.nunique() == 365
    assert all(path.read_text().startswith("#") for path in sample.files_of("web"))


def finance_lines(sample: SampleSummary) -> list[list[dict[str, object]]]:
    """Each upload's lines, in delivery order, with Decimal amounts and YYYY-MM periods."""
    uploads = []
    for path in sample.files_of("finance"):
        lines: list[dict[str, object]] = []
        if path.suffix == ".xlsx":
            workbook = openpyxl.load_workbook(path)
            sheet = workbook["Expenditures"]
            assert "A1:E1" in {str(cell_range) for cell_range in sheet.merged_cells.ranges}
            header = [cell.value for cell in sheet[2]]
            for row in sheet.iter_rows(min_row=3, values_only=True):
                record = dict(zip(header, row, strict=True))
                period = record["period"]
                assert isinstance(period, datetime | str)
                record["period"] = f"{period:%Y-%m}" if isinstance(period, datetime) else period
                assert isinstance(record["amount"], int | float)
                record["amount"] = Decimal(str(record["amount"]))
                lines.append(record)
        else:
            raw = path.read_bytes()
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
            for record in csv.DictReader(raw.decode("cp1252").splitlines()):
                text = record["amount"]
                negative = text.startswith("(") or text.startswith("-")
                value = Decimal(re.sub(r"[^\d.]", "", text))
                record["amount"] = -value if negative else value
                lines.append(dict(record))
        uploads.append(lines)
    return uploads


def test_finance_uploads_revise_a_month_and_total_four_to_six_million(
    sample: SampleSummary,
) -> None:
    uploads = finance_lines(sample)
    assert [path.suffix for path in sample.files_of("finance")] == [".xlsx", ".csv"]
    by_month: dict[str, list[dict[str, object]]] = {}
    first_months = {line["period"] for line in uploads[0]}
    revised = first_months & {line["period"] for line in uploads[1]}
    assert len(revised) == 1
    for lines in uploads:
        months = {str(line["period"]) for line in lines}
        for month in months:
            by_month[month] = [line for line in lines if line["period"] == month]
    assert len(by_month) == 12
    (month,) = revised

    def total(lines: list[dict[str, object]]) -> Decimal:
        return sum((line["amount"] for line in lines), Decimal(0))  # type: ignore[misc]

    assert total([line for line in uploads[0] if line["period"] == month]) != total(by_month[month])
    every_line = [line for lines in by_month.values() for line in lines]
    assert Decimal(4_000_000) <= total(every_line) <= Decimal(6_000_000)
    funded = [line for line in every_line if str(line["funding_source"]).lower() in MINISTRY_FUNDED]
    assert Decimal(3_000_000) <= total(funded) <= total(every_line)
    assert all(line["amount"] == line["amount"].quantize(Decimal("0.01")) for line in every_line)  # type: ignore[attr-defined]
    assert any(line["amount"] < 0 for line in every_line)  # type: ignore[operator]
    descriptions = {str(line["description"]) for line in every_line}
    assert "Fournitures de bureau – Montréal" in descriptions
    sources = {str(line["funding_source"]) for line in every_line}
    assert {"MCCSS", "Ministry", "Municipal", "United Way", "Donations"} <= sources
    csv_text = sample.files_of("finance")[1].read_bytes().decode("cp1252")
    assert re.search(r'"\$\d{1,3},\d{3}\.\d{2}"', csv_text)
    assert re.search(r'"\(\d{1,3}(,\d{3})*\.\d{2}\)"|,\(\d+\.\d{2}\)', csv_text)


def test_finance_does_not_scale_but_contacts_and_web_do(tmp_path: Path) -> None:
    small = write_sample(tmp_path / "small", scale=0.005)
    larger = write_sample(tmp_path / "larger", scale=0.02)
    assert small.rows["finance"] == larger.rows["finance"]
    assert larger.rows["calls"] == pytest.approx(4 * small.rows["calls"], rel=0.1)
    web_sessions = [
        sum(read_text_csv(path)["sessions"].astype(int).sum() for path in run.files_of("web"))
        for run in (small, larger)
    ]
    assert web_sessions[1] == pytest.approx(4 * web_sessions[0], rel=0.05)


@pytest.mark.parametrize(
    ("fiscal_year", "scale", "message"),
    [("2025", 1, "2025-26"), ("2025-27", 1, "year after"), ("2025-26", 0, "greater than 0")],
)
def test_bad_arguments_are_refused_with_a_reason(
    tmp_path: Path, fiscal_year: str, scale: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        write_sample(tmp_path, fiscal_year=fiscal_year, scale=scale)
    assert not (tmp_path / "inbox").exists()


def test_other_fiscal_year_stays_inside_it(tmp_path: Path) -> None:
    summary = write_sample(tmp_path, fiscal_year="2023-24", scale=0.005)
    chats = read_kind(summary, "chats")
    moments = timestamps(chats, "started_at")
    assert moments.min() >= datetime(2023, 4, 1, tzinfo=TORONTO)
    assert moments.max() < datetime(2024, 4, 1, tzinfo=TORONTO)
    web = read_kind(summary, "web")
    assert web["date"].nunique() == 366  # 2024 is a leap year


def test_no_header_only_files_at_a_tiny_scale(tmp_path: Path) -> None:
    # Ingest rejects a header-only file, so a quiet week must not produce one.
    summary = write_sample(tmp_path, scale=0.005, seed=3)
    for path in summary.files:
        if path.suffix == ".csv":
            data_lines = [
                line
                for line in path.read_text(encoding="cp1252").splitlines()[1:]
                if line.strip() and not line.startswith("#")
            ]
            assert data_lines, f"{path.name} has no data rows"
