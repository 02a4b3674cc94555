"""What a key check answered, as plain JSON values: written by .ci/upgrade_make.py with the
previous release's code, compared by .ci/upgrade_check.py with this code's."""

CLIENT_IP = "203.0.113.7"


def answer(context) -> dict | None:
    """A KeyContext (apikeys.services.authenticate's answer, the same fields in both
    releases) as JSON values; None for a refused key."""
    if context is None:
        return None
    expires = context.key_expires_at
    return {
        "key_id": context.key_id,
        "key_name": context.key_name,
        "key_hint": context.key_hint,
        "key_expires_at": expires.isoformat() if expires else None,
        "user_id": context.user_id,
        "user_email": context.user_email,
        "organization_slug": context.organization_slug,
        "role": context.role,
        "scopes": sorted(context.scopes),
    }
