#!/usr/bin/env python3
"""Signs the HS256 JWT the PostGraphile RLS peers verify (stdlib only: no PyJWT needed).

    jwt.py SECRET ORGANISATION_UUID MUNICIPALITY_CODE [ROLE]

Claims: role (bench_municipality), organisation_id, municipality_code, aud "postgraphile"
(PostGraphile 4 checks it), iat, exp (24 h). PostGraphile 4 puts every claim into
`jwt.claims.<name>`; the PostGraphile 5 config does the same through pgSettings.
"""
import base64
import hashlib
import hmac
import json
import sys
import time


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main() -> None:
    secret, organisation, code = sys.argv[1], sys.argv[2], int(sys.argv[3])
    role = sys.argv[4] if len(sys.argv) > 4 else "bench_municipality"
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {
        "role": role,
        "organisation_id": organisation,
        "municipality_code": code,
        "aud": "postgraphile",
        "iat": now,
        "exp": now + 24 * 3600,
    }
    signing_input = b64(json.dumps(header, separators=(",", ":")).encode()) + "." + b64(
        json.dumps(claims, separators=(",", ":")).encode()
    )
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    print(signing_input + "." + b64(signature))


if __name__ == "__main__":
    main()
