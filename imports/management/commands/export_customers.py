"""Export customers and their addresses (CSV with BOM, XLSX or GeoJSON), streamed."""

import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict
from django.utils.translation import gettext as _

from customers.filtersets import CustomerFilterSet
from customers.models import Customer
from imports import exporting


class Command(BaseCommand):
    help = "Export customers and addresses in the import's own columns (export → import changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--format", default="csv", choices=exporting.FORMATS)
        parser.add_argument(
            "--output", "-o", help="file to write (default: standard output, unless a terminal for xlsx)"
        )
        parser.add_argument("--user", help="export what this user sees (default: everything)")
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="a customer list filter, as in its URL (e.g. region=440300, stage=new, q=科技)",
        )

    def handle(self, *args, format, output, user, filter, **options):
        if user:
            who = get_user_model().objects.filter(username=user).first()
            if who is None:
                raise CommandError(_("No user with the username “%(name)s”.") % {"name": user})
            customers = Customer.objects.visible_to(who)
        else:
            customers = Customer.objects.all()
        params = QueryDict(mutable=True)
        for pair in filter:
            name, sep, value = pair.partition("=")
            if not sep:
                raise CommandError(_("--filter takes NAME=VALUE, not “%(pair)s”.") % {"pair": pair})
            params.appendlist(name, value)
        filterset = CustomerFilterSet(params, queryset=customers)
        if not filterset.is_valid():
            problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items())
            raise CommandError(_("Bad filter: %(problems)s") % {"problems": problems})
        if format == "xlsx" and not output and sys.stdout.isatty():
            raise CommandError(_("--output is required for xlsx."))
        chunks = exporting.export_chunks(filterset.qs, format)
        out = open(output, "wb") if output else sys.stdout.buffer
        try:
            for chunk in chunks:
                out.write(chunk)
        finally:
            if output:
                out.close()
            else:
                out.flush()
