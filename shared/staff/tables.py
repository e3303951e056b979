"""The staff tables every service has (intake's are the originals, review's and notify's copies
kept by the staff events), and intake's one-time sign-in links for staff."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Boolean, Column, ForeignKey, Integer, MetaData, String, Table

from ..db import UTCDateTime
from ..signin.tables import SignInTables


@dataclass(frozen=True)
class StaffTables:
    members: Table
    sessions: Table
    tokens: Table
    handoffs: Table
    links: Table | None = None  # intake's only: staff sign in there

    def signin_tables(self) -> SignInTables:
        """The links in the shape shared.signin.links works with (rate limits, spending)."""
        if self.links is None:
            raise RuntimeError("only intake keeps staff sign-in links")
        return SignInTables(links=self.links, sessions=self.sessions, subject_column="staff_id")


def define_staff_tables(metadata: MetaData, *, with_links: bool = False) -> StaffTables:
    members = Table(
        "staff_members", metadata,
        Column("id", String(36), primary_key=True),
        Column("email", String(320), nullable=False, unique=True),
        Column("name", String(200), nullable=False),
        Column("language", String(8), nullable=False, default="en"),
        Column("role", String(20), nullable=False),
        Column("active", Boolean, nullable=False, default=True),
        # counts the changes, so a copy never goes back to an older state delivered late
        Column("version", Integer, nullable=False, default=1),
        Column("created_at", UTCDateTime, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
        Column("changed_by", String(300), nullable=False, default=""),
    )
    sessions = Table(
        "staff_sessions", metadata,
        Column("id_hash", String(64), primary_key=True),
        # a member's id, or "operator:<name>" for a page opened with an operator's signed token
        Column("staff_id", String(100), index=True, nullable=False),
        # the sign-in this session came from: signing out ends the whole family, on every service
        Column("family", String(36), index=True, nullable=False),
        Column("csrf_token", String(64), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("expires_at", UTCDateTime, nullable=False),
        Column("last_seen_at", UTCDateTime, nullable=False),
        Column("revoked_at", UTCDateTime, nullable=True),
    )
    tokens = Table(
        "staff_tokens", metadata,
        Column("id", String(36), primary_key=True),
        Column("staff_id", String(36), index=True, nullable=False),
        Column("name", String(100), nullable=False),
        Column("token_hash", String(64), nullable=False, unique=True),
        Column("created_at", UTCDateTime, nullable=False),
        Column("expires_at", UTCDateTime, nullable=False),
        Column("revoked_at", UTCDateTime, nullable=True),
        Column("last_used_at", UTCDateTime, nullable=True),
    )
    handoffs = Table(
        "staff_handoffs_used", metadata,
        Column("nonce", String(64), primary_key=True),
        Column("expires_at", UTCDateTime, index=True, nullable=False),
    )
    links = None
    if with_links:
        links = Table(
            "staff_signin_links", metadata,
            Column("token_hash", String(64), primary_key=True),
            Column("staff_id", String(36), ForeignKey("staff_members.id"), index=True, nullable=True),
            Column("email", String(320), index=True, nullable=False),
            Column("client", String(100), index=True, nullable=False),
            Column("purpose", String(20), nullable=False, default="browser"),
            Column("created_at", UTCDateTime, index=True, nullable=False),
            Column("expires_at", UTCDateTime, nullable=False),
            Column("used_at", UTCDateTime, nullable=True),
        )
    return StaffTables(members=members, sessions=sessions, tokens=tokens, handoffs=handoffs, links=links)
