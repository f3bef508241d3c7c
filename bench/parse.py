"""Address parsing: Dizhi against cpca, side by side.

    .venv/bin/python bench/parse.py [--n 100000]

Installs cpca (with setuptools<82 for its pkg_resources import, pandas and
pyahocorasick) into var/bench-deps/cpca once, then prints accuracy on the
labelled set (tests/data), on ../shared/eval when present, batch and single-call
throughput on the same synthetic addresses, and Dizhi's worst single call over
adversarial strings. Figures only, no assertions.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from _deps import pip_target

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEPS = ROOT / "var" / "bench-deps" / "cpca"
EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
LABELLED = ROOT / "tests" / "data" / "labelled_addresses.jsonl"
LABELLED_33 = ROOT / "tests" / "data" / "labelled_issue33.jsonl"
# Today's parser (before the township level): a checkout of that commit, run in a subprocess.
BASE = Path(os.environ.get("DIZHI_BASE", "/work/base"))
_BASE_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from geo.selectors import region_index_from_files
from geo.parsing import parse_addresses
texts = json.load(sys.stdin)
out = [[r.name if r else None for r in (p.province, p.city, p.district)] + [p.historic]
       for p in parse_addresses(texts, region_index_from_files())]
json.dump(out, sys.stdout)
"""
MUNICIPALITIES = {"北京市", "天津市", "上海市", "重庆市"}
SAR = {"香港特别行政区", "澳门特别行政区", "台湾省"}


def load_cpca():
    if not (DEPS / "cpca").exists():
        print(f"installing cpca into {DEPS} …", flush=True)
        pip_target(DEPS, "cpca==0.5.5", "setuptools<82", "pandas", "pyahocorasick")
    sys.path.append(str(DEPS))
    import warnings

    warnings.filterwarnings("ignore")
    import cpca

    return cpca


def dizhi_levels(parsed):
    return tuple(r.name if r else None for r in (parsed.province, parsed.city, parsed.district))


def base_levels(texts):
    """(province, city, district) and historic of each text by today's parser, or None without a checkout."""
    if not (BASE / "geo" / "parsing.py").exists():
        return None
    done = subprocess.run(
        [sys.executable, "-c", _BASE_SCRIPT, str(BASE)],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        cwd=BASE,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "crm.settings"},
        check=True,
    )
    return [(tuple(r[:3]), r[3]) for r in json.loads(done.stdout)]


def lost_districts(before, after):
    """Texts with a district today that now have none, and those whose district changed."""
    lost = sum(1 for b, a in zip(before, after) if b[2] and not a[2])
    changed = sum(1 for b, a in zip(before, after) if b[2] and a[2] and a[2] != b[2])
    return lost, changed


def township_score(rows, parsed):
    """Township right where the label names one; (right, labelled)."""
    named = [(r, p) for r, p in zip(rows, parsed) if r.get("township")]
    return sum(1 for r, p in named if p.township and p.township.name == r["township"]), len(named)


def foreign_score(rows, parsed):
    """Foreign rows: country, subdivision, locality and postcode all right; (right, rows)."""
    rows_parsed = [(r, p) for r, p in zip(rows, parsed) if r.get("country") not in (None, "CN")]
    right = 0
    for r, p in rows_parsed:
        got = (
            p.country.code if p.country else None,
            p.province.code if p.province else None,
            p.locality,
            p.postcode,
        )
        right += got == (r["country"], r["province"], r["locality"], r["postcode"])
    return right, len(rows_parsed)


def cpca_levels(df):
    rows = []
    for p, c, d in zip(df["省"], df["市"], df["区"]):
        p, c, d = (x if isinstance(x, str) and x else None for x in (p, c, d))
        if p in MUNICIPALITIES and c in (None, "市辖区", "县", p):
            c = p
        rows.append((p, c, d))
    return rows


