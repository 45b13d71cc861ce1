"""Container health check without curl or wget: `python -m stockwiz_runtime.healthcheck`.

Exits 0 when http://127.0.0.1:$PORT/livez answers 200 within two seconds, 1 otherwise.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/livez"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"health check failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
