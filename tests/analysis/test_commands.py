import pytest
from django.core.management import call_command

from analysis.models import Activity, Contact, CustomerScore, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers(make_customer):
    return make_customer("甲", external_id="A"), make_customer("乙", external_id="B")


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_orders_is_idempotent_and_reports_rejected_rows(tmp_path, customers, capsys):
    src = _write(
        tmp_path / "orders.csv",
        "订单号,客户编号,下单日期,金额,币种,状态\n"
        "SO1,A,2026-01-05,100.50,,paid\n"
        'SO2,B,2026-02-05,"1,200",USD,\n'
        "SO3,NOPE,2026-02-05,1,,\n"
        "SO4,A,2026-13-01,1,,\n"
        "SO5,A,2026-03-01,-1,,\n",
    )
    report = tmp_path / "report.csv"
    call_command("import_orders", src, "--report", str(report), "--no-rescore")
    out = capsys.readouterr().out
    assert "2 created" in out and "3 rejected" in out
    assert Order.objects.count() == 2
    rows = report.read_text(encoding="utf-8").splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["4", "5", "6"]
    call_command("import_orders", src, "--no-rescore")
    out = capsys.readouterr().out
    assert "0 created" in out and "2 unchanged" in out
    assert Order.objects.get(number="SO2").amount_base == 8640


def test_import_orders_resumes_after_the_checkpoint(tmp_path, customers, capsys):
    src = _write(tmp_path / "o.csv", "number,customer,date,amount\nS1,A,2026-01-01,1\nS2,A,2026-01-02,2\n")
    (tmp_path / "o.csv.orders-checkpoint").write_text("2")  # row 2 committed by a run that died
    call_command("import_orders", src, "--no-rescore")
    assert list(Order.objects.values_list("number", flat=True)) == ["S2"]
    assert "after the checkpoint" in capsys.readouterr().out
    assert not (tmp_path / "o.csv.orders-checkpoint").exists()


def test_import_orders_recomputes_scores(tmp_path, customers):
    src = _write(tmp_path / "o.csv", "number,customer,date,amount\nS1,A,2026-01-01,1\n")
    call_command("import_orders", src)
    assert CustomerScore.objects.count() == 1


def test_seed_demo_analysis_adds_orders_contacts_activities_and_scores(make_customer, sales):
    for i in range(40):
        make_customer(f"客户{i}", owner=sales, external_id=f"DEMO-{i:08d}", kind="enterprise")
    call_command("seed_demo_analysis", "--buyers", "0.9")
    assert Order.objects.count() > 40 and CustomerScore.objects.count() > 20
    assert Contact.objects.exists() and Activity.objects.exists()
    before = Order.objects.count()
    call_command("seed_demo_analysis", "--if-empty")
    assert Order.objects.count() == before
