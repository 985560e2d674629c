"""Component ids of the app shell (header, pickers, messages, tabs); every one starts with ``shell-``.

Tabs read and set the shell's pickers and message area through these ids; the shell
never reads a tab's ids.
"""

from __future__ import annotations

URL = "shell-url"  # dcc.Location: the page's query string carries the view
SOURCE = "shell-source"  # data picker
MODEL = "shell-model"  # model picker
MESSAGE = "shell-message"  # the message area under the header
ABOUT_OPEN = "shell-about-open"  # "About this data" button
TABS = "shell-tabs"  # the tab bar (present when the app has more than one tab)
