"""Rates for the rate limits of the settings: `100/minute` and the like."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["PERIODS", "Rate", "parse_rate"]

PERIODS: Final = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE: Final = re.compile(r"\s*([0-9]{1,9})\s*/\s*(second|minute|hour|day)\s*")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    def __str__(self) -> str:
        period = next(name for name, seconds in PERIODS.items() if seconds == self.seconds)
        return f"{self.count}/{period}"


def parse_rate(text: str) -> Rate:
    """`100/minute` (second, minute, hour or day); ValueError otherwise."""
    match = _RATE.fullmatch(text)
    if match is None or int(match[1]) < 1:
        raise ValueError("a rate is N/second, N/minute, N/hour or N/day, with N at least 1")
    return Rate(int(match[1]), PERIODS[match[2]])
