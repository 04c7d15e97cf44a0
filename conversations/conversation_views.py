"""Providers and conversations: thin views over compose, dispatch and the records."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import async_to_sync
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from fcstudio.limits import KB, MB, body_limit
from fcstudio.models import Role
from fcstudio.secrets import SecretError
from fcstudio.teams import TeamRequest, team_view
from tools_app.views import json_download

from . import compose, dispatch, live, provider, quotas, recording, tool_picker
from .controls import controls_context
from .forms import (
    AnswerForm,
    ComposerForm,
    ConversationForm,
    MessageForm,
    ProviderForm,
    RunSettingsForm,
)
from .models import Batch, BatchSource, Conversation, ModelCall, Provider
from .providers import provider_config, save_known_models, save_provider
from .view_models import (
    CallFilter,
    Round,
    conversation_summary,
    filter_choices,
    listed_messages,
    load_records,
    messages_context,
    rounds_for,
)
from .waterfall import chosen_scale, conversation_waterfall

SMALL_FORM_BYTES = 64 * KB
CONVERSATIONS_PER_PAGE = 50
# Two 50,000-character messages and the picked tools' ids.
NEW_CONVERSATION_BYTES = 1 * MB
# Content and tool calls take up to 200,000 characters each.
MESSAGE_BODY_BYTES = 2 * MB


def _conversation(request: TeamRequest, pk: int) -> Conversation:
    return get_object_or_404(Conversation, team=request.team, pk=pk)


@team_view(role=Role.VIEWER, write_role=Role.ADMIN)
@body_limit(SMALL_FORM_BYTES)
@require_http_methods(["GET", "POST"])
def provider_list(request: TeamRequest) -> HttpResponse:
    team = request.team
    form = ProviderForm(request.POST or None, team=team)
    if request.method == "POST" and form.is_valid():
        if not form.cleaned_data["api_key"]:
            form.add_error(
                "api_key", "A new provider needs its API key (any text for local servers)."
            )
        else:
            new = form.save(commit=False)
            new.team = team
            save_provider(
                new,
                api_key=form.cleaned_data["api_key"],
                extra_headers=form.cleaned_data["extra_headers"] or {},
                actor=request.user,
            )
            messages.success(request, f"Provider “{new.name}” added.")
            return redirect("providers", team=team.slug)
    context = {"form": form, "providers": team.providers.all()}
    return render(request, "conversations/provider_list.html", context)


@team_view(role=Role.ADMIN, write_role=Role.ADMIN)
@body_limit(SMALL_FORM_BYTES)
@require_http_methods(["GET", "POST"])
def provider_edit(request: TeamRequest, provider_id: int) -> HttpResponse:
    team = request.team
    current = get_object_or_404(Provider, team=team, pk=provider_id)
    form = ProviderForm(request.POST or None, instance=current, team=team)
    if request.method == "POST" and form.is_valid():
        updated = form.save(commit=False)
        save_provider(
            updated,
            api_key=form.cleaned_data["api_key"],
            extra_headers=form.cleaned_data["extra_headers"],
            actor=request.user,
        )
        messages.success(request, f"Provider “{updated.name}” saved.")
        return redirect("providers", team=team.slug)
    return render(request, "conversations/provider_edit.html", {"form": form, "provider": current})


@team_view(role=Role.EDITOR)
@body_limit(SMALL_FORM_BYTES)
@require_POST
def provider_test(request: TeamRequest, provider_id: int) -> HttpResponse:
    """List the endpoint's models, or say clearly why that failed."""
    current = get_object_or_404(Provider, team=request.team, pk=provider_id)
    context: dict = {"provider": current}
    try:
        config = provider_config(current)
        context["models"] = async_to_sync(provider.list_models)(config)
        save_known_models(current, context["models"])
    except provider.ProviderError as exc:
        context["error"] = f"{exc.kind}: {exc.message}"
    except SecretError as exc:
        context["error"] = str(exc)
    return render(request, "conversations/provider_list.html#test-result", context)


