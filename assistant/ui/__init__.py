"""The chat UI: a Gradio app mounted in FastAPI, with per-entry pages and a glossary browser.

`build_app(assistant, settings)` (in `assistant.ui.app`) builds it; `serve(settings)` (in
`assistant.ui.serve`) runs it. Gradio is imported only inside those, so `import assistant.ui`
stays light. All HTML comes from `assistant.ui.render` (the one escaping renderer).
"""
