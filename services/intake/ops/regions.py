"""The world regions the secretariat groups applicants by, after WeGO's regional offices (Asia:
Chengdu, Europe: Beyoğlu, Africa: Abuja, Middle East: Abu Dhabi, Latin America: Cuenca, Eurasia:
Almaty), plus North America. Data only: an applicant's region follows from its country (ISO 3166
alpha-2); a code not listed here is "other". Also the list of countries the forms offer, named in
the page's language."""
from __future__ import annotations

import unicodedata
from functools import lru_cache

from babel import Locale

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


# --- countries --------------------------------------------------------------------------------

# Babel's territory codes that are not ISO 3166-1 alpha-2 countries: reserved or user-assigned
# codes (Ascension AC, Clipperton CP, Sark CQ, Diego Garcia DG, Ceuta and Melilla EA, Canary
# Islands IC, Tristan da Cunha TA, Kosovo XK, pseudo-locales XA XB) and groupings (EU EZ QO UN ZZ).
_NOT_ISO_3166 = frozenset("AC CP CQ DG EA EU EZ IC QO TA UN XA XB XK ZZ".split())


@lru_cache(maxsize=None)
def country_codes() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 country code (249), as Babel's territory data knows them."""
    return frozenset(code for code in Locale("en").territories
                     if len(code) == 2 and code.isalpha() and code not in _NOT_ISO_3166)


def is_country(code: str | None) -> bool:
    return bool(code) and code in country_codes()


def _collation_key(name: str) -> tuple[str, str]:
    # Accents sort with their letter (Áustria beside Austrália, not after Zâmbia); Hangul
    # syllables decompose into jamo, which keep the dictionary order.
    bare = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return bare.casefold(), name


@lru_cache(maxsize=None)
def country_choices(language: str) -> tuple[tuple[str, str], ...]:
    """(code, name) of every country, named in ``language`` and sorted by that name."""
    names = Locale.parse(language).territories
    return tuple(sorted(((code, names.get(code, code)) for code in country_codes()),
                        key=lambda pair: _collation_key(pair[1])))


def country_name(code: str | None, language: str) -> str:
    """The country's name in ``language`` (the code itself when it is no known country)."""
    return Locale.parse(language).territories.get(code or "", code or "")