@team_view()
@require_GET
def conversation_list(request: TeamRequest) -> HttpResponse:
    conversations = Conversation.objects.filter(team=request.team).select_related("provider")
    page = Paginator(conversations, CONVERSATIONS_PER_PAGE).get_page(request.GET.get("page"))
    template = "conversations/conversation_list.html"
    if request.htmx:
        template += "#conversation-table"
    return render(request, template, {"conversations": page.object_list, "page": page})


@team_view(role=Role.EDITOR)
@body_limit(NEW_CONVERSATION_BYTES)
@require_http_methods(["GET", "POST"])
def conversation_new(request: TeamRequest) -> HttpResponse:
    team = request.team
    form = ConversationForm(request.POST or None, team=team)
    if request.method == "POST" and form.is_valid():
        conversation = compose.create_conversation(team, request.user, form.cleaned_data)
        if "run" in request.POST:
            _start_run(request, conversation)
        return redirect("conversation", team=team.slug, conversation=conversation.pk)
    has_providers = team.providers.exists()
    context = {
        "form": form,
        "has_providers": has_providers,
        "search": tool_picker.search_tools(team, ""),
    }
    return render(request, "conversations/conversation_new.html", context)


@team_view(role=Role.EDITOR)
@require_GET
def tool_search(request: TeamRequest) -> HttpResponse:
    """The builder's tool picker: the tools matching a search, grouped by catalog."""
    search = tool_picker.search_tools(request.team, request.GET.get("q", ""))
    return render(
        request, "conversations/partials/tool_picker.html#tool-results", {"search": search}
    )


def detail_context(conversation: Conversation, status: str = "", tool: str = "") -> dict:
    """The page: its last rounds listed (`view_models.ROUNDS_SHOWN`) and the totals over all
    of them; the waterfall is fetched when its panel opens (`conversation_waterfall_view`)."""
    records = load_records(conversation, window=True)
    filters = filter_choices(conversation, records=records)
    return {
        "conversation": conversation,
        "messages_list": messages_context(listed_messages(conversation, records)),
        "rounds": rounds_for(conversation, status=status, tool=tool, records=records),
        "earlier": records.first_round,
        "summary": conversation_summary(conversation, records=records),
        "tools": compose.tools_for(conversation.tool_versions.all()),
        "sent": sent_by_the_app(conversation, records.model_calls),
        # A recording's calls the app ran itself: what "Replay tool calls" runs again.
        "replayable": any(
            batch.source == BatchSource.RECORDED and batch.executions.all()
            for batch in records.batches
        ),
        "filters": {"status": status, "tool": tool, **filters},
    }


def sent_by_the_app(conversation: Conversation, calls: list[ModelCall]) -> dict | None:
    """What a recorded conversation's app sent in its latest request: how many tools, and
    tool_choice and parallel_tool_calls as sent ("" and None when it left them out). The app
    chose them per request, not the studio; None for a studio conversation."""
    if not conversation.recorded or not calls:
        return None
    latest = calls[-1]
    request = latest.request if isinstance(latest.request, dict) else {}
    tools = request.get("tools")
    parallel = request.get("parallel_tool_calls")
    return {
        "tools": len(tools) if isinstance(tools, list) else 0,
        "tool_choice": latest.tool_choice_sent,
        "parallel_tool_calls": parallel if isinstance(parallel, bool) else None,
    }


@team_view()
@require_GET
def conversation_detail(request: TeamRequest, conversation: int) -> HttpResponse:
    current = _conversation(request, conversation)
    calls = CallFilter.from_query(request.GET)
    status, tool = calls.status, calls.tool
    return _render_detail(request, current, status=status, tool=tool)


