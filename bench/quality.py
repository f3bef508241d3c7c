"""Figures of the data-quality app (issue 35), on PostgreSQL.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/dizhi_quality \\
    python bench/quality.py [--scale 1000000] [--skip-scale] [--seed 35]

1. Duplicate detection on a labelled set made here at run time from real addresses
   (../shared/eval/cn_address_spans_naacl2019.jsonl, read in place): customers with generated
   names and phones, and for some of them a perturbed copy (typos, traditional characters,
   abbreviated regions, phone formats, company suffixes, swapped order, a contact left out),
   plus look-alike customers that are not duplicates. Seeded: every run makes the same set.
   Precision and recall at the default threshold, beside a plain exact-match baseline (same
   name, phone or e-mail as typed).
2. At --scale customers (topped up with generated rows, not through the write path: this
   measures the scan, not the import): the full duplicate scan (time, peak memory of the
   process that runs it), the save-time check's p95 and the dashboard's p95.
"""

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _django  # noqa: F401
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from opencc import OpenCC

from addresses.services import AddressInput, addresses_save
from crm import roles
from customers.models import Customer
from customers.services import customers_delete
from quality.matching import DEFAULT_THRESHOLD
from quality.models import DuplicatePair
from quality.selectors import look_alikes
from quality.services import customer_keys_refresh, duplicates_scan, quality_snapshot_take

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval" / "cn_address_spans_naacl2019.jsonl"
TAG = "qbench-"
SCALE_TAG = "qscale-"

WORDS = "华南东方恒信绿源天府金鼎宏达博远鑫盛永安瑞丰嘉禾同创中天海川新锐德隆星辰卓越汇通明德和信诚泰"
INDUSTRY = [
    "贸易",
    "科技",
    "电子",
    "物流",
    "茶业",
    "建材",
    "医药",
    "食品",
    "机械",
    "文化传媒",
    "网络技术",
    "服装",
]
SUFFIXES = ["有限公司", "股份有限公司", "有限责任公司", "集团有限公司"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅鹏辉建国志"
PROVINCE_SHORT = {"省": "", "市": "", "自治区": ""}
t2s, s2t = OpenCC("t2s"), OpenCC("s2t")


def _mobile(rng):
    return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))


def _company(rng, city):
    core = "".join(rng.sample(WORDS, 2))
    return f"{city}{core}{rng.choice(INDUSTRY)}{rng.choice(SUFFIXES)}"


def _person(rng):
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _phone_format(rng, phone):
    return rng.choice(
        [
            f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}",
            f"{phone[:3]}-{phone[3:7]}-{phone[7:]}",
            f"86{phone}",
            f"（+86）{phone}",
            f"{phone[:3]} {phone[3:7]} {phone[7:]}",
        ]
    )


def _typo(rng, text, start=0):
    """One character of text[start:] replaced by a similar-looking or random one."""
    chars = [i for i in range(start, len(text)) if "\u4e00" <= text[i] <= "\u9fff"]
    if not chars:
        return text
    i = rng.choice(chars)
    return text[:i] + rng.choice(WORDS + GIVEN) + text[i + 1 :]


def _abbreviate(address, spans):
    """Drop the province, or the 省 / 市 of the names ("广东深圳南山区...")."""
    out = address
    if spans.get("province_span") and spans.get("city_span"):
        out = out.replace(spans["province_span"], "", 1)
    for suffix in ("省", "市"):
        out = out.replace(suffix, "", 1)
    return out


