"""Findings derived from stored runs: comparisons and their nulls (``compare``), feature sets and
their matching (``features``), planted recovery (``planted``), the verdict (``verdict``), and the
tasks that measure them on the executor (``instruments``, ``result_bundle``)."""
