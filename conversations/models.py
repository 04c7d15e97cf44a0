"""Records of execution: batches of tool calls and each call's ToolExecution.

A Batch is one engine run: from the Batch lab, a tool's "Try it" panel, or (later) one round of a
conversation or a recorded proxy exchange. Rows are written by `conversations.recording`, which
subscribes to the engine's events; nothing here runs tools.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from fcstudio.models import Team
from tools_app.models import UNTRUSTED_JSON, Tool, ToolVersion

from .templatetags.outcomes import outcome


class BatchSource(models.TextChoices):
    LAB = "lab", "Batch lab"
    TRY = "try", "Try it"
    CONVERSATION = "conversation", "Conversation"
    # Tool calls an app ran itself, seen through the recording proxy: timed by the gap between
    # the request that asked for them and the one that brought their results.
    RECORDED = "recorded", "Recorded by the proxy"
    # A recorded batch's calls run again against the team's current tools (conversations.replay).
    REPLAY = "replay", "Replay"


class Provider(models.Model):
    """An OpenAI-compatible Chat Completions endpoint a team may call.

    The API key and extra headers are stored encrypted (fcstudio.secrets) and never rendered.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="providers")
    name = models.CharField(max_length=100)
    base_url = models.URLField(max_length=500)
    api_key_encrypted = models.TextField(blank=True)
    api_key_hint = models.CharField(max_length=20, blank=True)
    extra_headers_encrypted = models.TextField(blank=True)
    default_model = models.CharField(max_length=200, blank=True)
    timeout_s = models.FloatField(default=60.0)
    # The model ids the last Test connection listed, offered when a conversation picks a model.
    known_models = models.JSONField(**UNTRUSTED_JSON, default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="provider_name_unique_in_team")
        ]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A studio API token: lets an app call the recording proxy (`conversations.proxy`) as one
    team, forwarded to one of its providers. Only the token's sha256 is stored; the token itself
    is shown once, when it is made (`conversations.tokens`)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="api_tokens")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return self.name

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class ToolChoice(models.TextChoices):
    AUTO = "auto", "auto"
    NONE = "none", "none"
    REQUIRED = "required", "required"
    FUNCTION = "function", "one named function"


class RunStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting for approval"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"
    STOPPED = "stopped", "Stopped"
    PAUSED = "paused", "Paused for review"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING)
# A run whose heartbeat is older than this has lost its worker: another may take it over.
TAKEOVER_AFTER = timedelta(minutes=1)


