"""Figure 5: a 500 MB document upload leaves intake's memory where it was: the bytes never pass through it.

Measured: ``prize web intake`` (gunicorn, gthread, PRIZE_WEB_WORKERS=2 × PRIZE_WEB_THREADS=4,
a fresh PostgreSQL database) with ``PRIZE_STORAGE_URL=s3://prize-documents/docs`` pointing at a
moto S3 server running as its own process (tests/support/moto.py: moto's copy of the file is
not intake's memory). The applicant's side, as the portal's browser does it:

 1. ``POST /api/applications/<id>/documents`` (kind, filename, content type, size): intake
    records a pending document and hands out a presigned POST form for the bucket;
 2. the file (``size_mb`` × 10^6 bytes, written to a temporary file in 1 MiB chunks, starting
    with PDF magic bytes) is streamed from disk straight to the bucket as multipart/form-data
    (http.client, the body produced as it is sent: the client does not hold it either);
 3. ``POST /api/documents/<id>/complete``: intake checks the object, streaming it from S3 in
    1 MiB chunks (size, magic bytes, SHA-256), and marks the document verified (whatever the
    check does inside the bucket first, such as a server-side copy, counts in its time);
 4. ``GET /api/documents/<id>/download?format=json``: a presigned link, fetched and hashed by the
    client (the bytes come from the bucket, not from intake).

Memory: VmRSS (/proc/<pid>/status) summed over the intake web process tree (gunicorn's master
and its workers), sampled every 50 ms by a thread from before step 1 to after step 4. The
baseline is the RSS once intake is warm: before the timed upload, a few small documents go
through the same four steps (each on a new connection, so that every worker has imported boto3,
made its S3 client and checked a file); the RSS is then read until it is steady. The figure is
the RSS after the big file less the RSS before (target ≤ 5 MB); the peak during the run is
printed beside it. MB here is 10^6 bytes throughout.

Baseline for the check's time: the same object read and hashed by a bare boto3 client in this
process (get_object, iter_chunks of 1 MiB, hashlib.sha256), right after intake's check.

    .venv/bin/python -m bench.upload 100     # this figure alone, 100 MB
"""
from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from .common import (ProcessGroup, RABBITMQ_URL, Row, free_port, fresh_databases, namespace, prize_command,
                           say, sqlalchemy_url)

WORKERS = 2
THREADS = 4
SAMPLE_EVERY = 0.05
WARMUP_DOCUMENTS = 10
MB = 1_000_000
WARMUP_BYTES = 4 * MB
BUCKET, PREFIX = "prize-documents", "docs"
CHUNK = 1024 * 1024
TARGET_MB = 5.0
PDF_HEAD = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n"


# --- memory of a process tree --------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    """Direct children of a process (/proc/<pid>/task/*/children; a scan of /proc without it)."""
    kids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        for tid in tasks:
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                kids += [int(p) for p in fh.read().split()]
        return kids
    except FileNotFoundError:
        pass
    except OSError:
        return kids
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return kids


def tree_rss(root_pid: int) -> dict[int, int]:
    """VmRSS in bytes of a live process and each of its live descendants, by pid."""
    rss, todo = {}, [root_pid]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        rss[pid] = int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
        todo += _children(pid)
    return rss


class RssSampler:
    """A thread reading the tree's summed RSS every SAMPLE_EVERY seconds; keeps the peak."""

    def __init__(self, root_pid: int):
        self.root_pid = root_pid
        self.peak = 0
        self.samples = 0
        self.pids: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = tree_rss(self.root_pid)
            self.pids |= set(rss)
            self.peak = max(self.peak, sum(rss.values()))
            self.samples += 1
            self._stop.wait(SAMPLE_EVERY)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def steady_rss(root_pid: int, seconds: float = 1.0) -> tuple[int, dict[int, int]]:
    """The tree's summed RSS once it stops moving: the median of reads over `seconds`."""
    reads = []
    last: dict[int, int] = {}
    end = time.monotonic() + seconds
    while True:
        last = tree_rss(root_pid)
        reads.append(sum(last.values()))
        if time.monotonic() >= end:
            break
        time.sleep(SAMPLE_EVERY)
    return int(statistics.median(reads)), last


# --- the applicant's side: a file on disk, a streamed form, intake's API --------------------------

