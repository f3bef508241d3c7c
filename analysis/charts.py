"""Charts drawn as SVG on the server (templates/analysis/_bar_chart.html, _line_chart.html):
geometry only, computed here; the templates add text, titles and colours. No JavaScript, so the
charts work offline, print, and read the same in both languages."""

from dataclasses import dataclass
from decimal import Decimal

BAR_HEIGHT = 24
BAR_GAP = 8
LINE_WIDTH, LINE_HEIGHT = 640, 200


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal | int
    width: float  # percent of the widest bar
    y: int
    link: str | None


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    height: int
    money: bool
    tone: str


def bar_chart(items, *, links=None, money: bool = True, tone: str = "primary") -> BarChart:
    """Horizontal bars for (label, value) pairs, scaled to the largest value."""
    peak = max((v for _l, v in items), default=0) or 1
    bars = [
        Bar(
            label=str(label),
            value=value,
            width=round(float(value) * 100 / float(peak), 2) if value else 0,
            y=i * (BAR_HEIGHT + BAR_GAP),
            link=links[i] if links else None,
        )
        for i, (label, value) in enumerate(items)
    ]
    return BarChart(
        bars=bars, height=max(len(bars) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP, 0), money=money, tone=tone
    )


@dataclass(frozen=True)
class LinePoint:
    label: str
    value: Decimal
    x: float
    y: float


@dataclass(frozen=True)
class LineChart:
    points: list[LinePoint]
    path: str
    width: int
    height: int
    peak: Decimal


def line_chart(items) -> LineChart:
    """A line over (label, value) pairs, left to right, scaled to the largest value."""
    peak = max((v for _l, v in items), default=0) or 1
    step = LINE_WIDTH / max(len(items) - 1, 1)
    points = [
        LinePoint(
            label=str(label),
            value=value,
            x=round(i * step, 1),
            y=round(LINE_HEIGHT - float(value) * LINE_HEIGHT / float(peak), 1),
        )
        for i, (label, value) in enumerate(items)
    ]
    path = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(points))
    return LineChart(points=points, path=path, width=LINE_WIDTH, height=LINE_HEIGHT, peak=Decimal(peak))
