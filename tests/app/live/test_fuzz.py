"""Any JSON in any input of the tick callback: a 200 with a message, never a 500 or a traceback."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.app.live.callbacks import TICK_INPUTS
from dashboard.app.messages import GENERIC_ERROR

from ..conftest import post_tick

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prop=st.sampled_from(TICK_INPUTS),
    value=JSON,
    store=st.one_of(
        st.none(), JSON, st.fixed_dictionaries({"tick": JSON, "source": JSON, "shown_key": JSON})
    ),
)
def test_tick_callback_survives_any_input(client, prop, value, store):
    status, data = post_tick(client, {prop: value}, store, [f"{prop[0]}.{prop[1]}"])
    assert status in (200, 204)
    if data:
        body = json.dumps(data)
        assert "Traceback" not in body and GENERIC_ERROR not in body
