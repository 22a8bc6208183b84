"""The Grafana dashboard and the docs name only metrics the app exports, and every metric the
code counts has a panel."""

from __future__ import annotations

import json
import re

from prometheus_client import Counter, Histogram
from prometheus_client.metrics import MetricWrapperBase

from sneakers_app import metrics
from sneakers_app.settings import PROJECT_ROOT

DASHBOARD = PROJECT_ROOT / "docs" / "grafana" / "sneakers.json"
DOC = PROJECT_ROOT / "docs" / "observability.md"
NAME = re.compile(r"\bsneakers_[a-z_]+")
SUFFIXES = ("_total", "_bucket", "_count", "_sum")


def _base(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def _counted() -> dict[str, MetricWrapperBase]:
    found = [m for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)]
    return {m._name: m for m in found}


def _dashboard_names() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    return {n for e in exprs for n in NAME.findall(e)}


def test_every_counted_metric_has_a_panel_with_the_right_suffixes() -> None:
    used = _dashboard_names()
    for name, metric in _counted().items():
        assert any(_base(u) == name for u in used), f"no panel shows {name}"
        for u in (u for u in used if _base(u) == name):
            if isinstance(metric, Counter):
                assert u == f"{name}_total", u
            elif isinstance(metric, Histogram):
                assert u.endswith(("_bucket", "_count", "_sum")), u


def test_every_name_the_dashboard_uses_is_documented() -> None:
    documented = {_base(n) for n in NAME.findall(DOC.read_text())}
    for name in _dashboard_names():
        assert _base(name) in documented, f"{name} is not in docs/observability.md"
