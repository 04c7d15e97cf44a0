from django.contrib import admin

from .models import Batch, ToolExecution


class ToolExecutionInline(admin.TabularInline):
    model = ToolExecution
    extra = 0
    can_delete = False
    fields = [
        "position",
        "tool_name",
        "status",
        "error_code",
        "attempts",
        "started_ms",
        "finished_ms",
    ]
    readonly_fields = fields


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "team",
        "source",
        "strategy",
        "status",
        "wall_ms",
        "speedup",
        "created_at",
    ]
    list_filter = ["source", "strategy", "status", "team"]
    inlines = [ToolExecutionInline]


@admin.register(ToolExecution)
class ToolExecutionAdmin(admin.ModelAdmin):
    list_display = ["tool_name", "batch", "status", "error_code", "attempts", "worker"]
    list_filter = ["status", "error_code"]
    search_fields = ["tool_name", "tool_call_id"]
