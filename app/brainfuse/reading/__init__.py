"""The reader's state, free of Qt: the evented workspace, its tools, edits, measurements, sessions.

``gui/`` shows this state and turns clicks into calls on it; scripts and tests drive it alone.
"""
