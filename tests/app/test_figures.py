"""Figure builders: plain dicts with numpy arrays, and patches that move them forward."""

from __future__ import annotations

import numpy as np
from dash import Patch

from dashboard.app import arrays, captions, fleet
from dashboard.app import figures as fig


def _ops(patch: Patch) -> list[dict]:
    return patch.to_plotly_json()["operations"]


def test_top_servers_ranks_riskiest_first_and_nan_last():
    p = np.array([0.1, np.nan, 0.9, 0.5, 0.9, 0.2])
    assert arrays.top_servers(p, 5).tolist() == [2, 4, 3, 5, 0]
    assert arrays.top_servers(np.array([0.3]), 5).tolist() == [0]


def test_percent_quantises_to_uint8_and_keeps_gaps():
    assert arrays.percent(np.array([0.0, 0.504, 1.0])).tolist() == [0, 50, 100]
    assert arrays.percent(np.array([0.0, 0.5])).dtype == np.uint8
    out = arrays.percent(np.array([np.nan, 0.25]))
    assert np.isnan(out[0]) and out[1] == 25


def test_kpi_summary_health_levels():
    healthy = arrays.kpi_summary(np.array([0.1, 0.2]), np.array([0, 0]), 0.5)
    assert healthy["health"] == "healthy" and healthy["at_risk"] == 0 and healthy["fleet_size"] == 2
    degraded = arrays.kpi_summary(np.array([0.6, 0.2]), np.array([1, 0]), 0.5)
    assert degraded["health"] == "degraded" and degraded["at_risk"] == 1
    critical = arrays.kpi_summary(np.array([0.9, 0.2]), np.array([2, 0]), 0.5)
    assert (
        critical["health"] == "critical"
        and critical["firing"] == 1
        and abs(critical["max"] - 0.9) < 1e-9
    )


def test_top5_figure_colours_by_alert_and_labels_profile():
    f = fig.top5_figure(
        np.array(["a", "b"]),
        np.array(["web", "db"]),
        np.array([0.9, 0.4]),
        np.array([2, 0]),
        0.5,
        "rev",
    )
    bar = f["data"][0]
    assert bar["type"] == "bar" and bar["orientation"] == "h"
    assert list(bar["marker"]["color"]) == [fig.ALERT_COLORS[2], fig.ALERT_COLORS[0]]
    assert bar["text"][0].startswith("web")
    assert f["layout"]["uirevision"] == "rev" and f["layout"]["yaxis"]["autorange"] == "reversed"


def test_trend_figure_has_phase_bands_and_thresholds():
    times = fleet.iso_times(
        np.datetime64("2025-01-01T00:00:00") + np.arange(10).astype("timedelta64[s]")
    )
    bands = fig.phase_bands([fleet.Phase("peak", "peak", 3, 6)], times)
    f = fig.trend_figure(
        times,
        np.zeros(10),
        np.ones(10),
        {"web-000": np.full(10, 0.5)},
        phase_bands=bands,
        threshold=0.5,
        clear_threshold=0.3,
        uirevision="r",
        extent=fleet.Extent(times[0], times[-1], filling=True),
    )
    assert [t["name"] for t in f["data"]] == ["fleet mean", "fleet max", "web-000"]
    shapes = f["layout"]["shapes"]
    assert shapes[0]["label"]["text"] == "peak" and shapes[0]["x0"] == times[3]
    assert {s["y0"] for s in shapes[1:]} == {0.5, 0.3}
    assert isinstance(f["data"][0]["y"], np.ndarray)
    # The axis autoranges within the window: a zoom survives refreshes (no fixed range).
    xaxis = f["layout"]["xaxis"]
    assert xaxis["autorange"] is True and "range" not in xaxis
    assert xaxis["autorangeoptions"]["include"] == [times[0], times[-1]]


def test_trend_patch_appends_and_trims_each_trace():
    times = np.array(["t1"])
    ops = _ops(
        fig.trend_patch(times, np.array([0.1]), np.array([0.2]), [np.array([0.3])], 1, fleet.Extent("t0", "t1"))
    )
    appends = [o for o in ops if o["operation"] == "Append"]
    deletes = [o for o in ops if o["operation"] == "Delete"]
    assert len(appends) == 6 and len(deletes) == 6
    # The patch moves where the axis autoranges to, never the range a user zoomed to.
    assert ops[-1]["location"] == ["layout", "xaxis", "autorangeoptions"]
    assert not any(o["location"][-1] == "range" for o in ops)