def write_pdf(path: Path, size: int) -> str:
    """A file of `size` bytes starting with PDF magic bytes, written in 1 MiB chunks; its SHA-256."""
    digest = hashlib.sha256()
    block = os.urandom(CHUNK)
    with open(path, "wb") as fh:
        head = PDF_HEAD[:size]
        fh.write(head)
        digest.update(head)
        left, n = size - len(head), 0
        while left > 0:
            piece = block[:min(left, CHUNK)]
            piece = n.to_bytes(8, "big") + piece[8:] if len(piece) > 8 else piece  # not one block repeated
            fh.write(piece)
            digest.update(piece)
            left -= len(piece)
            n += 1
    return digest.hexdigest()


def post_form(upload: dict, path: Path, filename: str, content_type: str) -> tuple[int, bytes, float]:
    """POST the presigned form, the file last, streamed from disk: (status, answer, seconds)."""
    boundary = uuid.uuid4().hex
    head = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                    for k, v in upload["fields"].items())
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
             f"Content-Type: {content_type}\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = path.stat().st_size

    def body():
        yield head
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk
        yield tail

    url = urlsplit(upload["url"])
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=600)
    try:
        started = time.perf_counter()
        conn.request("POST", (url.path or "/") + (f"?{url.query}" if url.query else ""), body=body(), headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + size + len(tail))})
        answer = conn.getresponse()
        payload = answer.read()
        return answer.status, payload, time.perf_counter() - started
    finally:
        conn.close()


def api(port: int, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, dict, float]:
    """One call to intake's API on a new connection: (status, JSON answer, seconds)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {"Authorization": f"Bearer {token}"}
    data = b""
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    headers["Content-Length"] = str(len(data))
    try:
        started = time.perf_counter()
        conn.request(method, path, body=data, headers=headers)
        answer = conn.getresponse()
        payload = answer.read()
        took = time.perf_counter() - started
    finally:
        conn.close()
    try:
        parsed = json.loads(payload) if payload else {}
    except ValueError:
        parsed = {"raw": payload[:300].decode("utf-8", "replace")}
    return answer.status, parsed, took


def fetch(url: str) -> tuple[int, str, int, dict, float]:
    """GET a presigned link, hashing the body as it comes: (status, sha256, bytes, headers, seconds)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=600)
    digest, seen = hashlib.sha256(), 0
    try:
        started = time.perf_counter()
        conn.request("GET", f"{parts.path}?{parts.query}")
        answer = conn.getresponse()
        while chunk := answer.read(CHUNK):
            digest.update(chunk)
            seen += len(chunk)
        return answer.status, digest.hexdigest(), seen, dict(answer.getheaders()), time.perf_counter() - started
    finally:
        conn.close()


def one_document(port: int, draft: dict, path: Path, kind: str) -> dict:
    """The four steps for one file; raises on any unexpected answer. Times and intake's answers."""
    size = path.stat().st_size
    status, started, t_start = api(port, "POST", f"/api/applications/{draft['id']}/documents", draft["token"],
                                   {"kind": kind, "filename": path.name, "content_type": "application/pdf",
                                    "size": size})
    if status != 201:
        raise RuntimeError(f"starting the upload: {status} {started}")
    status, answer, t_upload = post_form(started["upload"], path, path.name, "application/pdf")
    if status not in (200, 201, 204):
        raise RuntimeError(f"the upload to the bucket: {status} {answer[:300]!r}")
    doc_id = started["document"]["id"]
    status, checked, t_check = api(port, "POST", f"/api/documents/{doc_id}/complete", draft["token"])
    if status != 200:
        raise RuntimeError(f"the check: {status} {checked}")
    status, link, t_link = api(port, "GET", f"/api/documents/{doc_id}/download?format=json", draft["token"])
    if status != 200 or "url" not in link:
        raise RuntimeError(f"the download link: {status} {link}")
    got, sha, seen, headers, t_download = fetch(link["url"])
    if got != 200:
        raise RuntimeError(f"the download: {got}")
    return {"document": doc_id, "upload_key": started["upload"]["fields"]["key"], "checked": checked,
            "downloaded_sha256": sha, "downloaded_bytes": seen,
            "disposition": headers.get("Content-Disposition", ""),
            "seconds": {"start": t_start, "upload": t_upload, "check": t_check, "link": t_link,
                        "download": t_download}}


# --- intake, moto, the draft ---------------------------------------------------------------------

def _raise_limit(url: str, call_documents: list[dict], max_bytes: int) -> None:
    """The prepared call takes files up to `max_bytes`, of the document kinds given."""
    from sqlalchemy import create_engine, update

    from services.intake.models import Call
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(update(Call).values(max_upload_bytes=max_bytes, documents=call_documents))
    finally:
        engine.dispose()


