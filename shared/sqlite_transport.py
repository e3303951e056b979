"""A kombu transport on one SQLite file: the embedded broker, shared by every process.

Why our own: kombu's SQLAlchemy transport, measured here on SQLite, moves about 200
messages/s (a synchronous commit per get with rollback journal, delivered rows kept forever),
and its virtual QoS forgets unacknowledged messages when a process is killed. This one keeps
the file in WAL mode and gives each fetched message a visibility timeout, like SQS: a message
is deleted only when it is acknowledged, and a consumer that dies lets it reappear. So the
embedded default delivers at least once, as RabbitMQ does; the inbox makes that exactly-once
in effect.

URL: ``sqlite:////absolute/path/broker.sqlite``. Transport options: ``polling_interval``
(seconds, default 0.02), ``visibility_timeout`` (seconds, default 300).
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from queue import Empty

from kombu.transport import TRANSPORT_ALIASES, virtual
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_random

SCHEMA = """
CREATE TABLE IF NOT EXISTS kombu_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    payload TEXT NOT NULL,
    visible_at REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ix_kombu_messages_queue ON kombu_messages (queue, id);
CREATE TABLE IF NOT EXISTS kombu_queues (name TEXT PRIMARY KEY);
"""

ROW_ID = "sqlite_row_id"


@retry(retry=retry_if_exception_type(sqlite3.OperationalError), stop=stop_after_delay(30),
       wait=wait_random(0.01, 0.2), reraise=True)
def _wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL. Two processes creating the file at the same moment both need the exclusive
    lock this takes, and SQLite answers "database is locked" at once instead of waiting."""
    conn.execute("PRAGMA journal_mode=WAL")


def _connect(path: str) -> sqlite3.Connection:
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    _wal(conn)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.executescript(SCHEMA)
    return conn


class QoS(virtual.QoS):
    """Acknowledgement deletes the row; anything unacknowledged becomes visible again."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._rows: dict[str, int] = {}

    def append(self, message, delivery_tag):
        row = message.delivery_info.get(ROW_ID)
        if row is not None:
            self._rows[delivery_tag] = row
        super().append(message, delivery_tag)

    def ack(self, delivery_tag):
        row = self._rows.pop(delivery_tag, None)
        if row is not None:
            self.channel._delete_row(row)
        super().ack(delivery_tag)

    def reject(self, delivery_tag, requeue=False):
        row = self._rows.pop(delivery_tag, None)
        if row is not None:
            if requeue:
                self.channel._release_rows([row])
            else:
                self.channel._delete_row(row)
        self._quick_ack(delivery_tag)

    def restore_unacked(self):
        self._flush()
        rows = [self._rows.pop(tag) for tag in list(self._delivered) if tag in self._rows]
        self._delivered.clear()
        if rows:
            self.channel._release_rows(rows)
        return []

    def restore_visible(self, *args, **kwargs):
        """Visibility is a timestamp in the row: nothing to sweep."""


class Channel(virtual.Channel):
    QoS = QoS
    default_visibility_timeout = 300.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._db = _connect(self._path())

    def _path(self) -> str:
        vhost = self.connection.client.virtual_host or "broker.sqlite"
        return vhost if os.path.isabs(vhost) else os.path.abspath(vhost)

    @property
    def visibility_timeout(self) -> float:
        opts = self.connection.client.transport_options
        return float(opts.get("visibility_timeout", self.default_visibility_timeout))

    def _execute(self, sql, params=()):
        with self._lock:
            return self._db.execute(sql, params)

    def _new_queue(self, queue, **kwargs):
        self._execute("INSERT OR IGNORE INTO kombu_queues (name) VALUES (?)", (queue,))

    def _has_queue(self, queue, **kwargs):
        return self._execute("SELECT 1 FROM kombu_queues WHERE name = ?", (queue,)).fetchone() is not None

    def _put(self, queue, message, **kwargs):
        message.get("properties", {}).get("delivery_info", {}).pop(ROW_ID, None)
        self._execute("INSERT INTO kombu_messages (queue, payload) VALUES (?, ?)",
                      (queue, json.dumps(message)))

    def _get(self, queue, timeout=None):
        now = time.time()
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT id, payload FROM kombu_messages WHERE queue = ? AND visible_at <= ? "
                    "ORDER BY id LIMIT 1", (queue, now)).fetchone()
                if row is None:
                    db.execute("COMMIT")
                    raise Empty()
                db.execute("UPDATE kombu_messages SET visible_at = ? WHERE id = ?",
                           (now + self.visibility_timeout, row[0]))
                db.execute("COMMIT")
            except Empty:
                raise
            except BaseException:
                db.execute("ROLLBACK")
                raise
        payload = json.loads(row[1])
        payload.setdefault("properties", {}).setdefault("delivery_info", {})[ROW_ID] = row[0]
        return payload

    def _delete_row(self, row_id: int) -> None:
        self._execute("DELETE FROM kombu_messages WHERE id = ?", (row_id,))

    def _release_rows(self, rows) -> None:
        with self._lock:
            self._db.executemany("UPDATE kombu_messages SET visible_at = 0 WHERE id = ?",
                                 [(r,) for r in rows])

    def _size(self, queue):
        return self._execute("SELECT count(*) FROM kombu_messages WHERE queue = ?", (queue,)).fetchone()[0]

    def _purge(self, queue):
        with self._lock:
            size = self._db.execute("SELECT count(*) FROM kombu_messages WHERE queue = ?", (queue,)).fetchone()[0]
            self._db.execute("DELETE FROM kombu_messages WHERE queue = ?", (queue,))
        return size

    def _delete(self, queue, *args, **kwargs):
        self._purge(queue)
        self._execute("DELETE FROM kombu_queues WHERE name = ?", (queue,))

    def close(self):
        super().close()  # restores unacknowledged messages through QoS first
        try:
            self._db.close()
        except sqlite3.Error:
            pass


class Transport(virtual.Transport):
    Channel = Channel
    polling_interval = 0.02
    default_port = 0
    driver_type = "sqlite"
    driver_name = "sqlite3"
    implements = virtual.Transport.implements.extend(asynchronous=False, exchange_type=frozenset(["direct", "topic", "fanout"]))

    def driver_version(self):
        return sqlite3.sqlite_version


def register() -> None:
    TRANSPORT_ALIASES.setdefault("sqlite", "shared.sqlite_transport:Transport")


register()
