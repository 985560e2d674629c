"""Component ids of the About drawer; every one starts with ``about-``."""

from __future__ import annotations

DRAWER = "about-drawer"
BODY = "about-body"
EVALUATE = "about-evaluate"  # "Compare the models on this data"
SCORECARD = "about-scorecard"  # every model's scorecard side by side, or why there is none
