"""Demand forecasting: from traffic history to replicas, GPUs and cost over a horizon.

Layout (each module small; the heavy libraries load only inside the modules that need them):

- ``history``  the raw series every reader produces, repairs and durations (stdlib only)
- ``readers/`` CSV, Prometheus ``query_range`` (HTTP or a saved export) and ``watch --record``
  traces; they sit at the edge and never import pandas
- ``prepare``  repair and resample to hourly with the within-hour peak factor (pandas)
- ``decompose``, ``candidates``, ``backtest``, ``guardrails``, ``model``  the forecast
  (statsmodels: MSTL, ETS, ARIMA)
- ``components``, ``scenarios``, ``capacity``  plain numbers for the faces (stdlib only)

Nothing here is imported at start-up: the CLI and the app import ``engine.forecast.model`` on
first use, in a worker. ``available()`` says whether the ``forecast`` extra is installed.
"""

from __future__ import annotations

import importlib.util

EXTRA_HINT = "install the forecast extra: pip install -e '.[forecast]' (statsmodels, pandas, threadpoolctl)"


def available() -> bool:
    """True when statsmodels and pandas can be imported (without importing them)."""
    return all(importlib.util.find_spec(name) is not None for name in ("statsmodels", "pandas", "threadpoolctl"))
