"""The API key that protects writes and the stats.

One shared key for the team, set on the server as SHORTENER_API_KEY and sent by clients in the
`X-API-Key` header. Without the variable the protected routes answer 503: nothing is open by
accident.
"""

import os
import secrets
from typing import Annotated

from fastapi import Header, HTTPException, status

API_KEY_ENV = "SHORTENER_API_KEY"


def require_api_key(
    x_api_key: Annotated[str | None, Header(alias="X-API-Key")] = None,
) -> None:
    expected = os.environ.get(API_KEY_ENV)
    if not expected:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"{API_KEY_ENV} is not set on the server"
        )
    if x_api_key is None or not secrets.compare_digest(x_api_key.encode(), expected.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="missing or wrong X-API-Key")