class Conversation(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="conversations")
    title = models.CharField(max_length=200)
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.SET_NULL)
    model = models.CharField(max_length=200)
    tool_versions = models.ManyToManyField(ToolVersion, blank=True, related_name="+")
    tool_choice = models.CharField(max_length=10, choices=ToolChoice.choices, default="auto")
    tool_choice_name = models.CharField(max_length=64, blank=True)
    parallel_tool_calls = models.BooleanField(default=True)
    strategy = models.CharField(max_length=12, default="asyncio")
    max_concurrency = models.PositiveIntegerField(null=True, blank=True)
    temperature = models.FloatField(null=True, blank=True)
    max_rounds = models.PositiveSmallIntegerField(default=6)
    review_results = models.BooleanField(
        default=False, help_text="Pause after each batch so a person can edit the tool results."
    )
    keep_tool_choice = models.BooleanField(
        default=False,
        help_text="Send a forced tool_choice every round. Off, the round after one that obeyed "
        "it sends auto, so the model can answer; on, a model that always obeys calls tools "
        "until the round limit.",
    )
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.DRAFT)
    # Recorded from another app's traffic (the recording proxy, an import), not driven here:
    # its model calls and messages are a record, and no worker ever claims or resumes it.
    recorded = models.BooleanField(default=False)
    # The token whose traffic was recorded here, and the name the app gave the conversation
    # (its X-FCStudio-Conversation header), if it gave one.
    api_token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    recording_key = models.CharField(max_length=200, blank=True)
    # What every request of a recorded agent loop begins with (`recording.join_root`): the
    # exchanges of one loop find their conversation by it, in whatever order they are recorded.
    recording_root = models.CharField(max_length=64, blank=True, db_index=True)
    failure = models.TextField(blank=True)
    stop_requested = models.BooleanField(default=False)
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    forked_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="forks"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_live(self) -> bool:
        """Driven by a worker that still beats: not to be started again, edited or deleted."""
        return self.is_active and not self.is_stale

    @property
    def is_stale(self) -> bool:
        """Active, but nobody drives it or will: its worker stopped beating, or it was queued
        longer than TAKEOVER_AFTER ago and no worker that could take it is alive. A person may
        resume it. A run waiting its turn in a deep queue that live workers serve is not stale:
        the page shows its place in the queue instead."""
        if not self.is_active:
            return False
        beat = self.heartbeat_at
        if beat is not None and beat >= timezone.now() - TAKEOVER_AFTER:
            return False
        if self.status == RunStatus.QUEUED:
            from .leases import live_worker_exists  # leases is built on these models

            return not live_worker_exists(settings.FCSTUDIO_DISPATCH)
        return True

    @property
    def queue_position(self) -> int | None:
        """How many queued runs are ahead of this one (queued earlier); None unless queued."""
        if self.status != RunStatus.QUEUED or self.heartbeat_at is None:
            return None
        earlier = models.Q(heartbeat_at__lt=self.heartbeat_at) | models.Q(
            heartbeat_at=self.heartbeat_at, pk__lt=self.pk
        )
        return Conversation.objects.filter(earlier, status=RunStatus.QUEUED).count()

    @property
    def offers_continue(self) -> bool:
        """Whether Run/Continue makes sense: never for a recorded conversation (nothing here runs
        it), nor after a final answer (the next step is a user turn, from the composer)."""
        if self.recorded:
            return False
        if self.is_stale:
            return True
        last = self.messages.order_by("-position").first()
        return not (last and last.role == "assistant" and not last.payload.get("tool_calls"))

    @property
    def continue_label(self) -> str:
        """The Run/Continue button's name, as the page shows it and messages refer to it."""
        if self.status == RunStatus.DRAFT:
            return "Run"
        return "Resume" if self.is_stale else "Continue"

    def tool_choice_value(self) -> str | dict:
        """`tool_choice` exactly as the Chat Completions request carries it."""
        if self.tool_choice == ToolChoice.FUNCTION:
            return {"type": "function", "function": {"name": self.tool_choice_name}}
        return str(self.tool_choice)


