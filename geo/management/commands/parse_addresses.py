"""manage.py parse_addresses [FILE]: one address per line in, one JSON object per line out."""

import json
import sys
from itertools import islice

from django.core.management.base import BaseCommand

from geo.parsing import ParsedAddress, parse_addresses
from geo.selectors import region_index

CHUNK = 5000


def parsed_as_json(text: str, parsed: ParsedAddress) -> dict:
    """The output row of one address: official names ("" when absent) and codes."""
    row = {"text": text}
    for level in ("country", "province", "city", "district"):
        region = getattr(parsed, level)
        row[level] = region.name if region else ""
    for level in ("country", "province", "city", "district"):
        region = getattr(parsed, level)
        row[f"{level}_code"] = region.code if region else ""
    row["detail"] = parsed.detail
    row["postcode"] = parsed.postcode
    row["confidence"] = parsed.confidence
    row["ambiguities"] = [
        {"level": level, "candidates": [{"code": code, "name": name} for code, name in candidates]}
        for level, candidates in parsed.ambiguities
    ]
    if parsed.historic:
        row["historic"] = parsed.historic
    return row


class Command(BaseCommand):
    help = "Parse free-text addresses (one per line, stdin when no FILE) into JSON lines."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="input file, UTF-8, one address per line")

    def handle(self, *args, file=None, **options):
        index = region_index()
        source = open(file, encoding="utf-8-sig") if file else sys.stdin  # noqa: SIM115
        out = self.stdout
        try:
            lines = (line.rstrip("\r\n") for line in source)
            while chunk := list(islice(lines, CHUNK)):
                for text, parsed in zip(chunk, parse_addresses(chunk, index)):
                    out.write(json.dumps(parsed_as_json(text, parsed), ensure_ascii=False))
        finally:
            if file:
                source.close()
