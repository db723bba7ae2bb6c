"""Fixtures for the telemetry tests; the fakes live in telemetry_fakes.py."""

from __future__ import annotations

from typing import Iterator

import pytest
from .telemetry_fakes import FakeClock, FakeNvml


@pytest.fixture
def fake_nvml(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNvml]:
    fake = FakeNvml(monkeypatch)
    yield fake
    fake.close_all()  # while the stubs are still in place (no atexit hooks left behind)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
