"""Packaging glue that setup.cfg cannot express: ``scenarios/`` and ``assets/`` sit at the top
of the repository but install inside the package, as ``dashboard/scenarios`` and
``dashboard/assets``, so that a wheel carries them. Everything else is in setup.cfg."""

from setuptools import find_packages, setup

BUNDLED = {"dashboard.scenarios": "scenarios", "dashboard.assets": "assets"}

setup(
    packages=[*find_packages(include=["dashboard", "dashboard.*"]), *BUNDLED],
    package_dir=BUNDLED,
    package_data={
        "dashboard.scenarios": ["*.json"],
        "dashboard.assets": ["*.css", "*.js"],
        "dashboard.models": ["artifacts/*/model.txt", "artifacts/*/metadata.json"],
    },
)
