"""The app's Plotly chart: Plotly's basic bundle (scatter and bar, all our charts draw), fetched
as soon as a page with a chart loads rather than when its figure arrives.

`rx.plotly` loads the whole of plotly.js (4.6 MB, 1.4 MB compressed) and only once the chart is
first rendered, i.e. after the page's state came over the websocket: bundle and state were
fetched one after the other. The basic bundle is the same package's `dist/plotly-basic.min.js`
(1.1 MB, no extra download), and the module-level `import()` below starts fetching it while the
page connects; the chart's own import then finds it loaded.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex_components_plotly.plotly import PlotlyBasic, dynamic_plotly_import

from state import charts

BUNDLE = "plotly.js/dist/plotly-basic.min.js"


class BasicPlot(PlotlyBasic):
    tag: str = "AppBasicPlotlyPlot"
    lib_dependencies: list[str] = ["plotly.js@3.7.0"]  # the package rx.plotly installs

    def _get_dynamic_imports(self) -> str:
        return dynamic_plotly_import(self.tag, BUNDLE)

    def add_custom_code(self) -> list[str]:
        # In the browser only: the build also renders pages on the server, where Plotly
        # cannot load.
        start = f'if (typeof window !== "undefined") {{ import("{BUNDLE}"); }}'
        return [*super().add_custom_code(), start]


def plot(figure: rx.Var, height: str, **props: Any) -> rx.Component:
    """A chart of `figure` filling its box's width (no toolbar, `charts.CONFIG`)."""
    return BasicPlot.create(
        data=figure,
        config=charts.CONFIG,
        use_resize_handler=True,
        width="100%",
        height=height,
        **props,
    )
