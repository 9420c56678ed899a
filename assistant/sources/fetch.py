"""Download a source politely and safely, then extract and store its text.

Polite: robots.txt is read once per host (protego) and honoured, with its crawl delay; one
request per host every `min_interval_s`; our own User-Agent. Safe: http(s) only on every hop,
redirects followed by hand (each hop checked for scheme and robots, at most `max_redirects`),
connect/read timeouts plus a wall-clock cap per download, the content type checked before the
body is read, the body streamed and aborted at `max_bytes` (httpx decodes gzip first, so a
gzip bomb stops at the cap too), no script ever run. An arXiv abstract page leads to its HTML
full text, with the PDF as the fallback. A record is stored only once the text is extracted,
atomically; a failure stores nothing. The compromise: sources are fetched one at a time.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal
from urllib.parse import urljoin, urlsplit

import httpx

from assistant.errors import DataError
from assistant.settings import SourcesSettings
from assistant.sources.extract import ACCEPTED_TYPES, ExtractionError, extract, media_type
from assistant.sources.library import FetchedText, read_record, text_digest, write_record
from assistant.types import Source

if TYPE_CHECKING:
    from protego import Protego

Status = Literal["fetched", "skipped", "failed"]
_ARXIV = re.compile(r"^/(?:abs|pdf|html)/([^/?#]+?)(?:\.pdf)?/?$")
_ROBOTS_CAP = 512_000


class Refused(Exception):
    """One download that did not happen; `status` says whether it was skipped or failed."""

    def __init__(self, status: Status, reason: str) -> None:
        super().__init__(reason)
        self.status: Status = status
        self.reason = reason


@dataclass(frozen=True)
class Download:
    url: str
    final_url: str
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    """What happened to one source: fetched, skipped (and why) or failed (and why)."""

    source_id: str
    status: Status
    reason: str
    url: str


def candidates(url: str) -> list[str]:
    """The urls to try for a source, best first: an arXiv paper's HTML version, then its PDF.

    >>> candidates("https://arxiv.org/abs/2211.00593")
    ['https://arxiv.org/html/2211.00593', 'https://arxiv.org/pdf/2211.00593']
    """
    parts = urlsplit(url)
    m = _ARXIV.match(parts.path)
    if parts.hostname in ("arxiv.org", "www.arxiv.org", "export.arxiv.org") and m:
        return [f"https://arxiv.org/html/{m.group(1)}", f"https://arxiv.org/pdf/{m.group(1)}"]
    return [url]


class PoliteClient:
    """GET with robots.txt, a per-host rate limit, checked redirects, timeouts and a size cap."""

    def __init__(self, settings: SourcesSettings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.s = settings
        self._sleep = sleep
        self._last: dict[str, float] = {}
        self._robots: dict[str, Protego | Literal["deny"] | None] = {}
        self._down: dict[str, str] = {}  # host -> why it could not be reached: not retried in this run
        timeout = httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s)
        self._http = httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": settings.user_agent})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait_turn(self, host: str, delay: float) -> None:
        last = self._last.get(host)
        if last is not None:
            wait = last + delay - time.monotonic()
            if wait > 0:
                self._sleep(wait)
        self._last[host] = time.monotonic()

    def _robots_for(self, url: str) -> Protego | Literal["deny"] | None:
        from protego import Protego

        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if parts.netloc in self._down:
            raise Refused("failed", self._down[parts.netloc])
        if origin not in self._robots:
            self._wait_turn(parts.netloc, self.s.min_interval_s)
            try:
                resp = self._http.get(origin + "/robots.txt", follow_redirects=True)
            except httpx.HTTPError as exc:
                why = "timed out" if isinstance(exc, httpx.TimeoutException) else f"{type(exc).__name__}: {exc}"
                self._down[parts.netloc] = f"cannot reach {parts.netloc} ({why}); offline? run the command again later"
                raise Refused("failed", self._down[parts.netloc]) from None
            if resp.status_code == 200:
                self._robots[origin] = Protego.parse(resp.content[:_ROBOTS_CAP].decode("utf-8", "replace"))
            elif resp.status_code >= 500:  # RFC 9309: an unreachable robots.txt means disallow all
                self._robots[origin] = "deny"
            else:  # 4xx: no robots.txt, everything allowed
                self._robots[origin] = None
        return self._robots[origin]

    def _check_robots(self, url: str) -> float:
        """Raise Refused when robots.txt disallows `url`; return the host's delay."""
        robots = self._robots_for(url)
        if robots == "deny":
            raise Refused("skipped", f"robots.txt of {urlsplit(url).netloc} is unavailable (5xx): treated as disallow")
        if robots is None:
            return self.s.min_interval_s
        if not robots.can_fetch(url, self.s.user_agent):
            raise Refused("skipped", f"robots.txt disallows {url}")
        delay = robots.crawl_delay(self.s.user_agent)
        return max(self.s.min_interval_s, float(delay or 0))

    def get(self, url: str) -> Download:
        """Download `url` under every rule above.

        Raises:
            Refused: scheme, robots, redirects, status, type, size or time broke a rule.
        """
        deadline = time.monotonic() + self.s.total_timeout_s
        current = url
        for _hop in range(self.s.max_redirects + 1):
            if urlsplit(current).scheme not in ("http", "https"):
                raise Refused("skipped", f"{current} is not http(s)")
            delay = self._check_robots(current)
            self._wait_turn(urlsplit(current).netloc, delay)
            try:
                with self._http.stream("GET", current) as resp:
                    if resp.is_redirect and "location" in resp.headers:
                        current = urljoin(current, resp.headers["location"])
                        continue
                    return self._read(url, current, resp, deadline)
            except httpx.TimeoutException:
                raise Refused("failed", f"timed out downloading {current}") from None
            except httpx.HTTPError as exc:
                raise Refused("failed", f"cannot download {current} ({type(exc).__name__}: {exc})") from None
        raise Refused("failed", f"more than {self.s.max_redirects} redirects from {url}")

    def _read(self, url: str, current: str, resp: httpx.Response, deadline: float) -> Download:
        if resp.status_code != 200:
            raise Refused("failed", f"HTTP {resp.status_code} from {current}")
        ctype = resp.headers.get("content-type", "")
        if media_type(ctype) not in ACCEPTED_TYPES:
            raise Refused("skipped", f"content type {media_type(ctype) or '(none)'} is not text, HTML or PDF")
        cap = self.s.max_bytes
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise Refused("failed", f"{current} is {int(declared):,} bytes, over the {cap:,}-byte cap")
        parts, size = [], 0
        for piece in resp.iter_bytes():
            size += len(piece)
            if size > cap:
                raise Refused("failed", f"{current} is over the {cap:,}-byte cap (aborted)")
            if time.monotonic() > deadline:
                raise Refused("failed", f"downloading {current} took over {self.s.total_timeout_s:g} s")
            parts.append(piece)
        return Download(url, str(resp.url), ctype, b"".join(parts))


