"""What the tests share: certificates (``ca``), loopback servers (``servers``), the fixture trees
(``trees``) and the command line (``cli``). ``tests/`` is on ``sys.path`` (pytest's rootdir
conftest), so tests import ``from support.servers import TLSServer``."""
