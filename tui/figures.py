"""One figure as report text: "n/a" where the engine has none (shared by the plan, training and
forecast reports, `gpuplan forecast` and the Forecast tab). Plain Python."""

from __future__ import annotations

from typing import Any


def or_na(value: Any, spec: str = ".2f", suffix: str = "", prefix: str = "") -> str:
    return "n/a" if value is None else f"{prefix}{value:{spec}}{suffix}"
