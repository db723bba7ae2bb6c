"""Recovery is offered before input is taken (issue 7 item 4).

Whether unsaved work was left by an instance that is gone is only known once the boot worker has
looked (tui/persistence.py, off the UI thread, so the first frame is not held back by loading
the session layer). Until then the keys typed (and pasted text) are held here, not handed to
the screen:
- unsaved work found: the recovery dialog is pushed first and the held keys are dropped (the user
  typed them at a screen that was about to change; the notice says how many), so no key edits a
  field, switches a tab or opens the sidebar before the recovery choice is made;
- none found: the held keys are replayed in the order typed, before any key that comes after
  them, so a fast typist at start-up loses nothing.
ctrl+q and ctrl+c are never held (quitting during start-up works). The gate is only closed in an
app that offers recovery, and opens for good on the first release (or if the boot worker fails).
"""

from __future__ import annotations

from typing import Any

from textual import events

NEVER_HELD = frozenset({"ctrl+q", "ctrl+c"})


class StartupInputGate:
    """App mixin (before textual.app.App in the bases): holds input events until the boot worker
    has said whether there is unsaved work to offer."""

    _gate_open: bool = True
    _held_events: list[events.Event]

    def close_input_gate(self) -> None:
        self._gate_open = False
        self._held_events = []

    @property
    def held_input(self) -> int:
        """Input events held while the gate is closed (tests)."""
        return 0 if self._gate_open else len(self._held_events)

    async def on_event(self, event: events.Event) -> None:
        if not self._gate_open and _holdable(event):
            self._held_events.append(event)
            return
        await super().on_event(event)  # type: ignore[misc]

    def release_input_gate(self, *, drop: bool) -> int:
        """Open the gate: replay the held events (in the app's message loop, ahead of any newer
        input) or drop them (`drop`: a dialog that must be answered first was just pushed).
        Returns how many were dropped."""
        if self._gate_open:
            return 0
        if drop:
            dropped = sum(isinstance(e, events.Key) for e in self._held_events)
            self._held_events = []
            self._gate_open = True
            return dropped
        self.call_next(self._replay_held)  # type: ignore[attr-defined]
        return 0

    async def _replay_held(self) -> None:
        # Still closed while replaying: input that arrives meanwhile queues behind the held events.
        while self._held_events:
            event = self._held_events.pop(0)
            await super().on_event(event)  # type: ignore[misc]
        self._gate_open = True

    def on_worker_state_changed(self, event: Any) -> None:
        worker = event.worker
        if worker.name == "boot" and worker.is_finished and not self._gate_open and not getattr(self, "booted", False):
            self.release_input_gate(drop=False)  # the boot failed: input is not held for ever


def _holdable(event: events.Event) -> bool:
    if isinstance(event, events.Paste):
        return True
    if isinstance(event, events.Key) and not event.is_forwarded:
        return event.key not in NEVER_HELD
    return False


__all__ = ["NEVER_HELD", "StartupInputGate"]
