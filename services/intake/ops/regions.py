"""The world regions the secretariat groups applicants by, after WeGO's regional offices (Asia:
Chengdu, Europe: Beyoğlu, Africa: Abuja, Middle East: Abu Dhabi, Latin America: Cuenca, Eurasia:
Almaty), plus North America. Data only: an applicant's region follows from its country (ISO 3166
alpha-2); a code not listed here is "other"."""
from __future__ import annotations

_COUNTRIES = {
    "asia_pacific": "AF AS AU BD BN BT CC CK CN CX FJ FM GU HK ID IN IO JP KH KI KP KR LA LK MH MM MN MO MP MV "
                    "MY NC NF NP NR NU NZ PF PG PH PK PN PW SB SG TH TK TL TO TV TW UM VN VU WF WS",
    "eurasia": "AM AZ BY GE KG KZ RU TJ TM UZ",
    "europe": "AD AL AT AX BA BE BG CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE LI LT LU LV "
              "MC MD ME MK MT NL NO PL PT RO RS SE SI SJ SK SM TR UA VA XK",
    "middle_east": "AE BH IL IQ IR JO KW LB OM PS QA SA SY YE",
    "africa": "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG ML MR "
              "MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW",
    "latin_america": "AG AI AR AW BB BL BO BQ BR BS BZ CL CO CR CU CW DM DO EC FK GD GF GP GS GT GY HN HT JM KN "
                     "KY LC MF MQ MS MX NI PA PE PR PY SR SV SX TC TT UY VC VE VG VI",
    "north_america": "BM CA GL PM US",
}

REGION_LABELS = {
    "asia_pacific": "Asia and the Pacific",
    "eurasia": "Eurasia",
    "europe": "Europe",
    "middle_east": "Middle East",
    "africa": "Africa",
    "latin_america": "Latin America and the Caribbean",
    "north_america": "North America",
    "other": "Other",
}

REGION_OF_COUNTRY = {code: region for region, codes in _COUNTRIES.items() for code in codes.split()}


def region_of(country: str | None) -> str:
    return REGION_OF_COUNTRY.get((country or "").upper(), "other")


def countries_of(region: str) -> list[str]:
    """The country codes of ``region`` (none for "other": that one is "none of the listed")."""
    return sorted(code for code, r in REGION_OF_COUNTRY.items() if r == region)
