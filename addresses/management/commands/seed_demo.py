"""Realistic demo data: users with roles, categories, customers and their addresses.

Names come from Faker (zh_CN, plus a few international locales); addresses spread
over real districts with big cities weighted heavier; every address is written
through the normal write path (addresses_save), in batches.
"""

import itertools
import random
import time
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from faker import Faker

from addresses.choices import AddressKind, Channel
from addresses.models import AddressCategory
from addresses.services import AddressInput, addresses_save
from crm import roles
from customers.choices import CustomerKind, RelationshipStage
from customers.models import Customer, Territory
from customers.services import customers_bulk_create
from geo.choices import GeocodePrecision, RegionLevel
from geo.models import Region

DEMO_USERS = (
    # username, password, role, territory (region code) or None
    ("admin", "dizhi-admin", roles.ADMIN, None),
    ("manager", "dizhi-manager", roles.MANAGER, None),
    ("sales", "dizhi-sales", roles.SALES, "440000"),
    ("sales2", "dizhi-sales2", roles.SALES, "310000"),
)
CATEGORIES = (
    ("仓库", "Warehouse / storage site", "#0ea5e9"),
    ("门店", "Retail store", "#22c55e"),
    ("总部", "Headquarters", "#a855f7"),
    ("工厂", "Factory", "#f97316"),
    ("重点客户", "Key account site", "#ef4444"),
    ("配送点", "Delivery drop point", "#eab308"),
)
# Prefecture-level cities that carry most of the demo's weight (the skew of a
# real customer base); every other district still gets some customers.
BIG_CITIES = {
    "110100": 40,
    "310100": 40,
    "440100": 30,
    "440300": 35,
    "330100": 25,
    "320100": 15,
    "510100": 20,
    "500100": 20,
    "420100": 15,
    "610100": 12,
    "120100": 12,
    "320500": 15,
    "370200": 8,
    "350200": 8,
    "430100": 10,
    "410100": 10,
}
INTERNATIONAL = (("en_US", "US"), ("de_DE", "DE"), ("en_GB", "GB"), ("ja_JP", "JP"), ("fr_FR", "FR"))
STREET_SUFFIX = ("路", "街", "大道", "大街")
BUILDING = ("大厦", "广场", "中心", "花园", "小区", "科技园", "产业园")
BATCH = 5000


@dataclass(frozen=True)
class _AddressPools:
    """What demo addresses are drawn from, prepared once per run."""

    foreign: dict  # country code -> (Faker, names, companies)
    countries: dict  # country code -> Region
    codes: list  # district codes, weighted by `weights` (cumulative)
    weights: list
    prefixes: dict  # district code -> "省市区" prefix of the pasted text
    centroids: dict  # district code -> (lat, lng)
    streets: list
    categories: list


