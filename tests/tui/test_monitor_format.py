"""The Monitor tab's text building blocks: sparklines on a stable 10-minute axis, bars, throttle
words, compact columns that fit any width, detail cards, and the "why not" of fits here."""

from __future__ import annotations

import dataclasses

import pytest
from rich.text import Text

from engine.telemetry.fits import fits_here
from engine.telemetry.samples import GpuSample, HostSample
from tui.widgets.monitor_fits import why_not
from tui.widgets.monitor_format import (
    CARD_HEIGHT,
    RowContext,
    bar,
    bucketed,
    card_lines,
    compact_header,
    compact_row,
    layout_columns,
    rate_kbps,
    short_name,
    sparkline,
    throttle_text,
)

from .monitor_support import lost, sim

GIB = 1 << 30


def spark(i: int, metric: str, width: int) -> Text:
    return Text("▁" * width)


def test_bucketed_takes_the_max_per_bucket_aligned_to_absolute_positions():
    values = [1.0, 5.0, 2.0, None, 3.0, 4.0, None, None]
    # 8 points, the newest has absolute index 9 (end_index 10): buckets of 3 are [0-2][3-5][6-8][9-11]
    pts = bucketed(values, 10, 3, 10)
    # absolute indices 2..9 -> buckets {0: [2], 1: [3,4,5], 2: [6,7,8], 3: [9]}
    assert pts == [1.0, 5.0, 4.0, None]
    # a new point shifts nothing but the newest bucket
    pts2 = bucketed(values + [7.0], 10, 3, 11)
    assert pts2[:3] == pts[:3] and pts2[-1] == 7.0
    assert bucketed([], 5, 2, 0) == []
    assert bucketed([1.0, 2.0, 3.0], 2, 1, 3) == [2.0, 3.0]


def test_sparkline_scales_pads_and_marks_gaps():
    t = sparkline([0.0, 50.0, 100.0, None], 6, 0.0, 100.0)
    assert t.plain == "  ▁▅█·"
    assert sparkline([200.0], 1, 0.0, 100.0).plain == "█"  # clamped
    assert sparkline([], 3, 0, 1).plain == "   "


def test_bar_has_eighth_resolution_and_na():
    assert bar(0.5, 4).plain == "██░░"
    assert bar(1 / 16, 2).plain == "▏░"
    assert bar(None, 3).plain == "···"
    assert bar(1.5, 3).plain == "███"


def test_throttle_reasons_in_words():
    assert throttle_text(("sw_power_cap", "hw_thermal_slowdown")).plain == "power cap, HW thermal"
    assert throttle_text(()).plain == "none"
    assert throttle_text(None).plain == "N/A"
    assert throttle_text(("bit_0x400",)).plain == "bit 0x400"


def test_units_and_names():
    assert rate_kbps(1_500_000) == "1.5 GB/s" and rate_kbps(2500) == "2.5 MB/s" and rate_kbps(None) == "N/A"
    assert short_name("NVIDIA H100 80GB HBM3") == "H100 80GB HBM3"
    assert short_name("NVIDIA H100 80GB HBM3", memory=False) == "H100 80GB"
    assert short_name(None) == "GPU"


@pytest.mark.parametrize("width", [40, 60, 80, 100, 120, 160, 200, 250])
@pytest.mark.parametrize("has_plan", [False, True])
def test_compact_rows_fit_every_width(width, has_plan):
    s = sim(8, lose_gpu_at={3: 0}, thermal={1: (0, 5)}).sample()
    layout = layout_columns(width, has_plan)
    keys = [c.key for c, _ in layout]
    # the essentials never go
    assert {"util", "mem", "temp"} <= set(keys)
    ctx = RowContext(spark=spark, fit_marks={g.index: Text("✓1") for g in s.gpus} if has_plan else {})
    header = compact_header(layout)
    assert header.cell_len <= max(width, 40)
    for g in s.gpus:
        row = compact_row(g, layout, width, ctx)
        assert row.cell_len <= max(width, 40), (width, row.plain)
    if width >= 120:
        assert {"name", "util_hist", "power", "throttle", "clock", "ecc"} <= set(keys)
    if has_plan and width >= 80:
        assert "fit" in keys