def test_strip_rows_fold_the_rest_by_profile():
    rng = np.random.default_rng(0)
    risk = rng.random(100)
    profiles = np.array(["web", "db"] * 50)
    own, groups = arrays.strip_rows(risk, profiles, 10)
    assert len(own) == 10 and risk[own[0]] == risk.max()
    assert [g[0] for g in groups] == ["db", "web"] and sum(len(g[1]) for g in groups) == 90
    z = arrays.strip_values(np.tile(risk, (3, 1)), own, groups)
    assert z.shape == (3, 12) and z.dtype == np.uint8
    labels = arrays.strip_labels(np.array([f"s{i}" for i in range(100)]), own, groups)
    assert len(labels) == 12 and labels[-1].startswith("web: 4")


def test_strip_figure_puts_time_on_x_with_one_z_row_per_tick():
    times = np.array(["t0", "t1"])
    z = np.array([[10, 20, 30], [40, 50, 60]], dtype=np.uint8)
    f = fig.strip_figure(times, z, ["a", "b", "c"], "r")
    trace = f["data"][0]
    assert trace["transpose"] is True and trace["z"].shape == (2, 3)
    ops = _ops(fig.strip_patch(np.array(["t2"]), z[:1], 1, fleet.Extent("t1", "t2")))
    assert [o["operation"] for o in ops] == ["Append", "Delete", "Append", "Delete", "Assign"]


def test_metrics_figure_trace_order_matches_its_patch():
    times = np.array(["t0", "t1"])
    bands = {m: (np.zeros(2), np.ones(2)) for m, _l, _f in captions.METRIC_PANELS}
    series = {"web-000": {m: np.full(2, 3.0) for m, _l, _f in captions.METRIC_PANELS}}
    f = fig.metrics_figure(times, bands, series, "r")
    assert len(f["data"]) == 2 * 3 + 3
    assert f["data"][1]["fill"] == "tonexty" and f["data"][6]["name"] == "web-000"
    ops = _ops(
        fig.metrics_patch(
            times[:1], {m: (np.zeros(1), np.ones(1)) for m in bands}, [series["web-000"]], 0, fleet.Extent("t0", "t1")
        )
    )
    traces = [o for o in ops if o["location"][0] == "data"]
    assert len(traces) == 2 * 9 and max(o["location"][1] for o in traces) == 8


def test_fleet_bands_ignore_missing_values():
    values = np.array([[1, 2, 3, np.nan], [4, 5, 6, 7]], dtype=np.float32)
    median, p95 = arrays.fleet_bands(values)
    assert median[0] == 2 and median[1] == 5.5 and p95[1] > 6.5


def test_why_figure_fits_negative_contributions():
    f = fig.why_figure(["cpu", "latency"], np.array([0.4, -0.3]), "r")
    low, high = f["layout"]["xaxis"]["range"]
    assert low < -0.3 and high >= 1
    assert list(f["data"][0]["marker"]["color"]) == [fig.ALERT_COLORS[2], fig.ALERT_COLORS[0]]
    ops = _ops(fig.why_patch(["cpu", "latency"], np.array([0.1, 0.2])))
    assert ["layout", "xaxis", "range"] in [o["location"] for o in ops]


# -- empty data: a message and a sane axis, never plotly's guess ----------------------------
def _notes(figure: dict) -> list[str]:
    return [a["text"] for a in figure["layout"].get("annotations", [])]


def _metric_inputs(n: int = 4, error_rate: float = np.nan):
    times = np.array([f"t{i}" for i in range(n)])
    values = {
        "cpu_pct": np.full((n, 3), 40.0),
        "latency_ms": np.full((n, 3), 120.0),
        "error_rate": np.full((n, 3), error_rate),
    }
    bands = {m: arrays.fleet_bands(v) for m, v in values.items()}
    series = {"web-000": {m: v[:, 0] for m, v in values.items()}}
    return times, bands, series


