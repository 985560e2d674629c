"""The app shell: the header with the data and model pickers, the message area, the About
drawer and the tab bar. It belongs to no tab; tabs read and set its pickers and messages
through :mod:`.ids` (every id starts with ``shell-``).
"""
