"""Synthetic extracts for every kind of input file (`o211 sample`, `o211 demo`, tests)."""

from ingest.sample.generator import KINDS, SampleSummary, write_sample

__all__ = ["KINDS", "SampleSummary", "write_sample"]
