"""Evaluation harness: question sets, retrieval and answer metrics, reports, calibration, CI gate.

Nothing here is imported by the pipeline; it sits beside the CLI and UI and calls down into
`assistant.pipeline` / `assistant.retrieval` / `assistant.answer` exactly as a user would.
"""