def _stored_key(client, document_id: str, size: int) -> str:
    """The bucket's object for a checked document: under its upload key, or a copy intake made."""
    found = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX + "/")
             for o in page.get("Contents", []) if document_id in o["Key"] and o["Size"] == size]
    if not found:
        raise RuntimeError(f"no object of {size} bytes for document {document_id} in the bucket")
    return found[0]


def _bare_check(client, key: str) -> tuple[str, int, float]:
    """The baseline: get_object and hash in 1 MiB chunks with a plain boto3 client."""
    started = time.perf_counter()
    body = client.get_object(Bucket=BUCKET, Key=key)["Body"]
    digest, seen = hashlib.sha256(), 0
    try:
        for chunk in body.iter_chunks(CHUNK):
            digest.update(chunk)
            seen += len(chunk)
    finally:
        body.close()
    return digest.hexdigest(), seen, time.perf_counter() - started


def measure(size_mb: int) -> dict:
    from bench.submit import SECRET, _probe, _wait_ready, open_api_sessions, prepare_drafts
    from tests.support.moto import moto_s3_process

    size = size_mb * MB
    folder = Path(tempfile.mkdtemp(prefix="prize-bench-upload-"))
    procs = ProcessGroup(folder)
    try:
        with fresh_databases(("intake",)) as urls, namespace() as ns, \
                moto_s3_process(BUCKET) as (endpoint, s3), contextlib.ExitStack() as stack:
            stack.callback(procs.stop)
            port = free_port()
            # os.environ now carries AWS_ENDPOINT_URL and moto's credentials (moto_s3_process)
            env = dict(os.environ, PRIZE_INTAKE_DATABASE_URL=urls["intake"], PRIZE_BROKER_URL=RABBITMQ_URL,
                       PRIZE_NAMESPACE=ns, PRIZE_SECRET_KEY=SECRET, PRIZE_INTAKE_PORT=str(port),
                       PRIZE_WEB_WORKERS=str(WORKERS), PRIZE_WEB_THREADS=str(THREADS),
                       PRIZE_STORAGE_URL=f"s3://{BUCKET}/{PREFIX}", PRIZE_VAR_DIR=str(folder / "var"),
                       PYTHONUNBUFFERED="1")
            done = subprocess.run(prize_command() + ["db", "upgrade", "--only", "intake"], env=env,
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError("prize db upgrade --only intake failed:\n" + done.stdout[-2000:] + done.stderr[-2000:])
            # an open call, an applicant and a draft (figure 4's helper); the call takes this file
            drafts, _ = prepare_drafts(urls["intake"], 1, ns)
            draft = drafts[0]
            kind = "proposal"
            _raise_limit(urls["intake"], [{"key": kind, "title": "Project proposal (PDF)", "required": False},
                                          {"key": "application_form", "title": "Application form (PDF)",
                                           "required": True}], size + MB)

            generated = time.perf_counter()
            big, small = folder / "proposal.pdf", folder / "warm-up.pdf"
            sha = write_pdf(big, size)
            write_pdf(small, WARMUP_BYTES)
            generated = time.perf_counter() - generated

            procs.start("intake-web", prize_command() + ["web", "intake"], env)
            _wait_ready(port, "/readyz", procs.check_alive)
            status, body = _probe(port, draft)
            if status == 401:  # intake no longer takes signed applicant tokens: open an API session
                open_api_sessions(urls["intake"], drafts)
                status, body = _probe(port, draft)
            if status != 200:
                raise RuntimeError(f"intake refused the prepared draft's token: {status} {body[:300]!r}")

            root = procs.procs["intake-web"].pid
            cold, _ = steady_rss(root, 0.5)
            for _ in range(WARMUP_DOCUMENTS):  # not counted: imports, S3 clients, buffers, arenas
                one_document(port, draft, small, kind)
            before, by_pid_before = steady_rss(root)

            with RssSampler(root) as sampler:
                result = one_document(port, draft, big, kind)
                time.sleep(0.5)  # let the workers settle: what is still held is what counts
            after, by_pid_after = steady_rss(root)
            procs.check_alive()

            stored = _stored_key(s3, result["document"], size)
            bare_sha, bare_bytes, bare_s = _bare_check(s3, stored)
            return {"size": size, "sha256": sha, "generated_s": generated, "cold": cold, "before": before,
                    "after": after, "peak": max(sampler.peak, after), "samples": sampler.samples,
                    "pids_before": by_pid_before, "pids_after": by_pid_after, "result": result,
                    "bare": {"sha256": bare_sha, "bytes": bare_bytes, "seconds": bare_s}, "endpoint": endpoint,
                    "stored": stored, "upload_key": result["upload_key"]}
    finally:
        procs.stop()
        shutil.rmtree(folder, ignore_errors=True)


def run(size_mb: int) -> list[Row]:
    say(f"\n== 5. A {size_mb} MB document upload, presigned POST straight to S3 (moto server process), then "
        f"intake's streaming check (size, magic bytes, SHA-256) and a presigned download; RSS of `prize web "
        f"intake` (gunicorn gthread {WORKERS}×{THREADS}, PostgreSQL) sampled every {SAMPLE_EVERY * 1000:.0f} ms ==")
    rows = [Row(f"5. {size_mb} MB upload: intake RSS growth", None, "MB", baseline_label="(RSS before)",
                target=f"≤ {TARGET_MB:.0f} MB"),
            Row("   peak RSS during it, over before", None, "MB"),
            Row("   upload, client → bucket", None, "MB/s"),
            Row("   check: SHA-256 streamed from S3", None, "MB/s", baseline_label="(bare boto3 read+hash)")]
    try:
        m = measure(size_mb)
    except Exception as exc:
        say(f"  FAILED: {type(exc).__name__}: {exc}")
        rows[0].met = False
        return rows
    r, size, sec = m["result"], m["size"], m["result"]["seconds"]
    checked = r["checked"]
    intact = (checked.get("status") == "verified" and checked.get("size") == size
              and checked.get("sha256") == m["sha256"] == r["downloaded_sha256"] == m["bare"]["sha256"]
              and r["downloaded_bytes"] == size == m["bare"]["bytes"])
    growth, peak = (m["after"] - m["before"]) / MB, (m["peak"] - m["before"]) / MB
    say(f"  the file: {size / MB:,.0f} MB written to disk in {m['generated_s']:.1f} s (PDF magic bytes, then 1 MiB "
        f"chunks), sent from disk as it is read; warm-up first: {WARMUP_DOCUMENTS} documents of "
        f"{WARMUP_BYTES / MB:.1f} MB through the same steps")
    per_pid = ", ".join(f"{pid} {m['pids_before'].get(pid, 0) / MB:.1f} → {rss / MB:.1f}"
                        for pid, rss in sorted(m["pids_after"].items()))
    say(f"  intake web RSS (master + {len(m['pids_after']) - 1} workers): {m['cold'] / MB:.1f} MB started, "
        f"{m['before'] / MB:.1f} MB warm (before), peak {m['peak'] / MB:.1f} MB during the upload and check "
        f"({m['samples']} samples), {m['after'] / MB:.1f} MB after: {growth:+.2f} MB; by pid (MB): {per_pid}")
    say(f"  times: upload start {sec['start'] * 1000:.0f} ms; upload {sec['upload']:.1f} s "
        f"({size / MB / sec['upload']:.0f} MB/s, moto is the far end); check {sec['check']:.1f} s "
        f"({size / MB / sec['check']:.0f} MB/s) vs a bare boto3 read+hash {m['bare']['seconds']:.1f} s; "
        f"download link {sec['link'] * 1000:.0f} ms; download {sec['download']:.1f} s "
        f"({size / MB / sec['download']:.0f} MB/s)")
    if m["stored"] != m["upload_key"]:
        where = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", m["stored"])
        where = where.rsplit("/", 1)[0]
        say(f"  the check works on a server-side copy (CopyObject, inside moto), kept at {where}/…: its time "
            f"includes that copy, the bare read+hash does not")
    say(f"  integrity: intake says {checked.get('status')}, {checked.get('size'):,} bytes, sha256 "
        f"{str(checked.get('sha256'))[:16]}…; written {m['sha256'][:16]}…, downloaded {r['downloaded_sha256'][:16]}… "
        f"({r['downloaded_bytes']:,} bytes, {r['disposition'] or 'no Content-Disposition'}); "
        + ("OK" if intact else "NOT OK"))
    rows[0].value, rows[0].baseline = growth, m["before"] / MB
    rows[0].met = bool(intact and growth <= TARGET_MB)
    rows[1].value = peak
    rows[2].value = size / MB / sec["upload"]
    rows[3].value, rows[3].baseline = size / MB / sec["check"], size / MB / m["bare"]["seconds"]
    if not intact:
        rows[0].notes.append("integrity check failed")
    return rows


if __name__ == "__main__":
    from .common import print_table, quiet_logs
    quiet_logs()
    print_table(run(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
