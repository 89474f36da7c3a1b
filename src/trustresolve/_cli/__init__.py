"""The command-line tools: --which (main), --check, --export/--env, the start-up hook and
--connect.
"""

from __future__ import annotations