def fetch_source(source: Source, client: PoliteClient, settings: SourcesSettings) -> FetchedText:
    """Download and extract one source, trying its candidate urls in order.

    Raises:
        Refused: every candidate was refused; the reason is the last one's (and the first's).
    """
    reasons: list[Refused] = []
    for url in candidates(source.url):
        try:
            got = client.get(url)
            text, extractor = extract(got.body, got.content_type, got.final_url)
        except Refused as exc:
            reasons.append(exc)
            continue
        except ExtractionError as exc:
            reasons.append(Refused("skipped", exc.problem))
            continue
        if len(text) < settings.min_chars:
            reasons.append(Refused("skipped", f"only {len(text)} characters of main text found at {url}"))
            continue
        return FetchedText(
            source_id=source.id,
            url=source.url,
            fetched_url=url,
            final_url=got.final_url,
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
            content_type=got.content_type,
            sha256=hashlib.sha256(got.body).hexdigest(),
            n_bytes=len(got.body),
            extractor=extractor,
            text_sha256=text_digest(text),
            text=text,
        )
    last = reasons[-1]
    if len(reasons) > 1:
        raise Refused(last.status, f"{last.reason} (after: {reasons[0].reason})")
    raise last


def fetch_all(
    sources: Iterable[Source],
    store,
    settings: SourcesSettings,
    *,
    refresh: bool = False,
    on_done: Callable[[Outcome], None] | None = None,
    client: PoliteClient | None = None,
) -> list[Outcome]:
    """Fetch `sources` into `store`; keep what is already there unless `refresh` (resume)."""
    outcomes: list[Outcome] = []
    own = client is None
    client = client or PoliteClient(settings)
    try:
        for source in sources:
            outcome = _one(source, store, settings, refresh, client)
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)
    finally:
        if own:
            client.close()
    return outcomes


def _one(source: Source, store, settings: SourcesSettings, refresh: bool, client: PoliteClient) -> Outcome:
    if not refresh:
        try:
            kept = read_record(store, source.id)
        except DataError:
            kept = None  # a damaged record is fetched again
        if kept is not None and kept.url == source.url:
            return Outcome(source.id, "skipped", "already fetched (use --refresh to fetch again)", source.url)
    try:
        record = fetch_source(source, client, settings)
    except Refused as exc:
        return Outcome(source.id, exc.status, exc.reason, source.url)
    write_record(store, record)
    return Outcome(source.id, "fetched", f"{len(record.text):,} characters from {record.final_url}", source.url)
