"""Static files storage for production: WhiteNoise's hashed names with gzip and brotli copies."""

from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns):
    """The vendored libraries (static/vendor) name source maps that npm packages ship but we do
    not copy; Django's hashing would stop at each missing one. Their other references (CSS
    url(), @import) are still rewritten to hashed names."""
    return tuple(
        (glob, tuple(p for p in rules if "sourceMappingURL" not in (p if isinstance(p, str) else p[0])))
        for glob, rules in patterns
    )


class HashedCompressedStaticFiles(CompressedManifestStaticFilesStorage):
    """`collectstatic` writes `name.<hash>.ext` (cached for a year by browsers) and its .gz and
    .br copies; WhiteNoise serves the smallest the browser accepts."""

    patterns = _without_source_maps(ManifestStaticFilesStorage.patterns)
