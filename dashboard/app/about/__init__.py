"""The About drawer of the app shell: what the current data and model are, and how well the
model does on the data (its scorecard).

``view`` gathers the facts (pure, Dash-free), ``layout`` and ``scorecard`` render them,
``callbacks`` wires the drawer to the shell's pickers. Its ids (``ids``) start with ``about-``.
"""
