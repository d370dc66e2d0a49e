"""Process plumbing shared by every layer: threads, heap, library quietness, progress, folders.

Private to the package: nothing here knows about images.
"""
