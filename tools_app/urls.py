from django.urls import path

from . import views

urlpatterns = [
    path("catalogs/new/", views.catalog_new, name="catalog_new"),
    path("c/<slug:catalog>/", views.catalog_detail, name="catalog"),
    path("c/<slug:catalog>/settings/", views.catalog_edit, name="catalog_edit"),
    path("c/<slug:catalog>/delete/", views.catalog_delete, name="catalog_delete"),
    path("c/<slug:catalog>/import/", views.catalog_import, name="catalog_import"),
    path("c/<slug:catalog>/export/tools.json", views.catalog_export_openai, name="catalog_export"),
    path(
        "c/<slug:catalog>/export/bundle.json",
        views.catalog_export_bundle,
        name="catalog_export_bundle",
    ),
    path("c/<slug:catalog>/new/", views.tool_new, name="tool_new"),
    path("c/<slug:catalog>/check/", views.tool_check, name="tool_check"),
    path("c/<slug:catalog>/tools/<str:tool>/", views.tool_edit, name="tool"),
    path("c/<slug:catalog>/tools/<str:tool>/history/", views.tool_history, name="tool_history"),
    path("c/<slug:catalog>/tools/<str:tool>/delete/", views.tool_delete, name="tool_delete"),
    path(
        "c/<slug:catalog>/tools/<str:tool>/guard-lab/",
        views.tool_guard_lab,
        name="tool_guard_lab",
    ),
]