def _perturb(rng, record, spans):
    """A copy of `record` as someone else would type it: 2 of the realistic changes."""
    name, phone, email, address = record["name"], record["phone"], record["email"], record["address"]
    kinds = rng.sample(["typo", "traditional", "region", "phone", "suffix", "order", "drop"], 2)
    for kind in kinds:
        if kind == "typo":
            name = _typo(rng, name, start=len(record.get("city", "")))
        elif kind == "traditional":
            name, address = s2t.convert(name), s2t.convert(address)
        elif kind == "region":
            address = _abbreviate(address, spans)
        elif kind == "phone" and phone:
            phone = _phone_format(rng, phone)
        elif kind == "suffix" and record["company"]:
            for s in SUFFIXES:
                if name.endswith(s):
                    name = name[: -len(s)] + rng.choice(
                        [x for x in ["公司", "股份公司", "", *SUFFIXES] if x != s]
                    )
                    break
            if record.get("city") and name.startswith(record["city"]):
                name = name[len(record["city"]) :]  # the city prefix left out
        elif kind == "order":
            if not record["company"] and len(name) == 3:
                name = name[0] + name[2] + name[1]  # given-name characters swapped
            else:
                address = address.replace(spans.get("district_span") or "\0", "", 1)
        elif kind == "drop":
            if email and rng.random() < 0.5:
                email = ""
            else:
                phone = ""
    return {**record, "name": name, "phone": phone, "email": email, "address": address}


def build_labelled_set(seed: int, n_base: int = 900):
    """(records, true pairs by index): base customers, perturbed duplicates, look-alikes."""
    rng = random.Random(seed)
    rows = [json.loads(line) for line in EVAL.open(encoding="utf-8")]
    rows = [r for r in rows if r.get("city_span") and len(r["text"]) >= 10]
    rng.shuffle(rows)
    records, truth = [], set()
    for i in range(n_base):
        spans = rows[i % len(rows)]
        company = rng.random() < 0.7
        city = (spans["city_span"] or "").rstrip("市")[:2] if company and rng.random() < 0.5 else ""
        record = {
            "name": _company(rng, city) if company else _person(rng),
            "company": company,
            "city": city,
            "phone": _mobile(rng) if rng.random() < 0.9 else "",
            "email": f"c{seed}x{i}@example.com" if rng.random() < 0.4 else "",
            "address": spans["text"],
        }
        base = len(records)
        records.append(record)
        roll = rng.random()
        if roll < 0.5:
            records.append(_perturb(rng, record, spans))
            truth.add((base, len(records) - 1))
        elif roll < 0.65:
            # A look-alike that is someone else: same region, similar or equal name, own contacts.
            other = dict(record)
            other["name"] = _typo(rng, record["name"], start=len(city)) if company else record["name"]
            other["phone"] = _mobile(rng)
            other["email"] = ""
            other["address"] = rows[(i + 7) % len(rows)]["text"]
            records.append(other)
    return records, truth


def labelled_run(seed: int):
    records, truth = build_labelled_set(seed)
    Customer.objects.filter(external_id__startswith=TAG).delete()
    customers = Customer.objects.bulk_create(
        Customer(
            name=r["name"], phone=r["phone"], email=r["email"], external_id=f"{TAG}{i}", kind="enterprise" if r["company"] else "individual"
        )
        for i, r in enumerate(records)
    )  # fmt: skip
    ids = [c.pk for c in customers]
    result = addresses_save(
        items=[AddressInput(customer_id=pk, raw_text=r["address"]) for pk, r in zip(ids, records)],
        channel="import",
    )
    index_of = {pk: i for i, pk in enumerate(ids)}
    started = time.perf_counter()
    customer_keys_refresh(customer_ids=ids)
    DuplicatePair.objects.filter(customer_a_id__in=ids).delete()
    duplicates_scan(customer_ids=ids)
    scan_s = time.perf_counter() - started
    found = {
        tuple(sorted((index_of[a], index_of[b])))
        for a, b in DuplicatePair.objects.filter(customer_a_id__in=ids, customer_b_id__in=ids).values_list(
            "customer_a_id", "customer_b_id"
        )
    }
    baseline = set()
    for field in ("name", "phone", "email"):
        seen: dict[str, list[int]] = {}
        for i, r in enumerate(records):
            if r[field]:
                seen.setdefault(r[field], []).append(i)
        baseline |= {(a, b) for group in seen.values() for a in group for b in group if a < b}
    print(f"labelled set (seed {seed}): {len(records):,} customers, {len(truth):,} true duplicate pairs, "
          f"{len(result.errors)} addresses the parser rejected; scan {scan_s:.1f} s")  # fmt: skip
    print(f"{'method':<34}{'found':>8}{'precision':>11}{'recall':>9}")
    for label, pairs in (
        (f"quality scan (threshold {DEFAULT_THRESHOLD})", found),
        ("exact match (name/phone/email)", baseline),
    ):
        tp = len(pairs & truth)
        precision = tp / len(pairs) if pairs else 0.0
        print(f"{label:<34}{len(pairs):>8}{precision:>10.1%}{tp / len(truth):>9.1%}")
    missed = sorted(truth - found)[:5]
    for a, b in missed:
        print(
            f"  missed: {records[a]['name']} / {records[a]['phone']}  ~  {records[b]['name']} / {records[b]['phone']}"
        )
    for a, b in sorted(found - truth)[:5]:
        print(f"  false:  {records[a]['name']}  ~  {records[b]['name']}")
    customers_delete(customer_ids=ids)


