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
# The model's parameters: a form under the model picker, applied into a Store
PARAMS = "shell-params"  # dcc.Store: {"model": name, "params": {name: value}} as applied
PARAMS_OPEN = "shell-params-open"  # "parameters" button beside the model picker
PARAMS_PANEL = "shell-params-panel"  # the popover holding the form
PARAMS_FORM = "shell-params-form"  # the form's fields (rendered for the picked model)
PARAMS_APPLY = "shell-params-apply"
PARAMS_RESET = "shell-params-reset"
PARAMS_ERROR = "shell-params-error"
PARAM_FIELD = "shell-param"  # pattern-matching id type of a field: {"type": ..., "form": ..., "name": ...}
# Opening data by path or spec
OPEN = "shell-open"  # "open data" button beside the data picker
OPEN_MODAL = "shell-open-modal"
OPEN_KIND = "shell-open-kind"  # source kind (or "path")
OPEN_TARGET = "shell-open-target"  # the path or target
OPEN_OPTIONS = "shell-open-options"  # the kind's options form
OPEN_GO = "shell-open-go"
OPEN_CANCEL = "shell-open-cancel"
OPEN_ERROR = "shell-open-error"
RECENT = "shell-recent"  # dcc.Store (local): recently opened specs, this browser only
RECENT_LIST = "shell-recent-list"
RECENT_ITEM = "shell-recent-item"  # pattern-matching id type of a recent entry
