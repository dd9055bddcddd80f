"""The class in numbers, and the distribution of averages as a chart drawn on the server: ``/statistics``."""

from __future__ import annotations

from dataclasses import dataclass

from ...frame import calls
from ...frame.render import render
from ...frame.traced import traced

# The chart's coordinate system (the SVG's viewBox); CSS scales it to the page's width. Bars run
# sideways, one row a band of averages, so on a phone the band names keep their room; its text is
# 16 units, about 14 px on a 375 px screen (the chart is 330 px wide there).
WIDTH, ROW, BAR, TOP = 360, 30, 20, 6
# Band names end at LABELS_END; bars run from BARS_START to at most BARS_END, their counts after them.
LABELS_END, BARS_START, BARS_END = 60, 68, 300
# Between a band's bounds, as typeset ranges are written.
DASH = "\N{EN DASH}"


@dataclass(frozen=True)
class Bar:
    """One band of the chart: its name, its count and where it is drawn."""

    label: str
    count: int
    y: float
    width: float

    @property
    def text_y(self) -> float:
        return self.y + BAR / 2


def bands(count: int) -> list[str]:
    """``0-9``, ``10-19``, ..., ``90-100`` with en dashes: the histogram's bands as docs/protocol.md
    defines them (``Grades.statistics``)."""
    return [f"{10 * i}{DASH}{10 * i + 9}" if i < count - 1 else f"{10 * i}{DASH}100" for i in range(count)]


def bars(histogram: list[int]) -> list[Bar]:
    """The chart's bars: widths relative to the largest count, a zero count drawn as nothing."""
    largest = max(histogram, default=0) or 1
    return [
        Bar(label, count, TOP + i * ROW, (BARS_END - BARS_START) * count / largest)
        for i, (label, count) in enumerate(zip(bands(len(histogram)), histogram, strict=True))
    ]


def chart(histogram: list[int]) -> dict[str, object]:
    """What ``chart.tpl`` draws for ``histogram`` (a count for each band of ten): its bars and sizes."""
    drawn = bars(histogram)
    return {
        "bars": drawn,
        "width": WIDTH,
        "height": TOP * 2 + ROW * len(drawn),
        "labels_end": LABELS_END,
        "bars_start": BARS_START,
        "bar_height": BAR,
    }


@traced
def statistics() -> str:
    """``GET /statistics``: one ``Grades.statistics`` call."""
    numbers = calls.grading("Grades.statistics")
    histogram = list(numbers["histogram"])
    return render("statistics.tpl", numbers=numbers, with_average=sum(histogram), chart=chart(histogram))
