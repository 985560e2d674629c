/* Playback from the keyboard on the Live tab: space plays or pauses, the arrows step one
 * tick, Home starts over, L goes live. Keys typed into a field, a picker or the slider
 * (whose handle takes the arrows itself) are left alone, as are keys with a modifier. */
(function () {
  var KEYS = {" ": "live-play", ArrowLeft: "live-back", ArrowRight: "live-forward",
              Home: "live-reset", l: "live-live", L: "live-live"};
  function typing(target) {
    if (!target || !target.closest) return false;
    return target.isContentEditable
      || !!target.closest("input, textarea, select, [role=slider], [role=combobox], "
                          + "[role=listbox], .dash-dropdown, .modal, .offcanvas, .popover");
  }
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    var id = KEYS[event.key];
    if (!id || typing(event.target)) return;
    var button = document.getElementById(id);
    // Only while the Live tab is shown and the button can be pressed.
    if (!button || button.disabled || button.offsetParent === null) return;
    event.preventDefault();
    button.click();
  });
})();