def score(rows, predictions):
    """Per level: right / rows; HK, MO, TW rows count the province only."""
    right = [0, 0, 0]
    totals = [0, 0, 0]
    for row, got in zip(rows, predictions):
        expected = (row["province"], row["city"], row["district"])
        levels = (0,) if expected[0] in SAR else (0, 1, 2)
        for i in levels:
            totals[i] += 1
            right[i] += got[i] == expected[i]
    return [r / t if t else 0.0 for r, t in zip(right, totals)], sum(
        all(got[i] == (row["province"], row["city"], row["district"])[i] for i in range(3))
        for row, got in zip(rows, predictions)
    )


def span_score(rows, predictions, historic=None):
    """NAACL spans: a written level is right when the returned name starts with the span.

    With `historic` (per row, the former names the parser resolved), a span that is one of
    them also counts: the 2019 texts name districts since merged (下城区 → 拱墅区).
    """
    right = [0, 0, 0]
    totals = [0, 0, 0]
    filled = [0, 0, 0]
    for n, (row, got) in enumerate(zip(rows, predictions)):
        old = historic[n].split() if historic else ()
        for i, key in enumerate(("province_span", "city_span", "district_span")):
            span = row.get(key)
            if span:
                totals[i] += 1
                name = got[i] or ""
                right[i] += (bool(name) and (name.startswith(span) or span.startswith(name))) or any(
                    h.startswith(span) or span.startswith(h) for h in old
                )
            elif got[i]:
                filled[i] += 1
    return [r / t if t else 0.0 for r, t in zip(right, totals)], totals, filled


def synthetic(n, seed=7):
    from geo.regiondata import read_region_records

    records = [r for r in read_region_records() if r.is_active and r.code[:1].isdigit()]
    by_code = {r.code: r for r in records}
    districts = [r for r in records if r.level == "district"]
    rng = random.Random(seed)
    streets = ["人民路", "解放大道", "建设街", "科技园", "长江路", "和平里", "新华路", "文化路", "工业园"]
    names = ["王小明", "李娜", "张伟", "刘洋"]
    out = []
    for i in range(n):
        d = rng.choice(districts)
        c = by_code.get(d.parent_code)
        p = by_code.get(c.parent_code) if c and c.level == "city" else c
        city = c.name if c and c.level == "city" else ""
        street = (
            f"{rng.choice(streets)}{rng.randint(1, 999)}号{rng.randint(1, 30)}栋{rng.randint(101, 2505)}室"
        )
        form = i % 5
        if form == 0:
            text = f"{p.name}{city}{d.name}{street}"
        elif form == 1:
            text = f"{city}{d.name}{street}"
        elif form == 2:
            text = f"{p.short_name or p.name}{(c.short_name or city) if city else ''}{d.name}{street}"
        elif form == 3:
            text = f"{rng.choice(names)} 1{rng.randint(3, 9)}{rng.randint(0, 10**9 - 1):09d} {p.name}{d.name}{street}"
        else:
            text = f"{d.name}{street}"
        out.append(text)
    return out


