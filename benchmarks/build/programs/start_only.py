"""Starts and exits: the startup cost of the other programs here.

Run as `python -m benchmarks.build.programs.start_only`.
"""
