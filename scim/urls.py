from django.urls import path, re_path

from . import views

app_name = "scim"

urlpatterns = [
    path("v2/ServiceProviderConfig", views.service_provider_config, name="config"),
    path("v2/ResourceTypes", views.resource_types, name="resource_types"),
    path("v2/ResourceTypes/<str:resource_id>", views.resource_types, name="resource_type"),
    path("v2/Schemas", views.schemas, name="schemas"),
    path("v2/Schemas/<str:resource_id>", views.schemas, name="schema"),
    path("v2/.search", views.users_search, name="search"),  # User is the one resource type
    path("v2/Users", views.users, name="users"),
    path("v2/Users/.search", views.users_search, name="users_search"),
    path("v2/Users/<str:resource_id>", views.user, name="user"),
    re_path(r"", views.not_found),
]
