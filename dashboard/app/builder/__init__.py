"""The scenario builder tab: design a scenario in the browser, save it, play it, generate it."""
