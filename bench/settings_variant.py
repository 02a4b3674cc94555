"""Genesis's production settings with another MIDDLEWARE, picked by BENCH_VARIANT, for
bench/middleware_cost.py only (what a change to the stack would gain, measured before
anyone makes it)."""

import os

from genesis.settings import *  # noqa: F403

VARIANT = os.environ.get("BENCH_VARIANT", "production")
SHIPPED = list(MIDDLEWARE)  # noqa: F405
WRAPPED = [name for name in SHIPPED if name.startswith("genesis.middleware.")]
if VARIANT == "flag":
    MIDDLEWARE = ["variants.MarkMachine"] + [
        name.replace("genesis.middleware.", "variants_flag.") for name in SHIPPED
    ]
elif VARIANT == "grouped":
    MIDDLEWARE, BENCH_GROUPS = [], {}
    for name in SHIPPED:
        if name not in WRAPPED:
            MIDDLEWARE.append(name)
            continue
        if not MIDDLEWARE[-1].startswith("variants_grouped."):
            MIDDLEWARE.append(f"variants_grouped.Group{len(MIDDLEWARE)}")
            BENCH_GROUPS[MIDDLEWARE[-1].rsplit(".", 1)[1]] = []
        BENCH_GROUPS[MIDDLEWARE[-1].rsplit(".", 1)[1]].append(name.rsplit(".", 1)[1])
elif VARIANT == "no console layers":
    MIDDLEWARE = [name for name in SHIPPED if name not in WRAPPED]
elif VARIANT == "allauth's only":  # allauth refuses to start without it
    MIDDLEWARE = ["allauth.account.middleware.AccountMiddleware"]
elif VARIANT.startswith("drop "):
    MIDDLEWARE = [name for name in SHIPPED if not name.endswith(VARIANT[5:])]
elif VARIANT != "production":
    raise ValueError(f"BENCH_VARIANT: unknown {VARIANT!r}")
