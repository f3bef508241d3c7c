"""Text clean-up applied to every address before parsing.

Pure code: no database, no network. Full-width → half-width, traditional →
simplified Chinese (OpenCC tables, only when a traditional character is present),
and removal of what leaks into pasted addresses: phone numbers, 收货人/电话 labels,
recipient names next to phone numbers, tag brackets, line breaks, repeated prefixes.
"""

import re
import unicodedata
from bisect import bisect_left
from functools import cache
from itertools import accumulate
from pathlib import Path

# Labels that introduce a recipient's name: the value after them is a name, not a place.
_NAME_LABELS = "收货人姓名|收件人姓名|收货人|收件人|联系人|签收人|姓名|客户|名字"
_OTHER_LABELS = (
    "收货地址|收件地址|详细地址|所在地区|所在地|联系地址|通讯地址|地址|"
    "联系电话|联系方式|手机号码|手机号|手机|电话号码|电话|座机|固话|tel|mobile|phone"
)
# The leading lookaheads let the regex engine skip positions that cannot start a match
# (3-8x faster on a typical paste than trying every alternative everywhere).
_NAME_LABEL_RE = re.compile(
    rf"(?=[收联签姓客名])(?:{_NAME_LABELS})\s*[:：]?\s*[\u4e00-\u9fff·]{{0,5}}(?=[\s,，;；:：/|()]|[+\d]|$)",
    re.IGNORECASE,
)
_LABEL_RE = re.compile(
    rf"(?=[收所详联通地手电座固TtMmPp])(?:(?:{_OTHER_LABELS})\s*[:：]\s*|(?:{_OTHER_LABELS})(?=\s*[+\d(]))",
    re.IGNORECASE,
)
_POSTCODE_LABEL_RE = re.compile(r"邮编|邮政编码|postcode|zip")

# Mobile (optionally +86, split by spaces or dashes) and landline numbers (area code required).
_PHONE_RE = re.compile(
    r"(?=[+(\d])(?:(?<![\dA-Za-z])(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)"
    r"|(?<![\dA-Za-z-])(?:\(0\d{2,3}\)|0\d{2,3}-)\s?\d{7,8}(?:-\d{1,5})?(?!\d)"
    r"|(?<![\dA-Za-z-])0\d{9,11}(?!\d)"
    r"|(?<![\dA-Za-z-])400-?\d{3}-?\d{4}(?!\d))"
)
_NAME_TOKEN_RE = re.compile(r"[\u4e00-\u9fff·]{2,4}")
# A token ending like this is a place or part of an address, never a name.
_PLACE_ENDINGS = frozenset("省市区县镇乡村路街道巷弄号楼室栋座园城州盟旗里苑厦场院站港湾口岛")
_SEPARATORS_RE = re.compile(r"[\s,，;；:：|/]+")

_TAG_BRACKETS_RE = re.compile(r"【[^】]{0,20}】|\[[^\]]{0,20}\]|\(\s*\)|（\s*）|<[^>]{0,20}>")
_SPACE_RE = re.compile(r"\s+")
# 广东省广东省, 深圳市深圳市: a division-like prefix written twice in a row.
_REPEAT_RE = re.compile(r"([\u4e00-\u9fff]{2,12}?[省市区县州盟旗])(?:[\s\-,，]*\1)+")
_MAYBE_PHONE_RE = re.compile(r"\d[\d\s()+-]{6}")
# The same run in text that is otherwise plain (ASCII digits, spaces and line breaks only);
# starting with a character class lets the engine skip to the next digit in C.
_PHONE_RUN_RE = re.compile(r"[0-9][0-9 \n()+\-]{6}")
_KANA_RE = re.compile(r"[\u3040-\u30ff]")


@cache
def _traditional_table() -> tuple[frozenset[str], dict[int, str]]:
    """The traditional-only characters and a translate table to simplified (OpenCC's data, loaded once).

    Character by character rather than OpenCC's phrase matcher: place names convert the
    same either way, and str.translate stays linear on a 10,000-character paste.
    """
    import opencc

    path = Path(opencc.__file__).resolve().parent / "dictionary" / "TSCharacters.txt"
    table: dict[int, str] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            trad, _, simp = line.rstrip("\n").partition("\t")
            simp = simp.split(" ")[0]
            if len(trad) == 1 and simp and simp != trad:
                table[ord(trad)] = simp
    return frozenset(chr(c) for c in table), table


def _char_class(codes: set[int]) -> str:
    """A regex character class for a set of code points, as ranges."""
    ranges = []
    for code in sorted(codes):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges
    )


