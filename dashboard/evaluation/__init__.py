"""The pieces of evaluation: ground truth (:mod:`.truth`), the figures (:mod:`.measures`),
NAB's score (:mod:`.nab`) and the scorecard (:mod:`.scorecard`). The public entry point is
:mod:`dashboard.evaluate`."""
