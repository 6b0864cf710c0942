"""Edit tokens: whoever adds a bookmark gets a token that lets them change or delete it."""

import hashlib
import hmac


def edit_token(bookmark_id: int, secret_key: str) -> str:
    message = f"bookmark:{bookmark_id}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def check_edit_token(bookmark_id: int, token: str, secret_key: str) -> bool:
    return hmac.compare_digest(edit_token(bookmark_id, secret_key), token)
