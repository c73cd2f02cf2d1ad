"""Batch runs: JSONL in, a crash-safe journal, JSONL out (see runner.py, journal.py, jsonl.py)."""

from genvr_runtime._batch.jsonl import JobLine, LineError, ValidationReport, validate_file
from genvr_runtime._batch.journal import Journal, JournalLockedError, JournalMismatchError
from genvr_runtime._batch.progress import Counts
from genvr_runtime._batch.runner import BatchOptions, BatchReport, run_batch, run_batch_sync

__all__ = [
    "BatchOptions", "BatchReport", "Counts", "JobLine", "Journal", "JournalLockedError", "JournalMismatchError",
    "LineError", "ValidationReport", "run_batch", "run_batch_sync", "validate_file",
]
