from addresses.templatetags.address_display import text_on


def contrast(a: str, b: str) -> float:
    def lum(c):
        ch = [int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        ch = [x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4 for x in ch]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_badge_text_colour_meets_wcag_aa_on_saturated_colours():
    for colour in ("#ff0000", "#0000ff", "#00ff00", "#ffff00", "#0f5f73", "#e8590c", "#888888", "#ffffff"):
        text = "#000000" if text_on(colour) == "#000" else "#ffffff"
        assert contrast(colour, text) >= 4.5, colour


def test_badge_text_colour_picks_black_on_red_and_white_on_blue():
    assert text_on("#ff0000") == "#000"
    assert text_on("#0000ff") == "#fff"
    assert text_on("not a colour") == "#fff"
