"""Static CSS and the one small script, as Python strings so a non-editable install ships them.

The script is served from /ui/app.js (same origin: the CSP allows it without 'unsafe-inline'). It
uses event delegation only, so rendered content never needs an inline handler: a click on a
`[n]` marker scrolls its card into view and highlights it; "Copy answer" copies the answer text.
"""

from __future__ import annotations

APP_JS = r"""
(() => {
  "use strict";
  const highlight = (card) => {
    for (const el of document.querySelectorAll(".entry-card.highlight")) {
      el.classList.remove("highlight");
    }
    card.classList.add("highlight");
  };
  document.addEventListener("click", (ev) => {
    const target = ev.target instanceof Element ? ev.target : null;
    if (!target) return;
    const cite = target.closest("a.cite, a.to-card");
    if (cite) {
      const id = (cite.getAttribute("href") || "").replace(/^#/, "");
      const card = id ? document.getElementById(id) : null;
      if (card) {
        ev.preventDefault();
        highlight(card);
        card.scrollIntoView({ block: "start", behavior: "smooth" });
        history.replaceState(null, "", "#" + id);
      }
      return;
    }
    const copy = target.closest("button.copy-answer");
    if (copy) {
      const answer = copy.closest(".a")?.querySelector(".answer-text");
      const done = (label) => {
        copy.textContent = label;
        setTimeout(() => { copy.textContent = "Copy answer"; }, 1500);
      };
      if (answer && navigator.clipboard) {
        navigator.clipboard.writeText(answer.innerText.trim())
          .then(() => done("Copied"), () => done("Copy failed"));
      }
    }
  });
  // A shared link like /#entry-<id> highlights that card once the panel has rendered it.
  const fromHash = () => {
    const id = location.hash.replace(/^#/, "");
    const card = id.startsWith("entry-") ? document.getElementById(id) : null;
    if (card) { highlight(card); card.scrollIntoView({ block: "start" }); return true; }
    return false;
  };
  let tries = 0;
  const poll = setInterval(() => { if (fromHash() || ++tries > 40) clearInterval(poll); }, 250);
})();
"""

APP_CSS = """
.gradio-container { max-width: 1400px !important; }
#transcript { min-height: 420px; }
#transcript .welcome { color: var(--body-text-color-subdued); padding: 1em 0; }
#transcript .turn { border-bottom: 1px solid var(--border-color-primary); padding: 0.6em 0 0.8em; }
#transcript .who { font-size: 0.75em; text-transform: uppercase; letter-spacing: 0.05em;
  color: var(--body-text-color-subdued); }
#transcript .q p { font-weight: 600; margin: 0.2em 0 0.4em; }
#transcript .instant { background: var(--background-fill-secondary);
  border-left: 3px solid var(--color-accent);
  padding: 0.3em 0.7em; margin: 0.3em 0; }
#transcript .instant .label, #transcript .retrieved .label { font-size: 0.8em; font-weight: 600;
  margin: 0; }
#transcript .answer-text.streaming { opacity: 0.85; }
#transcript .typing { margin-left: 0.2em; }
#transcript .error { color: var(--error-text-color, #b91c1c); }
#transcript .note { font-size: 0.85em; color: var(--body-text-color-subdued); }
#transcript .provenance { font-size: 0.8em; margin: 0.2em 0; color: var(--body-text-color-subdued); }
#transcript a.cite { font-weight: 600; text-decoration: none; padding: 0 0.1em; }
#transcript .tools button { font-size: 0.8em; padding: 0.1em 0.6em;
  border: 1px solid var(--border-color-primary);
  border-radius: 4px; background: var(--background-fill-primary); cursor: pointer; }
#transcript .retrieved ul, #transcript .suggestions ul { margin: 0.2em 0; padding-left: 1.2em;
  font-size: 0.85em; }
#transcript .section, #transcript .score { color: var(--body-text-color-subdued);
  margin-left: 0.4em; }
#transcript .badge { font-size: 0.75em; border: 1px solid var(--border-color-primary);
  border-radius: 8px;
  padding: 0 0.4em; margin-left: 0.4em; }
#transcript .badge.cited { background: var(--color-accent-soft); }
#sources-col { max-height: 85vh; overflow-y: auto; }
#sources-panel .entry-card { border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: 0.5em 0.8em; margin: 0.6em 0; scroll-margin-top: 0.5em; transition: box-shadow 0.3s; }
#sources-panel .entry-card h3 { margin: 0.1em 0; }
#sources-panel .entry-card .meta, #sources-panel .hint { font-size: 0.8em;
  color: var(--body-text-color-subdued); }
#sources-panel .entry-card.highlight, #sources-panel .entry-card:target {
  box-shadow: 0 0 0 3px var(--color-accent); background: var(--color-accent-soft); }
#glossary-index .by-section, #glossary-index .a-z { columns: 3 18em; }
#glossary-index section { break-inside: avoid; }
#glossary-index ul { padding-left: 1.1em; }
"""

PAGES_CSS = """
body { font: 16px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2937;
  background: #fff; }
nav.top { background: #f3f4f6; padding: 0.6em 1.2em; border-bottom: 1px solid #e5e7eb; }
nav.top a { margin-right: 1.2em; font-weight: 600; }
main { max-width: 52em; margin: 1.5em auto; padding: 0 1.2em; }
.meta, .hint, .by, .section { color: #6b7280; font-size: 0.9em; }
.summary { font-size: 1.1em; }
code, pre { background: #f3f4f6; border-radius: 3px; }
pre { padding: 0.6em; overflow-x: auto; white-space: pre-wrap; }
a { color: #1d4ed8; }
.reading-path ol li { margin: 0.2em 0; }
.by-section, .a-z { columns: 2 20em; }
.by-section section, .a-z section { break-inside: avoid; }
nav.top form.search { display: inline-block; margin: 0 0 0 1.5em; }
form.search input { font-size: 1em; padding: 0.3em; width: 20em; max-width: 70vw; }
.error { color: #b91c1c; }
"""
