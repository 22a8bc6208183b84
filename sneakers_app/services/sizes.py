"""Sizes: every size in every system (US men's, US women's, UK, EU, cm, and GS for kids'), the
size system each member reads sizes in, and sizes typed in any of them.

A variant's `size` is stored as the product's own chart names it: US men's on a men's product
("10"), US women's with a "W" on a women's product ("11.5W"), the grade-school size with a "Y" on
a kids' product ("7Y"). The conversions are data (`size_charts.csv`, as the brands publish their
charts, loaded once): brands differ (adidas's UK 9.5 is Nike's UK 9), and so do the charts of one
brand (Nike's women's 8 is UK 5.5, its men's 6.5 is UK 6), so a size is always converted on its
product's brand and chart. Values are exact fractions (adidas's EU 44 2/3).
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from sqlmodel import Session

from sneakers_app.models import User

CHARTS_FILE = Path(__file__).resolve().parent.parent / "size_charts.csv"

# The systems a member can read sizes in (`User.size_system`), in the picker's order.
SYSTEMS: tuple[str, ...] = ("us_m", "us_w", "uk", "eu", "cm")
DEFAULT_SYSTEM = "us_m"
SYSTEM_NAMES = {
    "us_m": "US men's",
    "us_w": "US women's",
    "uk": "UK",
    "eu": "EU",
    "cm": "cm",
}
SYSTEM_SHORT = {"us_m": "US M", "us_w": "US W", "uk": "UK", "eu": "EU", "cm": "cm"}
# Size charts a product can be sold on (`Product.size_chart`); the suffix its sizes carry.
CHARTS: tuple[str, ...] = ("men", "women", "gs")
CHART_SUFFIX = {"men": "", "women": "W", "gs": "Y"}
CHART_NAMES = {"men": "Men's sizes", "women": "Women's sizes", "gs": "Grade school (youth) sizes"}
# Brands whose chart is another brand's (Jordan is Nike's, Yeezy adidas's); an unknown brand
# reads Nike's chart, the one most sneakers follow.
BRAND_FAMILY = {
    "nike": "nike",
    "jordan": "nike",
    "adidas": "adidas",
    "yeezy": "adidas",
    "new balance": "new_balance",
    "asics": "asics",
    "converse": "converse",
    "vans": "vans",
    "puma": "puma",
    "salomon": "salomon",
}
FALLBACK_FAMILY = "nike"
# How close a typed EU or cm size must be to a chart's: 44.5 finds adidas's 44 2/3 (the nearest
# neighbours are 2/3 apart), 27.6 cm finds 27.5.
TOLERANCE = {"eu": Fraction(1, 5), "cm": Fraction(1, 5)}
# What a size in each system can plausibly be (anything else typed is not a size).
RANGES = {
    "us_m": (Fraction(1), Fraction(22)),
    "us_w": (Fraction(1), Fraction(22)),
    "uk": (Fraction(0), Fraction(21)),
    "eu": (Fraction(30), Fraction(56)),
    "cm": (Fraction(18), Fraction(36)),
    "gs": (Fraction(1), Fraction(8)),
}
SIZE_HELP = "Type a size like US 10, W 11.5, UK 9, EU 44, 28 cm or 7Y."


@dataclass(frozen=True, kw_only=True)
class ChartRow:
    """One size of one chart, in every system (None: the chart has no such size)."""

    family: str
    chart: str
    us_m: Fraction | None
    us_w: Fraction | None
    uk: Fraction | None
    eu: Fraction | None
    cm: Fraction | None
    youth: Fraction | None

    def value(self, system: str) -> Fraction | None:
        return self.youth if system == "gs" else getattr(self, system)

    @property
    def stored_size(self) -> str:
        """The variant size this row is on its chart ("10", "11.5W", "7Y")."""
        key = {"men": self.us_m, "women": self.us_w, "gs": self.youth}[self.chart]
        return number_text(key) + CHART_SUFFIX[self.chart] if key is not None else ""


@dataclass(frozen=True, kw_only=True)
class SizeQuery:
    """A size someone typed: its system ("us_m", "us_w", "uk", "eu", "cm" or "gs") and value."""

    system: str
    value: Fraction

    @property
    def text(self) -> str:
        return format_size(self.system, self.value)


# --- the charts -----------------------------------------------------------------------------


def _fraction(text: str) -> Fraction | None:
    """ "44 2/3" -> 134/3, "10.5" -> 21/2, "" -> None."""
    text = text.strip()
    if not text:
        return None
    whole, _, part = text.partition(" ")
    return Fraction(whole) + (Fraction(part) if part else 0)


@functools.cache
def _charts() -> dict[tuple[str, str], dict[str, ChartRow]]:
    """(family, chart) -> stored size -> row, read once from `size_charts.csv`."""
    lines = [
        line for line in CHARTS_FILE.read_text(encoding="ascii").splitlines() if line[:1] != "#"
    ]
    charts: dict[tuple[str, str], dict[str, ChartRow]] = {}
    for record in csv.DictReader(lines):
        row = ChartRow(
            family=record["family"],
            chart=record["chart"],
            **{key: _fraction(record[key]) for key in ("us_m", "us_w", "uk", "eu", "cm", "youth")},
        )
        charts.setdefault((row.family, row.chart), {})[row.stored_size] = row
    return charts


def family_of(brand: str) -> str:
    return BRAND_FAMILY.get((brand or "").strip().lower(), FALLBACK_FAMILY)


def chart_of(chart: str) -> str:
    return chart if chart in CHARTS else "men"


def chart_rows(*, brand: str, chart: str) -> dict[str, ChartRow]:
    """The brand's chart (Nike's where the brand publishes none of that kind)."""
    charts = _charts()
    chart = chart_of(chart)
    return charts.get((family_of(brand), chart)) or charts.get((FALLBACK_FAMILY, chart), {})


def row_for(*, brand: str, chart: str, size: str) -> ChartRow | None:
    return chart_rows(brand=brand, chart=chart).get(size)


# --- showing a size ---------------------------------------------------------------------------

_THIRDS = {Fraction(1, 3): "\u2153", Fraction(2, 3): "\u2154"}


def number_text(value: Fraction) -> str:
    """10 -> "10", 21/2 -> "10.5", 134/3 -> "44⅔"."""
    whole = value.numerator // value.denominator
    rest = value - whole
    if not rest:
        return str(whole)
    if rest in _THIRDS:
        return f"{whole}{_THIRDS[rest]}"
    return f"{float(value):g}"


def format_size(system: str, value: Fraction) -> str:
    """A size as the page writes it: "US M 10", "US W 11.5", "UK 9", "EU 44⅔", "28 cm", "GS 7Y"."""
    number = number_text(value)
    if system == "cm":
        return f"{number} cm"
    if system == "gs":
        return f"GS {number}Y"
    return f"{SYSTEM_SHORT[system]} {number}"


def stored_label(size: str) -> str:
    """A size the chart lacks, in the system it is stored in."""
    if size.endswith("W"):
        return f"US W {size[:-1]}"
    if size.endswith("Y"):
        return f"GS {size}"
    return f"US M {size}"


def conversions(*, brand: str, chart: str, size: str) -> dict[str, str]:
    """Every system's label of a variant size (GS first on a kids' product); a size the chart
    lacks has only the label it is stored in."""
    row = row_for(brand=brand, chart=chart, size=size)
    if row is None:
        return {"gs" if size.endswith("Y") else DEFAULT_SYSTEM: stored_label(size)}
    systems = (("gs",) if row.chart == "gs" else ()) + SYSTEMS
    return {s: format_size(s, v) for s in systems if (v := row.value(s)) is not None}


def label(*, brand: str, chart: str, size: str, system: str) -> str:
    """A variant size in the system a member reads sizes in. Kids' sizes read in US are their
    grade-school size ("GS 7Y", which is US men's 7)."""
    labels = conversions(brand=brand, chart=chart, size=size)
    if "gs" in labels and system == "us_m":
        return labels["gs"]
    return labels.get(system) or stored_label(size)


# The system each chart's sizes are printed in on the box ("US M 10", "US W 11.5", "GS 7Y").
CHART_SYSTEM = {"men": "us_m", "women": "us_w", "gs": "gs"}


def own_label(*, brand: str, chart: str, size: str) -> str:
    """A variant size as its own chart (and the box) names it: "US M 10", "US W 11.5", "GS 7Y"."""
    labels = conversions(brand=brand, chart=chart, size=size)
    return labels.get(CHART_SYSTEM[chart_of(chart)]) or stored_label(size)


def box_label(*, brand: str, chart: str, size: str) -> str:
    """The size a shipping label prints: its own chart's label and EU ("US M 10 / EU 44"), in
    plain characters ("EU 44 2/3")."""
    own = own_label(brand=brand, chart=chart, size=size)
    eu = conversions(brand=brand, chart=chart, size=size).get("eu")
    text = f"{own} / {eu}" if eu else own
    return text.replace("\u2153", " 1/3").replace("\u2154", " 2/3")


def conversion_line(*, brand: str, chart: str, size: str) -> str:
    """All of a size's systems on one line: "US M 10 · US W 11.5 · UK 9 · EU 44 · 28 cm"."""
    return " \u00b7 ".join(conversions(brand=brand, chart=chart, size=size).values())


@dataclass(frozen=True, kw_only=True)
class SizeLabels:
    """A product's sizes as its page shows them: each size's label per system, and its
    conversions line (the same for every viewer; the page picks the viewer's system)."""

    labels: dict[str, dict[str, str]]
    lines: dict[str, str]


def size_labels(*, brand: str, chart: str, sizes: Iterable[str]) -> SizeLabels:
    labels: dict[str, dict[str, str]] = {}
    lines: dict[str, str] = {}
    for size in sizes:
        labels[size] = {s: label(brand=brand, chart=chart, size=size, system=s) for s in SYSTEMS}
        lines[size] = conversion_line(brand=brand, chart=chart, size=size)
    return SizeLabels(labels=labels, lines=lines)


def suggestions(system: str) -> list[str]:
    """Sizes to offer in a size box, in a member's system (Nike's men's and women's charts)."""
    system = system if system in SYSTEMS else DEFAULT_SYSTEM
    seen: dict[Fraction, None] = {}
    charts = _charts()
    for chart in ("men", "women"):
        for row in charts[(FALLBACK_FAMILY, chart)].values():
            value = row.value(system)
            if value is not None:
                seen[value] = None
    return [format_size(system, v) for v in sorted(seen)]


# --- reading a typed size -------------------------------------------------------------------

# What a typed system looks like (spaces dropped): "US M", "mens", "W", "UK", "EU", "cm", "GS".
_PREFIXES = {
    **dict.fromkeys(("usm", "usmen", "usmens", "mens", "men", "m"), "us_m"),
    **dict.fromkeys(("usw", "uswomen", "uswomens", "womens", "women", "wmns", "w"), "us_w"),
    **dict.fromkeys(("eu", "eur", "fr"), "eu"),
    **dict.fromkeys(("cm", "jp"), "cm"),
    **dict.fromkeys(("gs", "y"), "gs"),
    "uk": "uk",
    "us": "",
    "size": "",
}
_SUFFIXES = {"cm": "cm", "mm": "cm", "y": "gs", "w": "us_w", "m": "us_m"}
_NUMBER = r"\d{1,3}(?:\.\d{1,2})?(?: [12]/3)?"
_PREFIX = (
    r"us ?m(?:ens?)?|us ?w(?:omens?)?|m(?:ens?)?|w(?:omens?)?|wmns|us|uk|eur?|fr|cm|jp|gs|y|size"
)
_WHOLE = re.compile(rf"^(?:(?P<pre>{_PREFIX}) ?)?(?P<num>{_NUMBER}) ?(?P<post>cm|mm|y|w|m)?$")
# In search text only a size that names its system counts ("Air Jordan 1" is not a size 1).
_IN_TEXT = re.compile(
    rf"(?<![\w.])(?:(?P<pre>us ?m|us ?w|us|uk|eur?|gs|w|size) ?(?P<num>{_NUMBER})"
    rf"|(?P<num2>{_NUMBER}) ?(?P<post>cm|y))(?![\w.])"
)


def _normalise(text: str) -> str:
    text = (text or "")[:40].lower().strip()
    text = text.replace("\u00bd", ".5").replace("\u2153", " 1/3").replace("\u2154", " 2/3")
    text = re.sub(r"(\d),(\d)", r"\1.\2", text)  # 44,5 (a European decimal comma)
    text = text.replace("'", "").replace("\u2019", "").replace(":", " ")
    return re.sub(r"\s+", " ", text).strip()


def _bare_system(value: Fraction, default_system: str) -> str:
    """The system of a number typed alone: EU and cm sizes are larger than US and UK ones."""
    if value >= 34:
        return "eu"
    if value >= 18:
        return "cm"
    return default_system if default_system in ("us_m", "us_w", "uk") else DEFAULT_SYSTEM


def _system(pre: str, post: str, value: Fraction, default_system: str) -> str | None:
    """The system a typed prefix and suffix name (None when they disagree)."""
    pre = pre.replace(" ", "")
    pre_system = _PREFIXES.get(pre) if pre else ""
    post_system = _SUFFIXES.get(post, "")
    if pre_system is None or (pre_system and post_system and pre_system != post_system):
        return None
    if pre_system or post_system:
        return pre_system or post_system
    if pre == "us":
        return "us_w" if default_system == "us_w" else "us_m"
    return _bare_system(value, default_system)


def _query(pre: str, num: str, post: str, default_system: str) -> SizeQuery | None:
    try:
        value = _fraction(num)
    except (ValueError, ZeroDivisionError):
        return None
    if value is None:
        return None
    if post == "mm":
        value /= 10
    system = _system(pre, post, value, default_system)
    if system is None:
        return None
    low, high = RANGES[system]
    if not low <= value <= high or (system not in TOLERANCE and value.denominator not in (1, 2)):
        return None
    return SizeQuery(system=system, value=value)


def parse(text: str, *, default_system: str = DEFAULT_SYSTEM) -> SizeQuery | None:
    """A size typed in any system: "EU 44", "uk9", "28cm", "10.5", "W 11", "7Y", "44 2/3".

    A number alone is read in the member's system when it is a US or UK size; EU and cm sizes
    are told apart by being larger ("44" is EU, "28" is cm). None when it is not a size."""
    match = _WHOLE.match(_normalise(text))
    if match is None:
        return None
    return _query(match["pre"] or "", match["num"], match["post"] or "", default_system)


def find_in_text(
    text: str, *, default_system: str = DEFAULT_SYSTEM
) -> tuple[SizeQuery, str] | None:
    """A size named in search text ("jordan eu 44") and the text without it; None if there is
    none. Only a size that names its system counts."""
    normal = _normalise(text)
    for match in _IN_TEXT.finditer(normal):
        query = _query(
            match["pre"] or "", match["num"] or match["num2"], match["post"] or "", default_system
        )
        if query is not None:
            rest = (normal[: match.start()] + " " + normal[match.end() :]).strip()
            return query, re.sub(r"\s+", " ", rest)
    return None


def matches(query: SizeQuery, *, brand: str, chart: str, size: str) -> bool:
    """Whether a variant size is the typed size on its product's chart."""
    row = row_for(brand=brand, chart=chart, size=size)
    if row is None:
        return size == query.text  # never for a size the chart lacks, in practice
    value = row.value(query.system)
    if value is None:
        return False
    return abs(value - query.value) <= TOLERANCE.get(query.system, Fraction(0))


def matching_sizes(query: SizeQuery, *, brand: str, chart: str, sizes: Iterable[str]) -> list[str]:
    """The variant sizes of one product that are the typed size."""
    return [s for s in sizes if matches(query, brand=brand, chart=chart, size=s)]


# --- the member's size system -------------------------------------------------------------------


def system_error(system: str) -> str:
    """ "" for a size system a member can pick, else what to tell them."""
    return "" if system in SYSTEMS else "Pick one of US men's, US women's, UK, EU or cm."


def set_size_system(*, session: Session, user_id: int, system: str) -> str:
    """Remember the size system a member reads sizes in; "" when saved, else the error (and
    nothing changes)."""
    error = system_error(system)
    if error:
        return error
    user = session.get(User, user_id)
    if user is None:
        return "Log in to keep your size system."
    if user.size_system != system:
        user.size_system = system
        session.add(user)
        session.flush()
    return ""
