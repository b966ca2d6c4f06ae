"""Unit tests of the pure transforms (acdflow.transform, acdflow.timewindow)."""
