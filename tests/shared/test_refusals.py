"""shared.refusals.Refused is mapped once, by the shared web layer, to the API's JSON error."""
from __future__ import annotations

from shared.config import load_settings
from shared.db import Database
from shared.refusals import Refused
from shared.web import create_service_app
from tests.conftest import embedded_env


def test_a_refusal_raised_in_a_view_is_the_json_error_it_names(tmp_path):
    settings = load_settings(embedded_env(tmp_path / "var"))
    app = create_service_app("intake", settings, Database(settings.database_url("intake"), "intake"),
                             title="t", test_config={"TESTING": True})

    @app.get("/api/refuse/<int:status>")
    def refuse(status):
        raise Refused(status, "the call is closed", errors={"year": ["taken"]} if status == 422 else None,
                      closes_at="2026-07-14T09:00:00Z")

    client = app.test_client()
    r = client.get("/api/refuse/409")
    assert r.status_code == 409
    assert r.get_json() == {"code": 409, "status": "Conflict", "message": "the call is closed",
                            "closes_at": "2026-07-14T09:00:00Z"}
    r = client.get("/api/refuse/422")
    assert r.status_code == 422 and r.get_json()["errors"] == {"year": ["taken"]}
