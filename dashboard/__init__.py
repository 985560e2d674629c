"""Fleet incident-risk dashboard: scenario engine, data sources, risk models and the Dash app.

The public API is importable from here; names are resolved lazily so that
``import dashboard`` stays cheap and never imports Dash unless the app is used.
"""

from __future__ import annotations

from .exports import lazy_attributes

__version__ = "0.1.0"

_EXPORTS = {
    # scenario engine
    "Scenario": "dashboard.scenario",
    "load_scenario": "dashboard.scenario",
    "list_scenarios": "dashboard.scenario",
    "generate_demo_dataset": "dashboard.generate",
    # data sources
    "DataSource": "dashboard.sources",
    "Source": "dashboard.sources",
    "Window": "dashboard.sources",
    "open_source": "dashboard.sources",
    "register_source": "dashboard.sources",
    "list_sources": "dashboard.sources",
    # risk models
    "RiskModel": "dashboard.models",
    "RiskScores": "dashboard.models",
    "get_model": "dashboard.models",
    "register_model": "dashboard.models",
    "list_models": "dashboard.models",
    # evaluation
    "evaluate": "dashboard.evaluate",
    "Scorecard": "dashboard.evaluate",
    # app
    "create_app": "dashboard.app",
    "run_dashboard": "dashboard.app",
    "LiveDashboard": "dashboard.app",
    # errors
    "DashboardError": "dashboard.errors",
    "ScenarioError": "dashboard.errors",
    "DataError": "dashboard.errors",
    "SourceError": "dashboard.errors",
    "ModelError": "dashboard.errors",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS, globals())
