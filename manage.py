#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    # numpy (which openpyxl and OR-Tools import) would start OpenBLAS's thread pool at import; a
    # process with threads must not fork, so import_customers would start its writers as fresh
    # interpreters (each setting Django up and building the parser's index) instead of forking.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