@cache
def _scanners() -> tuple[re.Pattern, re.Pattern, re.Pattern, re.Pattern]:
    """Regexes built from the OpenCC table: any traditional character; text that needs no clean-up.

    A character class is scanned in C, an order of magnitude faster than testing a
    frozenset against every character of the text.
    """
    trad_chars, _ = _traditional_table()
    # Only BMP characters: one character outside the BMP makes the engine test the
    # class range by range (100x slower); those few go through a range of their own.
    trad = {ord(c) for c in trad_chars if ord(c) < 0x10000}
    han = set(range(0x4E00, 0xA000))
    ascii_ok = "A-Za-z0-9#\\-.,'() "
    traditional = re.compile(f"[{_char_class(trad)}]|[\U00010000-\U0010ffff]")
    clean_simplified = re.compile(f"[{ascii_ok}{_char_class(han - trad)}]*")
    clean_any = re.compile(f"[{ascii_ok}\u4e00-\u9fff]*")
    # Any character a plain text cannot hold, over many texts joined by line breaks. Phone-like
    # runs are looked for by `_PHONE_RUN_RE` separately: in one alternation the engine tried
    # both branches at every position (4x slower on a batch).
    not_plain = re.compile(f"[^\n{ascii_ok}{_char_class(han - trad)}]")
    return traditional, clean_simplified, clean_any, not_plain


def to_halfwidth(text: str) -> str:
    """Full-width letters, digits and punctuation to ASCII; ideographic space to space."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text)


def to_simplified(text: str) -> str:
    """Traditional Chinese to simplified; Japanese text (with kana) is left alone."""
    if text.isascii() or not _scanners()[0].search(text) or _KANA_RE.search(text):
        return text
    return text.translate(_traditional_table()[1])


def strip_phones(text: str) -> str:
    """Remove phone numbers and the recipient names written next to them."""
    if not _MAYBE_PHONE_RE.search(text):
        return text
    parts = _PHONE_RE.split(text)
    if len(parts) == 1:
        return text
    out = []
    for i, part in enumerate(parts):
        if i > 0:
            part = _drop_name(part, leading=True)
        if i < len(parts) - 1:
            part = _drop_name(part, leading=False)
        out.append(part)
    return " ".join(out)


def _drop_name(part: str, *, leading: bool) -> str:
    """Drop a 2–4 character name token at the start (leading) or end of `part`."""
    if leading:
        m = _LEADING_NAME_RE.match(part)
    else:
        # A name has at most 4 characters: the last 5 decide, whatever the length.
        body = part.rstrip(_NAME_EDGE)
        m = _TRAILING_NAME_RE.search(body[-5:])
    if m is None or m.group(1)[-1] in _PLACE_ENDINGS:
        return part
    token = m.group(1)
    if leading:
        return part[m.end(1) :]
    return part[: part.rfind(token)]


_NAME_EDGE = " ,，;；:：|/\t\r\n"
_LEADING_NAME_RE = re.compile(r"[ ,，;；:：|/\t\r\n]*([\u4e00-\u9fff·]{2,4})(?=[\s,，;；:：|/]|$)")
_TRAILING_NAME_RE = re.compile(r"(?:^|[\s,，;；:：|/])([\u4e00-\u9fff·]{2,4})$")
_LABEL_GATE_RE = re.compile(r"[收所详联通地手电座固签姓客名]|tel|mobile|phone", re.IGNORECASE)


def strip_labels(text: str) -> str:
    """Remove 收货人/电话/地址 style labels (and the name after a name label)."""
    if not _LABEL_GATE_RE.search(text):
        return text
    if "人" in text or "名" in text or "客户" in text:
        text = _NAME_LABEL_RE.sub(" ", text)
    return _LABEL_RE.sub(" ", text)


def collapse_repeats(text: str) -> str:
    """广东省广东省深圳市 → 广东省深圳市."""
    count = text.count
    if count("省") < 2 and count("市") < 2 and count("区") < 2 and count("县") < 2 and count("州") < 2:
        return text
    return _REPEAT_RE.sub(r"\1", text)


# Past this many characters nobody is writing an address: the rest of a very long
# paste only gets the linear clean-ups (width, script, spaces) and stays in the detail.
HEAD_CHARS = 400
_EDGES = " ,，;；:：|/-"


def normalize_address_text(text: str, *, simplify: bool = True) -> str:
    """The cleaned single-line text the parser reads."""
    if not text:
        return ""
    _, clean_simplified, clean_any, _ = _scanners()
    # Plain text (simplified Chinese, ASCII letters, digits, a little punctuation) needs
    # neither width nor script conversion; without a phone-like run it needs nothing.
    plain = (clean_simplified if simplify else clean_any).fullmatch(text) is not None
    if plain and not _MAYBE_PHONE_RE.search(text):
        return text.strip()
    if len(text) > HEAD_CHARS:
        tail = to_halfwidth(text[HEAD_CHARS:])
        if simplify:
            tail = to_simplified(tail)
        head = _normalize(text[:HEAD_CHARS], simplify, plain=False)
        return " ".join(f"{head} {tail}".split()).strip(_EDGES)
    return _normalize(text, simplify, plain=plain)


def normalize_address_texts(texts: list[str]) -> list[str]:
    """`normalize_address_text` of each text; one regex pass finds the few that need work."""
    joined = "\n".join(texts)
    if joined.count("\n") != len(texts) - 1:
        return [normalize_address_text(text) for text in texts]
    out = [text.strip() for text in texts]
    not_plain = [m.start() for m in _scanners()[3].finditer(joined)]
    phones = [m.start() for m in _PHONE_RUN_RE.finditer(joined)]
    if not_plain or phones:
        ends = list(accumulate(map(len, texts), lambda total, size: total + size + 1))
        busy = {bisect_left(ends, start) for start in not_plain}
        for i in busy:
            out[i] = normalize_address_text(texts[i])
        for i in {bisect_left(ends, start) for start in phones} - busy:
            out[i] = _normalize_plain_with_phone(texts[i])
    return out


# A phone number with the recipient name written before or after it, as `strip_phones`
# reads them (a 2–4 character token between a separator or the start and the number, or
# between the number and a separator or the end; not ending like a place).
_NAME = "[\u4e00-\u9fff·]{2,4}"
_NOT_PLACE = f"(?<![{''.join(sorted(_PLACE_ENDINGS))}])"
_PHONE_WITH_NAMES_RE = re.compile(
    f"(?:(?:^|(?<=[\\s,，;；:：|/])){_NAME}{_NOT_PLACE}[ ,，;；:：|/\t\r\n]*)?"
    f"{_PHONE_RE.pattern}"
    f"(?:[ ,，;；:：|/\t\r\n]*{_NAME}{_NOT_PLACE}(?=[\\s,，;；:：|/]|$))?"
)


# Every label starts with one of these (a superset of `_LABEL_GATE_RE`, scanned in C).
_LABEL_CHARS_RE = re.compile("[收所详联通地手电座固签姓客名TtMmPp]")


def _normalize_plain_with_phone(text: str) -> str:
    """`normalize_address_text` of a plain text (see `_scanners`) with a phone-like run.

    With no bracket and no label, one regex match takes out the number and the names next
    to it; several numbers, labels or a long text take the full path.
    """
    if len(text) > HEAD_CHARS or "(" in text or _LABEL_CHARS_RE.search(text):
        return normalize_address_text(text)
    m = _PHONE_RE.search(text)
    if m is not None:
        end = m.end()
        if _MAYBE_PHONE_RE.search(text, end) and _PHONE_RE.search(text, end):
            return normalize_address_text(text)
        # A name before the number ends where the separators before it start: searching
        # from four characters earlier finds the same match as a search of the whole text.
        start = len(text[: m.start()].rstrip(_NAME_EDGE))
        m = _PHONE_WITH_NAMES_RE.search(text, max(0, start - 4))
        text = f"{text[: m.start()]} {text[m.end() :]}"
    return " ".join(collapse_repeats(text).split()).strip(_EDGES)


def _normalize(text: str, simplify: bool, *, plain: bool) -> str:
    if not plain:
        text = to_halfwidth(text)
        if simplify:
            text = to_simplified(text)
    if "【" in text or "[" in text or "(" in text or "（" in text or "<" in text:
        text = _TAG_BRACKETS_RE.sub(" ", text)
    text = strip_labels(text)
    text = strip_phones(text)
    text = collapse_repeats(text)
    return " ".join(text.split()).strip(_EDGES)


class _FoldTable(dict):
    """code point → the character the parser reads there, filled on first sight (str.translate)."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = unicodedata.normalize("NFKC", char) if code > 127 else char
        if len(folded) != 1:
            folded = char
        simplified = _traditional_table()[1].get(ord(folded), folded)
        value = simplified if len(simplified) == 1 else folded
        self[code] = value
        return value


