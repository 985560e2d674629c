"""Authoring scenarios: the scenario builder's domain, apart from any UI.

- :mod:`.names`: which names a saved scenario may take, and why others are refused;
- :mod:`.library`: the bundled and user scenario folders, saves with a version check and a
  file lock, drafts played without saving;
- :mod:`.draft`: the builder's model of a scenario being edited (tolerates invalid values);
- :mod:`.fields`: every field of the scenario format, walked from the pydantic model;
- :mod:`.preview`: a sample of what a scenario will generate, computed in milliseconds.

Nothing here imports Dash.
"""
