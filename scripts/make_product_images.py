"""Draw a side-profile product illustration for every catalog model into assets/products/.

Deterministic: the SVG of a model depends only on its catalog record (silhouette, brand, model
name and palette), so running this again rewrites byte-identical files.

    .venv/bin/python scripts/make_product_images.py            # write every image
    .venv/bin/python scripts/make_product_images.py --check    # exit 1 if any file is stale

The shoe faces left (toe at the left, heel at the right), lateral side, on a light neutral
background with a soft floor shadow. No text, no external references.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sneakers_app.catalog_data import CATALOG, CatalogSneaker  # noqa: E402

OUT_DIR = ROOT / "assets" / "products"
BACKGROUND = "#f3f2ef"


# --- colour helpers -------------------------------------------------------------------------


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{max(0, min(255, round(c))):02x}" for c in rgb)


def mix(a: str, b: str, t: float) -> str:
    """Blend colour a towards b by t (0..1)."""
    ra, rb = _rgb(a), _rgb(b)
    return _hex(tuple(x + (y - x) * t for x, y in zip(ra, rb, strict=True)))  # type: ignore[arg-type]


def luminance(colour: str) -> float:
    r, g, b = _rgb(colour)
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def edge(colour: str) -> str:
    """Outline colour for a fill: darker for light fills, lighter for very dark ones."""
    if luminance(colour) < 0.18:
        return mix(colour, "#ffffff", 0.22)
    return mix(colour, "#000000", 0.32)


def contrast_on(colour: str, preferred: str) -> str:
    """`preferred` unless it would vanish on `colour`, then a visible alternative."""
    if abs(luminance(colour) - luminance(preferred)) > 0.12:
        return preferred
    return mix(colour, "#000000", 0.45) if luminance(colour) > 0.5 else mix(colour, "#ffffff", 0.5)


# --- drawing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Colours:
    upper: str
    overlay: str
    sole: str
    accent: str


class Svg:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def path(self, d: str, fill: str, *, stroke: str | None = None, width: float = 2.5) -> None:
        outline = edge(fill) if stroke is None else stroke
        extra = "" if outline == "none" else f' stroke="{outline}" stroke-width="{width}"'
        self.parts.append(f'<path d="{d}" fill="{fill}"{extra}/>')

    def line(
        self, d: str, colour: str, width: float, *, dash: str = "", cap: str = "round"
    ) -> None:
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(
            f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width}"'
            f' stroke-linecap="{cap}"{dashes}/>'
        )

    def raw(self, text: str) -> None:
        self.parts.append(text)


@dataclass(frozen=True)
class Shape:
    """Geometry of one silhouette; every path is in the 800x800 canvas, toe at the left."""

    upper: str
    midsole: str
    outsole: str
    lace_from: tuple[float, float]
    lace_to: tuple[float, float]
    laces: int
    heel_tab: str
    toe_cap: str
    heel_counter: str
    eyestay: str
    collar: str


LOW = Shape(
    upper=(
        "M104 512 C86 488 100 452 168 440 C214 432 246 424 282 404 L438 330 "
        "C446 326 458 325 466 328 C512 350 574 354 628 330 C664 316 692 330 700 372 "
        "C706 420 708 470 706 512 Z"
    ),
    midsole=("M98 506 L708 506 C714 518 714 540 708 548 L112 548 C98 546 90 528 98 506 Z"),
    outsole=("M104 540 L710 540 C716 552 714 566 704 572 L140 572 C118 571 102 560 104 540 Z"),
    lace_from=(292, 402),
    lace_to=(432, 338),
    laces=5,
    heel_tab="M664 326 C676 318 694 322 700 340 L704 392 C692 380 678 372 668 370 Z",
    toe_cap="M104 512 C86 488 100 452 168 440 C200 435 226 430 248 420 C252 460 246 490 238 508 Z",
    heel_counter="M594 338 C620 334 650 322 668 322 C694 326 706 380 708 470 L708 508 L604 508 "
    "C610 460 608 390 594 338 Z",
    eyestay="M268 410 L438 330 C448 326 458 326 466 330 L482 346 L300 428 Z",
    collar="M466 328 C512 350 574 354 628 330",
)

HIGH = Shape(
    upper=(
        "M104 512 C86 488 100 452 168 440 C214 432 248 420 284 398 L452 248 "
        "C458 240 468 236 478 236 C540 240 600 232 650 212 C674 204 690 214 692 236 "
        "C698 300 704 400 706 512 Z"
    ),
    midsole=LOW.midsole,
    outsole=LOW.outsole,
    lace_from=(296, 392),
    lace_to=(446, 258),
    laces=7,
    heel_tab="M654 212 C670 202 690 210 694 232 L698 300 C684 290 670 284 660 282 Z",
    toe_cap=LOW.toe_cap,
    heel_counter="M600 330 C628 322 660 312 686 300 C700 360 706 430 708 508 L604 508 "
    "C612 450 612 390 600 330 Z",
    eyestay="M272 404 L452 246 C460 238 470 236 480 238 L494 252 L304 422 Z",
    collar="M478 236 C540 240 600 232 650 212",
)

RUNNER = Shape(
    upper=(
        "M112 500 C92 478 108 446 172 434 C222 426 256 414 292 394 L446 330 "
        "C454 326 464 326 472 328 C518 346 572 346 622 322 C658 306 684 318 690 356 "
        "C696 400 700 440 702 496 Z"
    ),
    midsole=(
        "M104 494 C196 500 420 494 704 470 C718 488 716 534 706 546 L136 550 "
        "C110 548 96 524 104 494 Z"
    ),
    outsole=("M108 538 L706 536 C716 550 712 566 700 572 L144 574 C120 572 104 560 108 538 Z"),
    lace_from=(300, 392),
    lace_to=(440, 336),
    laces=5,
    heel_tab="M660 314 C674 306 690 314 692 332 L696 380 C684 370 672 364 664 362 Z",
    toe_cap="M112 500 C92 478 108 446 172 434 C204 430 230 424 252 414 C256 450 250 478 244 498 Z",
    heel_counter="M586 332 C614 328 646 312 664 310 C688 318 698 380 702 470 L702 488 L600 492 "
    "C606 450 602 380 586 332 Z",
    eyestay="M276 400 L446 328 C456 324 466 326 474 330 L488 346 L306 420 Z",
    collar="M472 328 C518 346 572 346 622 322",
)

KNIT = Shape(
    upper=(
        "M118 500 C92 480 104 440 176 426 C236 414 276 398 314 378 L452 318 "
        "C460 314 472 314 480 318 C520 336 570 338 616 318 C652 302 684 308 694 340 "
        "C702 380 704 440 704 500 Z"
    ),
    midsole=(
        "M106 496 C220 500 460 498 706 490 C720 506 718 546 704 556 L142 558 "
        "C112 556 96 528 106 496 Z"
    ),
    outsole="M118 548 L702 548 C712 556 708 568 698 572 L150 574 C128 573 116 562 118 548 Z",
    lace_from=(320, 378),
    lace_to=(446, 324),
    laces=5,
    heel_tab="M676 312 C694 286 726 292 722 324 L704 372 C700 352 690 336 676 326 Z",
    toe_cap="M118 500 C92 480 104 440 176 426 C196 422 214 418 230 412 C236 446 232 476 226 498 Z",
    heel_counter="M640 316 C664 308 686 312 694 340 C700 380 704 440 704 496 L652 496 "
    "C656 430 654 360 640 316 Z",
    eyestay="M300 386 L452 318 C462 314 472 314 480 318 L490 330 L326 402 Z",
    collar="M480 318 C520 336 570 338 616 318",
)

COURT = Shape(
    upper=(
        "M102 520 C84 500 96 470 160 460 C212 452 250 442 286 424 L434 358 "
        "C442 354 454 353 462 356 C510 374 570 378 626 356 C662 342 690 354 698 390 "
        "C704 430 706 480 706 520 Z"
    ),
    midsole="M96 514 L708 514 C714 526 714 544 708 552 L112 552 C98 550 90 534 96 514 Z",
    outsole="M102 546 L710 546 C716 556 714 566 704 572 L136 572 C116 571 102 562 102 546 Z",
    lace_from=(298, 420),
    lace_to=(428, 364),
    laces=5,
    heel_tab="M662 352 C676 344 694 350 698 368 L702 414 C690 404 676 398 666 396 Z",
    toe_cap="M102 520 C84 500 96 470 160 460 C210 452 246 444 282 426 C292 462 288 496 280 516 Z",
    heel_counter="M598 366 C626 362 652 350 668 348 C692 356 704 410 706 480 L706 516 L608 516 "
    "C614 470 612 410 598 366 Z",
    eyestay="M276 430 L434 358 C444 354 454 354 462 358 L476 372 L306 448 Z",
    collar="M462 356 C510 374 570 378 626 356",
)

SHAPES: dict[str, Shape] = {
    "low": LOW,
    "high": HIGH,
    "runner": RUNNER,
    "knit": KNIT,
    "court": COURT,
}

# Nike-style swoosh in a 100 x 40 box: hook at the left (towards the toe), tail up to the right.
SWOOSH = "M14 6 C0 22 4 40 26 36 L100 2 L30 26 C18 30 10 22 14 6 Z"


def _transform(x: float, y: float, scale: float, rotate: float = 0.0) -> str:
    turn = f" rotate({rotate:g})" if rotate else ""
    return f"translate({x:g} {y:g}){turn} scale({scale:g})"


def draw_laces(svg: Svg, shape: Shape, colour: str) -> None:
    (x0, y0), (x1, y1) = shape.lace_from, shape.lace_to
    n = shape.laces
    dx, dy = x1 - x0, y1 - y0
    length = (dx * dx + dy * dy) ** 0.5
    # perpendicular to the lace line, tilted a little towards the toe
    px, py = -dy / length, dx / length
    lace_edge = edge(colour)
    for i in range(n):
        t = (i + 0.5) / n
        cx, cy = x0 + dx * t, y0 + dy * t
        a = (cx - px * 16 - 6, cy - py * 16)
        b = (cx + px * 14 + 6, cy + py * 14)
        d = f"M{a[0]:.0f} {a[1]:.0f} L{b[0]:.0f} {b[1]:.0f}"
        svg.line(d, lace_edge, 11)
        svg.line(d, colour, 7)


def draw_stitching(svg: Svg, d: str, fill: str) -> None:
    svg.line(d, mix(fill, "#000000", 0.25) if luminance(fill) > 0.3 else "#8a8a8a", 1.6, dash="5 5")


# --- brand marks ----------------------------------------------------------------------------


def mark_swoosh(svg: Svg, s: CatalogSneaker, c: Colours, shape: Shape) -> None:
    if s.brand == "Jordan" and "Air Jordan 1 " not in s.model:
        return  # the numbered Jordans carry no Swoosh on the side
    if s.silhouette == "high":
        place = _transform(262, 352, 3.6, -8)
    elif s.silhouette == "runner":
        place = _transform(300, 404, 3.1, -4)
    elif "Travis Scott" in s.colorway:  # the reversed Swoosh
        place = "translate(620 378) scale(-3.5 3.5) rotate(4)"
    else:
        place = _transform(262, 386, 3.5, -4)
    colour = contrast_on(c.upper, c.accent)
    svg.raw(
        f'<path d="{SWOOSH}" transform="{place}" fill="{colour}" stroke="{edge(colour)}"'
        f' stroke-width="0.6"/>'
    )


def mark_stripes(svg: Svg, s: CatalogSneaker, c: Colours, shape: Shape) -> None:
    colour = contrast_on(c.upper, c.overlay)
    base_y = 514 if s.silhouette == "court" else 500
    top_y = shape.lace_from[1] + 24
    for i in range(3):
        x = 322 + i * 40
        slant = 58
        d = (
            f"M{x} {base_y} L{x + slant} {top_y + 12 - i * 14} "
            f"L{x + slant + 22} {top_y + 4 - i * 14} L{x + 24} {base_y} Z"
        )
        svg.path(d, colour, width=1.8)


def mark_n(svg: Svg, s: CatalogSneaker, c: Colours, shape: Shape) -> None:
    colour = contrast_on(c.upper, c.overlay)
    x, y, h = 352, 488 if s.silhouette != "low" else 492, 96
    d = (
        f"M{x} {y} L{x + 24} {y - h} L{x + 48} {y - h} L{x + 70} {y - 38} L{x + 84} {y - h} "
        f"L{x + 108} {y - h} L{x + 84} {y} L{x + 60} {y} L{x + 38} {y - 58} L{x + 24} {y} Z"
    )
    svg.path(d, colour, width=2)


def mark_tiger(svg: Svg, s: CatalogSneaker, c: Colours, shape: Shape) -> None:
    colour = contrast_on(c.upper, c.accent)
    svg.path(
        "M300 486 C360 440 430 392 470 352 L494 362 C450 408 384 458 332 492 Z", colour, width=1.8
    )
    svg.path(
        "M372 490 C430 450 500 420 566 404 L572 426 C514 440 452 468 404 496 Z", colour, width=1.8
    )
    svg.path(
        "M330 420 C400 430 470 456 540 496 L506 500 C448 468 386 446 320 440 Z", colour, width=1.8
    )


def mark_converse(svg: Svg, s: CatalogSneaker, c: Colours, shape: Shape) -> None:
    # rubber foxing stripe, toe bumper and the round ankle patch with a star
    svg.line("M100 528 L708 528", c.accent, 5, cap="butt")
    svg.path("M104 512 C86 488 100 452 168 440 C188 437 204 434 216 430 L222 510 Z", c.sole)
    if s.silhouette == "high":
        cx, cy, r = 590, 292, 34
        svg.raw(
            f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="#f6f3ea" stroke="#9b9b9b" '
            'stroke-width="2"/>'
        )
        pts = []
        for k in range(10):
            angle = -math.pi / 2 + k * math.pi / 5
            rr = 20 if k % 2 == 0 else 8
            pts.append(f"{cx + rr * math.cos(angle):.1f},{cy + rr * math.sin(angle):.1f}")
        svg.raw(f'<polygon points="{" ".join(pts)}" fill="#1d3c78"/>')
        svg.line(f"M{cx - 30} {cy + 12} L{cx + 30} {cy + 12}", "#c8202f", 3, cap="butt")
    if "Comme des Garcons" in s.colorway:
        svg.raw('<circle cx="380" cy="444" r="36" fill="#d6202b" stroke="#a8151e"/>')
        svg.raw(
            '<circle cx="368" cy="438" r="7" fill="#ffffff"/><circle cx="396" cy="438" r="7" '
            'fill="#ffffff"/><circle cx="368" cy="438" r="3.5" fill="#111"/>'
            '<circle cx="396" cy="438" r="3.5" fill="#111"/>'
        )


def mark_jazz(svg: Svg, s: CatalogSneaker, c: Colours, shape: Shape) -> None:
    colour = contrast_on(c.upper, c.overlay)
    if s.silhouette == "high":
        d = (
            "M300 500 C360 470 420 400 470 360 C520 330 570 380 600 430 C620 470 650 500 690 506 "
            "L640 508 C610 490 590 440 560 410 C530 380 500 380 470 410 C420 460 360 500 300 500 Z"
        )
    else:
        d = (
            "M290 506 C350 480 410 440 460 412 C510 388 560 420 590 460 C610 488 640 504 690 508 "
            "L632 510 C604 496 584 466 556 440 C528 416 500 418 470 436 C420 468 360 506 290 506 Z"
        )
    svg.path(d, colour, width=2)


def mark_formstrip(svg: Svg, s: CatalogSneaker, c: Colours, shape: Shape) -> None:
    colour = contrast_on(c.upper, c.overlay)
    svg.path(
        "M600 512 C560 470 500 440 430 420 C400 412 370 408 340 410 C380 420 420 436 460 462 "
        "C500 488 530 506 548 514 Z",
        colour,
        width=2,
    )


def mark_salomon(svg: Svg, s: CatalogSneaker, c: Colours, shape: Shape) -> None:
    colour = mix(c.overlay, "#ffffff", 0.18)
    for i in range(4):
        x = 320 + i * 52
        d = f"M{x} 492 L{x + 70} {386 - i * 20} L{x + 92} {378 - i * 20} L{x + 30} 492 Z"
        svg.path(d, colour, width=1.8)
    svg.line("M250 470 C360 470 520 452 650 420", mix(c.upper, "#ffffff", 0.3), 3)


def mark_none(svg: Svg, s: CatalogSneaker, c: Colours, shape: Shape) -> None:
    return None


MARKS: dict[str, Callable[[Svg, CatalogSneaker, Colours, Shape], None]] = {
    "Nike": mark_swoosh,
    "Jordan": mark_swoosh,
    "adidas": mark_stripes,
    "Yeezy": mark_none,
    "New Balance": mark_n,
    "ASICS": mark_tiger,
    "Converse": mark_converse,
    "Vans": mark_jazz,
    "Salomon": mark_salomon,
    "Puma": mark_formstrip,
}


# --- model-specific details -----------------------------------------------------------------


def details(svg: Svg, s: CatalogSneaker, c: Colours, shape: Shape) -> None:
    model = s.model
    if "Air Jordan 4" in model:
        svg.raw(
            '<pattern id="net" width="11" height="11" patternUnits="userSpaceOnUse">'
            f'<path d="M0 0L11 11M11 0L0 11" stroke="{edge(c.upper)}" stroke-width="1.3"/>'
            "</pattern>"
        )
        window = "M486 372 C520 380 560 376 596 362 L604 452 C560 462 520 470 490 480 Z"
        svg.path(window, mix(c.upper, "#ffffff", 0.25), width=2)
        svg.path(window, "url(#net)", stroke="none")
        svg.path(
            "M430 348 L462 336 C490 370 520 410 560 440 L540 452 C500 420 462 390 430 348 Z",
            c.overlay,
            width=2,
        )
    elif "Air Jordan 11" in model:
        svg.path(
            "M100 508 C94 486 104 470 140 462 C240 470 420 482 560 462 C620 452 680 440 706 420 "
            "L708 510 Z",
            c.overlay,
            width=2.5,
        )
        svg.line("M150 476 C300 488 460 488 620 462", "#ffffff", 4)
    elif "Air Jordan 3" in model:
        for d in (shape.toe_cap, shape.heel_counter):
            svg.path(d, c.overlay, width=2)
        for x, y in ((130, 470), (170, 480), (205, 462), (640, 430), (660, 470), (630, 480)):
            svg.line(f"M{x} {y} l14 -6 l10 8 l12 -4", "#3c3c3c", 2)
    elif "Air Max" in model or "Yeezy Boost 700" in model:
        svg.path(shape.toe_cap, c.overlay, width=2)
        svg.path("M410 486 C470 470 540 440 600 420 L640 492 L420 498 Z", c.overlay, width=2)


def sole_details(svg: Svg, s: CatalogSneaker, c: Colours, shape: Shape) -> None:
    """Things drawn on top of the midsole: visible Air windows, Boost texture, stitching."""
    air = "#dfe9ef"
    if "Air Jordan 4" in s.model:
        svg.path("M572 514 L648 514 L646 536 L574 538 Z", air, stroke="#9fb0bd", width=2)
    elif "Air Jordan 3" in s.model:
        svg.path("M584 514 L650 514 L648 536 L586 538 Z", air, stroke="#9fb0bd", width=2)
    elif "Air Max" in s.model:
        svg.path("M556 500 L662 490 L666 530 L560 536 Z", air, stroke="#94a7b4", width=2)
    if s.silhouette == "knit":
        for i in range(7):
            x = 140 + i * 84
            svg.line(f"M{x} 508 c16 8 -8 20 12 34", mix(c.sole, "#000000", 0.12), 2)
    if s.silhouette in ("high", "low", "court"):
        svg.line("M112 522 L704 522", mix(c.sole, "#000000", 0.14), 1.6, dash="6 5")


# --- composition ----------------------------------------------------------------------------


def render(s: CatalogSneaker) -> str:
    palette = list(s.palette)
    while len(palette) < 4:
        palette.append(mix(palette[0], "#000000", 0.5))
    c = Colours(*palette)
    shape = SHAPES[s.silhouette]
    svg = Svg()
    svg.raw(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 800" width="800" height="800">'
        "<defs>"
        '<radialGradient id="bg" cx="50%" cy="42%" r="70%">'
        f'<stop offset="0" stop-color="#ffffff"/><stop offset="1" stop-color="{BACKGROUND}"/>'
        "</radialGradient>"
        '<radialGradient id="sh" cx="50%" cy="50%" r="50%">'
        '<stop offset="0" stop-color="#000" stop-opacity="0.22"/>'
        '<stop offset="1" stop-color="#000" stop-opacity="0"/></radialGradient>'
        '<linearGradient id="lit" x1="0" y1="0" x2="0" y2="1">'
        '<stop offset="0" stop-color="#fff" stop-opacity="0.28"/>'
        '<stop offset="0.55" stop-color="#fff" stop-opacity="0"/>'
        '<stop offset="1" stop-color="#000" stop-opacity="0.10"/></linearGradient>'
        "</defs>"
        '<rect width="800" height="800" fill="url(#bg)"/>'
        '<ellipse cx="404" cy="578" rx="330" ry="26" fill="url(#sh)"/>'
        '<g transform="translate(0 30)">'
    )
    outsole = (
        c.overlay
        if s.silhouette in ("high", "low") and s.brand in ("Jordan", "Nike")
        else mix(c.sole, "#000000", 0.18)
        if s.silhouette in ("court", "knit")
        else c.accent
    )
    svg.path(shape.outsole, outsole)
    svg.raw(f'<clipPath id="u"><path d="{shape.upper}"/></clipPath>')
    laceless = s.model == "Classic Slip-On"
    svg.path(
        lining(shape), mix(c.upper, "#000000", 0.35) if luminance(c.upper) > 0.2 else "#3a3a3a"
    )
    if not laceless:
        svg.path(tongue(shape), mix(c.upper, "#ffffff", 0.08))
    svg.path(shape.upper, c.upper)
    svg.raw('<g clip-path="url(#u)">')
    if laceless:
        svg.raw(
            '<defs><pattern id="ck" width="36" height="36" patternUnits="userSpaceOnUse">'
            f'<rect width="36" height="36" fill="{c.upper}"/>'
            f'<rect width="18" height="18" fill="{c.overlay}"/>'
            f'<rect x="18" y="18" width="18" height="18" fill="{c.overlay}"/></pattern></defs>'
        )
        svg.path(shape.upper, "url(#ck)", stroke="none")
        svg.path(
            "M150 500 C150 470 170 452 200 446 L286 424 L440 358 L470 370 L300 450 "
            "C240 470 200 486 190 508 Z",
            c.overlay,
            width=2,
        )
    if s.silhouette == "knit":
        knit_lines(svg, s, c)
    panels = s.silhouette in ("high", "low") and s.brand in ("Jordan", "Nike", "New Balance")
    if panels or s.silhouette == "runner":
        svg.path(shape.toe_cap, c.overlay if panels else mix(c.upper, c.overlay, 0.5), width=2)
        svg.path(shape.heel_counter, c.overlay, width=2)
    if s.silhouette in ("high", "low", "runner") and s.brand not in ("Converse", "Vans"):
        svg.path(shape.eyestay, c.overlay, width=2)
    if s.brand == "Vans" and s.silhouette != "court":
        svg.path(shape.toe_cap, mix(c.upper, "#ffffff", 0.06), width=2)
        svg.path(shape.heel_counter, mix(c.upper, "#ffffff", 0.06), width=2)
    if s.silhouette == "court" and s.brand in ("adidas", "Puma"):
        svg.path(shape.toe_cap, mix(c.upper, "#000000", 0.06), width=2)
        svg.path(shape.heel_counter, mix(c.upper, c.overlay, 0.15), width=2)
    details(svg, s, c, shape)
    if not laceless:
        MARKS.get(s.brand, mark_none)(svg, s, c, shape)
    draw_stitching(svg, shape.collar, c.upper)
    svg.path(shape.upper, "url(#lit)", stroke="none")
    svg.raw("</g>")
    svg.path(shape.upper, "none", stroke=edge(c.upper))
    tab = c.upper if s.brand in ("Converse", "Yeezy") else c.accent
    svg.path(shape.heel_tab, tab, width=2)
    if laceless:
        svg.path(
            "M470 360 C476 376 478 392 474 404 L452 396 C456 384 456 372 452 362 Z",
            mix(c.overlay, "#ffffff", 0.2),
            width=1.5,
        )
    else:
        draw_laces(svg, shape, lace_colour(s, c))
    midsole = c.sole
    svg.path(shape.midsole, midsole)
    svg.path(shape.midsole, "url(#lit)", stroke="none")
    sole_details(svg, s, c, shape)
    svg.raw("</g></svg>")
    return "".join(svg.parts) + "\n"


def tongue(shape: Shape) -> str:
    """A padded tongue rising just behind the top eyelet, leaning slightly forward."""
    x, y = shape.lace_to
    return (
        f"M{x - 22:g} {y + 8:g} L{x - 18:g} {y - 34:g} C{x - 16:g} {y - 56:g} {x + 14:g} "
        f"{y - 62:g} {x + 24:g} {y - 42:g} L{x + 34:g} {y + 4:g} Z"
    )


def lining(shape: Shape) -> str:
    """The inside of the far collar, showing just above the near collar line."""
    start, rest = shape.collar[1:].split(" C", 1)
    x0, y0 = (float(v) for v in start.split())
    nums = [float(v) for v in rest.split()]
    lifted = [v - 14 if i % 2 else v for i, v in enumerate(nums)]
    fwd = " ".join(f"{v:g}" for v in lifted)
    back = " ".join(f"{v:g}" for v in (nums[2], nums[3], nums[0], nums[1], x0, y0))
    return f"M{x0:g} {y0 - 12:g} C{fwd} L{nums[4] + 6:g} {nums[5] + 4:g} C{back} Z"


def lace_colour(s: CatalogSneaker, c: Colours) -> str:
    if s.silhouette == "knit":
        return mix(c.upper, "#ffffff", 0.1)
    if luminance(c.upper) < 0.2 and s.brand in ("Converse", "Vans", "adidas", "Puma"):
        return "#f4f2ec"
    return mix(c.upper, "#ffffff", 0.15 if luminance(c.upper) > 0.2 else 0.12)


def knit_lines(svg: Svg, s: CatalogSneaker, c: Colours) -> None:
    stripe = c.overlay
    zebra = s.colorway == "Zebra"
    colour = stripe if zebra else mix(c.upper, "#000000", 0.12)
    width = 7 if zebra else 2
    for i in range(11):
        x = 120 + i * 58
        if zebra:
            svg.line(
                f"M{x} 510 l16 -44 l-10 -8 l18 -44 l-10 -8 l18 -44 l-10 -8 l18 -44",
                colour,
                9,
                cap="butt",
            )
        else:
            svg.line(f"M{x} 510 C{x + 20} 450 {x + 40} 410 {x + 70} 320", colour, width)
    # side stripe from midfoot to heel, with the small red text bar on Zebra/Bred
    band = mix(c.overlay, c.upper, 0.35) if not zebra else mix(c.upper, "#ffffff", 0.4)
    svg.path(
        "M360 470 C460 450 580 440 700 428 L702 470 C590 474 470 484 364 494 Z", band, width=1.5
    )
    if s.colorway in ("Zebra", "Bred"):
        svg.path("M480 468 L600 456 L601 470 L481 480 Z", c.accent, stroke="none")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="report stale files, write nothing")
    args = parser.parse_args(argv)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    stale = []
    for sneaker in CATALOG:
        target = OUT_DIR / f"{sneaker.slug}.svg"
        text = render(sneaker)
        if target.exists() and target.read_text(encoding="ascii") == text:
            continue
        stale.append(target.name)
        if not args.check:
            target.write_text(text, encoding="ascii")
    if args.check and stale:
        print("stale product images:", ", ".join(stale))
        return 1
    print(f"{len(CATALOG)} product images, {len(stale)} rewritten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