_FOLD = _FoldTable()


def fold_characters(text: str) -> str:
    """`text` with each character as the parser reads it (half-width, simplified), same length.

    Characters whose clean-up changes the length (㈱ → (株)) are left as they are, so an
    offset in the result is an offset in `text`. One str.translate over a table that
    learns each character once (a loop over characters cost a batch 40% of its time).
    """
    return text.translate(_FOLD)


def restore_written(raw: str, detail: str) -> str:
    """The detail line as the user wrote it: the stretch of `raw` that reads as `detail`.

    The parser matches on a normalised copy (彌敦道 reads as 弥敦道, １２ as 12); the
    detail line keeps the original characters. When the detail line was joined from pieces
    apart (names cut out between them), its characters are found one after another; if one
    is not found, `detail` is returned unchanged.
    """
    if _scanners()[3].search(raw) is None:
        return detail  # simplified Chinese and plain ASCII read as written: nothing to restore
    folded = fold_characters(raw)
    at = folded.find(detail)
    if at >= 0:
        return raw[at : at + len(detail)]
    # Pieces joined from apart (香港|九龙|旺角|弥敦道 → 九龙弥敦道): each character in turn.
    out, start = [], 0
    for char in detail:
        at = folded.find(char, start)
        if at < 0:
            if char == " ":
                out.append(char)
                continue
            return detail
        out.append(raw[at])
        start = at + 1
    return "".join(out)
