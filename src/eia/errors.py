"""The errors a user of ``eia`` can meet, one type per kind of mistake.

Every error a user can cause (a bad params file, missing reference data, an
unreadable service extract, a bad argument to a statistic) is raised as one of
these types, with a message that names the file, field or row. The command line
prints the message, not a traceback, and exits with code 2.
"""

from __future__ import annotations

from dataclasses import dataclass


class EIAError(Exception):
    """Base class of every error a user of ``eia`` can cause."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One problem found in a params file: where it is and what is allowed."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ParamsError(EIAError):
    """A proposal's params file is invalid. Carries every problem found, not just the first."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"{source}: {count} problem{'s' if count != 1 else ''}\n{lines}")


class RefDataError(EIAError):
    """The reference data pack is missing, incomplete or fails its checksums."""


class ServiceDataError(EIAError):
    """A service data extract cannot be read or does not have the promised columns."""


class TravelTimeError(EIAError):
    """A travel-time matrix cannot be read or does not fit the proposal (sites, area, times)."""


class StatsInputError(EIAError, ValueError):
    """A statistical function was given an argument it cannot use (names the argument)."""


class OutputError(EIAError):
    """The output folder cannot be used: a file, a symlink, read-only, or the disk is full."""


class RunError(EIAError):
    """Executing or rendering an assessment failed (cell error, timeout or dead kernel)."""

    exit_code = 1


class DataMismatchError(EIAError):
    """Frames passed between eia functions do not line up by ``lsoa21_code`` (missing,
    repeated or unknown LSOAs): raised instead of matching rows by position."""


class DisclosureError(EIAError):
    """A table that has not passed disclosure control was given to a function that shows it
    (e.g. ``a.uptake.result.by_imd_quintile`` instead of ``a.uptake.result.table("by_imd_quintile")``)."""
