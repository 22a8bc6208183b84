"""The demo catalog: real sneaker releases as plain, typed data.

Pure data and pure functions only (no database, no Reflex): the seed step turns these records into
`Product` and `ProductVariant` rows, `price_history` derives demo trades from them, and
`scripts/make_product_images.py` draws `assets/products/<slug>.svg` from each palette.

Prices are integer cents (US retail at launch), dates are the first US release, and every string is
ASCII so that slugs, file names and seed files never depend on an encoding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

Silhouette = Literal["high", "low", "runner", "knit", "court"]
"""Side-profile family used by the image generator.

high: high-top basketball/canvas (Air Jordan 1 High, Dunk High, Chuck 70 Hi, Sk8-Hi);
low: low-top basketball/skate (Dunk Low, Air Force 1, Old Skool, Air Jordan 3/4/11);
runner: running and trail shapes with a chunky midsole (990, 2002R, Gel-Kayano 14, XT-6);
knit: one-piece knit upper on a full-length boost sole (Yeezy Boost 350 V2);
court: slim low terrace/court shoes on a gum or flat cupsole (Samba, Gazelle, Suede).
"""

# US men's full run; women's runs carry a "W" suffix so a size string is never ambiguous.
MENS_RUN: tuple[str, ...] = (
    "7",
    "7.5",
    "8",
    "8.5",
    "9",
    "9.5",
    "10",
    "10.5",
    "11",
    "11.5",
    "12",
    "12.5",
    "13",
    "14",
)
MENS_WIDE_RUN: tuple[str, ...] = ("4", "4.5", "5", "5.5", "6", "6.5", *MENS_RUN, "15")
WOMENS_RUN: tuple[str, ...] = tuple(
    f"{whole}{half}W"
    for whole in range(5, 13)
    for half in ("", ".5")
    if (whole, half) != (12, ".5")
)
# Grade-school (big kids') run: youth sizes carry a "Y" ("7Y" is US men's 7).
GS_RUN: tuple[str, ...] = ("3.5Y", "4Y", "4.5Y", "5Y", "5.5Y", "6Y", "6.5Y", "7Y")

PANDA = ("#ffffff", "#141414", "#ffffff", "#141414")
"""The white-and-black Dunk's palette (men's, women's and grade-school pairs)."""
_HEX = re.compile(r"^#[0-9a-f]{6}$")
_NON_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, kw_only=True, slots=True)
class CatalogSneaker:
    """One colorway of one model: the unit a product page shows and the seed writes."""

    brand: str
    model: str
    colorway: str
    style_code: str
    retail_cents: int
    release_date: date
    description: str
    hype: float
    """Typical resale multiple of retail (1.0 = trades around retail)."""
    sizes: tuple[str, ...]
    palette: tuple[str, ...]
    """3-4 lowercase hex colours: upper, overlay/logo, sole, accent (outsole, laces, details)."""
    silhouette: Silhouette

    @property
    def name(self) -> str:
        """Display name as marketplaces write it: model plus quoted colorway."""
        return f'{self.model} "{self.colorway}"'

    @property
    def slug(self) -> str:
        return slugify(self.brand, self.model, self.colorway)

    @property
    def image(self) -> str:
        """Path of the product image as served by Reflex from `assets/`."""
        return f"/products/{self.slug}.svg"

    @property
    def is_womens(self) -> bool:
        return all(size.endswith("W") for size in self.sizes)

    @property
    def is_kids(self) -> bool:
        return all(size.endswith("Y") for size in self.sizes)

    @property
    def size_chart(self) -> str:
        """The size chart it is sold on (`Product.size_chart`, services/sizes.py)."""
        return "women" if self.is_womens else "gs" if self.is_kids else "men"


def slugify(brand: str, model: str, colorway: str) -> str:
    """Lowercase ASCII words joined by '-': brand, model and colorway.

    The brand is left out when the model already starts with it ("Air Jordan 1 ..." from Jordan,
    "Yeezy Boost 350 V2" from Yeezy), so slugs read like the names people search for.
    """
    brand_words = _words(brand)
    model_words = _words(model)
    lead = [] if _contains_run(model_words, brand_words) else brand_words
    return "-".join([*lead, *model_words, *_words(colorway)])