@team_view()
@require_GET
def conversation_waterfall_view(request: TeamRequest, conversation: int) -> HttpResponse:
    """The waterfall in the scale asked for (`?scale=linear`), fetched when its panel opens, on
    the scale toggle and on a live refresh: the page itself carries none of its rows."""
    current = _conversation(request, conversation)
    scale = chosen_scale(request.GET.get("scale"))
    records = load_records(current, listing=False)
    context = {"waterfall": conversation_waterfall(records, scale), "drawn": True}
    return render(request, "conversations/partials/waterfall.html#waterfall-charts", context)


@team_view()
@require_GET
def conversation_earlier_rounds(request: TeamRequest, conversation: int) -> HttpResponse:
    """The ROUNDS_SHOWN rounds before `?before=` (messages and calls), put in front of those
    the page lists, and the control for the ones before them."""
    current = _conversation(request, conversation)
    try:
        before = int(request.GET.get("before", ""))
    except ValueError:
        return HttpResponse("Which rounds? ?before= takes a round number.", status=400)
    calls = CallFilter.from_query(request.GET)
    status, tool = calls.status, calls.tool
    records = load_records(current, before=max(0, before))
    context = {
        "conversation": current,
        "messages_list": messages_context(listed_messages(current, records)),
        "rounds": rounds_for(current, status=status, tool=tool, records=records),
        "earlier": records.first_round,
        "filters": {"status": status, "tool": tool},
        "can_run": request.membership.allows(Role.EDITOR),
        "oob": True,
    }
    return render(request, "conversations/conversation_detail.html#earlier-rounds-oob", context)


def _render_detail(
    request: TeamRequest,
    current: Conversation,
    *,
    status: str = "",
    tool: str = "",
    composer_form: ComposerForm | None = None,
    settings_form: RunSettingsForm | None = None,
    message_form: MessageForm | None = None,
) -> HttpResponse:
    context = detail_context(current, status=status, tool=tool)
    context |= controls_context(
        current,
        request.membership,
        composer_form=composer_form,
        settings_form=settings_form,
        message_form=message_form,
    )
    return render(request, "conversations/conversation_detail.html", context)


@team_view(role=Role.EDITOR)
@body_limit(NEW_CONVERSATION_BYTES)
@require_POST
def conversation_send(request: TeamRequest, conversation: int) -> HttpResponse:
    """The composer: append the next user turn and start the run that answers it."""
    current = _conversation(request, conversation)
    if current.recorded:
        return HttpResponse("A recorded conversation is not run here: fork it first.", status=400)
    form = ComposerForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, current, composer_form=form)
    try:
        compose.send_user_message(current, form.cleaned_data["content"], request.user)
    except (compose.ConversationBusy, compose.TurnRefused) as exc:
        form.add_error("content", str(exc))
        return _render_detail(request, current, composer_form=form)
    _start_run(request, current)
    return redirect("conversation", team=request.team.slug, conversation=current.pk)


@team_view(role=Role.EDITOR)
@body_limit(NEW_CONVERSATION_BYTES)
@require_POST
def conversation_settings(request: TeamRequest, conversation: int) -> HttpResponse:
    """Settings for the next run: changed in place before any model call, else on a fork."""
    current = _conversation(request, conversation)
    if current.recorded:
        return HttpResponse("A recorded conversation is not run here: fork it first.", status=400)
    form = RunSettingsForm(request.POST, team=request.team, conversation=current)
    if not form.is_valid():
        return _render_detail(request, current, settings_form=form)
    try:
        target = compose.change_settings(current, form.cleaned_data, request.user)
    except compose.ConversationBusy as exc:
        form.add_error(None, str(exc))
        return _render_detail(request, current, settings_form=form)
    if target.pk != current.pk:
        messages.success(
            request,
            f"Forked into “{target.title}” with the new settings; the original keeps the record "
            "of what was sent.",
        )
    else:
        messages.success(request, "Settings saved for the next run.")
    return redirect("conversation", team=request.team.slug, conversation=target.pk)


