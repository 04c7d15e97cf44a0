"""Records of execution: batches of tool calls and each call's ToolExecution.

A Batch is one engine run: from the Batch lab, a tool's "Try it" panel, or (later) one round of a
conversation or a recorded proxy exchange. Rows are written by `conversations.execution`, which
subscribes to the engine's events; nothing here runs tools.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from fcstudio.models import Team
from tools_app.models import Tool, ToolVersion


class BatchSource(models.TextChoices):
    LAB = "lab", "Batch lab"
    TRY = "try", "Try it"


class BatchStatus(models.TextChoices):
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"


class Batch(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="batches")
    source = models.CharField(max_length=12, choices=BatchSource.choices)
    status = models.CharField(
        max_length=10, choices=BatchStatus.choices, default=BatchStatus.RUNNING
    )
    failure = models.TextField(blank=True, help_text="Why the batch as a whole failed.")
    strategy = models.CharField(max_length=12)
    max_concurrency = models.PositiveIntegerField(null=True, blank=True)
    fail_fast = models.BooleanField(default=False)
    # Batches run side by side by "Compare strategies" share a group.
    compare_group = models.UUIDField(null=True, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    wall_ms = models.FloatField(null=True, blank=True)
    sum_call_ms = models.FloatField(null=True, blank=True)
    speedup = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "batches"

    def __str__(self) -> str:
        return f"Batch {self.pk} ({self.strategy}, {self.status})"

    @staticmethod
    def new_compare_group() -> uuid.UUID:
        return uuid.uuid4()


class ExecutionStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    OK = "ok", "OK"
    ERROR = "error", "Error"


class ToolExecution(models.Model):
    """One call of a batch, as the engine saw it, from queueing to result."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="executions")
    position = models.PositiveIntegerField(help_text="Order of the call in the batch.")
    tool_call_id = models.CharField(max_length=100)
    tool_name = models.CharField(max_length=255)
    tool = models.ForeignKey(Tool, null=True, blank=True, on_delete=models.SET_NULL)
    tool_version = models.ForeignKey(ToolVersion, null=True, blank=True, on_delete=models.SET_NULL)
    raw_arguments = models.TextField(blank=True)
    parsed_arguments = models.JSONField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=ExecutionStatus.choices, default=ExecutionStatus.QUEUED
    )
    error_code = models.CharField(max_length=30, blank=True)
    error_message = models.TextField(blank=True)
    error_details = models.JSONField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    result_truncated = models.BooleanField(default=False)
    content = models.TextField(blank=True, help_text="The tool message content the model sees.")
    attempts = models.PositiveSmallIntegerField(default=0)
    # Offsets in milliseconds from the batch's start (monotonic clock), for the timeline.
    queued_ms = models.FloatField(default=0)
    started_ms = models.FloatField(null=True, blank=True)
    finished_ms = models.FloatField(null=True, blank=True)
    retry_marks_ms = models.JSONField(default=list, blank=True)
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["batch", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "position"], name="one_execution_per_batch_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tool_name} ({self.tool_call_id}): {self.status}"

    @property
    def duration_ms(self) -> float | None:
        if self.started_ms is None or self.finished_ms is None:
            return None
        return self.finished_ms - self.started_ms
