"""Colours readable with colour-vision deficiencies: alert states stay apart when protanopia,
deuteranopia and tritanopia are simulated (Machado, Oliveira & Fernandes 2009, full severity),
and the heat map's lightness falls steadily with risk."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dashboard.app import figures as fig

# Machado et al. (2009) simulation matrices in linear RGB, severity 1.0.
CVD = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}
MIN_DISTANCE = 25.0  # CIELAB units between any two alert colours, whatever the vision


def _linear(hex_color: str) -> np.ndarray:
    c = np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    x, y, z = xyz @ linear_rgb / np.array([0.95047, 1.0, 1.08883])

    def f(t):
        return np.cbrt(t) if t > 0.008856 else 7.787 * t + 16 / 116

    return np.array([116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))])


def _seen(hex_color: str, vision: str) -> np.ndarray:
    return _lab(np.clip(np.array(CVD[vision]) @ _linear(hex_color), 0, 1))


@pytest.mark.parametrize("vision", sorted(CVD))
def test_alert_colours_stay_apart(vision):
    seen = [_seen(c, vision) for c in fig.ALERT_COLORS]
    closest = min(np.linalg.norm(a - b) for a, b in itertools.combinations(seen, 2))
    assert closest >= MIN_DISTANCE, f"{vision}: two alert states {closest:.1f} apart"


@pytest.mark.parametrize("vision", ["normal", *sorted(CVD)])
def test_the_heat_map_darkens_steadily_with_risk(vision):
    colors = [c for _stop, c in fig.RISK_SCALE]
    lightness = [
        (_lab(_linear(c)) if vision == "normal" else _seen(c, vision))[0] for c in colors
    ]
    assert all(a > b + 5 for a, b in zip(lightness, lightness[1:], strict=False)), lightness
