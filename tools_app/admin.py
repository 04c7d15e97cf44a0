import json

from django.contrib import admin
from django.utils.html import format_html

from .catalog import SHOWN_SECRET, redacted_snapshot
from .models import Catalog, Tool, ToolVersion


def _pretty(value: object) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))


@admin.register(Catalog)
class CatalogAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "slug", "updated_at"]
    list_filter = ["team"]
    search_fields = ["name", "slug"]


class ToolVersionInline(admin.TabularInline):
    model = ToolVersion
    extra = 0
    can_delete = False
    fields = readonly_fields = ("number", "message", "author", "created_at")


@admin.register(Tool)
class ToolAdmin(admin.ModelAdmin):
    """Header secrets stay masked here too: the implementation is shown, not edited."""

    list_display = ["name", "catalog", "implementation_kind", "version", "updated_at"]
    list_filter = ["implementation_kind", "catalog__team"]
    search_fields = ["name", "original_name", "description"]
    exclude = ["implementation_config"]
    readonly_fields = ["implementation"]
    inlines = [ToolVersionInline]

    @admin.display(description="Implementation (secrets masked)")
    def implementation(self, tool: Tool) -> str:
        return _pretty(redacted_snapshot(tool.snapshot(), SHOWN_SECRET)["implementation"])


@admin.register(ToolVersion)
class ToolVersionAdmin(admin.ModelAdmin):
    list_display = ["tool", "number", "author", "created_at", "message"]
    fields = readonly_fields = ("tool", "number", "frozen", "author", "created_at", "message")

    @admin.display(description="Snapshot (secrets masked)")
    def frozen(self, version: ToolVersion) -> str:
        return _pretty(redacted_snapshot(version.snapshot, SHOWN_SECRET))
