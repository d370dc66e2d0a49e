"""Measuring the engine: timing, contention, end-to-end runs and evaluation on pairs."""