class Command(BaseCommand):
    help = "Create demo users, categories, customers and addresses (idempotent users; adds customers)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=2000, help="how many customers to add")
        parser.add_argument("--seed", type=int, default=2026, help="random seed (same seed, same data)")
        parser.add_argument(
            "--if-empty", action="store_true", help="only add customers if there are none yet"
        )

    def handle(self, *args, customers, seed, if_empty, **options):
        started = time.perf_counter()
        self.verbosity = options["verbosity"]
        if not Region.objects.exists():
            call_command("load_regions", verbosity=0)
        users = self._users()
        categories = self._categories()
        if if_empty and Customer.objects.exists():
            self.stdout.write("Customers already exist; not adding demo customers.")
        elif customers > 0:
            self._customers(customers, seed, users, categories)
        elapsed = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {elapsed:.1f} s."))
        self.stdout.write("Demo logins (username / password):")
        for username, password, role, territory in DEMO_USERS:
            where = f", territory {Region.objects.get(code=territory).name}" if territory else ""
            self.stdout.write(f"  {username:<8} / {password:<14} ({role}{where})")

    def _users(self):
        User = get_user_model()
        users = {}
        for username, password, role, territory in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.is_staff = role == roles.ADMIN
                user.is_superuser = role == roles.ADMIN
                user.email = f"{username}@dizhi.example"
                user.save()
            user.groups.add(Group.objects.get(name=role))
            if territory:
                Territory.objects.get_or_create(user=user, region=Region.objects.get(code=territory))
            users[username] = user
        return users

    def _categories(self):
        out = []
        for name, description, colour in CATEGORIES:
            cat, _ = AddressCategory.objects.get_or_create(
                name=name, defaults={"description": description, "colour": colour}
            )
            out.append(cat)
        return out

    def _districts(self):
        """(code, full text prefix, weight) for every active Chinese district."""
        regions = {
            r.pk: r
            for r in Region.objects.filter(path__startswith="CN/", is_active=True).only(
                "pk", "code", "name", "level", "parent_id", "lat"
            )
        }
        out = []
        for r in regions.values():
            if r.level != RegionLevel.DISTRICT or r.lat is None:
                continue
            chain, p = [r], regions.get(r.parent_id)
            while p is not None:
                chain.append(p)
                p = regions.get(p.parent_id)
            chain.reverse()
            names = []
            for c in chain:
                if not names or names[-1] != c.name:
                    names.append(c.name)
            city = next((c for c in chain if c.level == RegionLevel.CITY), None)
            weight = BIG_CITIES.get(city.code, 1) if city else 1
            out.append((r.code, "".join(names), weight))
        return out

    def _customers(self, n, seed, users, categories):
        rnd = random.Random(seed)
        Faker.seed(seed)
        fake = Faker("zh_CN")
        # Pools keep Faker out of the hot loop: a million customers in minutes, not hours.
        people = [fake.name() for _ in range(3000)]
        companies = [fake.company() for _ in range(3000)]
        streets = [fake.street_name().rstrip("路街") + rnd.choice(STREET_SUFFIX) for _ in range(2000)]
        foreign = {}
        for locale, cc in INTERNATIONAL:
            f = Faker(locale)
            foreign[cc] = (f, [f.name() for _ in range(200)], [f.company() for _ in range(200)])
        districts = self._districts()
        codes = [d[0] for d in districts]
        pools = _AddressPools(
            foreign=foreign,
            countries={r.code: r for r in Region.objects.filter(code__in=[cc for _l, cc in INTERNATIONAL])},
            codes=codes,
            weights=list(itertools.accumulate(d[2] for d in districts)),
            prefixes={d[0]: d[1] for d in districts},
            centroids={
                code: (float(lat), float(lng))
                for code, lat, lng in Region.objects.filter(code__in=codes).values_list("code", "lat", "lng")
            },
            streets=streets,
            categories=categories,
        )
        owners = [users["sales"], users["sales2"], users["manager"], None]
        stages = RelationshipStage.values
        start = Customer.objects.count()
        made = 0
        while made < n:
            size = min(BATCH, n - made)
            batch, plans = [], []
            for k in range(size):
                serial = start + made + k + 1
                international = rnd.random() < 0.03
                enterprise = rnd.random() < 0.6
                if international:
                    cc = rnd.choice(list(foreign))
                    f, fpeople, fcompanies = foreign[cc]
                    name = rnd.choice(fcompanies if enterprise else fpeople)
                else:
                    name = rnd.choice(companies) if enterprise else rnd.choice(people)
                batch.append(
                    Customer(
                        name=name,
                        kind=CustomerKind.ENTERPRISE if enterprise else CustomerKind.INDIVIDUAL,
                        stage=rnd.choice(stages),
                        owner=rnd.choice(owners),
                        phone=f"1{rnd.choice('3456789')}{rnd.randrange(10**9):09d}",
                        email=f"c{serial}@example.com" if rnd.random() < 0.5 else "",
                        external_id=f"DEMO-{serial:08d}",
                    )
                )
                plans.append((international and cc, rnd.random() < 0.1))
            with transaction.atomic():
                created = customers_bulk_create(customers=batch)
                if created and created[0].pk is None:  # SQLite < 3.35 gives no ids back
                    ids = dict(
                        Customer.objects.filter(external_id__in=[c.external_id for c in batch]).values_list(
                            "external_id", "pk"
                        )
                    )
                    for c in batch:
                        c.pk = ids[c.external_id]
                items = []
                for customer, (cc, two) in zip(batch, plans):
                    for kind in (AddressKind.DELIVERY, AddressKind.BILLING)[: 2 if two else 1]:
                        items.append(self._address(rnd, customer, kind, cc, pools))
                result = addresses_save(items=items, actor=None, channel=Channel.SYSTEM)
                if result.errors:
                    first = next(iter(result.errors.items()))
                    raise RuntimeError(f"demo address rejected: {first}")
            made += size
            if self.verbosity > 1 or made % 20000 == 0 or made == n:
                self.stdout.write(f"  {made:,} / {n:,} customers")

    def _address(self, rnd, customer, kind, cc, pools: "_AddressPools"):
        cats = [rnd.choice(pools.categories).pk] if rnd.random() < 0.35 else []
        if cc:
            f = pools.foreign[cc][0]
            lat, lng, place, _cc, _tz = f.local_latlng(country_code=cc) or (None, None, "", cc, "")
            return AddressInput(
                customer_id=customer.pk,
                kind=kind,
                is_primary=True,
                raw_text=f"{f.street_address()}, {place}, {pools.countries[cc].name_en}",
                detail=f"{f.street_address()}, {place}",
                postcode=f.postcode()[:20],
                region_code=cc,
                lat=lat,
                lng=lng,
                precision=GeocodePrecision.CITY,
                geocode_source="demo",
                category_ids=cats,
            )
        code = rnd.choices(pools.codes, cum_weights=pools.weights)[0]
        street = rnd.choice(pools.streets)
        detail = f"{street}{rnd.randint(1, 999)}号"
        if rnd.random() < 0.5:
            detail += f"{rnd.choice(pools.streets)[:2]}{rnd.choice(BUILDING)}{rnd.randint(1, 30)}栋{rnd.randint(1, 30)}0{rnd.randint(1, 9)}室"
        lat, lng = pools.centroids[code]
        lat, lng = lat + rnd.gauss(0, 0.02), lng + rnd.gauss(0, 0.02)
        return AddressInput(
            customer_id=customer.pk,
            kind=kind,
            is_primary=True,
            raw_text=pools.prefixes[code] + detail,
            detail=detail,
            region_code=code,
            lat=max(-90, min(90, lat)),
            lng=max(-180, min(180, lng)),
            precision=GeocodePrecision.STREET,
            geocode_source="demo",
            category_ids=cats,
        )
