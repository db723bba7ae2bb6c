"""The Sizing tab tells what would fit and applies the server rule (issue 7 items 9 and 11),
driven with Pilot as a user types."""

from __future__ import annotations

from textual.widgets import Select, Static

from .conftest import SESSION, make_app, settle, type_into


async def test_a_plan_that_does_not_fit_says_what_would(session_file):
    app = make_app(session_file, offer_recovery=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_into(pilot, "#f-hardware-tensor-parallel", "1")  # 70B bf16 on one H100
        await settle(pilot)
        assert app.report["memory"]["fits"] is False
        verdict = str(app.query_one("#verdict", Static).render())
        assert "DOES NOT FIT" in verdict and "→ fits with TP 2" in verdict
        assert [a["message"] for a in app.report["advice"]][:1] and "fits with TP 2" in [
            a["message"] for a in app.report["advice"]]
        await type_into(pilot, "#f-hardware-tensor-parallel", "2")  # take the advice
        await settle(pilot)
        assert app.report["memory"]["fits"] is True and app.report["advice"] == []
        assert "→" not in str(app.query_one("#verdict", Static).render())


async def test_a_server_that_does_not_hold_the_gpu_is_marked_on_its_field(tmp_path):
    """The session rule `gpuplan plan` applies (exit 2): the app marks hardware.server with the
    same message, and choosing the server that holds the GPU plans it."""
    path = tmp_path / "h200.toml"
    path.write_text(SESSION.replace('gpu = "h100-sxm-80gb"', 'gpu = "h200-sxm-141gb"'))
    app = make_app(path, offer_recovery=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        error = app.query_one("#err-hardware-server", Static)
        assert error.has_class("-shown")
        assert "server 'dgx-h100' holds h100-sxm-80gb" in str(error.render())
        assert 'server = "hgx-h200"' in str(error.render())
        app.query_one("#f-hardware-server", Select).value = "hgx-h200"
        await settle(pilot)
        assert not error.has_class("-shown")
        assert app.report["hardware"]["server"] == "hgx-h200" and app.report["hardware"]["gpu"] == "h200-sxm-141gb"