def adversarial(count, seed=11):
    from geo.regiondata import read_region_records

    names = [r.name for r in read_region_records() if r.code[:1].isdigit()][:4000]
    pieces = names + [
        "路",
        "号",
        "13812345678",
        "收货人:",
        "(",
        "）",
        "\n",
        "　",
        "廣東",
        "省",
        "市",
        "区",
        "518057",
    ]
    rng = random.Random(seed)
    out = []
    for i in range(count):
        size = rng.choice((10, 100, 1000, 10_000))
        if i % 3 == 0:
            text = "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(size))
        elif i % 3 == 1:
            parts, total = [], 0
            while total < size:
                part = rng.choice(pieces)
                parts.append(part)
                total += len(part)
            text = "".join(parts)[:size]
        else:
            text = (rng.choice(names) * (size // 3 + 1))[:size]
        out.append(text)
    return out


def row(label, dizhi, cpca_value):
    print(f"  {label:<38} {dizhi:>14} {cpca_value:>14}")


def row3(label, dizhi, cpca_value, today):
    print(f"  {label:<38} {dizhi:>14} {cpca_value:>14} {today:>10}")


def pct(x):
    return "-" if x is None else f"{100 * x:.1f}%"


def rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--single", type=int, default=20_000)
    parser.add_argument("--adversarial", type=int, default=10_000)
    args = parser.parse_args()

    from geo.parsing import parse_address, parse_addresses
    from geo.selectors import region_index_from_files

    before = rss_mb()
    started = time.perf_counter()
    index = region_index_from_files()
    index_seconds = time.perf_counter() - started
    index_mb = rss_mb() - before
    cpca = load_cpca()
    cpca.transform(["广东省深圳市南山区"])  # load its tables before timing
    parse_address("张三 13812345678 廣東省深圳市南山區", index)  # warm normalisation tables

    print(
        f"Dizhi index: {len(index)} names (townships included), built in {index_seconds:.2f} s, "
        f"{index_mb:.0f} MB (process RSS {rss_mb():.0f} MB, limit 300 MB)"
    )

    print(f"  {'':<38} {'Dizhi':>14} {'cpca 0.5.5':>14} {'today':>10}")
    sets = [("labelled (tests/data)", LABELLED), ("issue 33 set (tests/data)", LABELLED_33)]
    if (EVAL / "tricky_addresses.jsonl").exists():
        sets.append(("tricky (shared/eval)", EVAL / "tricky_addresses.jsonl"))
    else:
        print(f"  ({EVAL} not found: skipping the shared evaluation sets)")
    all_rows, all_parsed, all_base = [], [], []
    for name, path in sets:
        rows = [json.loads(line) for line in path.open(encoding="utf-8")]
        texts = [r["text"] for r in rows]
        parsed = parse_addresses(texts, index)
        cn = [i for i, r in enumerate(rows) if r.get("country", "CN") == "CN"]
        (dp, dc, dd), dall = score([rows[i] for i in cn], [dizhi_levels(parsed[i]) for i in cn])
        (cp, cc, cd), call = score([rows[i] for i in cn], cpca_levels(cpca.transform([texts[i] for i in cn])))
        base = base_levels(texts)
        bp = bc = bd = None
        if base is not None:
            (bp, bc, bd), _ = score([rows[i] for i in cn], [base[i][0] for i in cn])
            all_base += [b[0] for b in base]
        all_rows += rows
        all_parsed += parsed
        print(f"{name}: {len(rows)} addresses ({len(cn)} Chinese)")
        row3("province", pct(dp), pct(cp), pct(bp))
        row3("city", pct(dc), pct(cc), pct(bc))
        row3("district", pct(dd), pct(cd), pct(bd))
        row3("all three right", f"{dall}/{len(cn)}", f"{call}/{len(cn)}", "")
        right, named = township_score(rows, parsed)
        if named:
            row3("township, where named", f"{right}/{named} {pct(right / named)}", "-", "-")
        right, foreign = foreign_score(rows, parsed)
        if foreign:
            row3("abroad: country+subdiv+locality+postcode", f"{right}/{foreign}", "-", "-")
    if all_base:
        lost, changed = lost_districts(all_base, [dizhi_levels(p) for p in all_parsed])
        print(f"  districts today's parser found that are now missing: {lost}, now different: {changed}")

    spans = EVAL / "cn_address_spans_naacl2019.jsonl"
    if spans.exists():
        rows = [json.loads(line) for line in spans.open(encoding="utf-8")]
        texts = [r["text"] for r in rows]
        parsed = parse_addresses(texts, index)
        d_acc, totals, d_fill = span_score(rows, [dizhi_levels(p) for p in parsed])
        d_then, _, _ = span_score(rows, [dizhi_levels(p) for p in parsed], [p.historic for p in parsed])
        c_acc, _, c_fill = span_score(rows, cpca_levels(cpca.transform(texts)))
        base = base_levels(texts)
        b_acc = b_fill = b_then = None
        if base is not None:
            b_acc, _, b_fill = span_score(rows, [b[0] for b in base])
            b_then, _, _ = span_score(rows, [b[0] for b in base], [b[1] for b in base])
        print(f"NAACL 2019 spans (shared/eval): {len(rows)} addresses, written P/C/D = {totals}")
        for i, level in enumerate(("province", "city", "district")):
            row3(f"{level} matches written span", pct(d_acc[i]), pct(c_acc[i]), pct(b_acc and b_acc[i]))
        row3(
            "district, former names resolved counted",
            pct(d_then[2]),
            pct(c_acc[2]),
            pct(b_then and b_then[2]),
        )
        for i, level in enumerate(("province", "city", "district")):
            row3(
                f"{level} filled where not written", str(d_fill[i]), str(c_fill[i]), str(b_fill and b_fill[i])
            )
        towns = [(r, p) for r, p in zip(rows, parsed) if any(s["label"] == "town" for s in r["admin_spans"])]
        found = sum(
            1
            for r, p in towns
            if p.township
            and any(s["label"] == "town" and s["text"] == p.township.name for s in r["admin_spans"])
        )
        row3("township = written town span", f"{found}/{len(towns)} {pct(found / len(towns))}", "-", "-")
        if base is not None:
            lost, changed = lost_districts([b[0] for b in base], [dizhi_levels(p) for p in parsed])
            print(f"  districts today's parser found that are now missing: {lost}, now different: {changed}")

    texts = synthetic(args.n)
    print(f"synthetic: {len(texts)} addresses, {len(set(texts))} distinct (same list for both)")
    print("  batch: Dizhi parse_addresses(texts, index) vs cpca.transform(texts), in this process")
    index.clear_caches()  # no resolution or result cached from earlier runs: measured from cold
    wall, cpu = time.perf_counter(), time.process_time()
    parsed = parse_addresses(texts, index)
    d_wall, d_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    frame = cpca.transform(texts)
    c_wall, c_cpu = time.perf_counter() - wall, time.process_time() - cpu
    d_found = sum(p.district is not None for p in parsed) / len(texts)
    c_found = sum(isinstance(x, str) and bool(x) for x in frame["区"]) / len(texts)
    row("batch addresses/s (wall)", f"{len(texts) / d_wall:,.0f}", f"{len(texts) / c_wall:,.0f}")
    row("batch CPU µs per address", f"{1e6 * d_cpu / len(texts):.2f}", f"{1e6 * c_cpu / len(texts):.2f}")
    row("batch ratio Dizhi / cpca (wall)", f"{c_wall / d_wall:.2f}x", "")
    row("batch ratio Dizhi / cpca (CPU)", f"{c_cpu / d_cpu:.2f}x", "")
    row("district found", pct(d_found), pct(c_found))

    sample = texts[: args.single]
    index.clear_caches()  # the batch above parsed these very texts
    calls = []
    started = time.perf_counter()
    for text in sample:
        t0 = time.perf_counter()
        parse_address(text, index)
        calls.append(time.perf_counter() - t0)
    d_single = len(sample) / (time.perf_counter() - started)
    calls.sort()
    row(
        "single-call p99 / max (ms, limit p99 5)",
        f"{1000 * calls[len(calls) * 99 // 100]:.2f} / {1000 * calls[-1]:.1f}",
        "-",
    )
    c_sample = sample[:2000]
    started = time.perf_counter()
    for text in c_sample:
        cpca.transform([text])
    c_single = len(c_sample) / (time.perf_counter() - started)
    row("single-call addresses/s", f"{d_single:,.0f}", f"{c_single:,.0f}")

    strings = adversarial(args.adversarial)
    index.clear_caches()
    walls, cpus = [], []
    for text in strings:
        wall, cpu = time.perf_counter(), time.process_time()
        parse_address(text, index)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    worst_len = len(strings[max(range(len(strings)), key=walls.__getitem__)])
    walls.sort()
    cpus.sort()
    p99 = len(strings) * 99 // 100
    row(f"worst of {len(strings)} adversarial (ms)", f"{1000 * walls[-1]:.1f}", "-")
    row(
        "  worst CPU / p99 wall / p99 CPU (ms)",
        f"{1000 * cpus[-1]:.1f} / {1000 * walls[p99]:.1f} / {1000 * cpus[p99]:.1f}",
        "-",
    )
    print(f"  (worst wall-time string: {worst_len} characters)")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at the end: {load} on {os.cpu_count()} CPUs (wall figures suffer under load)")


if __name__ == "__main__":
    main()