def test_lost_row_spans_the_line_with_its_reason():
    s = lost(sim(2).sample(), 1, error="NVML: GPU is lost")
    layout = layout_columns(120, False)
    row = compact_row(s.gpu(1), layout, 120, RowContext(spark=spark, fit_marks={}))
    assert "LOST  NVML: GPU is lost" in row.plain


@pytest.mark.parametrize("width", [50, 80, 98, 118, 160])
def test_cards_have_a_fixed_height_and_fit(width):
    s = sim(2, lose_gpu_at={1: 0}).sample()
    for g in s.gpus:
        lines = card_lines(g, width, spark)
        assert len(lines) == CARD_HEIGHT
        assert all(line.cell_len <= width for line in lines), [line.plain for line in lines]


def test_card_shows_na_for_unreported_fields():
    g = GpuSample(index=0, name="Tesla T4")
    text = "\n".join(line.plain for line in card_lines(g, 120, spark))
    assert "util   N/A" in text or "N/A" in text.splitlines()[1]
    assert "fan N/A" in text and "throttle N/A" in text and "corr N/A" in text


def test_card_shows_page_retirement_on_older_gpus():
    g = GpuSample(index=0, name="Tesla V100", retired_pages_sbe=2, retired_pages_dbe=1, retired_pages_pending=True)
    text = "\n".join(line.plain for line in card_lines(g, 140, spark))
    assert "retired pages 2 sbe 1 dbe PENDING" in text


def _host(frees_gib, total_gib=79.6, simulated=False) -> HostSample:
    gpus = tuple(
        GpuSample(index=i, memory_total_bytes=int(total_gib * GIB), memory_used_bytes=0,
                  memory_free_bytes=None if f is None else int(f * GIB),
                  state="lost" if f == "lost" else "ok") if f != "lost" else GpuSample(index=i, state="lost")
        for i, f in enumerate(frees_gib)
    )
    return HostSample(timestamp=0.0, hostname="h", backend="scripted", simulated=simulated, gpus=gpus)


def test_why_not_says_how_many_have_it_and_what_the_others_have():
    v = fits_here(int(70 * GIB), 4, _host([78, 78, 7.5, 7.5, 7.5, "lost", 20, None]))
    text = why_not(v).plain
    assert text.startswith("only 2 GPUs have 70.0 GiB free (GPU 0-1), a replica needs 4")
    assert "GPU 2-4 7.5 GiB free" in text and "GPU 5 lost" in text and "GPU 6 20.0 GiB free" in text
    assert "GPU 7 free memory N/A" in text
    none = why_not(fits_here(int(70 * GIB), 1, _host([1, 2])))
    assert none.plain.startswith("0 GPUs have 70.0 GiB free, a replica needs 1")


def test_why_not_keeps_the_engine_words_for_structural_misfits():
    too_few = why_not(fits_here(GIB, 8, _host([70, 70])))
    assert "this host has only 2 GPUs" in too_few.plain
    too_small = why_not(fits_here(100 * GIB, 1, _host([70, 70])))
    assert "the largest GPU here has" in too_small.plain
    sim_ = why_not(fits_here(70 * GIB, 2, dataclasses.replace(_host([78, 1]), simulated=True)))
    assert sim_.plain.endswith("(simulated)")


def test_card_title_and_ecc_lines_are_kept_until_what_they_show_changes():
    g = sim(2).sample().gpus[0]
    first = card_lines(g, 140, spark)
    busier = dataclasses.replace(g, gpu_util_pct=(g.gpu_util_pct or 0) + 7, power_w=(g.power_w or 0) + 30)
    again = card_lines(busier, 140, spark)
    assert again[0] is first[0] and again[6] is first[6]  # a new sample, same identity and ECC: reused
    assert again[1].plain != first[1].plain  # the figures are drawn afresh
    # each field the title or the ECC line shows reaches it
    changed = card_lines(dataclasses.replace(busier, compute_mode="exclusive_process", ecc_uncorrected_volatile=2),
                         140, spark, health=("critical", "uncorrected ECC"))
    assert "exclusive process" in changed[0].plain and "CRIT uncorrected ECC" in changed[0].plain
    assert "uncorr 2" in changed[6].plain
    assert card_lines(busier, 140, spark, fit_mark=Text("✓1"))[0].plain.count("fit ✓1") == 1
    assert card_lines(busier, 100, spark)[0].cell_len <= 100
