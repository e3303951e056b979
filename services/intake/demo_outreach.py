"""The demo's outreach (``prize demo``): the six cities WeGO's secretary general met at the Smart
City Summit and Expo 2023 (Taipei, 28-31 March, and its Kaohsiung day), as prospects of the demo
edition, owned by the demo's secretariat.

Through intake's own API, as the demo's applications are: Lublin, Budapest and Chiang Mai are
invited to apply (notify mails each a personal invitation with a registration link); Kaohsiung,
Guarulhos, Lublin, Budapest and the City of Ryde register as applicants in the demo (demo.py), and
are linked to their prospect by their address; Chiang Mai stays invited, not registered. Running
it again finds the prospects by address and invites nobody twice."""
from __future__ import annotations

MET_TAIPEI = "Smart City Summit and Expo 2023, Taipei"
MET_KAOHSIUNG = "Smart City Summit and Expo 2023, Kaohsiung"
OWNER = "secretariat@wego-cities.org"

# (prospect fields, invited to apply?)
PROSPECTS = [
    ({"organisation": "Urząd Miasta Lublin", "city": "Lublin", "country": "PL", "contact_name": "Zofia Wiśniewska",
      "email": "zofia.wisniewska@lublin.demo.example.pl", "language": "en", "met_at": MET_TAIPEI,
      "met_on": "2023-03-28", "notes": "Digital twin for planning with residents; wants to apply in Tech InnovaCity."},
     True),
    ({"organisation": "Budapest Főváros Önkormányzata", "city": "Budapest", "country": "HU",
      "applicant_type": "institution", "contact_name": "Kovács Ádám", "email": "adam.kovacs@budapest.demo.example.hu",
      "language": "en", "met_at": MET_TAIPEI, "met_on": "2023-03-28",
      "notes": "Smart street lighting; invited to the General Assembly."}, True),
    ({"organisation": "เทศบาลนครเชียงใหม่ Chiang Mai Municipality", "city": "เชียงใหม่ Chiang Mai", "country": "TH",
      "contact_name": "สมชาย ใจดี Somchai Jaidee", "email": "somchai@chiangmai.demo.example.th", "language": "en",
      "met_at": MET_TAIPEI, "met_on": "2023-03-29", "notes": "Air-quality sensors for the burning season."}, True),
    ({"organisation": "Prefeitura de Guarulhos", "city": "Guarulhos", "country": "BR",
      "contact_name": "João Conceição", "email": "joao.conceicao@guarulhos.demo.example.br", "language": "pt",
      "met_at": MET_TAIPEI, "met_on": "2023-03-29", "notes": "Health services by app; priority region."}, False),
    ({"organisation": "Kaohsiung City Government (高雄市政府)", "city": "高雄 Kaohsiung", "country": "TW",
      "contact_name": "林美華 Lin Mei-hua", "email": "mei.lin@kcg.demo.example.tw", "language": "en",
      "met_at": MET_KAOHSIUNG, "met_on": "2023-03-30", "notes": "Host city of the Kaohsiung day."}, False),
    ({"organisation": "City of Ryde", "applicant_type": "individual", "city": "City of Ryde", "country": "AU",
      "contact_name": "Siobhán O'Connor", "email": "siobhan.oconnor@ryde.demo.example.au", "language": "en",
      "met_at": MET_KAOHSIUNG, "met_on": "2023-03-30", "notes": "Open data dashboards; Leadership category."},
     False),
]


def load_outreach(client, sec: dict, call_id: str, ok) -> dict:
    """The six prospects (made once, found by address afterwards) and the invitations of those
    marked so that have none for this edition yet; returns counts. ``ok`` is demo.py's check of
    an API answer."""
    counts = {"prospects": 0, "invited": 0}
    to_invite = []
    for fields, invite in PROSPECTS:
        prospect = _prospect(client, sec, call_id, fields, ok)
        counts["prospects"] += 1
        invited = any(i["call_id"] == call_id for i in prospect.get("invitations", []))
        if invite and not invited and not prospect.get("applicant_id"):
            to_invite.append(prospect["id"])
        counts["invited"] += int(invite and (invited or not prospect.get("applicant_id")))
    if to_invite:
        ok(client.post(f"/api/calls/{call_id}/outreach/invitations", headers=sec,
                       json={"prospect_ids": to_invite}), 201)
    return counts


def _prospect(client, sec: dict, call_id: str, fields: dict, ok) -> dict:
    found = ok(client.get("/api/prospects", headers=sec, query_string={"q": fields["email"]}), 200)["items"]
    if found:
        return ok(client.get(f"/api/prospects/{found[0]['id']}", headers=sec), 200)
    return ok(client.post("/api/prospects", headers=sec, json={**fields, "owner": OWNER, "call_id": call_id}), 201)