class Message(models.Model):
    """One OpenAI message of a conversation, in order; `payload` is the exact object sent."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    position = models.PositiveIntegerField()
    round = models.PositiveSmallIntegerField(default=0)
    role = models.CharField(max_length=10)
    payload = models.JSONField(**UNTRUSTED_JSON)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["conversation", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "position"], name="one_message_per_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.role} #{self.position}"

    @property
    def content(self) -> str:
        value = self.payload.get("content")
        return value if isinstance(value, str) else ""

    @property
    def tool_calls(self) -> list[dict]:
        calls = self.payload.get("tool_calls")
        return calls if isinstance(calls, list) else []


class ModelCall(models.Model):
    """One request to the provider and what came back (or why nothing did)."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="model_calls"
    )
    round = models.PositiveSmallIntegerField()
    request = models.JSONField(**UNTRUSTED_JSON)
    response = models.JSONField(**UNTRUSTED_JSON, null=True, blank=True)
    ok = models.BooleanField(default=False)
    error_kind = models.CharField(max_length=20, blank=True)
    error_message = models.TextField(blank=True)
    finish_reason = models.CharField(max_length=30, blank=True)
    problems = models.JSONField(**UNTRUSTED_JSON, default=list, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    total_tokens = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField()
    duration_ms = models.FloatField(null=True, blank=True)
    first_token_ms = models.FloatField(null=True, blank=True)
    # False when the record says nothing of how long the call took (an imported transcript
    # without timings): its duration is unknown, shown as such and kept off the time axis.
    timed = models.BooleanField(default=True)
    # Recorded exchanges: a hash of the request's messages followed by the answer, so that a
    # later request starting with exactly those messages joins this conversation.
    continued_by_hash = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["conversation", "round"]

    def __str__(self) -> str:
        # The audit trail's object label, beside the kind ("model call"); rounds count from 1
        # on every page.
        return f"round {self.round + 1}"

    @property
    def tool_choice_sent(self) -> str:
        """The request's tool_choice as the page names it: a mode or the one function named;
        "" when the request offered no tools."""
        choice = (self.request or {}).get("tool_choice") if isinstance(self.request, dict) else None
        if isinstance(choice, dict):
            function = choice.get("function")
            return str(function.get("name", "")) if isinstance(function, dict) else ""
        return choice if isinstance(choice, str) else ""


class BatchStatus(models.TextChoices):
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"


class Batch(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="batches")
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="batches"
    )
    round = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.CharField(max_length=12, choices=BatchSource.choices)
    status = models.CharField(
        max_length=10, choices=BatchStatus.choices, default=BatchStatus.RUNNING
    )
    failure = models.TextField(blank=True, help_text="Why the batch as a whole failed.")
    strategy = models.CharField(max_length=12)
    max_concurrency = models.PositiveIntegerField(null=True, blank=True)
    fail_fast = models.BooleanField(default=False)
    # Batches run side by side by "Compare strategies" share a group, as do the batches of one
    # replay of a recorded conversation.
    compare_group = models.UUIDField(null=True, blank=True, db_index=True)
    # A replay's batch is not part of its conversation's record (no `conversation`): it points
    # at the recorded batch whose calls it ran again.
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replays"
    )
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
    parsed_arguments = models.JSONField(**UNTRUSTED_JSON, null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=ExecutionStatus.choices, default=ExecutionStatus.QUEUED
    )
    approval = models.CharField(
        max_length=10,
        blank=True,
        choices=[("pending", "Pending"), ("approved", "Approved"), ("denied", "Denied")],
    )
    error_code = models.CharField(max_length=30, blank=True)
    error_message = models.TextField(blank=True)
    error_details = models.JSONField(**UNTRUSTED_JSON, null=True, blank=True)
    result = models.JSONField(**UNTRUSTED_JSON, null=True, blank=True)
    result_truncated = models.BooleanField(default=False)
    content = models.TextField(blank=True, help_text="The tool message content the model sees.")
    attempts = models.PositiveSmallIntegerField(default=0)
    # Offsets in milliseconds from the batch's start (monotonic clock), for the timeline.
    queued_ms = models.FloatField(default=0)
    started_ms = models.FloatField(null=True, blank=True)
    finished_ms = models.FloatField(null=True, blank=True)
    # When the call began and stopped waiting for a person's decision (ms from the batch start).
    approval_asked_ms = models.FloatField(null=True, blank=True)
    approval_decided_ms = models.FloatField(null=True, blank=True)
    retry_marks_ms = models.JSONField(**UNTRUSTED_JSON, default=list, blank=True)
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["batch", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "position"], name="one_execution_per_batch_position"
            )
        ]

    def __str__(self) -> str:
        # The audit trail's object label: the outcome as every page names it (DENIED, OK).
        return f"{self.tool_name} ({self.tool_call_id}): {outcome(self.error_code or self.status)}"

    @property
    def duration_ms(self) -> float | None:
        if self.started_ms is None or self.finished_ms is None:
            return None
        return self.finished_ms - self.started_ms


