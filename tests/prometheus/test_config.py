"""The Prometheus targets and the Alertmanager from the environment and the TOML file."""

from __future__ import annotations

import pytest

from dashboard.prometheus.client import parse_matrix
from dashboard.prometheus.config import (
    ConfigError,
    Target,
    format_duration,
    load_config,
    parse_duration,
    parse_target_pairs,
)
from dashboard.settings import Settings, SettingsError


@pytest.mark.parametrize(
    ("text", "seconds"), [("15s", 15), ("1m30s", 90), ("500ms", 0.5), ("2h", 7200), ("7", 7), (3, 3)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "15", "abc", "1x", "-3s", "0s", "nan", "inf", True, None])
def test_bad_durations_are_named(text):
    if text == "15":
        assert parse_duration(text) == 15
        return
    with pytest.raises(ConfigError, match="step: "):
        parse_duration(text, "step")


def test_format_duration_is_promql():
    assert [format_duration(s) for s in (4, 1.5, 120, 0.05, 3600, 90)] == ["4s", "1500ms", "2m", "50ms", "1h", "90s"]


def test_target_pairs():
    assert parse_target_pairs("prod=http://a:9090, staging=https://b/prom/") == (
        ("prod", "http://a:9090"),
        ("staging", "https://b/prom"),
    )
    for raw, message in [
        ("prod", "is not name=url"),
        ("prod=ftp://x", "expected an http:// or https:// URL"),
        ("prod=http://a:99999", "not a valid URL"),
        ("prod=http://a,prod=http://b", "named twice"),
        ("bad name=http://a", "use 1 to 64 letters"),
        ("prod=http://a/?q=1", "must not carry a query"),
        (",", "names no target"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_target_pairs(raw)


def test_placeholders_follow_the_step_and_the_scrape_interval():
    target = Target("prod", "http://a", step_s=15, scrape_interval_s=15, profile_labels=("role",))
    cpu = target.expressions()["cpu_pct"]
    assert "by (instance, role)" in cpu and "[1m]" in cpu  # four scrapes
    assert "[30s]" in target.expressions()["mem_pct"]  # two scrapes
    assert "[75s]" in target.expressions(60)["cpu_pct"]  # a step and a scrape at a 1-minute step
    assert list(target.expressions()) == [
        "cpu_pct", "mem_pct", "latency_ms", "error_rate", "disk_io_mb_s", "net_in_mb_s", "net_out_mb_s", "gc_pause_ms"
    ]


def test_a_config_file(tmp_path):
    (tmp_path / "token").write_text("s3cret\n")
    path = tmp_path / "fleet.toml"
    path.write_text(
        """
[targets.prod]
step = "30s"
history = 60
bearer_token_file = "token"
profile_labels = "role"
mapping = "none"
[targets.prod.queries]
cpu_pct = 'avg by ($__labels) (cpu_busy)'
[targets.prod.extra]
queue_depth = 'max by ($__labels) (queue[$__lookback])'
[targets.lab]
url = "http://lab:9090"
[alertmanager]
labels = { team = "sre" }
resend = "2m"
"""
    )
    settings = Settings.from_env(
        {
            "FLEET_PROMETHEUS_TARGETS": "prod=http://prod:9090",
            "FLEET_PROMETHEUS_CONFIG": str(path),
            "FLEET_ALERTMANAGER_URL": "http://am:9093/",
        }
    )
    prod = settings.prometheus_target("prod")
    assert prod.url == "http://prod:9090" and prod.step_s == 30 and prod.history == 60
    assert prod.bearer_token == "s3cret" and "s3cret" not in repr(prod)
    assert prod.expressions() == {"cpu_pct": "avg by (instance, role) (cpu_busy)", "queue_depth": "max by (instance, role) (queue[1m])"}
    assert settings.prometheus_target("lab").url == "http://lab:9090"
    assert settings.alertmanager.url == "http://am:9093"
    assert settings.alertmanager.labels == (("team", "sre"),) and settings.alertmanager.resend_s == 120
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[targets.prod]\nstepp = 3\n", "fleet.toml: targets.prod.stepp: unknown field"),
        ("[targets.prod]\nstep = \"fast\"\n", "targets.prod.step: expected a duration"),
        ("[targets.prod]\nstep = \"0.1s\"\n", "targets.prod.step: must be from 0.5 s"),
        ("[targets.prod]\nhistory = 0\n", "targets.prod.history: must be 1 to"),
        ("[targets.prod]\nmapping = \"graphite\"\n", "targets.prod.mapping: must be one of node_exporter, none"),
        ("[targets.prod.queries]\nlatency = 'x'\n", "targets.prod.queries.latency: not a schema metric"),
        ("[targets.prod.extra]\ncpu_pct = 'x'\n", "targets.prod.extra.cpu_pct: an extra metric needs a name"),
        ("[targets.prod]\nserver_label = \"host-name\"\n", "is not a Prometheus label name"),
        ("[targets.prod]\npassword = \"x\"\n", "a password needs a username"),
        ("[targets.prod]\nbearer_token_file = \"missing\"\n", "bearer_token_file: .*missing cannot be read"),
        ("[targets.prod]\nurl = \"http://x\"\n", "a URL both in FLEET_PROMETHEUS_TARGETS and in the configuration file"),
        ("[targets.other]\nstep = 5\n", "target 'other' has no URL"),
        ("[alertmanager]\nlabels = {team = \"sre\"}\n", r"\[alertmanager\] has no url"),
        ("targets = [\n", "not valid TOML"),
    ],
)
def test_config_file_problems_name_the_variable_and_the_field(tmp_path, body, message):
    path = tmp_path / "fleet.toml"
    path.write_text(body)
    with pytest.raises(SettingsError, match="FLEET_PROMETHEUS_CONFIG: .*" + message):
        Settings.from_env({"FLEET_PROMETHEUS_TARGETS": "prod=http://prod:9090", "FLEET_PROMETHEUS_CONFIG": str(path)})


def test_environment_problems_name_the_variable(tmp_path):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(
            {
                "FLEET_PROMETHEUS_TARGETS": "prod",
                "FLEET_PROMETHEUS_CONFIG": str(tmp_path / "missing.toml"),
                "FLEET_ALERTMANAGER_URL": "am:9093",
                "FLEET_PUBLIC_URL": "javascript:alert(1)",
            }
        )
    problems = dict(caught.value.problems)
    assert "is not name=url" in problems["FLEET_PROMETHEUS_TARGETS"]
    assert "cannot be read" in problems["FLEET_PROMETHEUS_CONFIG"]
    assert "expected an http://" in problems["FLEET_ALERTMANAGER_URL"]
    assert "expected an http://" in problems["FLEET_PUBLIC_URL"]


def test_config_file_errors_read_directly(tmp_path):
    path = tmp_path / "big.toml"
    path.write_bytes(b"#" * 1_000_001)
    with pytest.raises(ConfigError, match="at most 1,000,000"):
        load_config(path)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_matrix_parsing():
    series = parse_matrix(
        [
            {"metric": {"instance": "a"}, "values": [[1.5, "1"], [2.5, "NaN"], [3.5, "+Inf"]]},
            {"metric": {"instance": "b"}, "values": []},
        ]
    )
    assert series[0].labels == {"instance": "a"} and series[0].times.tolist() == [1.5, 2.5, 3.5]
    assert series[0].values[0] == 1.0 and series[0].values[2] == float("inf")
    assert series[1].times.size == 0
