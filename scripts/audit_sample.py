"""The answer audit (evals/AUDIT.md): build a blind packet for a reviewer, then summarise the verdicts.

    python scripts/audit_sample.py packet A.json [B.json] --out evals/reports/audit/DATE
    python scripts/audit_sample.py summary evals/reports/audit/DATE

`packet` takes one `mi-glossary eval reference` report, or two of the same questions (e.g.
quoted and generated answers), keeps the questions all answered, and writes `packet.md`: per
question its kind, the question and the answers under the labels A (and B, in a random order
per question, seeded). `key.json` (which label is which mode, or which file when both reports
have one mode) is written
beside it for `summary`, and is not for the reviewer. The reviewer writes `judgments.jsonl`, one
line per (question, label): {"id", "label", "false_claim": bool, "quote", "truth",
"answers": "yes|partly|no", "right_concept": bool}. `summary` joins verdicts and key into
`summary.json` and `summary.md`: per mode and kind, the share of answers with a false claim, that
answer the question (yes), and that are about the right concept, with Wilson 95% intervals.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from collections import defaultdict
from pathlib import Path


def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return (0.0, 0.0)
    z, p = 1.96, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def load(path: Path) -> tuple[str, dict[str, dict]]:
    report = json.loads(path.read_text())
    return report["mode"], {r["id"]: r for r in report["records"]}


def packet(reports: list[Path], out: Path, seed: int) -> None:
    loaded = [load(p) for p in reports]
    if len({mode for mode, _ in loaded}) < len(loaded):  # two runs of one mode (before / after): name them by file
        loaded = [(f"{mode} ({path.stem})", recs) for (mode, recs), path in zip(loaded, reports, strict=True)]
    ids = sorted(set.intersection(*(set(recs) for _, recs in loaded)))
    rng = random.Random(seed)  # noqa: S311 - a shuffle for blinding, not a secret
    key, lines = {}, ["# Audit packet", "", "Judge each answer against the glossary only (corpus/entries).", ""]
    labels = "AB"[: len(loaded)]
    for qid in ids:
        pair = [(mode, recs[qid]) for mode, recs in loaded]
        rng.shuffle(pair)
        key[qid] = {label: mode for label, (mode, _) in zip(labels, pair, strict=True)}
        lines += [f"## {qid} ({pair[0][1]['kind']})", "", f"**Question:** {pair[0][1]['question']}", ""]
        for label, (_, rec) in zip(labels, pair, strict=True):
            answer = rec["answer"].replace("\n", " ")
            lines += [f"**Answer {label}** (covered: {rec['covered']}):", "", f"> {answer}", ""]
    out.mkdir(parents=True, exist_ok=True)
    (out / "packet.md").write_text("\n".join(lines) + "\n")
    (out / "key.json").write_text(json.dumps(key, indent=1) + "\n")
    kinds = {qid: loaded[0][1][qid]["kind"] for qid in ids}
    (out / "kinds.json").write_text(json.dumps(kinds, indent=1) + "\n")
    print(f"{len(ids)} questions -> {out / 'packet.md'}")


def summary(folder: Path) -> None:
    key = json.loads((folder / "key.json").read_text())
    kinds = json.loads((folder / "kinds.json").read_text())
    stats: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for line in (folder / "judgments.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        v = json.loads(line)
        mode = key[v["id"]][v["label"]]
        for kind in {kinds[v["id"]], "all_in_scope" if kinds[v["id"]] != "out_of_scope" else "out_of_scope"}:
            stats[(mode, kind)].append(v)
    rows: dict[str, dict[str, int]] = {}
    table = ["| mode | kind | n | false claim | answers the question | right concept |", "|---|---|---|---|---|---|"]
    for (mode, kind), vs in sorted(stats.items()):
        n = len(vs)
        false = sum(bool(v["false_claim"]) for v in vs)
        answers = sum(v["answers"] == "yes" for v in vs)
        right = sum(bool(v["right_concept"]) for v in vs)
        rows[f"{mode}/{kind}"] = {"n": n, "false_claim": false, "answers_yes": answers, "right_concept": right}

        def cell(k: int, n: int = n) -> str:
            lo, hi = wilson(k, n)
            return f"{k}/{n} ({k / n:.2f}; {lo:.2f}-{hi:.2f})"

        table.append(f"| {mode} | {kind} | {n} | {cell(false)} | {cell(answers)} | {cell(right)} |")
    (folder / "summary.json").write_text(json.dumps(rows, indent=1) + "\n")
    head = "# Audit summary\n\nShares with Wilson 95% intervals in brackets.\n\n"
    (folder / "summary.md").write_text(head + "\n".join(table) + "\n")
    print("\n".join(table))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("packet")
    p.add_argument("reports", type=Path, nargs="+", help="one report (a single answer per question) or two (A/B)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=13)
    s = sub.add_parser("summary")
    s.add_argument("folder", type=Path)
    args = ap.parse_args()
    if args.cmd == "packet":
        if len(args.reports) > 2:
            ap.error("packet takes one or two reports")
        packet(args.reports, args.out, args.seed)
    else:
        summary(args.folder)


if __name__ == "__main__":
    main()