class RunStart(models.Model):
    """One run started (or resumed) by a person: what the team's runs-per-hour quota counts."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        Conversation, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["team", "started_at"], name="runstart_team_time")]

    def __str__(self) -> str:
        return f"Run started {self.started_at:%Y-%m-%d %H:%M}"


class Worker(models.Model):
    """A worker process that can take queued runs (a channels `runworker` or a Celery worker),
    with when it last said it was alive: the reaper leaves queued runs alone while one of their
    dispatch mode is (conversations.leases)."""

    name = models.CharField(max_length=200, unique=True)
    mode = models.CharField(max_length=20)
    seen_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["mode", "seen_at"], name="worker_mode_seen")]

    def __str__(self) -> str:
        return f"{self.mode} worker {self.name}"


class ReplayJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"


class ReplayJob(models.Model):
    """Recorded conversations replayed in the background: one (`conversation`), a token's
    recordings, or all the team's. `results` holds one summary per conversation done, in order,
    so a job whose worker died resumes with the ones not yet done (conversations.replay).

    Its worker owns it while it beats (`heartbeat_at`, `worker`), as a run's does; `attempts`
    counts the times it was queued again after its worker went silent. While it is queued,
    `heartbeat_at` is when its message was last sent, and `resends` how many times the reaper
    sent it again since it was queued (`replay.reap_stale_jobs` backs off by it)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="replay_jobs")
    api_token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="replay_jobs"
    )
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    resends = models.PositiveIntegerField(default=0)
    # The replay under way (its batches' compare_group): what a dead worker left open.
    current_group = models.UUIDField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=ReplayJobStatus.choices, default=ReplayJobStatus.QUEUED
    )
    failure = models.TextField(blank=True)
    total = models.PositiveIntegerField(default=0)
    results = models.JSONField(**UNTRUSTED_JSON, default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Replay job {self.pk} ({self.status})"

    @property
    def done(self) -> int:
        return len(self.results)

    @property
    def is_active(self) -> bool:
        return self.status in (ReplayJobStatus.QUEUED, ReplayJobStatus.RUNNING)

    @property
    def is_stale(self) -> bool:
        """Running, but its worker has stopped beating: a person may resume it."""
        if self.status != ReplayJobStatus.RUNNING:
            return False
        beat = self.heartbeat_at
        return beat is None or beat < timezone.now() - TAKEOVER_AFTER

    @property
    def is_unclaimed(self) -> bool:
        """Queued, and no worker has started it for a while: its message may be lost."""
        if self.status != ReplayJobStatus.QUEUED:
            return False
        beat = self.heartbeat_at
        return beat is None or beat < timezone.now() - TAKEOVER_AFTER

    @property
    def can_resume(self) -> bool:
        """Silent, queued but never started, or failed with conversations still to replay."""
        return (
            self.is_stale
            or self.is_unclaimed
            or (self.status == ReplayJobStatus.FAILED and self.done < self.total)
        )

    def tally(self, key: str) -> int:
        return sum(int(row.get(key, 0)) for row in self.results)

    @property
    def same_count(self) -> int:
        return self.tally("same")

    @property
    def changed_count(self) -> int:
        return self.tally("changed")

    @property
    def newly_failing_count(self) -> int:
        return self.tally("newly_failing")

    @property
    def fixed_count(self) -> int:
        return self.tally("fixed")

    @property
    def moved_count(self) -> int:
        """Calls whose result or status moved so far: changed, newly failing or fixed."""
        return self.changed_count + self.newly_failing_count + self.fixed_count


class Comparison(models.Model):
    """One conversation run against several provider/model pairs side by side: each run is a
    fork of `source` cut at the same message, with its provider and model changed
    (conversations.comparison_runs); `runs` are the forks, in the order they were asked for."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="comparisons")
    source = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="comparisons"
    )
    title = models.CharField(max_length=200)
    # How many of the source's messages each run starts from.
    message_count = models.PositiveIntegerField()
    runs = models.ManyToManyField(Conversation, related_name="in_comparisons")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Comparison {self.pk}: {self.title}"
