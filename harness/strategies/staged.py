"""The state machine every armstft board strategy shares, so the rules live in one place.

- States are reached in order (``off`` < ... < ``ssh``); asking for a lower state than the current one does
  nothing: ``ssh`` implies ``shell``, and the board is never rebooted between fixtures.
- ``off`` always stops the board (and forgets a past failure); only ``off`` can be forced.
- A stage that failed is not retried for every test that asks for the board: labgrid's ``never_retry``
  raises the original failure again (a ``StageError`` naming its stage, in the cause chain).

A subclass provides its ``Status`` enum (``unknown``, ``off``, then its states in order), the steps that
reach each state (:meth:`stages`), and ``_power_off``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import attr
from labgrid.step import step
from labgrid.strategy import Strategy, StrategyError, never_retry


@attr.s(eq=False)
class StagedStrategy(Strategy):
    """Base of the QEMU and SD-mux board strategies (not registered with labgrid itself)."""

    def stages(self) -> list[tuple[enum.Enum, Callable[[], None]]]:
        """The states above ``off``, in order, each with the step that reaches it from the one below."""
        raise NotImplementedError

    def _power_off(self) -> None:
        raise NotImplementedError

    def _parse_status(self, status: enum.Enum | str) -> enum.Enum:
        kind = type(self.status)
        return status if isinstance(status, kind) else kind[status]

    @step(args=["status"])
    def transition(self, status: enum.Enum | str, *, step) -> None:
        status = self._parse_status(status)
        if status.name == "unknown":
            raise StrategyError(f"can not transition to {status}")
        if status.name == "off":
            self._power_off()
            self.status = status
            self.broken = None
            return
        if self.broken is None and self.status.value >= status.value:
            step.skip("already there (ssh implies shell, no reboot)")
            return
        self._reach(status)

    @never_retry
    def _reach(self, status: enum.Enum) -> None:
        for state, reach in self.stages():
            if state.value > status.value:
                break
            if self.status.value < state.value:
                reach()
                self.status = state

    def force(self, status: enum.Enum | str) -> None:
        """Only ``off`` can be forced: every other state needs the board really booted and logged in."""
        status = self._parse_status(status)
        if status.name != "off":
            raise StrategyError(f"{type(self).__name__} can only force 'off', not {status.name}")
        self.status = status