@team_view(role=Role.EDITOR)
@body_limit(SMALL_FORM_BYTES)
@require_POST
def conversation_run(request: TeamRequest, conversation: int) -> HttpResponse:
    current = _conversation(request, conversation)
    if current.is_live:
        messages.info(request, "This conversation is already running.")
    elif not _start_run(request, current) and request.htmx:
        return HttpResponseClientRefresh()  # the page shows why nothing started
    if request.htmx:
        return HttpResponse(status=204)  # the page follows the run over its websocket
    return redirect("conversation", team=request.team.slug, conversation=current.pk)


def _start_run(request: TeamRequest, conversation: Conversation) -> bool:
    """Start the run; False, with the reason among the page's messages, when a quota refuses it."""
    try:
        dispatch.start_run(conversation, actor=request.user)
    except quotas.QuotaExceeded as exc:
        messages.error(request, str(exc))
        return False
    return True


@team_view(role=Role.EDITOR)
@body_limit(SMALL_FORM_BYTES)
@require_POST
def conversation_stop(request: TeamRequest, conversation: int) -> HttpResponse:
    current = _conversation(request, conversation)
    dispatch.request_stop(current, actor=request.user)
    if request.htmx:
        return HttpResponse(status=204)
    messages.info(request, "Stop requested.")
    return redirect("conversation", team=request.team.slug, conversation=current.pk)


def _listed(request: TeamRequest, batch: Batch, acted_on: int) -> list[Any]:
    """The batch's calls as the page the htmx request came from lists them (its URL's calls
    filter, as its socket's redraws do), and the call acted on, whose row shows the outcome."""
    current = request.htmx.current_url if request.htmx else None
    calls = CallFilter.from_query(QueryDict(urlsplit(current).query) if current else {})
    return [e for e in batch.executions.all() if e.pk == acted_on or calls.matches(e)]


@team_view(role=Role.EDITOR)
@body_limit(SMALL_FORM_BYTES)
@require_POST
def call_decide(request: TeamRequest, conversation: int, execution: int) -> HttpResponse:
    """Approve or deny a call that waits for a person."""
    current = _conversation(request, conversation)
    decision = request.POST.get("decision")
    if decision not in ("approved", "denied"):
        return HttpResponse("Decide approved or denied.", status=400)
    updated = recording.decide_call(current, execution, decision, actor=request.user)
    batch = Batch.objects.filter(executions__pk=execution, conversation=current).first()
    if updated and batch is not None:
        async_to_sync(live.publish)(current.pk, live.CallDecided(batch.pk, execution))
    if request.htmx:
        if batch is None:
            return HttpResponse(status=409 if not updated else 204)
        if updated and decision == "approved":
            # The call now runs: its row changes again within moments, and those states reach
            # the page over the websocket in order, after the CallDecided redraw. A row drawn
            # here could land after them and show a finished call as still running.
            return HttpResponse(status=204)
        # The row is redrawn as it stands (no buttons once decided); a refusal says why in it.
        round_ = Round(batch.round or 0, batch=batch, executions=_listed(request, batch, execution))
        refusal = "" if updated else "This call no longer waits for a decision."
        context = {"round": round_, "can_run": True, "refused": execution, "refusal": refusal}
        return render(
            request,
            "conversations/conversation_detail.html#round-calls",
            context,
            status=200 if updated else 409,
        )
    if not updated:
        messages.info(request, "That call is no longer waiting for a decision.")
    return redirect("conversation", team=request.team.slug, conversation=current.pk)


