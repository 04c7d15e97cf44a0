from django.contrib import admin

from .models import Catalog, Tool, ToolVersion


@admin.register(Catalog)
class CatalogAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "slug", "updated_at"]
    list_filter = ["team"]
    search_fields = ["name", "slug"]


class ToolVersionInline(admin.TabularInline):
    model = ToolVersion
    extra = 0
    can_delete = False
    fields = ["number", "message", "author", "created_at"]
    readonly_fields = fields


@admin.register(Tool)
class ToolAdmin(admin.ModelAdmin):
    list_display = ["name", "catalog", "implementation_kind", "version", "updated_at"]
    list_filter = ["implementation_kind", "catalog__team"]
    search_fields = ["name", "original_name", "description"]
    inlines = [ToolVersionInline]


@admin.register(ToolVersion)
class ToolVersionAdmin(admin.ModelAdmin):
    list_display = ["tool", "number", "author", "created_at", "message"]
    readonly_fields = ["tool", "number", "snapshot", "author", "created_at", "message"]
