"""Keep secrets out of exports: config keys that can hold credentials, and credentials in URLs.

Run configs hold only the NAME of the environment variable with an API key (`api_key_env`), but a
hand-written config may still carry a key, a token or an Authorization header; this drops them.
Keys are matched by name part (`api_key`, `hfToken`, `client-secret`, `Authorization`), so knobs
such as `max_new_tokens` or `tokenizer` survive.
"""

from __future__ import annotations

import re
from typing import Any

SECRET_PARTS = {"key", "apikey", "token", "secret", "password", "passwd", "pwd", "auth",
                "authorization", "bearer", "credential", "credentials", "cookie"}
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")
URL_SECRET_PARAM = re.compile(
    r"(?i)([?&][^=&#\s]*(?:key|token|secret|password|signature|auth)[^=&#\s]*=)[^&#\s]*")
REDACTED = "***"


def key_parts(key: str) -> list[str]:
    """`openaiApiKey` -> [openai, api, key]; `x-api-key` -> [x, api, key]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    return [part.lower() for part in re.split(r"[^A-Za-z0-9]+|\s+", spaced) if part]


def is_secret_key(key: str, value: Any) -> bool:
    """True for a key that may hold a credential; `*_env` keys naming a variable are kept."""
    parts = key_parts(str(key))
    if parts and parts[-1] == "env" and (value is None or
                                         (isinstance(value, str) and ENV_NAME.match(value))):
        return False
    return any(part in SECRET_PARTS for part in parts)


def scrub(value: Any) -> Any:
    """A copy of a JSON-like value with secret-named keys dropped and URL credentials masked."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if not is_secret_key(k, v)}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def scrub_text(text: str) -> str:
    """Mask `user:pass@` in URLs and the values of key/token-like query parameters."""
    text = URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    return URL_SECRET_PARAM.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
