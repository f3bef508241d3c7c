"""Package list for `pip install .` (metadata and data files are in pyproject.toml).

Every app is found by itself; the site-wide templates/, static/ and locale/ folders, which stay
at the top of the checkout, are installed as crm/site/templates, crm/site/static and
crm/site/locale, where crm/settings.py looks for them when Dizhi runs from an installed package.
"""

from setuptools import find_packages, setup

SITE = {f"crm.site.{name}": name for name in ("templates", "static", "locale")}

setup(
    packages=find_packages(exclude=["tests", "tests.*", "bench", "bench.*", "scripts", "scripts.*"])
    + list(SITE),
    package_dir=SITE,
)
