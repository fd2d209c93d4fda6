"""The deployment files: alert rules and dashboard speak of metrics the engine exports, the
rules pass promtool (syntax and unit tests), and docker-compose keeps its safety properties."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.settings import Settings
from mtf.observability.server import PROCESS_METRICS
from mtf.observability.state import StateCollector

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "mtf-scalper.json"


def exported_names(tmp_path: Path) -> set[str]:
    """Every series name the engine exports: the process metrics with their suffixes, and the
    state gauges (collected once from an empty database)."""
    from infra.db import ensure_schema, get_engine

    names: set[str] = set()
    for metric in PROCESS_METRICS:
        for family in metric.describe():
            base = family.name
            if family.type == "counter":
                names.add(f"{base}_total")
            elif family.type == "histogram":
                names.update(f"{base}_{s}" for s in ("bucket", "count", "sum"))
            else:
                names.add(base)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    ensure_schema(url)
    settings = Settings(database_url=url)
    names.update(m.name for m in StateCollector(get_engine(url), settings).collect())
    return names


def referenced(expr: str) -> set[str]:
    return set(re.findall(r"\bmtf_[a-z_]+\b", expr))


def rule_expressions() -> list[str]:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return [r["expr"] for group in rules["groups"] for r in group["rules"]]


def dashboard_expressions() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in board["panels"] for t in p["targets"]]


def test_alerts_and_dashboard_use_only_exported_metrics(tmp_path: Path) -> None:
    names = exported_names(tmp_path)
    for expr in rule_expressions() + dashboard_expressions():
        unknown = referenced(expr) - names
        assert not unknown, f"{sorted(unknown)} in {expr!r} is not exported"


def test_the_alerts_the_operators_rely_on_exist() -> None:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"]}
    assert {
        "MtfNoCompletedRun",
        "MtfPositionUnprotected",
        "MtfCycleLatenessHigh",
        "MtfRateLimitHeadroomLow",
        "MtfDailyLossCapReached",
    } <= set(alerts)
    assert "180" in alerts["MtfNoCompletedRun"]["expr"]
    assert "0.95" in alerts["MtfCycleLatenessHigh"]["expr"]
    assert "0.10" in alerts["MtfRateLimitHeadroomLow"]["expr"]


def test_the_dashboard_shows_what_an_operator_watches() -> None:
    exprs = " ".join(dashboard_expressions())
    for metric in (
        "mtf_runs_total",
        "mtf_cycle_lateness_seconds_bucket",
        'mtf_symbols_total{status="ready"}',
        "mtf_orders_total",
        "mtf_open_positions",
        "mtf_equity_usdt",
        "mtf_exchange_requests_total",
    ):
        assert metric in exprs, metric


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (CI installs it)"
)
def test_promtool_checks_and_unit_tests_the_rules(tmp_path: Path) -> None:
    for args in (
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts_test.yml"],
    ):
        out = subprocess.run(
            ["promtool", *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stdout + out.stderr
    # The scrape configuration, with its container paths pointed at the files here.
    config = (PROMETHEUS / "prometheus.yml").read_text()
    config = config.replace("/etc/prometheus/alerts.yml", str(PROMETHEUS / "alerts.yml"))
    config = config.replace("/prometheus/mtf-metrics-token", str(tmp_path / "token"))
    (tmp_path / "token").write_text("t")
    (tmp_path / "prometheus.yml").write_text(config)
    out = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def test_compose_gives_exchange_keys_only_to_trading_workers() -> None:
    services = compose()["services"]
    keyed = {
        name
        for name, svc in services.items()
        if any(k.startswith("BITMART_") for k in (svc.get("environment") or {}))
    }
    # the stream logs in to the private WebSocket and re-arms the dead-man switch
    assert keyed == {"worker-mtf", "worker-orders", "worker-tpsl", "stream"}


def test_compose_binds_published_ports_to_localhost_and_has_no_default_passwords() -> None:
    services = compose()["services"]
    for name, svc in services.items():
        for port in svc.get("ports", []):
            assert str(port).startswith("${") and "127.0.0.1" in str(port), (name, port)
    flower = services["flower"]
    assert flower["command"][:2] == ["mtf", "flower"], "the launcher that refuses no password"
    assert flower["environment"]["FLOWER_BASIC_AUTH"] == "${FLOWER_BASIC_AUTH:-}"
    assert "healthcheck" in flower and "/healthcheck" in " ".join(flower["healthcheck"]["test"])
    assert {"metrics", "prometheus", "grafana"} <= set(services)
    grafana = services["grafana"]
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == "${GRAFANA_ADMIN_PASSWORD:-}"
    assert "exit 2" in " ".join(grafana["command"]), "no default admin password: it refuses"
    text = (ROOT / "docker-compose.yml").read_text()
    assert "change-me" not in text and "admin:secret" not in text


def test_env_example_documents_every_secret_compose_reads() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    example = (ROOT / ".env.example").read_text()
    used = set(re.findall(r"\$\{([A-Z_]+)", text))
    documented = set(re.findall(r"^#? ?([A-Z_]+)=", example, flags=re.M))
    assert used - documented == set(), "undocumented: " + ", ".join(sorted(used - documented))
