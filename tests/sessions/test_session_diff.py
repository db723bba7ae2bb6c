"""Input and result diffs for the Sessions tab."""

from __future__ import annotations

from sessions import example_text, parse_session, update_session
from sessions.diff import InputChange, diff_inputs, diff_results


def test_identical_sessions_have_no_input_changes(default_text):
    a = parse_session(default_text)
    assert diff_inputs(a, parse_session(default_text)) == []


def test_changed_inputs_in_schema_order(default_text):
    a = parse_session(default_text)
    b = update_session(a, {"serving.sla.itl_ms": 30.0, "hardware.tensor_parallel": 2, "training": {"gpus": 4}})
    changes = diff_inputs(a, b)
    assert changes[:2] == [
        InputChange("hardware.tensor_parallel", 1, 2),
        InputChange("serving.sla.itl_ms", 50.0, 30.0),
    ]
    training = {c.path: c for c in changes[2:]}
    # keys left unset (None: "the planner decides") are not changes
    assert set(training) == {"training.gpus"} | {f"training.{k}" for k in type(b.training).model_fields
                                                 if k != "gpus" and getattr(b.training, k) is not None}
    assert training["training.gpus"].before is None and training["training.gpus"].after == 4
    assert [c.path for c in diff_inputs(b, a)][:2] == ["hardware.tensor_parallel", "serving.sla.itl_ms"]


def test_catalog_to_inline_model_shows_both_sides(default_text):
    a = parse_session(default_text)
    b = parse_session(example_text("inline-config"))
    paths = {c.path: c for c in diff_inputs(a, b)}
    assert paths["model.catalog"].after is None and paths["model.config.num_hidden_layers"].after == 16
    assert paths["model.config.num_hidden_layers"].before is None


def report(nodes: int, kv_pool: float, cost: float | None) -> dict:
    return {
        "memory": {"weights_gib": 14.96, "kv_pool_gib": kv_pool, "kv_capacity_tokens": 500_000, "max_concurrency": None},
        "scenarios": {
            "minimum": {"nodes": nodes, "gpus": nodes * 8, "sessions_capacity": 100, "power_kw": 10.2, "cost_per_hour": cost},
            "recommended": {"nodes": nodes + 1},
        },
    }


def test_result_diff_over_the_report_paths():
    rows = diff_results(report(2, 50.0, 40.0), report(3, 45.5, None))
    by_path = {r.path: r for r in rows}
    assert by_path["scenarios.minimum.nodes"].delta == 1 and by_path["scenarios.minimum.nodes"].unit == "nodes"
    assert by_path["scenarios.minimum.gpus"].before == 16 and by_path["scenarios.minimum.gpus"].after == 24
    assert by_path["memory.kv_pool_gib"].delta == -4.5 and by_path["memory.kv_pool_gib"].unit == "GiB"
    assert by_path["scenarios.recommended.nodes"].ratio == 4 / 3
    # missing or None in either report: skipped
    assert "memory.max_concurrency" not in by_path and "scenarios.minimum.cost_per_hour" not in by_path
    assert "scenarios.ideal.nodes" not in by_path
    assert [r.path for r in rows][0] == "memory.weights_gib"  # fixed order: memory first


def test_result_diff_changed_only():
    rows = diff_results(report(2, 50.0, 40.0), report(3, 50.0, 40.0), changed_only=True)
    assert {r.path for r in rows} == {"scenarios.minimum.nodes", "scenarios.minimum.gpus", "scenarios.recommended.nodes"}
    assert all(r.label for r in rows)
