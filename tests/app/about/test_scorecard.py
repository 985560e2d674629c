"""The about panel's "How well does this model do here?" section: intro, scorecard, refusals."""

from __future__ import annotations

import json

import pytest
from dash.exceptions import PreventUpdate

from dashboard.app import create_app
from dashboard.app.about import ids as about_ids
from dashboard.app.about import view as about_view
from dashboard.app.about.callbacks import about_answer, evaluation_answer, evaluation_intro
from dashboard.app.about.scorecard import lead_time_text
from dashboard.app.messages import GENERIC_ERROR
from dashboard.app.shell import ids as shell_ids
from dashboard.settings import Settings


def _text(component) -> str:
    return json.dumps(component.to_plotly_json(), default=lambda c: c.to_plotly_json())


@pytest.fixture()
def unlabelled_app(tmp_path):
    (tmp_path / "metrics.csv").write_text(
        "timestamp,server_name,cpu_pct\n2025-01-01T00:00:00Z,a,10\n2025-01-01T00:00:05Z,a,12\n"
    )
    spec = f"csv:{tmp_path / 'metrics.csv'}"
    settings = Settings(data_roots=(tmp_path,), demo_dir=tmp_path, default_source=spec)
    return create_app(settings), spec


def test_the_section_offers_the_button_on_labelled_data(app, settings):
    label, disabled, note = evaluation_intro(
        app.services, settings.default_source, "heuristic"
    )
    assert label == "Compare the 4 models on this data (heuristic in detail)" and disabled is False
    assert "ground truth" in _text(note) and "every registered model" in _text(note)


@pytest.mark.parametrize("source", [None, "scenario:default"])
def test_a_click_shows_the_scorecard(app, settings, source):
    source = source or settings.default_source
    card = evaluation_answer(app.services, 1, source, "heuristic")
    text = _text(card)
    for name in ("detection rate", "false alarms", "precision", "recall", "AUROC", "top-5"):
        assert name in text
    assert "/server-h" in text and "web-000" in text
    assert "+35 s" in text  # the default scenario's heuristic fires 35 s before the peak


def test_the_evaluation_reuses_the_process_score_cache(app, settings, monkeypatch):
    import dashboard.evaluate as evaluate_module

    seen = {}
    real = evaluate_module.evaluate

    def spy(source, model, **kwargs):
        seen.update(kwargs)
        return real(source, model, **kwargs)

    monkeypatch.setattr(evaluate_module, "evaluate", spy)
    evaluation_answer(app.services, 1, settings.default_source, "heuristic")
    assert seen["cache"] is app.services.score_cache()


@pytest.mark.parametrize(
    ("lead", "text"),
    [(35.0, "+35 s"), (0.0, "+0 s"), (-10.0, "late by 10 s"), (None, "never"), ("x", "never")],
)
def test_lead_time_text(lead, text):
    assert lead_time_text(lead) == text


def test_unlabelled_data_says_it_cannot_be_scored(unlabelled_app):
    app, spec = unlabelled_app
    label, disabled, note = evaluation_intro(app.services, spec, "heuristic")
    assert disabled is True and "no ground truth" in _text(note)
    # A click forged past the disabled button gets the same answer, not a scorecard.
    answer = _text(evaluation_answer(app.services, 1, spec, "heuristic"))
    assert "no ground truth" in answer and "detection rate" not in answer


def test_a_large_source_is_refused_with_the_command_to_run(app, settings, monkeypatch):
    monkeypatch.setattr(about_view, "EVALUATE_MAX_CELLS", 100)
    source = settings.default_source
    _, disabled, note = evaluation_intro(app.services, source, "heuristic")
    assert disabled is True and "too large to evaluate in the browser" in _text(note)
    answer = _text(evaluation_answer(app.services, 1, source, "heuristic"))
    assert "python -m dashboard.evaluate --data" in answer and "--model heuristic" in answer


@pytest.mark.parametrize("n_clicks", [None, 0, -1, True, "1", 1.5, [1]])
def test_no_real_click_does_nothing(app, settings, n_clicks):
    with pytest.raises(PreventUpdate):
        evaluation_answer(app.services, n_clicks, settings.default_source, "heuristic")


@pytest.fixture()
def evaluate_key(app) -> str:
    """The evaluate callback's output key (it carries allow_duplicate's suffix)."""
    keys = [k for k, cb in app.callback_map.items() if cb["inputs"][0]["id"] == about_ids.EVALUATE]
    assert len(keys) == 1
    return keys[0]