@team_view(role=Role.EDITOR)
@body_limit(MESSAGE_BODY_BYTES)
@require_POST
def call_answer(request: TeamRequest, conversation: int, execution: int) -> HttpResponse:
    """Write a call's result by hand on its row: the tool message for its tool_call_id."""
    current = _conversation(request, conversation)
    batch = get_object_or_404(Batch, conversation=current, executions__pk=execution)
    call = batch.executions.get(pk=execution)
    form = AnswerForm(request.POST)
    problem, status = "", 200
    if form.is_valid():
        # The same checks as a tool message written in the message editor.
        checked = MessageForm(
            {
                "role": "tool",
                "tool_call_id": call.tool_call_id,
                "content": form.cleaned_data["content"],
            },
            call_ids=compose.answerable_call_ids(current),
        )
        if checked.is_valid():
            try:
                compose.answer_call(current, checked.cleaned_data["payload"], request.user)
            except compose.ConversationBusy as exc:
                problem, status = str(exc), 409
        else:
            problem = " ".join(str(e) for errors in checked.errors.values() for e in errors)
    else:
        problem = " ".join(str(error) for error in form.errors["content"])
    if not request.htmx:
        if problem:
            messages.error(request, problem)
        else:
            messages.success(request, f"Answered {call.tool_call_id} by hand.")
        return redirect("conversation", team=request.team.slug, conversation=current.pk)
    current.refresh_from_db()
    last = current.batches.exclude(round=None).order_by("-round").values_list("round", flat=True)
    context = {
        "conversation": current,
        "round": Round(
            batch.round or 0, batch=batch, executions=_listed(request, batch, execution)
        ),
        "rounds": [Round(last.first() or 0)],
        "can_run": True,
        "refused": execution,
        "refusal": problem,
        "answered": "" if problem else execution,
        "typed": request.POST.get("content", ""),
    }
    html = render_to_string(
        "conversations/conversation_detail.html#round-calls", context, request=request
    )
    if not problem:
        # The tool message changed: the messages column shows it as the model will get it.
        listing = {
            "oob": True,
            "can_run": True,
            "messages_list": messages_context(
                listed_messages(current, load_records(current, window=True))
            ),
        }
        html += render_to_string(
            "conversations/conversation_detail.html#messages-list", listing, request=request
        )
    return HttpResponse(html, status=status)


@team_view(role=Role.EDITOR)
@body_limit(SMALL_FORM_BYTES)
@require_POST
def conversation_fork(request: TeamRequest, conversation: int) -> HttpResponse:
    current = _conversation(request, conversation)
    try:
        upto = int(request.POST.get("upto", ""))
    except ValueError:
        return HttpResponse("Say up to which message to keep.", status=400)
    copy = compose.fork(current, upto=upto, user=request.user)
    messages.success(request, f"Forked into “{copy.title}”; the original is unchanged.")
    url = reverse("conversation", kwargs={"team": request.team.slug, "conversation": copy.pk})
    # Forms pushed over the websocket carry no CSRF field: htmx posts them with the header.
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@team_view()
@require_GET
def conversation_export(request: TeamRequest, conversation: int) -> HttpResponse:
    current = _conversation(request, conversation)
    return json_download(compose.export_openai(current), f"conversation-{current.pk}.json")


@team_view(role=Role.EDITOR)
@body_limit(MESSAGE_BODY_BYTES)
@require_POST
def message_add(request: TeamRequest, conversation: int) -> HttpResponse:
    current = _conversation(request, conversation)
    form = MessageForm(
        request.POST,
        call_ids=compose.answerable_call_ids(current),
        offered=compose.offered_tool_names(current),
        history=list(current.messages.all()),
    )
    if form.is_valid():
        try:
            compose.add_message(current, form.cleaned_data["payload"], request.user)
        except compose.ConversationBusy as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Message added. Continue the run to send it.")
    else:
        return _render_detail(request, current, message_form=form)
    return redirect("conversation", team=request.team.slug, conversation=current.pk)


@team_view(role=Role.EDITOR)
@body_limit(SMALL_FORM_BYTES)
@require_POST
def conversation_delete(request: TeamRequest, conversation: int) -> HttpResponse:
    current = _conversation(request, conversation)
    if current.is_live:
        messages.error(request, "Stop the run before deleting the conversation.")
        return redirect("conversation", team=request.team.slug, conversation=current.pk)
    current.delete()
    messages.success(request, f"Deleted “{current.title}” and its records.")
    return redirect("conversations", team=request.team.slug)
