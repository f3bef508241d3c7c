"""The tests' settings: crm.settings with a secret key of the tests' own, set in the environment
so that processes the tests start (import workers, manage.py) get it too. crm.settings refuses
to start with DEBUG off and no SECRET_KEY (issue #30)."""

import os

os.environ.setdefault("SECRET_KEY", "dizhi-tests-only-key-never-used-in-production")

from crm.settings import *  # noqa: E402, F403
