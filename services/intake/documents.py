"""Documents of an application: uploaded straight to object storage, checked by intake.

(Being built: presigned uploads, the check after upload, presigned downloads.)
"""
from __future__ import annotations


def missing_documents(session, application, call) -> list[str]:
    """Keys of the call's required documents that this application has no verified file for."""
    return []


blueprints: list = []
