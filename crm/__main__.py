"""`python -m crm COMMAND` (or the installed `dizhi COMMAND`): manage.py for an installed Dizhi."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as manage.py: import_customers forks its writers
    from django.core.management import execute_from_command_line

    execute_from_command_line([sys.argv[0], *sys.argv[1:]])


if __name__ == "__main__":
    main()
