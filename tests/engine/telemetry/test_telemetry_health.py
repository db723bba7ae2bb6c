"""Health rules (every rule) and the alert book (de-dup, cooldown, acknowledge, JSON log)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest

from engine.telemetry.health import (
    ALL_RULES,
    DEFAULT_CRITICAL_XIDS,
    RULE_ECC_DBE_EVENT,
    RULE_ECC_UNCORRECTED,
    RULE_GPU_LOST,
    RULE_HW_SLOWDOWN,
    RULE_MEMORY_HIGH,
    RULE_PAGE_RETIREMENT_PENDING,
    RULE_PCIE_REPLAY,
    RULE_POWER_BRAKE,
    RULE_REMAP_FAILURE,
    RULE_REMAP_PENDING,
    RULE_TEMP_NEAR_SLOWDOWN,
    RULE_TEMP_SLOWDOWN,
    RULE_THERMAL_THROTTLE,
    RULE_XID,
    RULE_XID_CRITICAL,
    Alert,
    AlertBook,
    HealthThresholds,
    evaluate,
)
from engine.telemetry.samples import GpuSample, HostSample, XidEvent

GIB = 1 << 30


def healthy(index: int = 0, **kw) -> GpuSample:  # noqa: ANN003
    base = GpuSample(
        index=index,
        uuid=f"GPU-{index}",
        name="NVIDIA H100 80GB HBM3",
        state="ok",
        memory_total_bytes=80 * GIB,
        memory_used_bytes=40 * GIB,
        memory_free_bytes=40 * GIB,
        temperature_c=60,
        temp_slowdown_c=87,
        temp_shutdown_c=92,
        clock_event_reasons=(),
        ecc_uncorrected_volatile=0,
        remap_pending=False,
        remap_failure=False,
    )
    return replace(base, **kw)


def host(*gpus: GpuSample, t: float = 100.0) -> HostSample:
    return HostSample(timestamp=t, hostname="h", backend="scripted", gpus=gpus)


def rules(sample: HostSample, th: HealthThresholds = HealthThresholds()) -> list[tuple[int | None, str, str]]:
    return [(a.gpu_index, a.rule, a.severity) for a in evaluate(sample, th)]


def test_a_healthy_host_has_no_alerts():
    assert evaluate(host(healthy(0), healthy(1))) == []


@pytest.mark.parametrize(
    ("temp", "expected"),
    [
        (81, []),
        (82, [(0, RULE_TEMP_NEAR_SLOWDOWN, "warn")]),
        (86, [(0, RULE_TEMP_NEAR_SLOWDOWN, "warn")]),
        (87, [(0, RULE_TEMP_SLOWDOWN, "critical")]),
        (95, [(0, RULE_TEMP_SLOWDOWN, "critical")]),
    ],
)
def test_temperature_against_the_slowdown_threshold(temp: int, expected: list):
    assert rules(host(healthy(temperature_c=temp))) == expected


def test_temperature_messages_carry_the_thresholds():
    (a,) = evaluate(host(healthy(temperature_c=88)))
    assert a.value == 88 and "87 °C" in a.message and "shutdown 92 °C" in a.message
    (w,) = evaluate(host(healthy(temperature_c=84)))
    assert "3 °C below" in w.message


def test_temperature_without_threshold_needs_a_fallback():
    g = healthy(temperature_c=90, temp_slowdown_c=None)
    assert rules(host(g)) == []
    th = HealthThresholds(temp_fallback_slowdown_c=85)
    assert rules(host(g), th) == [(0, RULE_TEMP_SLOWDOWN, "critical")]


def test_temperature_margin_is_configurable():
    th = HealthThresholds(temp_warn_margin_c=10)
    assert rules(host(healthy(temperature_c=78)), th) == [(0, RULE_TEMP_NEAR_SLOWDOWN, "warn")]


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        (("gpu_idle",), []),
        (("sw_power_cap",), []),
        (("hw_slowdown",), [RULE_HW_SLOWDOWN]),
        (("sw_thermal_slowdown",), [RULE_THERMAL_THROTTLE]),
        (("hw_thermal_slowdown",), [RULE_THERMAL_THROTTLE]),
        (("sw_thermal_slowdown", "hw_thermal_slowdown"), [RULE_THERMAL_THROTTLE]),
        (("hw_power_brake_slowdown",), [RULE_POWER_BRAKE]),
        (("hw_slowdown", "hw_power_brake_slowdown"), [RULE_HW_SLOWDOWN, RULE_POWER_BRAKE]),
    ],
)
def test_throttle_reasons(reasons: tuple[str, ...], expected: list[str]):
    got = evaluate(host(healthy(clock_event_reasons=reasons)))
    assert [a.rule for a in got] == expected
    assert all(a.severity == "warn" for a in got)


def test_thermal_value_lists_the_reasons():
    (a,) = evaluate(host(healthy(clock_event_reasons=("sw_thermal_slowdown", "hw_thermal_slowdown"))))
    assert a.value == "sw_thermal_slowdown,hw_thermal_slowdown"


def test_uncorrected_ecc_and_row_remapping_are_critical():
    assert rules(host(healthy(ecc_uncorrected_volatile=2))) == [(0, RULE_ECC_UNCORRECTED, "critical")]
    assert rules(host(healthy(remap_failure=True))) == [(0, RULE_REMAP_FAILURE, "critical")]
    assert rules(host(healthy(remap_pending=True))) == [(0, RULE_REMAP_PENDING, "critical")]
    assert rules(host(healthy(retired_pages_pending=True))) == [(0, RULE_PAGE_RETIREMENT_PENDING, "warn")]
    # N/A is not an alert
    assert rules(host(healthy(ecc_uncorrected_volatile=None, remap_failure=None, remap_pending=None))) == []


def test_xid_events():
    ev = lambda x: XidEvent(100.0, 0, "xid", x)  # noqa: E731
    g = healthy(xid_events=(ev(79), ev(13), XidEvent(100.0, 0, "double_bit_ecc", None)))
    got = evaluate(host(g))
    assert [(a.rule, a.severity, a.value) for a in got] == [
        (RULE_XID_CRITICAL, "critical", 79),
        (RULE_XID, "warn", 13),
        (RULE_ECC_DBE_EVENT, "critical", "dbe"),
    ]
    assert "fallen off the bus" in got[0].message
    assert {48, 63, 64, 74, 79, 92, 94, 95} <= DEFAULT_CRITICAL_XIDS
    assert 13 not in DEFAULT_CRITICAL_XIDS and 31 not in DEFAULT_CRITICAL_XIDS
    quiet = HealthThresholds(warn_other_xids=False, critical_xids=frozenset({13}))
    assert [(a.rule, a.value) for a in evaluate(host(g), quiet)] == [
        (RULE_XID_CRITICAL, 13),
        (RULE_ECC_DBE_EVENT, "dbe"),
    ]


@pytest.mark.parametrize("state", ["lost", "error", "backoff"])
def test_gpu_lost(state: str):
    g = GpuSample(index=3, uuid="GPU-3", state=state, error="NVML: GPU is lost")  # type: ignore[arg-type]
    (a,) = evaluate(host(healthy(0), g))
    assert (a.gpu_index, a.gpu_uuid, a.rule, a.severity, a.value) == (3, "GPU-3", RULE_GPU_LOST, "critical", state)
    assert "GPU 3" in a.message and "GPU is lost" in a.message


def test_a_lost_gpu_still_reports_its_xid():
    g = GpuSample(index=1, state="lost", error="gone", xid_events=(XidEvent(1.0, 1, "xid", 79),))
    assert [a.rule for a in evaluate(host(g))] == [RULE_XID_CRITICAL, RULE_GPU_LOST]


def test_memory_above_95_percent():
    assert rules(host(healthy(memory_used_bytes=76 * GIB))) == []  # exactly 95.0% is not above
    assert rules(host(healthy(memory_used_bytes=int(76.5 * GIB)))) == [(0, RULE_MEMORY_HIGH, "warn")]
    assert rules(host(healthy(memory_used_bytes=int(75.9 * GIB)))) == []
    # of the memory processes can have: NVML v2's reserved memory is not theirs
    assert rules(host(healthy(memory_used_bytes=75 * GIB, memory_reserved_bytes=2 * GIB))) == [
        (0, RULE_MEMORY_HIGH, "warn")
    ]
    assert rules(host(healthy(memory_used_bytes=70 * GIB)), HealthThresholds(memory_warn_fraction=0.8)) == [
        (0, RULE_MEMORY_HIGH, "warn")
    ]


def test_memory_rule_boundary_is_strict():
    th = HealthThresholds(memory_warn_fraction=0.5)
    assert rules(host(healthy(memory_used_bytes=40 * GIB)), th) == []
    assert rules(host(healthy(memory_used_bytes=40 * GIB + 1)), th) == [(0, RULE_MEMORY_HIGH, "warn")]


def test_rules_can_be_disabled():
    g = healthy(temperature_c=90, ecc_uncorrected_volatile=1)
    th = HealthThresholds(disabled_rules=frozenset({RULE_TEMP_SLOWDOWN}))
    assert [a.rule for a in evaluate(host(g), th)] == [RULE_ECC_UNCORRECTED]


def test_every_rule_is_exercised_here():
    # guard: a rule added to ALL_RULES must get a test above
    tested = {
        RULE_GPU_LOST, RULE_TEMP_NEAR_SLOWDOWN, RULE_TEMP_SLOWDOWN, RULE_HW_SLOWDOWN, RULE_THERMAL_THROTTLE,
        RULE_POWER_BRAKE, RULE_ECC_UNCORRECTED, RULE_REMAP_FAILURE, RULE_REMAP_PENDING,
        RULE_PAGE_RETIREMENT_PENDING, RULE_XID_CRITICAL, RULE_XID, RULE_ECC_DBE_EVENT, RULE_MEMORY_HIGH,
        RULE_PCIE_REPLAY,
    }  # fmt: skip
    assert tested == set(ALL_RULES)


def test_evaluate_is_pure_and_timestamps_alerts():
    s = host(healthy(temperature_c=90), t=1234.5)
    assert evaluate(s) == evaluate(s)
    assert evaluate(s)[0].time == 1234.5


# ---- AlertBook ------------------------------------------------------------------------------


def hot(t: float, gpu: int = 0, temp: int = 90) -> HostSample:
    return host(healthy(gpu, temperature_c=temp), t=t)


def test_a_persisting_condition_is_one_alert():
    book = AlertBook(cooldown_s=60)
    new = [book.update(evaluate(hot(t))) for t in range(100, 400, 1)]
    assert sum(len(n) for n in new) == 1
    (e,) = book.history()
    assert e.count == 300 and e.first_time == 100 and e.last_time == 399
    assert e.active and not e.resolved


def test_recurrence_within_cooldown_reopens_after_it_raises_anew():
    book = AlertBook(cooldown_s=60)
    (first,) = book.update(evaluate(hot(100)))
    assert book.update(evaluate(host(healthy(0), t=101))) == []  # cleared
    assert book.get(first.id).resolved and book.active() == []
    assert book.update(evaluate(hot(150))) == []  # back within the cooldown: same alert
    e = book.get(first.id)
    assert e.count == 2 and not e.resolved and book.active() == [e]
    book.update(evaluate(host(healthy(0), t=151)))
    (again,) = book.update(evaluate(hot(300)))  # back after 149 s of silence: a new alert
    assert again.id != first.id and len(book) == 2


def test_dedup_is_per_gpu_and_rule():
    book = AlertBook()
    s = host(healthy(0, temperature_c=90), healthy(1, temperature_c=90, ecc_uncorrected_volatile=1), t=1)
    new = book.update(evaluate(s))
    assert [(e.gpu_index, e.rule) for e in new] == [(0, RULE_TEMP_SLOWDOWN), (1, RULE_TEMP_SLOWDOWN), (1, RULE_ECC_UNCORRECTED)]
    assert book.update(evaluate(replace(s, timestamp=2))) == []


def test_warn_escalating_to_critical_is_a_new_alert():
    book = AlertBook()
    assert [e.rule for e in book.update(evaluate(hot(1, temp=84)))] == [RULE_TEMP_NEAR_SLOWDOWN]
    assert [e.rule for e in book.update(evaluate(hot(2, temp=88)))] == [RULE_TEMP_SLOWDOWN]
    assert [e.rule for e in book.active()] == [RULE_TEMP_SLOWDOWN]  # the warn resolved


def test_events_stay_active_until_acknowledged_and_dedup_per_xid():
    book = AlertBook(cooldown_s=60)
    ev = lambda t, x: host(healthy(0, xid_events=(XidEvent(t, 0, "xid", x),)), t=t)  # noqa: E731
    (a,) = book.update(evaluate(ev(10, 79)))
    book.update(evaluate(host(healthy(0), t=11)))
    assert book.get(a.id).active  # an event does not resolve by itself
    assert book.update(evaluate(ev(12, 79))) == []  # same Xid again within cooldown
    (b,) = book.update(evaluate(ev(13, 48)))  # a different Xid is its own alert
    assert b.value == 48
    assert book.acknowledge(a.id) is True
    assert book.acknowledge(a.id) is False
    assert [e.id for e in book.active()] == [b.id]
    assert book.acknowledge(999) is False


def test_acknowledged_alert_is_not_raised_again_while_it_persists():
    book = AlertBook(cooldown_s=60)
    (a,) = book.update(evaluate(hot(1)))
    book.acknowledge(a.id)
    for t in range(2, 200):
        assert book.update(evaluate(hot(t))) == []
    assert book.active() == [] and book.get(a.id).count == 199


def test_acknowledge_all_and_ordering():
    book = AlertBook()
    book.update(evaluate(host(healthy(0, memory_used_bytes=79 * GIB), t=1)))
    book.update(evaluate(host(healthy(0, memory_used_bytes=79 * GIB), healthy(1, temperature_c=90), t=2)))
    assert [e.severity for e in book.active()] == ["critical", "warn"]  # critical first
    assert book.acknowledge_all() == 2 and book.active() == []


def test_time_going_backwards_starts_a_new_episode():
    book = AlertBook(cooldown_s=60)
    book.update(evaluate(hot(500)))
    assert len(book.update(evaluate(hot(100)))) == 1  # a looping replay


def test_history_is_bounded():
    book = AlertBook(cooldown_s=0, max_history=10)
    for t in range(100):
        book.update(evaluate(host(healthy(0, xid_events=(XidEvent(t, 0, "xid", t),)), t=t)))
    assert len(book) == 10
    assert [e.value for e in book.history()] == list(range(99, 89, -1))


def test_every_new_alert_is_one_json_log_line(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING, logger="gpuplan.alerts")
    seen = []
    book = AlertBook(on_new=seen.append)
    book.update(evaluate(hot(1000.0)))
    book.update(evaluate(hot(1001.0)))  # de-duplicated: not logged again
    book.update(evaluate(host(healthy(1, memory_used_bytes=79 * GIB), t=1002.0)))
    records = [r for r in caplog.records if r.name == "gpuplan.alerts"]
    assert len(records) == 2 and len(seen) == 2
    first = json.loads(records[0].getMessage())
    assert first["rule"] == RULE_TEMP_SLOWDOWN and first["severity"] == "critical"
    assert first["gpu"] == 0 and first["uuid"] == "GPU-0" and first["value"] == 90
    assert first["timestamp"] == 1000.0 and first["id"] == seen[0].id
    assert records[0].levelno == logging.CRITICAL and records[1].levelno == logging.WARNING
    assert json.loads(records[1].getMessage())["rule"] == RULE_MEMORY_HIGH


def test_alert_key():
    a = Alert(1.0, 0, "GPU-x", RULE_TEMP_SLOWDOWN, "critical", 90, "m")
    assert a.key == ("GPU-x", RULE_TEMP_SLOWDOWN)
    assert replace(a, gpu_uuid=None).key == (0, RULE_TEMP_SLOWDOWN)
    assert replace(a, rule=RULE_XID_CRITICAL, value=79).key == ("GPU-x", RULE_XID_CRITICAL, 79)


# ---- PCIe replays: a rule comparing two samples ---------------------------------------------


def test_a_pcie_replay_counter_rising_between_samples_is_a_warning():
    before = host(healthy(0, pcie_replay_count=5), healthy(1, pcie_replay_count=9), t=100)
    after = host(healthy(0, pcie_replay_count=17), healthy(1, pcie_replay_count=9), t=101)
    (a,) = evaluate(after, previous=before)
    assert (a.gpu_index, a.rule, a.severity, a.value) == (0, RULE_PCIE_REPLAY, "warn", None)
    assert "rose by 12 to 17" in a.message
    assert evaluate(after) == []  # without the sample before, nothing to compare
    assert evaluate(after, previous=after) == []  # steady: a high count alone is history, not a fault
    # N/A on either side, a counter reset (driver reload) or a lost GPU: silent
    na = host(healthy(0, pcie_replay_count=None), t=101)
    assert evaluate(na, previous=before) == [] and evaluate(after, previous=na) == []
    assert evaluate(host(healthy(0, pcie_replay_count=0), t=102), previous=after) == []
    lost = host(GpuSample(index=0, uuid="GPU-0", state="lost", error="gone", pcie_replay_count=99), t=102)
    assert [r.rule for r in evaluate(lost, previous=after)] == [RULE_GPU_LOST]
    off = HealthThresholds(disabled_rules=frozenset({RULE_PCIE_REPLAY}))
    assert evaluate(after, off, previous=before) == []


def test_pcie_replays_compare_the_same_gpu_by_uuid():
    # the GPU at index 0 is a different board now (re-enumerated): its counter is not compared with
    # the old board's; the old board, now at index 1, is
    before = host(healthy(0, uuid="GPU-A", pcie_replay_count=100), healthy(1, uuid="GPU-B", pcie_replay_count=1))
    after = host(healthy(0, uuid="GPU-B", pcie_replay_count=3), healthy(1, uuid="GPU-A", pcie_replay_count=100))
    assert [(a.gpu_index, a.gpu_uuid) for a in evaluate(after, previous=before)] == [(0, "GPU-B")]


def test_replay_warnings_are_one_alert_per_gpu_while_they_keep_rising():
    book = AlertBook(cooldown_s=300)
    samples = [host(healthy(0, pcie_replay_count=n), t=100 + k) for k, n in enumerate((0, 4, 4, 9, 9, 15))]
    new = [e for prev, cur in zip(samples, samples[1:]) for e in book.update(evaluate(cur, previous=prev))]
    assert len(new) == 1  # an event: kept until acknowledged, not cleared by a steady sample
    (entry,) = book.active()
    assert entry.count == 3 and "rose by 6 to 15" in entry.message
    assert entry.severity == "warn" and book.unhealthy_alerts() == []  # the GPU stays fit for work
