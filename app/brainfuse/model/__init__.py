"""The shared data model: images, intensities, results, overlays, planes, alignment reports.

Every layer meets here. Nothing in ``brainfuse.model`` imports torch, Qt or another layer
(import-linter contract in ``pyproject.toml``).
"""
