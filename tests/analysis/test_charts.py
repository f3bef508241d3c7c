from decimal import Decimal

from analysis.charts import LINE_HEIGHT, LINE_WIDTH, bar_chart, line_chart


def test_bars_scale_to_the_largest_value_and_keep_their_links():
    chart = bar_chart(
        [("广东省", Decimal("200")), ("北京市", Decimal("50")), ("西藏", 0)], links=["/a", "/b", "/c"]
    )
    assert [b.width for b in chart.bars] == [100.0, 25.0, 0]
    assert [b.link for b in chart.bars] == ["/a", "/b", "/c"]
    assert chart.bars[1].y > chart.bars[0].y and chart.height > 0


def test_an_empty_or_all_zero_chart_draws_nothing_wide():
    assert bar_chart([]).bars == []
    assert [b.width for b in bar_chart([("a", 0), ("b", 0)]).bars] == [0, 0]


def test_line_runs_left_to_right_with_the_peak_at_the_top():
    chart = line_chart([("2026-01", Decimal(0)), ("2026-02", Decimal(10)), ("2026-03", Decimal(5))])
    xs = [p.x for p in chart.points]
    assert xs == [0, LINE_WIDTH / 2, LINE_WIDTH]
    assert [p.y for p in chart.points] == [LINE_HEIGHT, 0, LINE_HEIGHT / 2]
    assert chart.path.startswith("M0")