def _words(text: str) -> list[str]:
    cleaned = text.lower().replace("&", " and ").replace("'", "")
    return [word for word in _NON_SLUG.split(cleaned) if word]


def _contains_run(words: list[str], run: list[str]) -> bool:
    return any(words[i : i + len(run)] == run for i in range(len(words) - len(run) + 1))


def _s(
    *,
    brand: str,
    model: str,
    colorway: str,
    style_code: str,
    retail: int,
    released: str,
    hype: float,
    silhouette: Silhouette,
    palette: tuple[str, ...],
    description: str,
    sizes: tuple[str, ...] = MENS_RUN,
) -> CatalogSneaker:
    return CatalogSneaker(
        brand=brand,
        model=model,
        colorway=colorway,
        style_code=style_code,
        retail_cents=retail * 100,
        release_date=date.fromisoformat(released),
        description=description,
        hype=hype,
        sizes=sizes,
        palette=palette,
        silhouette=silhouette,
    )


CATALOG: tuple[CatalogSneaker, ...] = (
    # --- Jordan ---------------------------------------------------------------------------------
    _s(
        brand="Jordan",
        model="Air Jordan 1 Retro High OG",
        colorway="Chicago Lost and Found",
        style_code="DZ5485-612",
        retail=180,
        released="2022-11-19",
        hype=1.55,
        silhouette="high",
        palette=("#f3eee2", "#c1232f", "#eadcb8", "#111111"),
        description=(
            "The 1985 Chicago colorway rebuilt as if found on a forgotten stockroom shelf: "
            "cracked-look varsity red leather, a yellowed midsole and an aged sail collar. "
            "Ships with a vintage-style box and a damaged-box sticker."
        ),
    ),
    _s(
        brand="Jordan",
        model="Air Jordan 1 Retro High OG GS",
        colorway="Chicago Lost and Found",
        style_code="FD1437-612",
        retail=140,
        released="2022-11-19",
        hype=1.45,
        silhouette="high",
        palette=("#f3eee2", "#c1232f", "#eadcb8", "#111111"),
        description=(
            "The grade-school cut of Lost and Found: the same aged varsity red, yellowed "
            "midsole and sail collar in big kids' sizes, released alongside the men's pair."
        ),
        sizes=GS_RUN,
    ),
    _s(
        brand="Jordan",
        model="Air Jordan 1 Retro High OG",
        colorway="University Blue",
        style_code="555088-134",
        retail=170,
        released="2021-03-06",
        hype=1.65,
        silhouette="high",
        palette=("#ffffff", "#8db9e5", "#f6f6f6", "#111111"),
        description=(
            "A nod to Michael Jordan's North Carolina days: white leather base with tumbled "
            "University Blue overlays and a black Swoosh and heel tab."
        ),
    ),
    _s(
        brand="Jordan",
        model="Air Jordan 1 Retro High OG",
        colorway="Dark Mocha",
        style_code="555088-105",
        retail=170,
        released="2020-10-31",
        hype=1.9,
        silhouette="high",
        palette=("#f7f5ef", "#4a2e23", "#f2eee4", "#111111"),
        description=(
            "Sail leather with Dark Mocha suede on the toe, eyestay and heel and a black Swoosh, "
            "echoing the Travis Scott collaboration in a general release."
        ),
    ),
    _s(
        brand="Jordan",
        model="Air Jordan 1 Retro High OG",
        colorway="Shadow 2.0",
        style_code="555088-035",
        retail=170,
        released="2021-05-15",
        hype=1.25,
        silhouette="high",
        palette=("#8a8d91", "#151515", "#f4f4f4", "#151515"),
        description=(
            "An update of the 1985 Shadow: light smoke grey leather on a black base with a white "
            "midsole, mixing the original's grey with a brighter tone."
        ),
    ),
    _s(
        brand="Jordan",
        model="Air Jordan 1 Retro Low OG SP",
        colorway="Travis Scott Reverse Mocha",
        style_code="DM7866-162",
        retail=150,
        released="2022-07-21",
        hype=3.0,
        silhouette="low",
        palette=("#f3eee2", "#6b4a3a", "#e8d7ae", "#f3eee2"),
        description=(
            "Travis Scott's low-top with sail leather and brown suede overlays, the signature "
            "backwards Swoosh on the outer side and a vintage-toned midsole. One of the most "
            "traded collaborations of its year."
        ),
    ),
    _s(
        brand="Jordan",
        model="Air Jordan 1 Retro Low OG SP",
        colorway="Travis Scott Olive",
        style_code="DZ4137-106",
        retail=150,
        released="2023-04-26",
        hype=2.6,
        silhouette="low",
        palette=("#f1ebdd", "#55593a", "#e6d3a5", "#111111"),
        description=(
            "A women's exclusive from Travis Scott: sail leather with olive suede overlays, a "
            "black reversed Swoosh and an aged midsole."
        ),
        sizes=WOMENS_RUN,
    ),
    _s(
        brand="Jordan",
        model="Air Jordan 4 Retro",
        colorway="Military Black",
        style_code="DH6927-111",
        retail=190,
        released="2022-05-21",
        hype=1.35,
        silhouette="low",
        palette=("#f7f7f5", "#a9adb2", "#ffffff", "#1b1b1b"),
        description=(
            "The Military Blue layout in black: white leather upper, neutral grey suede toe and "
            "black wings, eyestay and heel tab."
        ),
    ),
    _s(
        brand="Jordan",
        model="Air Jordan 4 Retro",
        colorway="Black Cat",
        style_code="CU1110-010",
        retail=190,
        released="2020-01-22",
        hype=2.1,
        silhouette="low",
        palette=("#1a1a1a", "#2a2a2a", "#202020", "#3a3a3a"),
        description=(
            "Named after Michael Jordan's own nickname: a tonal black nubuck upper with matching "
            "black wings, midsole and outsole, with graphite accents."
        ),
    ),
    _s(
        brand="Jordan",
        model="Air Jordan 4 Retro",
        colorway="Bred Reimagined",
        style_code="FV5029-006",
        retail=215,
        released="2024-02-17",
        hype=1.15,
        silhouette="low",
        palette=("#151515", "#b0b3b6", "#f4f1e8", "#c8202f"),
        description=(
            "The 1989 Bred rebuilt in black leather instead of nubuck, with cement grey details, "
            "fire red hits and a lightly aged midsole."
        ),
    ),
    _s(
        brand="Jordan",
        model="Air Jordan 4 Retro",
        colorway="Thunder",
        style_code="DH6927-017",
        retail=210,
        released="2023-05-13",
        hype=1.2,
        silhouette="low",
        palette=("#161616", "#f6c400", "#1c1c1c", "#f6c400"),
        description=(
            "Black nubuck with Tour Yellow wings, eyestay and heel tab, first seen in 2006 and "
            "returned with the original shape."
        ),
    ),
    _s(
        brand="Jordan",
        model="Air Jordan 4 Retro",
        colorway="Red Cement",
        style_code="DH6927-161",
        retail=210,
        released="2023-09-09",
        hype=1.05,
        silhouette="low",
        palette=("#f6f6f4", "#c7202e", "#ffffff", "#9b9ea1"),
        description=(
            "The White Cement blueprint with fire red in place of black: white leather, red "
            "eyestay and heel, speckled cement grey details."
        ),
    ),
    _s(
        brand="Jordan",
        model="Air Jordan 3 Retro",
        colorway="White Cement Reimagined",
        style_code="DN3707-100",
        retail=210,
        released="2023-03-11",
        hype=1.15,
        silhouette="low",
        palette=("#f5f1e6", "#9fa0a0", "#ede2c6", "#c8202f"),
        description=(
            "The 1988 original as a worn pair might look today: sail leather, elephant print "
            "on the toe and heel, a yellowed midsole and Nike Air on the heel."
        ),
    ),
    _s(
        brand="Jordan",
        model="Air Jordan 11 Retro",
        colorway="Cherry",
        style_code="CT8012-116",
        retail=225,
        released="2022-12-10",
        hype=1.0,
        silhouette="low",
        palette=("#ffffff", "#b01e2f", "#ffffff", "#b01e2f"),
        description=(
            "A holiday Air Jordan 11 with a white mesh upper, varsity red patent leather mudguard "
            "and a matching red translucent outsole."
        ),
    ),
    _s(
        brand="Jordan",
        model="Air Jordan 11 Retro",
        colorway="Gratitude",
        style_code="CT8012-170",
        retail=230,
        released="2023-12-09",
        hype=1.05,
        silhouette="low",
        palette=("#ffffff", "#f1f1ef", "#ffffff", "#c9a24a"),
        description=(
            "A celebration of the Defining Moments pack: white patent leather and mesh with "
            "metallic gold details and Jumpman branding."
        ),
    ),
    _s(
        brand="Jordan",
        model="Air Jordan 11 Retro",
        colorway="Cool Grey",
        style_code="CT8012-005",
        retail=225,
        released="2021-12-11",
        hype=1.1,
        silhouette="low",
        palette=("#a4a7ab", "#8e9195", "#ffffff", "#6f7f9c"),
        description=(
            "Medium grey nubuck with a grey patent leather mudguard and a white midsole, back for "
            "the holidays twenty years after its debut."
        ),
    ),
    # --- Nike -----------------------------------------------------------------------------------
    _s(
        brand="Nike",
        model="Dunk Low Retro",
        colorway="White Black",
        style_code="DD1391-100",
        retail=110,
        released="2021-03-10",
        hype=1.0,
        silhouette="low",
        palette=PANDA,
        description=(
            "The two-tone Dunk everyone calls Panda: smooth white leather base with black "
            "overlays and Swoosh. Restocked often and worn everywhere."
        ),
    ),
    _s(
        brand="Nike",
        model="Dunk Low",
        colorway="White Black (Women's)",
        style_code="DD1503-101",
        retail=100,
        released="2021-03-10",
        hype=1.1,
        silhouette="low",
        palette=PANDA,
        description=(
            "The women's Panda: the same white leather base with black overlays, cut on "
            "Nike's women's size chart."
        ),
        sizes=WOMENS_RUN,
    ),
    _s(
        brand="Nike",
        model="Dunk Low GS",
        colorway="White Black",
        style_code="CW1590-100",
        retail=90,
        released="2021-03-10",
        hype=1.05,
        silhouette="low",
        palette=PANDA,
        description=(
            "The Panda in grade-school sizes: white leather with black overlays and Swoosh, "
            "often bought by adults with smaller feet for its lower price."
        ),
        sizes=GS_RUN,
    ),
    _s(
        brand="Nike",
        model="Dunk Low Retro",
        colorway="Grey Fog",
        style_code="DD1391-103",
        retail=110,
        released="2021-06-23",
        hype=1.05,
        silhouette="low",
        palette=("#ffffff", "#b9bcbf", "#ffffff", "#9ea1a4"),
        description=(
            "White leather base with soft grey fog overlays and a matching grey outsole; a quiet "
            "take on the Panda layout."
        ),
    ),
    _s(
        brand="Nike",
        model="Dunk High Retro",
        colorway="White Black",
        style_code="DD1399-105",
        retail=125,
        released="2021-11-17",
        hype=1.0,
        silhouette="high",
        palette=PANDA,
        description=(
            "The Panda color blocking on the high-top Dunk: white leather with black overlays, "
            "padded collar and the Nike ankle strap branding."
        ),
    ),
    _s(
        brand="Nike",
        model="Air Force 1 Low '07",
        colorway="Triple White",
        style_code="CW2288-111",
        retail=115,
        released="2020-05-01",
        hype=0.9,
        silhouette="low",
        palette=("#ffffff", "#f2f2f2", "#ffffff", "#e6e6e6"),
        description=(
            "The all-white Air Force 1 in crisp leather with the stitched Swoosh and AIR midsole "
            "branding. The best-selling sneaker in the world, trading close to retail."
        ),
    ),
    _s(
        brand="Nike",
        model="Air Max 1 '86 OG",
        colorway="Big Bubble Sport Red",
        style_code="DQ3989-100",
        retail=150,
        released="2023-03-26",
        hype=1.05,
        silhouette="runner",
        palette=("#f5f5f2", "#c8202f", "#ffffff", "#b7b9bb"),
        description=(
            "Released for Air Max Day, recreating the 1987 original with its larger Air window, "
            "white mesh and sport red overlays."
        ),
    ),
    _s(
        brand="Nike",
        model="SB Dunk Low",
        colorway="Travis Scott",
        style_code="CT5053-001",
        retail=150,
        released="2020-02-29",
        hype=3.0,
        silhouette="low",
        palette=("#6f5a44", "#1a1a1a", "#eadfc3", "#d0b58c"),
        description=(
            "Paisley canvas and plaid flannel overlays that tear away to reveal graphics beneath, "
            "with rope laces and a cream midsole. A grail from the SB Dunk revival."
        ),
    ),
    _s(
        brand="Nike",
        model="Air Max 90",
        colorway="Infrared",
        style_code="CT1685-100",
        retail=130,
        released="2020-03-26",
        hype=1.0,
        silhouette="runner",
        palette=("#ffffff", "#b4b7ba", "#ffffff", "#f03a47"),
        description=(
            "The original 1990 colorway for the model's 30th anniversary: white, cool grey and "
            "radiant infrared around a visible Air unit."
        ),
    ),
    _s(
        brand="Nike",
        model="Air Force 1 Low",
        colorway="Supreme White",
        style_code="CU9225-100",
        retail=96,
        released="2020-03-05",
        hype=1.45,
        silhouette="low",
        palette=("#ffffff", "#f2f2f2", "#ffffff", "#d6202b"),
        description=(
            "An all-white Air Force 1 with a red Supreme box logo on the heel; a core release "
            "that restocks every season."
        ),
    ),
    # --- adidas ---------------------------------------------------------------------------------
    _s(
        brand="adidas",
        model="Samba OG",
        colorway="Cloud White Core Black",
        style_code="B75806",
        retail=100,
        released="2018-01-01",
        hype=1.1,
        silhouette="court",
        palette=("#ffffff", "#141414", "#b5835a", "#e6e6e6"),
        description=(
            "The indoor football classic: white leather with a grey suede T-toe, black serrated "
            "three stripes and a gum outsole."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    _s(
        brand="adidas",
        model="Gazelle",
        colorway="Core Black White",
        style_code="BB5476",
        retail=100,
        released="2017-07-01",
        hype=0.95,
        silhouette="court",
        palette=("#1b1b1b", "#ffffff", "#f5f5f5", "#c9a24a"),
        description=(
            "A 1960s training shoe in black suede with white three stripes and a gold foil "
            "Gazelle stamp on the side."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    _s(
        brand="adidas",
        model="Campus 00s",
        colorway="Core Black",
        style_code="HQ8708",
        retail=110,
        released="2023-01-20",
        hype=1.0,
        silhouette="court",
        palette=("#1c1c1c", "#ffffff", "#ffffff", "#dedede"),
        description=(
            "The skate-era Campus with a puffed-up shape: black suede upper, white leather three "
            "stripes and a chunky white rubber cupsole."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    _s(
        brand="adidas",
        model="Stan Smith",
        colorway="Cloud White Green",
        style_code="M20324",
        retail=100,
        released="2016-01-15",
        hype=0.85,
        silhouette="court",
        palette=("#ffffff", "#1f6b3a", "#ffffff", "#1f6b3a"),
        description=(
            "The tennis shoe named after the 1970s champion: clean white leather, perforated "
            "three stripes and a green heel tab."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    _s(
        brand="adidas",
        model="Superstar",
        colorway="Cloud White Core Black",
        style_code="EG4958",
        retail=100,
        released="2019-12-01",
        hype=0.85,
        silhouette="low",
        palette=("#ffffff", "#141414", "#ffffff", "#c9a24a"),
        description=(
            "White leather with black three stripes, the rubber shell toe and a gold tongue "
            "label: the hip-hop staple since the 1980s."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    _s(
        brand="adidas",
        model="Handball Spezial",
        colorway="Navy Gum",
        style_code="BD7633",
        retail=100,
        released="2018-02-01",
        hype=1.0,
        silhouette="court",
        palette=("#1e2b4f", "#8fb6df", "#b5835a", "#ffffff"),
        description=(
            "Collegiate navy suede with light blue three stripes on a gum sole; a 1979 indoor "
            "handball shoe adopted by football terraces."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    # --- Yeezy ----------------------------------------------------------------------------------
    _s(
        brand="Yeezy",
        model="Yeezy Boost 350 V2",
        colorway="Zebra",
        style_code="CP9654",
        retail=220,
        released="2017-02-25",
        hype=1.3,
        silhouette="knit",
        palette=("#f3f3f1", "#1b1b1b", "#ffffff", "#d6202b"),
        description=(
            "White Primeknit striped in black, red SPLY-350 lettering on the side stripe and a "
            "translucent Boost midsole."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    _s(
        brand="Yeezy",
        model="Yeezy Boost 350 V2",
        colorway="Bred",
        style_code="CP9652",
        retail=220,
        released="2017-02-11",
        hype=1.55,
        silhouette="knit",
        palette=("#1b1b1b", "#1b1b1b", "#1e1e1e", "#d6202b"),
        description=(
            "A black Primeknit upper and black Boost midsole with red SPLY-350 branding along "
            "the side stripe."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    _s(
        brand="Yeezy",
        model="Yeezy Boost 350 V2",
        colorway="Cream White",
        style_code="CP9366",
        retail=220,
        released="2017-04-29",
        hype=1.1,
        silhouette="knit",
        palette=("#f4efe1", "#ece5d3", "#f7f3ea", "#e4dcc6"),
        description=(
            "Tonal cream white Primeknit, laces and Boost sole; an all-over neutral that "
            "yellows gently with wear."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    _s(
        brand="Yeezy",
        model="Yeezy Boost 350 V2",
        colorway="Beluga Reflective",
        style_code="GW1229",
        retail=230,
        released="2021-12-18",
        hype=1.15,
        silhouette="knit",
        palette=("#9a9c9e", "#f0652f", "#e9e6e0", "#f0652f"),
        description=(
            "Steel grey Primeknit with a bold orange side stripe, now with reflective threads in "
            "the upper."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    _s(
        brand="Yeezy",
        model="Yeezy Boost 350 V2",
        colorway="Black Static Non-Reflective",
        style_code="FU9006",
        retail=220,
        released="2019-06-07",
        hype=1.5,
        silhouette="knit",
        palette=("#1a1a1a", "#3a3a3a", "#1e1e1e", "#4a4a4a"),
        description=(
            "An all-black Primeknit upper with a translucent side stripe and a black Boost "
            "midsole; one of the most worn 350 colorways."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    _s(
        brand="Yeezy",
        model="Yeezy Boost 700",
        colorway="Wave Runner",
        style_code="B75571",
        retail=300,
        released="2017-11-01",
        hype=1.2,
        silhouette="runner",
        palette=("#7e8a8c", "#1f3f5c", "#f2f0ea", "#38a8b8"),
        description=(
            "The shoe that started the dad-shoe era: solid grey mesh and suede with teal, black "
            "and orange accents over a chunky encapsulated Boost midsole."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    _s(
        brand="Yeezy",
        model="Yeezy Boost 350 V2",
        colorway="Bone",
        style_code="HQ6316",
        retail=230,
        released="2022-03-18",
        hype=1.05,
        silhouette="knit",
        palette=("#f6f3ea", "#ede8dc", "#fbf8f1", "#e2dccd"),
        description="A near-white tonal Primeknit and Boost sole with a translucent side stripe.",
        sizes=MENS_WIDE_RUN,
    ),
    # --- New Balance ----------------------------------------------------------------------------
    _s(
        brand="New Balance",
        model="550",
        colorway="White Green",
        style_code="BB550WT1",
        retail=110,
        released="2021-06-11",
        hype=1.05,
        silhouette="low",
        palette=("#ffffff", "#1f5a3d", "#ffffff", "#1f5a3d"),
        description=(
            "A 1989 basketball shoe revived: white leather with a green N and heel, perforated "
            "toe and a cupsole with the 550 badge."
        ),
    ),
    _s(
        brand="New Balance",
        model="990v6 Made in USA",
        colorway="Grey",
        style_code="M990GL6",
        retail=200,
        released="2022-04-21",
        hype=1.0,
        silhouette="runner",
        palette=("#a6a8a9", "#8c8e90", "#f2f2f0", "#c9cbcc"),
        description=(
            "The sixth 990 in New Balance's signature grey pigskin suede and mesh, on a FuelCell "
            "midsole. Made in the USA."
        ),
    ),
    _s(
        brand="New Balance",
        model="990v5 Made in USA",
        colorway="Grey",
        style_code="M990GL5",
        retail=175,
        released="2019-04-18",
        hype=1.0,
        silhouette="runner",
        palette=("#a8aaab", "#8d8f91", "#f0f0ee", "#cfd1d2"),
        description=(
            "Grey suede and mesh on an ENCAP midsole: the fifth generation of the dad shoe that "
            "New Balance still makes in the USA."
        ),
    ),
    _s(
        brand="New Balance",
        model="2002R",
        colorway="Protection Pack Rain Cloud",
        style_code="M2002RDA",
        retail=150,
        released="2021-08-20",
        hype=1.25,
        silhouette="runner",
        palette=("#a3a5a6", "#c5c7c8", "#e6e4de", "#6e7072"),
        description=(
            "Layered grey suede with deliberately frayed, deconstructed edges over an ABZORB "
            "midsole; the pack that made the 2002R a hit."
        ),
    ),
    _s(
        brand="New Balance",
        model="2002R",
        colorway="Protection Pack Phantom",
        style_code="M2002RDB",
        retail=150,
        released="2021-08-20",
        hype=1.2,
        silhouette="runner",
        palette=("#2a2b2d", "#45474a", "#d9d7d1", "#5d5f62"),
        description=(
            "The dark take on the Protection Pack: black and charcoal suede layers with raw "
            "edges and a grey midsole."
        ),
    ),
    _s(
        brand="New Balance",
        model="530",
        colorway="White Silver Navy",
        style_code="MR530SG",
        retail=100,
        released="2020-06-01",
        hype=0.95,
        silhouette="runner",
        palette=("#f7f7f7", "#c0c3c6", "#ffffff", "#1e2b4f"),
        description=(
            "A 1990s running shoe in white mesh with metallic silver overlays and navy details "
            "on an ABZORB midsole."
        ),
    ),
    # --- ASICS ----------------------------------------------------------------------------------
    _s(
        brand="ASICS",
        model="Gel-Kayano 14",
        colorway="White Midnight",
        style_code="1201A019-107",
        retail=150,
        released="2021-09-01",
        hype=1.1,
        silhouette="runner",
        palette=("#f5f5f3", "#1f2a44", "#ffffff", "#b8bcc2"),
        description=(
            "The 2008 running shoe back in white mesh with midnight navy overlays, metallic "
            "silver tiger stripes and GEL cushioning in the heel."
        ),
    ),
    _s(
        brand="ASICS",
        model="Gel-1130",
        colorway="White Pure Silver",
        style_code="1201A256-113",
        retail=110,
        released="2023-02-01",
        hype=1.0,
        silhouette="runner",
        palette=("#f7f7f6", "#c7cacd", "#ffffff", "#9ea3a8"),
        description=(
            "A 2010s running shoe revived for lifestyle wear: white mesh, pure silver overlays "
            "and a visible GEL heel."
        ),
    ),
    # --- Converse -------------------------------------------------------------------------------
    _s(
        brand="Converse",
        model="Chuck 70 Hi",
        colorway="Black",
        style_code="162050C",
        retail=85,
        released="2018-01-01",
        hype=0.9,
        silhouette="high",
        palette=("#1b1b1b", "#f0ead8", "#f3ecd9", "#1b1b1b"),
        description=(
            "The premium Chuck Taylor: heavier black canvas, a higher egret midsole with a "
            "glossy finish and the vintage heel license plate."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    _s(
        brand="Converse",
        model="Chuck 70 Hi",
        colorway="Parchment",
        style_code="162053C",
        retail=85,
        released="2018-01-01",
        hype=0.9,
        silhouette="high",
        palette=("#efe6cf", "#e7dcc0", "#f3ecd9", "#1b1b1b"),
        description=(
            "Off-white parchment canvas on the 1970s-spec Chuck with a cushioned insole and a "
            "vintage egret sidewall."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    _s(
        brand="Converse",
        model="Chuck 70 Hi",
        colorway="Comme des Garcons PLAY Black",
        style_code="150204C",
        retail=150,
        released="2015-05-08",
        hype=1.0,
        silhouette="high",
        palette=("#1b1b1b", "#d6202b", "#f3ecd9", "#1b1b1b"),
        description=(
            "Comme des Garcons PLAY's heart-with-eyes logo printed on the side of a black canvas "
            "Chuck 70 high-top."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    _s(
        brand="Converse",
        model="Run Star Hike Hi",
        colorway="Black White",
        style_code="166800C",
        retail=110,
        released="2020-01-16",
        hype=0.95,
        silhouette="high",
        palette=("#1b1b1b", "#f3ecd9", "#f6f4ee", "#1b1b1b"),
        description=(
            "A black canvas Chuck upper on a chunky, jagged platform sole with a tan outsole. "
            "Chuck Taylor on stilts."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    # --- Vans -----------------------------------------------------------------------------------
    _s(
        brand="Vans",
        model="Old Skool",
        colorway="Black White",
        style_code="VN000D3HY28",
        retail=70,
        released="2017-01-01",
        hype=0.85,
        silhouette="low",
        palette=("#1b1b1b", "#ffffff", "#ffffff", "#1b1b1b"),
        description=(
            "Black canvas and suede with the white leather side stripe, a padded collar and the "
            "waffle outsole: the skate shoe of record."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    _s(
        brand="Vans",
        model="Sk8-Hi",
        colorway="Black White",
        style_code="VN000D5IB8C",
        retail=75,
        released="2017-01-01",
        hype=0.85,
        silhouette="high",
        palette=("#1b1b1b", "#ffffff", "#ffffff", "#1b1b1b"),
        description=(
            "The high-top Vans with the side stripe and a padded ankle, in black canvas and suede "
            "on a white vulcanized sole."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    _s(
        brand="Vans",
        model="Classic Slip-On",
        colorway="Checkerboard",
        style_code="VN000EYEBWW",
        retail=60,
        released="2017-01-01",
        hype=0.85,
        silhouette="court",
        palette=("#f4f4f4", "#1b1b1b", "#ffffff", "#1b1b1b"),
        description=(
            "Black and white checkerboard canvas, elastic side gores and a white waffle sole; "
            "laceless since 1977."
        ),
        sizes=MENS_WIDE_RUN,
    ),
    # --- Salomon --------------------------------------------------------------------------------
    _s(
        brand="Salomon",
        model="XT-6",
        colorway="Black Phantom",
        style_code="L41086600",
        retail=200,
        released="2019-09-01",
        hype=1.0,
        silhouette="runner",
        palette=("#1c1d1f", "#3c3e41", "#222326", "#6f7276"),
        description=(
            "An ultra-distance trail runner turned city staple: black mesh with welded overlays, "
            "Quicklace and an aggressive Contagrip outsole."
        ),
    ),
    # --- Puma -----------------------------------------------------------------------------------
    _s(
        brand="Puma",
        model="Suede Classic XXI",
        colorway="Black White",
        style_code="374915-01",
        retail=75,
        released="2021-02-01",
        hype=0.8,
        silhouette="court",
        palette=("#1b1b1b", "#ffffff", "#ffffff", "#c9a24a"),
        description=(
            "Black suede with the white Formstrip and a gold foil logo; the b-boy classic on a "
            "slim rubber cupsole."
        ),
        sizes=MENS_WIDE_RUN,
    ),
)


def by_slug() -> dict[str, CatalogSneaker]:
    return {sneaker.slug: sneaker for sneaker in CATALOG}


def brands() -> list[str]:
    """Distinct brands in catalog order."""
    return list(dict.fromkeys(sneaker.brand for sneaker in CATALOG))


def _check(catalog: tuple[CatalogSneaker, ...]) -> None:
    """Fail at import if an entry breaks the rules the rest of the app relies on."""
    for sneaker in catalog:
        fields = (sneaker.brand, sneaker.model, sneaker.colorway, sneaker.description)
        if not all(text.isascii() and text.strip() for text in fields):
            raise ValueError(f"{sneaker.style_code}: text must be non-empty ASCII")
        if not 3 <= len(sneaker.palette) <= 4 or not all(_HEX.match(c) for c in sneaker.palette):
            raise ValueError(f"{sneaker.style_code}: palette must be 3-4 #rrggbb colours")
        full_run = len(GS_RUN) if sneaker.is_kids else 12
        if sneaker.retail_cents <= 0 or len(sneaker.sizes) < full_run:
            raise ValueError(f"{sneaker.style_code}: needs a price and a full size run")
    for key in ("style_code", "slug"):
        values = [getattr(sneaker, key) for sneaker in catalog]
        if len(set(values)) != len(values):
            raise ValueError(f"duplicate {key} in catalog")


_check(CATALOG)