def _evaluate_body(key: str, n_clicks, source, model) -> dict:
    """A request for the evaluate callback, shaped the way the Dash renderer sends it."""
    out_id, _, prop = key.partition(".")
    return {
        "output": key,
        "outputs": {"id": out_id, "property": prop},
        "inputs": [{"id": about_ids.EVALUATE, "property": "n_clicks", "value": n_clicks}],
        "state": [
            {"id": shell_ids.SOURCE, "property": "value", "value": source},
            {"id": shell_ids.MODEL, "property": "value", "value": model},
        ],
        "changedPropIds": [f"{about_ids.EVALUATE}.n_clicks"],
    }


def test_a_forged_request_without_a_click_does_nothing(client, settings, evaluate_key):
    body = _evaluate_body(evaluate_key, None, settings.default_source, "heuristic")
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 204


def test_a_click_through_http_returns_the_scorecard(client, settings, evaluate_key):
    body = _evaluate_body(evaluate_key, 1, settings.default_source, "heuristic")
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200 and b"detection rate" in response.data


@pytest.mark.parametrize(
    "source", ["../../etc/passwd", "parquet:/etc/passwd", {"x": 1}, ["a"], 7, "", None]
)
@pytest.mark.parametrize("model", ["heuristic", {"x": 1}, "<b>x</b>", None])
def test_hostile_values_get_a_message_never_a_500(client, evaluate_key, source, model):
    response = client.post(
        "/_dash-update-component", json=_evaluate_body(evaluate_key, 1, source, model)
    )
    assert response.status_code == 200
    assert b"Traceback" not in response.data
    assert GENERIC_ERROR.encode() not in response.data
    assert b"cannot evaluate" in response.data


def test_the_intro_answers_hostile_values_with_a_disabled_button(app):
    for source, model in [({"x": 1}, "heuristic"), ("scenario:default", ["x"])]:
        label, disabled, note = evaluation_intro(app.services, source, model)
        assert disabled is True and "cannot evaluate" in _text(note)


@pytest.fixture()
def logged_app(tmp_path):
    """A real-looking CSV (one extra metric, no ground-truth columns) with an incident log beside it."""
    lines = ["timestamp,server_name,queue_depth"]
    for t in range(40):
        for server in ("a", "b"):
            lines.append(f"2025-01-01T00:{t // 12:02d}:{(t % 12) * 5:02d}Z,{server},{10 + t % 3}")
    (tmp_path / "fleet.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "fleet_incidents.csv").write_text(
        "server_name,start,end\na,2025-01-01T00:02:00Z,2025-01-01T00:02:30Z\n"
    )
    spec = f"csv:{tmp_path / 'fleet.csv'}"
    settings = Settings(data_roots=(tmp_path,), demo_dir=tmp_path, default_source=spec)
    return create_app(settings), spec


def test_an_incident_log_beside_the_data_makes_it_scorable(logged_app):
    app, spec = logged_app
    _, disabled, _ = evaluation_intro(app.services, spec, "heuristic")
    assert disabled is False
    text = _text(evaluation_answer(app.services, 1, spec, "heuristic"))
    assert "incidents detected" in text and "0/1" in text and "NAB (standard)" in text
    # the heuristic reads none of this data's metrics: the scorecard says so first
    assert "reads none of the metrics in this data" in text and "queue_depth" in text


def test_the_about_panel_warns_when_the_model_cannot_see_the_data(logged_app):
    app, spec = logged_app
    text = " ".join(_text(part) for part in about_answer(app.services, spec, "heuristic"))
    assert "reads none of the metrics in this data" in text


def test_a_click_compares_every_registered_model_side_by_side(app, settings):
    text = _text(evaluation_answer(app.services, 1, settings.default_source, "heuristic"))
    for heading in ("heuristic (picked)", "adaptive", "learned", "phase-aware", "incidents detected", "median lead time",
                    "false alarms / server-day", "NAB standard, alerts", "NAB standard, tuned"):
        assert heading in text
    # phase-aware reads the answer key: said, and never marked best
    assert "phase-aware: " in text and "reads the ground truth" in text
    assert "heuristic in detail" in text and "+35 s" in text


def test_a_model_that_fails_shows_its_error_beside_the_others(app, settings):
    from dashboard.models import register_model

    from ...models.fleets import Scripted

    class Broken(Scripted):
        name = "broken"

        def __init__(self):
            super().__init__([[0.0]])  # one server's table: the default fleet has 20

    register_model("broken", Broken)
    text = _text(evaluation_answer(app.services, 1, settings.default_source, "heuristic"))
    assert "broken: " in text and "cannot evaluate" in text and "heuristic (picked)" in text