def top_up(scale: int, seed: int):
    """Add generated customers (and one address each) until there are `scale`, in SQL."""
    have = Customer.objects.count()
    need = max(scale - have, 0)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT d.id, d.parent_id, c.parent_id FROM geo_region d JOIN geo_region c ON c.id = d.parent_id "
            "WHERE d.level = 'district' AND c.level = 'city' AND d.is_active ORDER BY d.id"
        )
        districts = cur.fetchall()
        cur.execute("SELECT id FROM geo_region WHERE code = 'CN'")
        (china,) = cur.fetchone()
        started = time.perf_counter()
        # Names: a 3-character core from 40 characters, an industry and a suffix, so blocks stay
        # realistic (common cores repeat in a city); 1% are copies of another row with a phone
        # written differently (the duplicates the scan must find).
        if need:
            cur.execute(
                f"""
            INSERT INTO customers_customer (name, kind, stage, phone, email, external_id, search_keys, created_at, updated_at)
            SELECT substr(%(w)s, 1 + (random() * 39)::int, 1) || substr(%(w)s, 1 + (random() * 39)::int, 1)
                   || substr(%(w)s, 1 + (random() * 39)::int, 1)
                   || (ARRAY['贸易','科技','电子','物流','茶业','建材','医药','食品'])[1 + (random() * 7)::int]
                   || (ARRAY['有限公司','股份有限公司','有限责任公司'])[1 + (random() * 2)::int],
                   'enterprise', 'potential',
                   '1' || (3 + (random() * 6)::int)::text || lpad(((random() * 999999999)::bigint)::text, 9, '0'),
                   '', '{SCALE_TAG}' || g, '{{}}', now(), now()
            FROM generate_series(%(start)s, %(end)s) g
            """,  # noqa: S608
                {"w": WORDS, "start": have + 1, "end": have + need},
            )
        cur.execute(
            f"""
            INSERT INTO addresses_address (customer_id, kind, is_primary, raw_text, detail, postcode, region_id,
                country_id, province_id, city_id, district_id, precision, geocode_source, version,
                created_at, updated_at, search_keys, customer_name, customer_stage, customer_kind, customer_scopes)
            SELECT c.id, 'registered', true, '', (1 + (random() * 300)::int)::text || '号', '',
                   (%(dids)s::bigint[])[1 + c.id %% %(n)s],
                   %(china)s, (%(pids)s::bigint[])[1 + c.id %% %(n)s], (%(cids)s::bigint[])[1 + c.id %% %(n)s],
                   (%(dids)s::bigint[])[1 + c.id %% %(n)s], 'none', '', 1, now(), now(), '{{}}',
                   c.name, c.stage, c.kind, ''
            FROM customers_customer c
            WHERE c.external_id LIKE '{SCALE_TAG}%%' AND NOT EXISTS (SELECT 1 FROM addresses_address a WHERE a.customer_id = c.id)
            """,  # noqa: S608
            {
                "china": china,
                "dids": [d[0] for d in districts],
                "cids": [d[1] for d in districts],
                "pids": [d[2] for d in districts],
                "n": len(districts),
            },
        )
        cur.execute(
            f"""
            WITH src AS (SELECT id, name, phone FROM customers_customer WHERE external_id LIKE '{SCALE_TAG}%%'
                         AND id %% 100 = 0)
            UPDATE customers_customer t SET name = src.name,
                   phone = '+86 ' || substr(src.phone, 1, 3) || ' ' || substr(src.phone, 4, 4) || ' ' || substr(src.phone, 8)
            FROM src WHERE t.id = src.id + 1
            """,  # noqa: S608
            [],
        )
        cur.execute("VACUUM ANALYZE customers_customer")
        cur.execute("VACUUM ANALYZE addresses_address")
    print(f"topped up {need:,} customers in {time.perf_counter() - started:.0f} s")
    return scale


