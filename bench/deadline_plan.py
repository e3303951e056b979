"""Figure 9's plan, without locust (importing locust gevent-patches the interpreter): each
applicant's moments through the compressed deadline hour, its growing answers, its files."""
from __future__ import annotations

import random

WORDS = ("adaptive signals school routes safer streets sensors open data citizens mobility pilot "
         "district partners evaluation budget residents platform 서울 São Paulo Beyoğlu").split()


def pdf(size: int, seed: int) -> bytes:
    """A file intake's check takes as a PDF (it reads the first bytes), padded to ``size``."""
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n"
    tail = b"trailer\n%%EOF\n"
    filler = (f"% deadline bench {seed} " * 64).encode()
    body = (filler * (size // len(filler) + 1))[:max(0, size - len(head) - len(tail))]
    return head + body + tail


def schedule(plan: dict, index: int) -> list[tuple[float, str]]:
    """An applicant's moments (seconds after start_at, what): autosaves, two uploads, the submit."""
    rng = random.Random(f"{plan['seed']}:{index}")
    hour, window, every = plan["hour_s"], plan["submit_window_s"], plan["autosave_s"]
    before = hour - window  # the documents are in before the last stretch
    count = len(plan["applicants"])
    # the submissions spread evenly over the window, in a shuffled order of applicants
    order = random.Random(plan["seed"]).sample(range(count), count)
    submit_at = before + window * (order.index(index) + 0.5) / count
    moments = [(rng.uniform(0.02, 0.45) * before, "upload:0"), (rng.uniform(0.45, 0.9) * before, "upload:1")]
    t = rng.uniform(0, every)
    while t < submit_at - 0.05:
        moments.append((t, "autosave"))
        t += every
    moments.append((submit_at, "submit"))
    return sorted(moments)


def answers(criteria: list[dict], progress: float, seed: int) -> dict:
    """Every criterion answered, the text growing with the hour (within each word limit)."""
    out = {}
    for n, c in enumerate(criteria):
        words = max(3, int(min(c["word_limit"] // 2, 120) * min(1.0, progress)))
        out[c["key"]] = " ".join(WORDS[(seed + n + i) % len(WORDS)] for i in range(words))
    return out
