import csv
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

from addresses.models import Address, AddressVersion
from addresses.services import address_history_verify
from customers.models import Customer
from geo.coords import wgs84_to_gcj02
from imports.models import ImportJob

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    """Assertions read the English messages (the catalogue translates them to Chinese)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


ROOT = Path(__file__).resolve().parents[2]

HEADER = ["外部编号", "客户名称", "手机", "邮箱", "地址", "负责人", "分类"]


def write_csv(path, rows, header=HEADER, encoding="utf-8-sig"):
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def run(path, *args):
    out = io.StringIO()
    call_command("import_customers", str(path), "--progress", "none", *args, stdout=out)
    return out.getvalue()


def read_report(path):
    data = Path(path).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_import_creates_customers_and_parsed_addresses(tmp_path, sales, category):
    f = write_csv(
        tmp_path / "c.csv",
        [
            [
                "C1",
                "深圳科技有限公司",
                "13800138000",
                "a@example.com",
                "广东省深圳市南山区科技南十二路2号",
                "sales1",
                "仓库",
            ],
            ["C2", "张三", "", "", "北京市朝阳区建国路88号", "", ""],
        ],
    )
    out = run(f)
    assert "created 2" in out and "rejected 0" in out
    c1 = Customer.objects.get(external_id="C1")
    assert c1.owner == sales and c1.phone == "13800138000"
    a = c1.addresses.get()
    assert a.district.code == "440305" and a.detail == "科技南十二路2号" and a.is_primary
    assert list(a.categories.all()) == [category]
    assert a.precision == "district" and a.lat is not None
    assert AddressVersion.objects.filter(address=a, channel="import").count() == 1


def test_rerun_of_the_same_file_changes_nothing_and_says_so(tmp_path):
    f = write_csv(tmp_path / "c.csv", [["C1", "张三", "", "", "北京市朝阳区建国路88号", "", ""]])
    run(f)
    versions = AddressVersion.objects.count()
    out = run(f)
    assert "unchanged 1" in out and "Nothing changed" in out
    assert AddressVersion.objects.count() == versions
    assert Customer.objects.count() == 1 and Address.objects.count() == 1


def test_changed_row_updates_and_records_a_history_version(tmp_path):
    f = write_csv(
        tmp_path / "c.csv",
        [
            ["C1", "张三", "", "", "北京市朝阳区建国路88号", "", ""],
            ["C2", "李四", "", "", "上海市浦东新区世纪大道100号", "", ""],
        ],
    )
    run(f)
    f2 = write_csv(
        tmp_path / "c2.csv",
        [
            ["C1", "张三", "", "", "北京市海淀区中关村大街1号", "", ""],
            ["C2", "李四丰", "", "", "上海市浦东新区世纪大道100号", "", ""],
        ],
    )
    out = run(f2)
    assert "updated 2" in out and "created 0" in out
    a = Address.objects.get(customer__external_id="C1")
    assert a.district.code == "110108" and a.version == 2
    assert [v.version for v in a.versions.order_by("version")] == [1, 2]
    assert address_history_verify(address=a) == []
    assert Customer.objects.get(external_id="C2").name == "李四丰"


def test_an_empty_cell_clears_its_field_and_a_missing_column_keeps_it(tmp_path, sales):
    full = ["外部编号", "客户名称", "地址", "手机", "邮箱", "负责人", "阶段"]
    where = "北京市朝阳区建国路88号"
    run(
        write_csv(
            tmp_path / "a.csv",
            [["C1", "张三", where, "13800138000", "z@example.com", "sales1", "existing"]],
            full,
        )
    )
    c = Customer.objects.get()
    assert (c.phone, c.email, c.owner, c.stage) == ("13800138000", "z@example.com", sales, "existing")

    out = run(write_csv(tmp_path / "b.csv", [["C1", "张三", where]], ["外部编号", "客户名称", "地址"]))
    assert "unchanged 1" in out  # the columns left out keep their values
    c.refresh_from_db()
    assert (c.phone, c.email, c.owner, c.stage) == ("13800138000", "z@example.com", sales, "existing")

    out = run(write_csv(tmp_path / "c.csv", [["C1", "张三", where, "", "", "", ""]], full))
    assert "updated 1" in out
    c.refresh_from_db()
    assert (c.phone, c.email, c.owner, c.stage) == ("", "", None, "potential")


def test_dry_run_validates_and_writes_nothing(tmp_path):
    f = write_csv(
        tmp_path / "c.csv",
        [["C1", "张三", "", "", "北京市朝阳区建国路88号", "", ""], ["C2", "", "", "", "北京市", "", ""]],
    )
    out = run(f, "--dry-run")
    assert "Dry run" in out and "created 1" in out and "rejected 1" in out
    assert not Customer.objects.exists() and not Address.objects.exists()


def test_a_dry_run_predicts_the_import_exactly_and_leaves_no_trace(tmp_path):
    """The dry run goes through the write path's own checks (the postcode rule lives in
    addresses_save) and its comparisons (updated / unchanged), not a copy of them."""
    from maps.models import MapCell

    header = ["外部编号", "客户名称", "地址", "邮编", "地址类型"]
    before = [
        ["D1", "张三", "北京市朝阳区建国路88号", "100020", "delivery"],
        ["D2", "李四", "上海市浦东新区世纪大道100号", "200120", "delivery"],
        ["D3", "王五", "广州市天河区体育西路1号", "510620", "delivery"],
    ]
    run(write_csv(tmp_path / "before.csv", before, header=header))
    state = (
        list(Customer.objects.order_by("pk").values_list("pk", "name", "updated_at")),
        list(Address.objects.order_by("pk").values_list("pk", "version", "district_id", "updated_at")),
        AddressVersion.objects.count(),
        sorted(MapCell.objects.values_list("scope", "level", "x", "y", "count")),
    )
    rows = [
        ["D1", "张三", "北京市朝阳区建国路88号", "100020", "delivery"],  # unchanged
        ["D2", "李四丰", "上海市浦东新区世纪大道100号", "200120", "delivery"],  # customer renamed
        ["D3", "王五", "广州市越秀区中山五路1号", "510030", "delivery"],  # address moved
        ["D4", "赵六", "深圳市南山区科技园1号", "518057", "delivery"],  # new
        ["D4", "赵六", "杭州市西湖区文三路1号", "310012", "billing"],  # new, second kind
        ["D5", "坏邮编", "北京市朝阳区建国路89号", "12345", "delivery"],  # refused by addresses_save
        ["D6", "", "北京市朝阳区建国路90号", "100020", "delivery"],  # refused by the row checks
        ["D1", "张三", "北京市海淀区中关村大街1号", "100080", "delivery"],  # duplicate id and kind
    ]
    f = write_csv(tmp_path / "c.csv", rows, header=header)
    dry, report = (
        run(f, "--dry-run", "--report", str(tmp_path / "dry.csv")),
        read_report(tmp_path / "dry.csv"),
    )
    assert "created 2, updated 2, unchanged 1, rejected 3" in dry, dry
    assert (
        list(Customer.objects.order_by("pk").values_list("pk", "name", "updated_at")),
        list(Address.objects.order_by("pk").values_list("pk", "version", "district_id", "updated_at")),
        AddressVersion.objects.count(),
        sorted(MapCell.objects.values_list("scope", "level", "x", "y", "count")),
    ) == state
    real = run(f, "--report", str(tmp_path / "real.csv"))
    assert "created 2, updated 2, unchanged 1, rejected 3" in real, real
    assert read_report(tmp_path / "real.csv") == report
    assert [r[0] for r in report[1:]] == ["7", "8", "9"]
    assert "six digits" in report[1][2]


def test_a_dry_run_counts_a_customer_on_its_first_row_also_across_batches(tmp_path):
    rows = [
        ["R1", "张三", "北京市朝阳区建国路88号", "delivery"],
        ["R1", "张三", "", "billing"],  # the same customer again, no address: changes nothing
        ["R2", "李四", "上海市浦东新区世纪大道100号", "delivery"],
    ]
    f = write_csv(tmp_path / "c.csv", rows, header=["外部编号", "客户名称", "地址", "地址类型"])
    for args in (["--dry-run", "--batch-size", "1"], ["--batch-size", "1"]):
        out = run(f, *args)
        assert "created 2, updated 0, unchanged 1, rejected 0" in out, (args, out)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_encodings_are_detected(tmp_path, encoding):
    f = write_csv(
        tmp_path / "c.csv", [["C1", "张三", "", "", "广州市天河区体育西路1号", "", ""]], encoding=encoding
    )
    assert "created 1" in run(f)
    assert Customer.objects.get().name == "张三"
    assert Address.objects.get().district.name == "天河区"


def test_english_headers_structured_columns_and_map_override(tmp_path):
    header = ["Customer ID", "name", "province", "city", "district", "street", "postcode", "Kind"]
    f = write_csv(
        tmp_path / "c.csv",
        [["E1", "ACME", "广东省", "深圳市", "南山区", "科技园1号", "518000", "个人"]],
        header=header,
    )
    out = run(f, "--map", "Customer ID=external_id", "--map", "street=detail")
    assert "created 1" in out
    c = Customer.objects.get(external_id="E1")
    assert c.kind == "individual"
    a = c.addresses.get()
    assert (a.district.code, a.detail, a.postcode) == ("440305", "科技园1号", "518000")


def test_gcj02_coordinates_are_stored_as_wgs84(tmp_path):
    glat, glng = wgs84_to_gcj02(39.908722, 116.397496)
    f = write_csv(
        tmp_path / "c.csv",
        [["G1", "故宫", "北京市东城区景山前街4号", f"{glat:.6f}", f"{glng:.6f}"]],
        header=["外部编号", "客户名称", "地址", "纬度", "经度"],
    )
    run(f, "--crs", "gcj02")
    a = Address.objects.get()
    assert abs(float(a.lat) - 39.908722) < 5e-6 and abs(float(a.lng) - 116.397496) < 5e-6
    assert a.precision == "rooftop"


def test_xlsx_import(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["外部编号", "客户名称", "手机", "地址"])
    ws.append(["X1", "表格客户", 13800138000, "浙江省杭州市西湖区文三路1号"])
    wb.save(tmp_path / "c.xlsx")
    assert "created 1" in run(tmp_path / "c.xlsx")
    c = Customer.objects.get(external_id="X1")
    assert c.phone == "13800138000" and c.addresses.get().district.name == "西湖区"


def test_second_address_kind_for_the_same_customer(tmp_path):
    f = write_csv(
        tmp_path / "c.csv",
        [
            ["K1", "张三", "北京市朝阳区建国路88号", "delivery"],
            ["K1", "张三", "上海市浦东新区世纪大道100号", "billing"],
        ],
        header=["外部编号", "客户名称", "地址", "地址类型"],
    )
    assert "created 2" in run(f)
    assert Customer.objects.count() == 1
    assert sorted(Address.objects.values_list("kind", flat=True)) == ["billing", "delivery"]


def test_rows_rejected_by_the_write_path_leave_nothing_behind(tmp_path):
    f = write_csv(
        tmp_path / "c.csv",
        [["P1", "好", "北京市朝阳区建国路88号", "100020"], ["P2", "坏", "北京市朝阳区建国路89号", "12345"]],
        header=["外部编号", "客户名称", "地址", "邮编"],
    )
    out = run(f, "--report", str(tmp_path / "r.csv"))
    assert "created 1" in out and "rejected 1" in out
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["P1"]
    rows = read_report(tmp_path / "r.csv")
    assert rows[1][0] == "3" and "six digits" in rows[1][2]


def assert_export_reimports_unchanged(tmp_path, rows: int):
    """Export everything as CSV, then as XLSX, and import each file again: every row unchanged,
    none rejected, no new history."""
    versions = AddressVersion.objects.count()
    for fmt in ("csv", "xlsx"):
        out_file = tmp_path / f"export.{fmt}"
        call_command("export_customers", "--format", fmt, "-o", str(out_file))
        out = run(out_file)
        assert f"unchanged {rows}" in out and "rejected 0" in out, out
    assert AddressVersion.objects.count() == versions


def test_export_then_import_changes_nothing(tmp_path, sales, category):
    f = write_csv(
        tmp_path / "c.csv",
        [
            [
                "R1",
                "=SUM(A1)",
                "+86 138",
                "a@example.com",
                "广东省深圳市南山区科技南十二路2号",
                "sales1",
                "仓库",
            ],
            ["R2", "李四", "", "", "北京市朝阳区建国路88号", "", ""],
            ["R3", "Acme", "", "", "1600 Amphitheatre Pkwy, Mountain View, CA 94043, USA", "", ""],
        ],
    )
    run(f)
    assert_export_reimports_unchanged(tmp_path, 3)
    assert Customer.objects.get(external_id="R1").name == "=SUM(A1)"


def test_export_then_import_of_a_bulk_file_changes_nothing(tmp_path, sales, category):
    """The round trip at bulk size: on PostgreSQL the import writes by binary COPY (200 rows and
    more) and the CSV export reads by COPY; coordinates, owners, categories, kinds, stages,
    formula-like text and a second address kind all come back as they went in."""
    from imports.columns import FIELD_LABELS

    fields = [
        "external_id", "name", "kind", "stage", "owner", "phone", "email",
        "address", "address_kind", "postcode", "lng", "lat", "categories",
    ]  # fmt: skip
    places = ["广东省深圳市南山区科技南十二路2号", "北京市朝阳区建国路88号", "浙江省杭州市西湖区文三路90号"]
    points = [("113.943211", "22.540123"), ("116.461200", "39.908700"), ("120.130700", "30.274100")]
    rows = []
    for i in range(300):
        point = points[i % 3] if i % 4 == 0 else ("", "")
        rows.append(
            [
                f"T{i:04d}",
                "=HYPERLINK(1)" if i == 7 else f"客户{i}",
                ["企业", "个人"][i % 2],
                ["潜在", "新", "现有", "流失"][i % 4],
                "sales1" if i % 3 == 0 else "",
                f"+86 138{i:08d}" if i % 5 else "",
                f"c{i}@example.com" if i % 2 else "",
                places[i % 3] + f"{i}栋",
                "收货地址",
                "518057" if i % 3 == 0 else "",
                *point,
                "仓库" if i % 6 == 0 else "",
            ]
        )
    rows.append(["T0001", "客户1", "个人", "新", "", "+86 13800000001", "c1@example.com",
                 "上海市浦东新区世纪大道100号", "开票地址", "", "", "", ""])  # fmt: skip
    f = write_csv(tmp_path / "bulk.csv", rows, header=[FIELD_LABELS[x] for x in fields])
    out = run(f)
    assert "created 301" in out and "rejected 0" in out, out
    assert Address.objects.count() == 301 and Customer.objects.count() == 300
    assert_export_reimports_unchanged(tmp_path, 301)
    assert Customer.objects.get(external_id="T0007").name == "=HYPERLINK(1)"
    located = Address.objects.get(customer__external_id="T0012")
    assert (str(located.lat), str(located.lng)) == ("22.540123", "113.943211")
    assert located.categories.get() == category and located.customer.owner == sales


def _manage(url, *args):
    env = {**os.environ, "DATABASE_URL": url, "TASKS_BACKEND": "immediate", "LANGUAGE_CODE": "en"}
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True, cwd=ROOT)


def _postgres_server():
    from django.db import connection

    s = connection.settings_dict
    server = {"host": s["HOST"] or None, "port": s["PORT"] or None, "user": s["USER"] or None}
    if s["PASSWORD"]:
        server["password"] = s["PASSWORD"]
    return server


def _postgres_url(server, name):
    login = server["user"] + (f":{server['password']}" if "password" in server else "")
    return f"postgres://{login}@{server['host'] or 'localhost'}:{server['port'] or 5432}/{name}"


@pytest.fixture(scope="module")
def scratch_template(tmp_path_factory):
    """A database of the suite's own kind, migrated and with the region tree loaded by
    `manage.py` in separate processes, once for the module: copied for each test that needs
    one (`scratch_database`). A SQLite file, or a database on the suite's PostgreSQL server."""
    from django.db import connection

    if connection.vendor != "postgresql":
        db = tmp_path_factory.mktemp("scratch") / "template.sqlite3"
        for command in ("migrate", "load_regions"):
            _manage(f"sqlite:///{db}", command, "-v0")
        yield db
        return

    import psycopg

    server = _postgres_server()
    name = f"dizhi_scratch_template_{os.getpid()}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        for command in ("migrate", "load_regions"):
            _manage(_postgres_url(server, name), command, "-v0")
        yield name
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def scratch_database(tmp_path, scratch_template):
    """(DATABASE_URL, query) of a fresh copy of `scratch_template` (migrated, regions loaded),
    for commands run as separate processes: a SQLite file, or a new database on the suite's
    PostgreSQL server (dropped afterwards). `query(sql)` returns the rows of one statement."""
    from django.db import connection

    if connection.vendor != "postgresql":
        db = tmp_path / "scratch.sqlite3"
        shutil.copyfile(scratch_template, db)

        def query(sql):
            with sqlite3.connect(db, timeout=1) as con:
                return con.execute(sql).fetchall()

        yield f"sqlite:///{db}", query
        return

    import psycopg

    server = _postgres_server()
    name = f"dizhi_scratch_{os.getpid()}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{scratch_template}"')

    def query(sql):
        with psycopg.connect(dbname=name, autocommit=True, **server) as con:
            return con.execute(sql).fetchall()

    try:
        yield _postgres_url(server, name), query
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
@pytest.mark.parametrize("workers,resume_workers", [(1, 1), (2, 1), (2, 2)])
def test_kill_minus_9_and_rerun_imports_exactly_the_files_rows(
    tmp_path, scratch_database, workers, resume_workers
):
    """An import killed mid-way (SIGKILL) and run again ends with exactly the file's rows.

    On the suite's own database: on PostgreSQL the batches go through the binary COPY, the
    sequences and the map-cell upsert, with the workers forked. Also when the re-run asks for
    another number of workers: the job keeps the split it started with, since each worker's
    checkpoint covers only its own share of the rows.
    """
    url, query = scratch_database
    postgres = url.startswith("postgres")
    env = {**os.environ, "DATABASE_URL": url, "TASKS_BACKEND": "immediate", "LANGUAGE_CODE": "en"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    # PostgreSQL writes batches of COPY_MIN_ROWS (200) or more by COPY: batches of 300.
    n, batch = (6000, 300) if postgres else (3000, 100)
    rows = [[f"K{i:05d}", f"客户{i}", "", "", f"广东省深圳市南山区科技路{i}号", "", ""] for i in range(n)]
    rows.append(["K00001", "重复", "", "", "北京市", "", ""])  # a duplicate: rejected, not imported
    f = write_csv(tmp_path / "big.csv", rows)
    cmd = [*manage, "import_customers", str(f), "--batch-size", str(batch), "--progress", "log"]
    proc = subprocess.Popen(
        [*cmd, "--workers", str(workers)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # killpg reaches the forked workers too
    )
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        try:
            [(done,)] = query("select coalesce(max(rows_done), 0) from addresses_importcheckpoint")
        except Exception:  # the table not there yet, or SQLite busy: ask again
            continue
        if done >= 3 * batch:
            break
    assert proc.poll() is None, "the import finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < done < n
    again = subprocess.run(
        [*cmd, "--workers", str(resume_workers)], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Resuming" in again.stdout
    if workers != resume_workers:
        assert f"It started with --workers {workers}" in again.stdout
    [customers] = query("select count(*), count(distinct external_id) from customers_customer")
    [(addresses,)] = query("select count(*) from addresses_address")
    [(versions,)] = query("select count(*) from addresses_addressversion")
    status = query("select status, rejected from addresses_importjob")
    [(located,)] = query("select preview -> 'located' from addresses_importjob")
    assert tuple(customers) == (n, n) and addresses == n and versions == n
    assert [tuple(s) for s in status] == [("done", 1)]
    located = json.loads(located) if isinstance(located, str) else located
    assert located == {"coarse": n}  # summed over the run before the kill and after
    report = read_report(f"{f}.rejected.csv")
    assert [r[0] for r in report[1:]] == [str(n + 2)]
    # Every address is counted once on the map, and its history chain is whole.
    [(cells,)] = query(
        "select coalesce(sum(count), 0) from addresses_mapcell where scope = '' and level = 103"
    )
    assert cells == n
    [(chained,)] = query("select count(*) from addresses_addressversion where version = 1 and prev_hash = ''")
    assert chained == n


def test_command_speaks_the_active_language_throughout(tmp_path):
    """A Chinese operator reads Chinese from start to end: the summary, the ignored columns,
    the report's path and the progress log lines (one per step, the last one once)."""
    f = write_csv(
        tmp_path / "c.csv",
        [
            ["Z1", "张三", "", "", "北京市朝阳区建国路88号", "", "", "老客户"],
            ["Z2", "", "", "", "上海市", "", "", ""],
        ],
        header=[*HEADER, "备注"],
    )
    out, err = io.StringIO(), io.StringIO()
    with translation.override("zh-hans"):
        call_command("import_customers", str(f), "--progress", "log", stdout=out, stderr=err)
    text = out.getvalue()
    assert "已忽略的列：备注" in text
    assert "新建 1" in text and "拒绝 1" in text
    assert f"被拒绝的行：{f}.rejected.csv" in text
    assert "Rejected" not in text and "Ignored" not in text
    [log] = err.getvalue().strip().splitlines()  # one line: the last step is not repeated
    assert log.startswith("导入中：2/2 行（100%），每秒 "), log

    out = io.StringIO()
    with translation.override("zh-hans"):
        call_command("import_customers", str(f), "--dry-run", "--progress", "none", stdout=out)
    assert f"发现的问题：{f}.validation.csv" in out.getvalue()


def test_summary_says_how_the_addresses_were_located_also_on_a_rerun(tmp_path):
    f = write_csv(
        tmp_path / "c.csv",
        [
            ["P1", "区级", "", "", "广东省深圳市南山区科技园南区深南大道9988号", "", ""],
            ["P2", "火星", "", "", "火星市某区", "", ""],
            ["P3", "", "", "", "上海市", "", ""],  # rejected: not counted
            ["P4", "只有客户", "", "", "", "", ""],  # no address: not counted
        ],
    )
    line = "Addresses located: 0 precisely, 1 to a region's centre, 1 not located."
    first = run(f)
    assert line in first.splitlines()
    assert Address.objects.get(customer__external_id="P2").precision == "none"
    again = run(f).splitlines()
    assert line in again and "Nothing changed: every row is already up to date." in again
    dry = run(f, "--dry-run")
    assert line in dry.splitlines()


def test_progress_log_of_a_resumed_import_measures_this_run_only(monkeypatch):
    """Resumed at half way, the first line has no speed or ETA to guess, and the speed
    counts only the rows this run did (not the half done before the kill)."""
    from types import SimpleNamespace

    from django.core.management.base import OutputWrapper

    from imports.management.commands import import_customers as command

    clock = iter([100.0, 100.0, 110.0])  # started, first report, ten seconds later
    monkeypatch.setattr(command, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    out = io.StringIO()
    with translation.override("en"):
        progress = command._Progress(OutputWrapper(out), "log", "importing", first_done=500_000)
        progress(500_000, 1_000_000)
        progress(600_000, 1_000_000)
    assert out.getvalue().splitlines() == [
        "importing: 500,000/1,000,000 rows (50%)",
        "importing: 600,000/1,000,000 rows (60%), 10,000 rows/s, ETA 40 s",
    ]


def test_job_records_counts(tmp_path):
    f = write_csv(tmp_path / "c.csv", [["J1", "张三", "", "", "北京市朝阳区建国路88号", "", ""]])
    run(f)
    job = ImportJob.objects.get()
    assert (job.status, job.created, job.rows_done) == ("done", 1, 1)


def test_a_batch_large_enough_for_copy_keeps_history_intact(tmp_path, category):
    rows = [
        [f"L{i:04d}", f"客户{i}", "", "", f"浙江省杭州市西湖区文三路{i}号", "", "仓库"] for i in range(450)
    ]
    f = write_csv(tmp_path / "c.csv", rows)
    assert "created 450" in run(f)
    assert Address.objects.count() == 450 and AddressVersion.objects.count() == 450
    a = Address.objects.get(customer__external_id="L0123")
    assert a.created_at is not None and list(a.categories.all()) == [category]
    assert address_history_verify(address=a) == []
    assert "unchanged 450" in run(f)
    rows[123][4] = "浙江省杭州市上城区解放路1号"
    assert "updated 1" in run(write_csv(tmp_path / "c2.csv", rows))
    a.refresh_from_db()
    assert a.version == 2 and address_history_verify(address=a) == []


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_workers_validate_then_import_every_row_once(tmp_path):
    from django.db import connection

    rows = [[f"T{i:04d}", f"客户{i}", "", "", f"浙江省杭州市西湖区文三路{i}号", "", ""] for i in range(300)]
    rows[50][1] = ""  # no name: file row 52
    rows[250][0] = "T0007"  # repeats row 9 with other details: file row 252
    f = write_csv(tmp_path / "c.csv", rows)
    report = tmp_path / "r.csv"
    out = run(f, "--dry-run", "--workers", "2", "--batch-size", "50", "--report", str(report))
    assert "Dry run" in out and "created 298" in out and "rejected 2" in out, out
    assert not Customer.objects.exists()
    assert [r[0] for r in read_report(report)[1:]] == ["52", "252"]
    out = run(f, "--workers", "2", "--batch-size", "50", "--report", str(report))
    assert "created 298" in out and "rejected 2" in out, out
    job = ImportJob.objects.get(dry_run=False)
    assert job.workers == (2 if connection.vendor == "postgresql" else 1)  # SQLite's is in memory
    assert [e["row"] for e in job.preview["first_errors"]] == [52, 252]
    assert Customer.objects.count() == 298 and AddressVersion.objects.count() == 298
    assert [r[0] for r in read_report(report)[1:]] == ["52", "252"]
    assert "unchanged 298" in run(f, "--workers", "2")


def test_a_resumed_import_still_lists_the_errors_of_its_earlier_batches(tmp_path, monkeypatch):
    from imports import workers

    rows = [[f"E{i:04d}", f"客户{i}", "", "", f"浙江省杭州市西湖区文三路{i}号", "", ""] for i in range(200)]
    rows[10][1] = ""  # file row 12, in the first batch
    rows[160][1] = ""  # file row 162, after the crash
    f = write_csv(tmp_path / "c.csv", rows)
    calls, write_batch = [], workers.write_batch

    def lost_connection(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise ConnectionError("server closed the connection")
        return write_batch(*args, **kwargs)

    monkeypatch.setattr(workers, "write_batch", lost_connection)
    with pytest.raises(ConnectionError):
        run(f, "--batch-size", "50")
    monkeypatch.undo()
    out = run(f, "--batch-size", "50")
    assert "Resuming the interrupted import of this file (100 rows done)" in out
    assert "created 198" in out and "rejected 2" in out, out
    job = ImportJob.objects.get()
    assert [e["row"] for e in job.preview["first_errors"]] == [12, 162]
