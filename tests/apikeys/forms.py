"""The console's create-key form, posted the way the dialog posts it."""

CREATE = "/o/acme/api-keys/create/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def create(client, name="Deploy", *, htmx=False, **fields):
    """POST the form as a browser without JavaScript does, or as htmx does (`htmx=True`)."""
    return client.post(CREATE, {"name": name, **fields}, **(HTMX if htmx else {}))
