"""The Genesis API (django-ninja, under API_PATH): a thin adapter over the services of
apikeys and organizations. `endpoints.api` is the NinjaAPI the URLconf mounts."""
