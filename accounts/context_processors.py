from django.conf import settings


def accounts(request):
    from organizations import invitations

    return {
        # Whether the sign-in page offers "Create an account" (GENESIS_OPEN_SIGNUP).
        "signup_open": settings.GENESIS_OPEN_SIGNUP,
        # The invitation being signed up or signed in for, if any (read only if shown).
        "pending_invitation": lambda: invitations.pending(request),
    }