def test_a_metric_without_any_value_gets_a_note_and_a_blank_axis():
    times, bands, series = _metric_inputs()
    f = fig.metrics_figure(times, bands, series, "r")
    assert "no error-rate data" in _notes(f)
    error_axis = f["layout"]["yaxis3"]
    assert error_axis["range"] == [0, 1] and error_axis["showticklabels"] is False
    assert "range" not in f["layout"]["yaxis"]  # CPU has data: autoranged as before
    said = fig.metrics_figure(
        times, bands, series, "r", empty_notes={"error_rate": "no error-rate data in this source"}
    )
    assert "no error-rate data in this source" in _notes(said)


def test_a_metric_with_values_gets_no_note():
    times, bands, series = _metric_inputs(error_rate=0.02)
    f = fig.metrics_figure(times, bands, series, "r")
    assert not any(text.startswith("no ") for text in _notes(f))


def test_metric_axes_carry_their_units():
    times, bands, series = _metric_inputs(error_rate=0.02)
    layout = fig.metrics_figure(times, bands, series, "r")["layout"]
    assert layout["yaxis"]["ticksuffix"] == "%" and layout["yaxis2"]["ticksuffix"] == " ms"
    assert layout["yaxis3"]["tickformat"] == ".1~%"


def test_metrics_title_names_each_server_in_its_line_colour():
    times, bands, series = _metric_inputs(error_rate=0.02)
    series["db-001"] = series["web-000"]
    f = fig.metrics_figure(times, bands, series, "r")
    title = _notes(f)[-1]
    assert fig.SERVER_COLORS[0] in title and fig.SERVER_COLORS[1] in title
    assert "web-000" in title and "db-001" in title


def test_top5_without_scores_or_servers_says_so():
    none = np.array([np.nan, np.nan])
    f = fig.top5_figure(np.array(["a", "b"]), np.array(["w", "w"]), none, np.zeros(2), 0.5, "r")
    assert _notes(f) == [captions.NO_SCORES_NOW] and f["layout"]["xaxis"]["range"] == [0, 1]
    empty = np.array([], dtype=object)
    f = fig.top5_figure(empty, empty, np.zeros(0), np.zeros(0), 0.5, "r")
    assert _notes(f) == ["no servers in this source"] and f["layout"]["yaxis"]["visible"] is False
    ops = _ops(fig.top5_patch(np.array(["a"]), np.array(["w"]), np.array([0.4]), np.array([0])))
    assert {
        "operation": "Assign",
        "location": ["layout", "annotations"],
        "params": {"value": []},
    } in ops


def test_trend_without_scores_says_so_over_its_fixed_axis():
    times = np.array(["t0", "t1"])
    nan = np.full(2, np.nan)
    f = fig.trend_figure(
        times, nan, nan, {}, phase_bands=[], threshold=0.5, clear_threshold=0.3, uirevision="r"
    )
    assert _notes(f) == [captions.NO_SCORES]
    scored = fig.trend_figure(
        times,
        nan,
        np.array([0.1, 0.2]),
        {},
        phase_bands=[],
        threshold=0.5,
        clear_threshold=0.3,
        uirevision="r",
    )
    assert _notes(scored) == []


def test_trend_keeps_headroom_above_100_percent_for_the_phase_names():
    times = np.array(["t0", "t1"])
    f = fig.trend_figure(
        times,
        np.zeros(2),
        np.ones(2),
        {},
        phase_bands=[],
        threshold=0.5,
        clear_threshold=0.3,
        uirevision="r",
    )
    yaxis = f["layout"]["yaxis"]
    assert yaxis["range"][1] > 1.1 and max(yaxis["tickvals"]) == 1


def test_strip_without_rows_or_scores_says_so():
    times = np.array(["t0", "t1"])
    f = fig.strip_figure(times, np.zeros((2, 0)), [], "r")
    assert f["data"] == [] and _notes(f) == ["no servers in this source"]
    f = fig.strip_figure(times, np.full((2, 2), np.nan), ["a", "b"], "r")
    assert f["data"][0]["showscale"] is False and _notes(f) == [captions.NO_SCORES]
    f = fig.strip_figure(times, np.full((2, 2), 10, dtype=np.uint8), ["a", "b"], "r")
    assert f["data"][0]["showscale"] is True and _notes(f) == []


def test_why_shows_contributions_as_percent_points_like_every_risk():
    f = fig.why_figure(["cpu", "latency"], np.array([0.23, 0.5]), "r")
    assert f["data"][0]["texttemplate"] == "%{x:+.0%}"
    assert f["layout"]["xaxis"]["tickformat"] == ".0%"
