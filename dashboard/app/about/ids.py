"""Component ids of the About drawer; every one starts with ``about-``."""

from __future__ import annotations

DRAWER = "about-drawer"
BODY = "about-body"
EVALUATE = "about-evaluate"  # "Evaluate <model> on this data"
SCORECARD = "about-scorecard"  # the evaluation's scorecard, or why there is none