def p95(samples):
    return statistics.quantiles(samples, n=20)[18] * 1000


def scale_run(scale: int, seed: int, scan: bool = True):
    total = top_up(scale, seed)
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores)")
    if scan:
        cmd = [sys.executable, "manage.py", "find_duplicates"]
        started = time.perf_counter()
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
        elapsed = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"full duplicate scan of {total:,} customers: {elapsed:.0f} s, peak memory {peak_mb:.0f} MB")
        print("  " + out.stdout.strip().replace("\n", "\n  "))
        print(f"  injected duplicates (same name, phone written differently): {total // 100:,}")

    manager = _manager()
    rng = random.Random(seed)
    sample = list(
        Customer.objects.filter(external_id__startswith=SCALE_TAG)
        .filter(pk__in=[rng.randint(1, total) for _ in range(300)])
        .values_list("name", "phone")
    )
    look_alikes(user=manager, name="预热", phone="13800138000")
    times = []
    for name, phone in sample[:200]:
        typed = _typo(rng, name) if rng.random() < 0.5 else name
        started = time.perf_counter()
        look_alikes(user=manager, name=typed, phone=phone if rng.random() < 0.5 else "")
        times.append(time.perf_counter() - started)
    print(
        f"save-time check (look_alikes) at {total:,}: p95 {p95(times):.1f} ms, median {statistics.median(times) * 1000:.1f} ms over {len(times)}"
    )

    started = time.perf_counter()
    quality_snapshot_take()
    print(f"nightly snapshot at {total:,}: {time.perf_counter() - started:.0f} s")
    client = Client(HTTP_HOST="localhost")
    client.force_login(manager)
    client.get("/quality/", secure=True)
    times = []
    for _ in range(60):
        started = time.perf_counter()
        response = client.get("/quality/", secure=True)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    print(
        f"dashboard at {total:,}: p95 {p95(times):.1f} ms, median {statistics.median(times) * 1000:.1f} ms over {len(times)}"
    )


def _manager():
    User = get_user_model()
    user, created = User.objects.get_or_create(username="qbench-manager")
    if created:
        user.groups.add(Group.objects.get_or_create(name=roles.MANAGER)[0])
    return user


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=1_000_000)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-labelled", action="store_true")
    parser.add_argument("--skip-scan", action="store_true", help="keep the pairs of the last scan")
    parser.add_argument("--seed", type=int, default=35)
    args = parser.parse_args()
    print(f"database: {connection.vendor}")
    if not args.skip_labelled:
        labelled_run(args.seed)
    if not args.skip_scale:
        scale_run(args.scale, args.seed, scan=not args.skip_scan)


if __name__ == "__main__":
    main()
