"""atheris fuzzer for the URI and TLS-option parser.

    python -m pip install atheris
    mkdir -p /tmp/corpus-uri && cp fuzz/seeds-uri/* /tmp/corpus-uri/
    PYTHONPATH=src python fuzz/fuzz_uri.py -max_total_time=300 -rss_limit_mb=1024 /tmp/corpus-uri

``TLSOptions.from_uri`` must give options or raise ConfigurationError; anything else, or a
``repr`` that shows the passphrase, is a crash.
"""

from __future__ import annotations

import sys
import warnings

import atheris

with atheris.instrument_imports():
    from trustresolve import ConfigurationError, TLSOptions

warnings.simplefilter("ignore")  # invalid URI values warn by design


def test_one_input(data: bytes) -> None:
    uri = data.decode("utf-8", "surrogateescape")
    try:
        options = TLSOptions.from_uri(uri)
    except ConfigurationError:
        return
    password = options.certificate_key_file_password
    if password and len(password) > 3:
        assert password not in repr(options), "passphrase shown by repr()"
    options.as_dict()


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
