"""Times as the ledger reads and writes them (docs/events.md, Two times), one sentence each."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from ledger.times import (
    Instant,
    InvalidTime,
    format_instant,
    from_micros,
    parse_instant,
    to_micros,
    utc_now,
)

ANSWER_FORMAT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
NINE_AM = datetime(2023, 1, 13, 9, 0, tzinfo=UTC)


def offset(hours: int, minutes: int = 0) -> timezone:
    return timezone(timedelta(hours=hours, minutes=minutes))


class Stamped(BaseModel):
    at: Instant


# --- reading ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2023-01-13T09:00:00Z", NINE_AM),
        ("2023-01-13T09:00:00+00:00", NINE_AM),
        ("2023-01-13T09:00:00-00:00", NINE_AM),
        ("2023-01-13T11:00:00+02:00", NINE_AM),
        ("2023-01-13T14:30:00+05:30", NINE_AM),
        ("2023-01-13T04:00:00-05:00", NINE_AM),
        ("2023-01-13T01:00:00+02:00", datetime(2023, 1, 12, 23, 0, tzinfo=UTC)),
        ("2022-12-31T23:30:00-01:00", datetime(2023, 1, 1, 0, 30, tzinfo=UTC)),
        ("2023-01-13T09:00:00+23:59", datetime(2023, 1, 12, 9, 1, tzinfo=UTC)),
    ],
)
def test_a_time_with_an_offset_is_read_as_the_same_instant_in_utc(
    text: str, instant: datetime
) -> None:
    parsed = parse_instant(text)
    assert parsed == instant
    assert parsed.tzinfo is UTC


def test_a_lowercase_t_and_z_are_read_like_uppercase_ones() -> None:
    assert parse_instant("2023-01-13t09:00:00z") == NINE_AM


def test_a_leap_day_is_a_date() -> None:
    assert parse_instant("2024-02-29T00:00:00Z") == datetime(2024, 2, 29, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2023-01-13T09:00:00",
        "2023-01-13T09:00:00.123456",
        "2023-01-13T09:00:00.1234567",
    ],
)
def test_a_time_without_an_offset_is_refused(text: str) -> None:
    with pytest.raises(InvalidTime):
        parse_instant(text)


@pytest.mark.parametrize(
    "value",
    [
        1673600400,
        1673600400.0,
        "1673600400",
        "1673600400.5",
        None,
        b"2023-01-13T09:00:00Z",
        NINE_AM,
    ],
)
def test_a_number_or_anything_but_text_is_not_a_time(value: object) -> None:
    with pytest.raises(InvalidTime):
        parse_instant(value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2023-01-13",
        "09:00:00Z",
        "2023-01-13T09:00Z",
        "2023-1-13T09:00:00Z",
        "23-01-13T09:00:00Z",
        "2023-01-13T9:00:00Z",
        "2023-01-13T09:00:00.Z",
        "2023-01-13T09:00:00+0200",
        "2023-01-13T09:00:00+02",
        "2023-01-13T09:00:00 Z",
        "2023-01-13T09:00:00ZZ",
        "2023-01-13T09:00:00UTC",
        " 2023-01-13T09:00:00Z",
        "2023-01-13T09:00:00Z ",
        "2023-01-13T09:00:00Z\n",
        "2023/01/13T09:00:00Z",
        "\uff12\uff10\uff12\uff13-01-13T09:00:00Z",  # full-width digits
        "2023-01-13T09:00:00.\uff11\uff12\uff13Z",
    ],
)
def test_a_text_that_does_not_parse_is_refused(text: str) -> None:
    with pytest.raises(InvalidTime):
        parse_instant(text)


@pytest.mark.parametrize(
    "text",
    [
        "2023-13-01T00:00:00Z",
        "2023-00-10T00:00:00Z",
        "2023-02-30T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2023-04-31T00:00:00Z",
        "2023-01-32T00:00:00Z",
        "2023-01-00T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2023-01-13T24:00:00Z",
        "2023-01-13T09:60:00Z",
        "2023-01-13T09:00:61Z",
        "2023-01-13T09:00:00+24:00",
        "2023-01-13T09:00:00+05:60",
    ],
)
def test_an_impossible_date_time_or_offset_is_refused(text: str) -> None:
    with pytest.raises(InvalidTime):
        parse_instant(text)


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+01:00",
        "0001-01-01T00:59:59.999999+01:00",
        "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:00:00-01:00",
    ],
)
def test_a_time_that_leaves_the_calendar_once_in_utc_is_refused_as_invalid(text: str) -> None:
    with pytest.raises(InvalidTime):
        parse_instant(text)


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("0001-01-01T00:00:00-01:00", datetime(1, 1, 1, 1, 0, tzinfo=UTC)),
        ("9999-12-31T23:59:59+01:00", datetime(9999, 12, 31, 22, 59, 59, tzinfo=UTC)),
    ],
)
def test_a_time_at_the_edge_of_the_calendar_that_stays_inside_it_is_read(
    text: str, instant: datetime
) -> None:
    assert parse_instant(text) == instant


def test_an_invalid_time_is_a_value_error_so_that_pydantic_reports_it() -> None:
    assert issubclass(InvalidTime, ValueError)


@pytest.mark.parametrize(
    ("fraction", "microsecond"),
    [
        ("5", 500_000),
        ("05", 50_000),
        ("000001", 1),
        ("123456", 123_456),
        ("1234564", 123_456),
        ("1234569", 123_456),
        ("123456999999", 123_456),
        ("0000009", 0),
    ],
)
def test_fractional_digits_past_the_microsecond_are_cut_not_rounded(
    fraction: str, microsecond: int
) -> None:
    parsed = parse_instant(f"2023-01-13T09:00:00.{fraction}Z")
    assert parsed == NINE_AM.replace(microsecond=microsecond)


def test_cutting_never_carries_into_the_next_second() -> None:
    parsed = parse_instant("2023-12-31T23:59:59.9999999Z")
    assert parsed == datetime(2023, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)


# --- writing ------------------------------------------------------------------


def test_an_instant_is_written_in_utc_with_six_fractional_digits_and_z() -> None:
    assert format_instant(NINE_AM) == "2023-01-13T09:00:00.000000Z"
    assert format_instant(NINE_AM.replace(microsecond=1)) == "2023-01-13T09:00:00.000001Z"


def test_an_instant_with_another_offset_is_written_in_utc() -> None:
    instant = datetime(2023, 1, 13, 11, 0, 0, 123_000, tzinfo=offset(2))
    assert format_instant(instant) == "2023-01-13T09:00:00.123000Z"


def test_a_naive_datetime_is_never_written() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_instant(datetime(2023, 1, 13, 9, 0))


@pytest.mark.parametrize(
    "text",
    [
        "2023-01-13T09:00:00.000000Z",
        "2026-11-25T10:00:00.123456Z",
        "1970-01-01T00:00:00.000000Z",
        "1969-12-31T23:59:59.999999Z",
        "2024-02-29T12:00:00.500000Z",
        "0001-01-01T00:00:00.000000Z",
        "0999-12-31T23:59:59.999999Z",
        "9999-12-31T23:59:59.999999Z",
    ],
)
def test_a_time_read_from_an_answer_is_written_back_exactly(text: str) -> None:
    assert format_instant(parse_instant(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "2023-01-13t11:00:00.1234567+02:00",
        "2023-01-13T09:00:00z",
        "2023-01-13T09:00:00.5-03:30",
        "0001-01-01T00:00:00-01:00",
    ],
)
def test_any_time_read_is_written_in_the_answer_format_and_stays_put(text: str) -> None:
    written = format_instant(parse_instant(text))
    assert ANSWER_FORMAT.fullmatch(written)
    assert format_instant(parse_instant(written)) == written


# --- microseconds since the epoch ---------------------------------------------


@pytest.mark.parametrize(
    ("instant", "micros"),
    [
        (datetime(1970, 1, 1, tzinfo=UTC), 0),
        (datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC), 1),
        (datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), -1),
        (datetime(1970, 1, 2, tzinfo=UTC), 86_400_000_000),
        (NINE_AM, 1_673_600_400_000_000),
        (datetime(1970, 1, 1, 1, 0, tzinfo=offset(1)), 0),
    ],
)
def test_an_instant_is_stored_as_microseconds_since_the_epoch(
    instant: datetime, micros: int
) -> None:
    assert to_micros(instant) == micros


@pytest.mark.parametrize(
    "instant",
    [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1969, 7, 20, 20, 17, 40, 1, tzinfo=UTC),
        NINE_AM.replace(microsecond=123_456),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    ],
)
def test_microseconds_read_back_give_the_same_instant_in_utc(instant: datetime) -> None:
    read_back = from_micros(to_micros(instant))
    assert read_back == instant
    assert read_back.tzinfo is UTC
    assert format_instant(read_back) == format_instant(instant)


def test_microseconds_keep_the_order_of_instants() -> None:
    earlier = NINE_AM.replace(microsecond=1)
    later_in_another_zone = datetime(2023, 1, 13, 11, 0, 0, 2, tzinfo=offset(2))
    assert to_micros(earlier) < to_micros(later_in_another_zone)


def test_the_clock_gives_an_aware_instant_in_utc() -> None:
    assert utc_now().tzinfo is UTC


# --- the Instant type in a model ----------------------------------------------


def test_an_instant_field_reads_rfc_3339_text_into_utc() -> None:
    assert Stamped.model_validate({"at": "2023-01-13T11:00:00+02:00"}).at == NINE_AM
    assert Stamped.model_validate_json('{"at": "2023-01-13T04:00:00-05:00"}').at == NINE_AM


def test_an_instant_field_turns_an_aware_datetime_into_utc() -> None:
    stamped = Stamped(at=datetime(2023, 1, 13, 11, 0, tzinfo=offset(2)))
    assert stamped.at == NINE_AM
    assert stamped.at.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        datetime(2023, 1, 13, 9, 0),
        "2023-01-13T09:00:00",
        1673600400,
        "not a time",
    ],
)
def test_an_instant_field_refuses_a_naive_datetime_and_anything_not_rfc_3339(
    value: object,
) -> None:
    with pytest.raises(ValidationError):
        Stamped.model_validate({"at": value})


def test_an_instant_field_refuses_a_naive_time_in_json() -> None:
    with pytest.raises(ValidationError):
        Stamped.model_validate_json('{"at": "2023-01-13T09:00:00"}')


def test_an_instant_field_refuses_an_aware_datetime_that_leaves_the_calendar_in_utc() -> None:
    with pytest.raises(ValidationError):
        Stamped(at=datetime(1, 1, 1, tzinfo=offset(1)))


def test_an_instant_field_is_written_to_json_in_the_answer_format() -> None:
    stamped = Stamped.model_validate({"at": "2023-01-13T11:00:00.1234567+02:00"})
    assert stamped.model_dump(mode="json") == {"at": "2023-01-13T09:00:00.123456Z"}
    assert stamped.model_dump_json() == '{"at":"2023-01-13T09:00:00.123456Z"}'


def test_an_instant_field_stays_a_datetime_in_python_mode() -> None:
    assert Stamped(at=NINE_AM).model_dump() == {"at": NINE_AM}


def test_an_instant_field_is_described_as_a_date_time_string() -> None:
    schema = Stamped.model_json_schema()["properties"]["at"]
    assert (schema["type"], schema["format"]) == ("string", "date-time")
