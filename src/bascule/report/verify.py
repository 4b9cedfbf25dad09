"""Verification reports as text (terminals, CI logs) and Markdown (pull requests, review)."""

from __future__ import annotations

_MARK = {"pass": "✔", "fail": "✘", "warn": "!", "skip": "-"}


def _summary(report) -> str:
    c = report.counts()
    verdict = "PASSED" if report.passed else "FAILED"
    return (f"verification of {report.label}: {verdict} ({c['pass']} passed, {c['fail']} failed, "
            f"{c['warn']} warnings, {c['skip']} skipped, {report.duration_ms / 1000:.2f} s)")


def render_text(report, verbose: bool = False) -> str:
    lines = [_summary(report)]
    order = {"fail": 0, "warn": 1, "skip": 2, "pass": 3}
    for r in sorted(report.results, key=lambda r: order[r.status]):
        if r.status == "pass" and not verbose:
            continue
        lines.append(f"  {_MARK[r.status]} {r.status:<4} {r.check:<11} {r.message}")
        sample = r.figures.get("sample")
        if sample and r.status in ("fail", "warn"):
            lines.append(f"        sample: {sample}")
    if not verbose and any(r.status == "pass" for r in report.results):
        lines.append(f"  ✔ {report.counts()['pass']} check(s) passed (--verbose lists them)")
    return "\n".join(lines)


def render_markdown(report) -> str:
    lines = [f"### {_summary(report)}", "", "| | check | what | result |", "|---|---|---|---|"]
    for r in report.results:
        msg = r.message.replace("|", "\\|")
        name = r.name.replace("|", "\\|")
        lines.append(f"| {_MARK[r.status]} {r.status} | {r.check} | {name} | {msg} |")
    return "\n".join(lines)
