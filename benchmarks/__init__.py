"""Benchmarks: scripts, each run as a file (``python benchmarks/oracle.py``). A package only so that the
GPU suite's parts import one another (``benchmarks.suite_runner``) once the repository is on sys.path."""
