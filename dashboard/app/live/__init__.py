"""The Live tab: playback of one source, the KPI header and the five linked graphs.

``layout`` builds it, ``callbacks`` wires it, ``view`` (the view-model) and ``state``
(the playback view) are pure and Dash-free, ``render`` turns the view-model into
figures. Its component ids (``ids``) all start with ``live-``.
"""
