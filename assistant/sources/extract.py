"""Main text out of downloaded bytes: HTML with trafilatura, PDF with pypdf; headings kept.

HTML is parsed by lxml (no script ever runs), stripped of what a reader never sees (scripts,
styles, `hidden`, `aria-hidden`, `display:none`, comments, frames) and handed to trafilatura,
whose Markdown output keeps the article's headings and drops navigation, footers and ads.
Every heading becomes a `## ` line, the level the chunker splits on. PDFs carry no structure
that survives reliably, so a line that looks like a numbered section title ("3.2 Name mover
heads") becomes a heading; the compromise is that unnumbered headings stay body text.
The result is untrusted text with control and invisible characters removed.
"""

from __future__ import annotations

import io
import re
from importlib import metadata

from assistant.errors import DataError
from assistant.textnorm import clean_text

HTML_TYPES = ("text/html", "application/xhtml+xml")
PDF_TYPES = ("application/pdf", "application/x-pdf")
TEXT_TYPES = ("text/plain", "text/markdown")
ACCEPTED_TYPES = HTML_TYPES + PDF_TYPES + TEXT_TYPES
MAX_PDF_PAGES = 400
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_PDF_HEADING = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2}){0,3}\.?|[A-H](?:\.\d{1,2}){0,2})\s+[A-Z][^.!?]{2,80}$")
_PDF_NAMED = re.compile(
    r"^(Abstract|Introduction|Conclusions?|Discussion|Related Work|References|Acknowledg(e)?ments)$"
)
_BLANKS = re.compile(r"\n{3,}")


class ExtractionError(DataError):
    """The bytes could not be turned into text (broken PDF, no main text, unknown type)."""


def _version(dist: str) -> str:
    try:
        return f"{dist} {metadata.version(dist)}"
    except metadata.PackageNotFoundError:
        return dist


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _visible_tree(data: bytes):
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.fromstring(data)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"the HTML cannot be parsed ({exc})", "skip this source") from None
    drop = root.xpath(
        "//script | //style | //noscript | //template | //iframe | //frame | //object | //embed"
        " | //*[@hidden] | //*[@aria-hidden='true'] | //comment()"
        # boilerplate trafilatura's fallback keeps on short pages: navigation, banners, footers
        " | //nav | //footer | //aside | //header[not(ancestor::article)]"
        " | //*[@role='navigation'] | //*[@role='banner'] | //*[@role='contentinfo']"
    )
    drop += [el for el in root.iter() if isinstance(el.tag, str) and _HIDDEN_STYLE.search(el.get("style") or "")]
    for el in drop:
        if el.getparent() is not None:
            el.drop_tree()  # keeps the text that follows the element
    return root


def _headings_to_level_two(markdown: str) -> str:
    lines = []
    for line in markdown.splitlines():
        m = _MD_HEADING.match(line)
        if m:
            title = m.group(1).strip().strip("*_").strip()
            lines += ["", f"## {title}", ""] if title else []
        else:
            lines.append(line)
    return "\n".join(lines)


def extract_html(data: bytes, url: str = "") -> str:
    """Main text of an HTML page as Markdown with `## ` headings ('' when none is found)."""
    import trafilatura

    tree = _visible_tree(data)
    text = trafilatura.extract(
        tree,
        url=url or None,
        output_format="markdown",
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        favor_recall=True,
        deduplicate=False,
        with_metadata=False,
    )
    return _tidy(_headings_to_level_two(text or ""))


def extract_pdf(data: bytes) -> str:
    """Text of a PDF, page by page; numbered section titles become `## ` headings."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError("the PDF is encrypted", "skip this source")
        pages = [page.extract_text() or "" for page in reader.pages[:MAX_PDF_PAGES]]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ExtractionError(f"the PDF cannot be read ({type(exc).__name__}: {exc})", "skip this source") from None
    out: list[str] = []
    for page in pages:
        para: list[str] = []
        for raw in page.splitlines():
            line = raw.strip()
            if not line:
                if para:
                    out.append(" ".join(para))
                    para = []
                continue
            if _PDF_HEADING.match(line) or _PDF_NAMED.match(line):
                if para:
                    out.append(" ".join(para))
                    para = []
                out.append(f"## {line}")
                continue
            if para and para[-1].endswith("-") and line[:1].islower():
                para[-1] = para[-1][:-1] + line  # a word hyphenated across lines
            else:
                para.append(line)
        if para:
            out.append(" ".join(para))
    return _tidy("\n\n".join(out))


def _tidy(text: str) -> str:
    text = clean_text(text).replace("\r\n", "\n")
    return _BLANKS.sub("\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip()


def extract(data: bytes, content_type: str, url: str = "") -> tuple[str, str]:
    """(text, extractor) for `data` of `content_type`.

    Raises:
        ExtractionError: an unsupported type or unreadable bytes.
    """
    kind = media_type(content_type)
    if kind in HTML_TYPES:
        return extract_html(data, url), _version("trafilatura")
    if kind in PDF_TYPES:
        return extract_pdf(data), _version("pypdf")
    if kind in TEXT_TYPES:
        return _tidy(data.decode("utf-8", "replace")), "plain text"
    raise ExtractionError(f"content type {kind or '(none)'} is not text", "skip this source")
