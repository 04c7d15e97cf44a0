from django.contrib import admin
from django.db import models

from .models import Batch, Conversation, Message, ModelCall, Provider, ToolExecution


class ToolExecutionInline(admin.TabularInline):
    model = ToolExecution
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "position",
        "tool_name",
        "status",
        "error_code",
        "attempts",
        "started_ms",
        "finished_ms",
    )


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


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    """Keys are set through the studio's provider page, encrypted; never shown here."""

    list_display = ["name", "team", "base_url", "default_model", "api_key_hint"]
    list_filter = ["team"]
    exclude = ["api_key_encrypted", "extra_headers_encrypted"]
    readonly_fields = ["api_key_hint"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False
    fields = readonly_fields = ("position", "round", "role", "payload")


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["title", "team", "model", "status", "worker", "heartbeat_at", "created_at"]
    list_filter = ["status", "team"]
    search_fields = ["title"]
    inlines = [MessageInline]


@admin.register(ModelCall)
class ModelCallAdmin(admin.ModelAdmin):
    list_display = ["conversation", "round", "ok", "error_kind", "finish_reason", "total_tokens"]
    list_filter = ["ok", "error_kind"]
