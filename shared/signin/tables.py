"""Sign-in's two tables, added to a service's metadata (see docs/signin.md)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, ForeignKey, MetaData, String, Table

from ..db import UTCDateTime

@dataclass(frozen=True)
class SignInTables:
    """A service's two sign-in tables and the name of the column naming their subject."""
    links: Table
    sessions: Table
    subject_column: str

    def link_subject(self):
        return self.links.c[self.subject_column]

    def session_subject(self):
        return self.sessions.c[self.subject_column]


def define_signin_tables(metadata: MetaData, subject_column: str = "applicant_id",
                         subject_table: str = "applicants", *, links_name: str = "signin_links",
                         sessions_name: str = "sessions") -> SignInTables:
    """Add the one-time links and the sessions tables to ``metadata``.

    ``subject_column`` references ``<subject_table>.id`` (a 36-character id). A request for an
    address nobody has is kept too (subject NULL, a hash nobody holds the token of), so the
    rate limits count it and the answer cannot tell who is registered.
    """
    links = Table(
        links_name, metadata,
        Column("token_hash", String(64), primary_key=True),
        Column(subject_column, String(36), ForeignKey(f"{subject_table}.id"), index=True, nullable=True),
        Column("email", String(320), index=True, nullable=False),
        Column("client", String(100), index=True, nullable=False),
        Column("purpose", String(20), nullable=False, default="browser"),  # browser | api
        Column("created_at", UTCDateTime, index=True, nullable=False),
        Column("expires_at", UTCDateTime, nullable=False),
        Column("used_at", UTCDateTime, nullable=True),
    )
    sessions = Table(
        sessions_name, metadata,
        Column("id_hash", String(64), primary_key=True),
        Column(subject_column, String(36), ForeignKey(f"{subject_table}.id"), index=True, nullable=False),
        Column("kind", String(20), nullable=False, default="browser"),  # browser | api
        Column("csrf_token", String(64), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("expires_at", UTCDateTime, nullable=False),
        Column("last_seen_at", UTCDateTime, nullable=False),
        Column("revoked_at", UTCDateTime, nullable=True),
    )
    return SignInTables(links=links, sessions=sessions, subject_column=subject_column)

