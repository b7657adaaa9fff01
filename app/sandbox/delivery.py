"""One webhook POST from an emulation to an app, noted in its delivery record.

Both emulations deliver events the same way: any 2xx is success, anything else
(another status, a refused connection, a timeout) is a failure to retry, and the
record keeps the status or the exception's name for tests to inspect.
"""

from typing import Any

import requests


def post_recorded(
    session: requests.Session, url: str, record: dict[str, Any], **options: Any
) -> bool:
    """POST to `url` (`options` go to `session.post`); True on a 2xx answer.

    Sets record["status"], or record["error"] when no answer came.
    """
    try:
        answer = session.post(url, **options)
        answer.close()
    except requests.RequestException as failure:
        record["error"] = type(failure).__name__
        return False
    record["status"] = answer.status_code
    return 200 <= answer.status_code < 300
