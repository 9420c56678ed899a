"""Static CSS and the one small script, as Python strings so a non-editable install ships them.

The script is served from /ui/app.js (same origin: the CSP allows it without 'unsafe-inline'). It
uses event delegation only, so rendered content never needs an inline handler: a click on a
`[n]` marker scrolls its card into view and highlights it; "Copy answer" copies the answer text;
a click on a glossary term in the chat opens that entry's card in the side panel (the card the
panel already shows, else one fetched from /ui/card/<id>, our own rendered HTML) instead of a new
tab. Ctrl/cmd/shift/middle clicks keep the browser's own behaviour.
Hover cards on terms are pure CSS (`.term:hover`, `.term:focus-within`), here and on the pages.
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
    const term = target.closest("a.term-link");
    const viewerHost = document.getElementById("sources-panel");
    if (term && viewerHost && ev.button === 0 && !ev.ctrlKey && !ev.metaKey && !ev.shiftKey && !ev.altKey) {
      const m = /^\/entry\/([^/?#]+)$/.exec(term.getAttribute("href") || "");
      if (!m) return;
      ev.preventDefault();
      const id = decodeURIComponent(m[1]);
      const anchor = "entry-" + id.replace(/[^A-Za-z0-9_-]/g, "-");
      const shown = viewerHost.querySelector("#" + CSS.escape(anchor));
      if (shown) {
        highlight(shown);
        shown.scrollIntoView({ block: "start", behavior: "smooth" });
        return;
      }
      let viewer = document.getElementById("term-viewer");
      if (!viewer) {
        viewer = document.createElement("div");
        viewer.id = "term-viewer";
        viewer.setAttribute("aria-live", "polite");
        viewerHost.parentNode.insertBefore(viewer, viewerHost);
      }
      fetch("/ui/card/" + encodeURIComponent(id), { credentials: "same-origin" })
        .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
        .then((html) => {
          viewer.innerHTML = html;  // our renderer's output: every value in it is escaped
          const card = viewer.querySelector(".entry-card");
          if (card) {
            highlight(card);
            card.scrollIntoView({ block: "start", behavior: "smooth" });
          }
        })
        .catch(() => { location.href = term.href; });
      return;
    }
    const close = target.closest("#term-viewer button.close-card");
    if (close) {
      document.getElementById("term-viewer")?.replaceChildren();
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

GRAPH_JS = r"""
(() => {
  "use strict";
  // Zoom for /graph: resize the SVG (its container scrolls); without this script it shows at 100%.
  const start = () => {
    const svg = document.getElementById("graph");
    if (!svg) return;
    const w = Number(svg.getAttribute("width")), h = Number(svg.getAttribute("height"));
    let scale = 1;
    const apply = () => {
      svg.setAttribute("width", String(Math.round(w * scale)));
      svg.setAttribute("height", String(Math.round(h * scale)));
    };
    document.addEventListener("click", (ev) => {
      const b = ev.target instanceof Element ? ev.target.closest("button.zoom") : null;
      if (!b) return;
      const z = b.getAttribute("data-zoom");
      scale = z === "in" ? Math.min(4, scale * 1.25) : z === "out" ? Math.max(0.25, scale / 1.25) : 1;
      apply();
    });
    svg.addEventListener("wheel", (ev) => {
      if (!ev.ctrlKey) return;  // plain wheel scrolls; ctrl+wheel zooms
      ev.preventDefault();
      scale = Math.min(4, Math.max(0.25, scale * (ev.deltaY < 0 ? 1.1 : 1 / 1.1)));
      apply();
    }, { passive: false });
    const match = svg.querySelector(".node.match");
    if (match) match.scrollIntoView({ block: "center", inline: "center" });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
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
#transcript .note, #transcript .why { font-size: 0.85em; color: var(--body-text-color-subdued); }
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
#term-viewer .entry-card { border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: 0.5em 0.8em; margin: 0.6em 0; scroll-margin-top: 0.5em; }
#term-viewer .entry-card.highlight { box-shadow: 0 0 0 3px var(--color-accent); }
#term-viewer .entry-card .meta { font-size: 0.8em; color: var(--body-text-color-subdued); }
#term-viewer button.close-card { float: right; min-width: 40px; min-height: 40px; cursor: pointer;
  border: 1px solid var(--border-color-primary); border-radius: 4px; background: none; }
.term { position: relative; }
.term a.term-link { text-decoration: underline dotted; text-underline-offset: 0.15em; }
.term .term-card { display: none; position: absolute; left: 0; top: 100%; z-index: 30;
  width: max-content; max-width: min(22em, 80vw); padding: 0.4em 0.6em; font-size: 0.85em;
  font-weight: normal; line-height: 1.4; white-space: normal; text-align: left;
  background: var(--background-fill-primary); color: var(--body-text-color);
  border: 1px solid var(--border-color-primary); border-radius: 6px;
  box-shadow: 0 2px 8px rgba(0, 0, 0, 0.15); }
.term:hover .term-card, .term:focus-within .term-card { display: block; }
#glossary-index .by-section, #glossary-index .a-z { columns: 3 18em; }
@media (max-width: 600px), (pointer: coarse) {  /* phones: tap targets of at least 40 px */
  button[role="tab"], #chips button, #transcript .tools button, #fb-up, #fb-down, #send {
    min-height: 40px; }
  #transcript .retrieved li, #transcript .suggestions li { min-height: 40px; }
  #glossary-index .by-section, #glossary-index .a-z { columns: 1; }
}
#glossary-index section { break-inside: avoid; }
#glossary-index ul { padding-left: 1.1em; }
.entry-card table { display: block; overflow-x: auto; border-collapse: collapse; font-size: 0.9em; }
.entry-card th, .entry-card td { border: 1px solid var(--border-color-primary); padding: 0.1em 0.5em; }
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
.reading-path ol li { margin: 0.5em 0; }
.body table { display: block; overflow-x: auto; max-width: 100%; border-collapse: collapse; margin: 0.6em 0; }
.body th, .body td { border: 1px solid #e5e7eb; padding: 0.2em 0.6em; text-align: left; }
.body th { background: #f3f4f6; }
.reading-path .step-summary { margin: 0.1em 0 0; color: #374151; font-size: 0.95em; }
.by-section, .a-z { columns: 2 20em; }
.by-section section, .a-z section { break-inside: avoid; }
nav.top form.search { display: inline-block; margin: 0 0 0 1.5em; }
form.search input { font-size: 1em; padding: 0.3em; width: 20em; max-width: 70vw; }
.error { color: #b91c1c; }
.term { position: relative; }
.term a.term-link { text-decoration: underline dotted; text-underline-offset: 0.15em; }
.term .term-card { display: none; position: absolute; left: 0; top: 100%; z-index: 30;
  width: max-content; max-width: min(22em, 80vw); padding: 0.4em 0.6em; font-size: 0.9em;
  line-height: 1.4; background: #fff; color: #1f2937; border: 1px solid #d1d5db;
  border-radius: 6px; box-shadow: 0 2px 8px rgba(0, 0, 0, 0.15); }
.term:hover .term-card, .term:focus-within .term-card { display: block; }
@media print { .term .term-card { display: none !important; } }
.graph-wrap { overflow: auto; max-width: 100%; max-height: 80vh; border: 1px solid #e5e7eb; border-radius: 6px; }
main:has(.graph-wrap) { max-width: none; }
form.graph-tools label { display: flex; align-items: center; gap: 0.3em; max-width: 100%; }
form.graph-tools select { min-width: 0; flex: 1; }
svg.graph { font: 11px system-ui, sans-serif; display: block; }
svg.graph .edge { fill: none; }
svg.graph .edge.related { stroke: #9ca3af; stroke-opacity: 0.18; stroke-width: 0.8; }
svg.graph .edge.prereq { stroke: #374151; stroke-opacity: 0.45; stroke-width: 1.1; }
svg.graph .arrowhead { fill: #374151; }
svg.graph .head { font-weight: 700; font-size: 12px; fill: #111827; }
svg.graph .node text { fill: #1f2937; }
svg.graph .node:hover text, svg.graph .node:focus text { text-decoration: underline; fill: #1d4ed8; }
svg.graph .node circle { stroke: #fff; stroke-width: 1; }
svg.graph .node.outside circle { fill: #d1d5db; }
svg.graph.searching .node:not(.match) { opacity: 0.35; }
svg.graph .node.match circle { r: 8; stroke: #111827; stroke-width: 2; }
svg.graph .node.match text { font-weight: 700; }
.s0 circle { fill: #2563eb; } .s1 circle { fill: #dc2626; } .s2 circle { fill: #16a34a; }
.s3 circle { fill: #9333ea; } .s4 circle { fill: #ea580c; } .s5 circle { fill: #0891b2; }
.s6 circle { fill: #ca8a04; } .s7 circle { fill: #db2777; }
form.graph-tools { display: flex; flex-wrap: wrap; gap: 0.5em; align-items: center; margin: 0.8em auto 0;
  padding: 0 1.2em; max-width: 96vw; box-sizing: border-box; }
form.graph-tools select { max-width: 100%; }
form.graph-tools button.zoom { min-width: 40px; }
.reading-map li { margin: 0.4em 0; }
.reading-map .needs { color: #6b7280; font-size: 0.9em; }
/* touch: controls and navigation are at least 40 px tall (inline links inside sentences are exempt) */
nav.top a, nav.top button, form.search button, form.search input, form.graph-tools input,
form.graph-tools select, form.graph-tools button, .related li a, .prerequisites li a, .sources li a,
.reading-path li > a, .by-section li a, .a-z li a, .reading-map li > a {
  display: inline-flex; align-items: center; min-height: 40px; box-sizing: border-box; }
nav.top { display: flex; flex-wrap: wrap; align-items: center; gap: 0 1.2em; }
nav.top a { margin-right: 0; }
main { overflow-wrap: anywhere; }
@media (max-width: 600px) {
  main { padding: 0 0.8em; margin-top: 0.8em; }
  nav.top { padding: 0.2em 0.8em; }
  nav.top form.search { margin: 0; display: flex; width: 100%; gap: 0.4em; }
  form.search label { flex: 1; display: flex; gap: 0.4em; align-items: center; }
  form.search input { width: auto; flex: 1; min-width: 0; }
  .by-section, .a-z { columns: 1; }
  .graph-wrap { max-height: 70vh; }
}
@media print {
  nav.top, form.graph-tools, .hint { display: none; }
  .graph-wrap { overflow: visible; max-height: none; border: none; }
  svg.graph { width: 100%; height: auto; }
  main { max-width: none; }
}
"""
