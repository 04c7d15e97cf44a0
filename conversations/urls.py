from django.urls import path

from . import (
    comparison_views,
    conversation_views,
    message_views,
    model_call_views,
    replay_views,
    token_views,
    transcript_views,
    views,
)

urlpatterns = [
    path("c/<slug:catalog>/lab/", views.batch_lab, name="batch_lab"),
    path("c/<slug:catalog>/lab/fill/", views.batch_fill, name="batch_fill"),
    path("c/<slug:catalog>/tools/<str:tool>/try/", views.tool_try, name="tool_try"),
    path("batches/<int:batch>/", views.batch_detail, name="batch"),
    path("batches/compare/<uuid:group>/", views.batch_compare, name="batch_compare"),
]

urlpatterns += [
    path("providers/", conversation_views.provider_list, name="providers"),
    path("providers/<int:provider_id>/", conversation_views.provider_edit, name="provider"),
    path(
        "providers/<int:provider_id>/test/",
        conversation_views.provider_test,
        name="provider_test",
    ),
    path("tokens/", token_views.api_tokens, name="api_tokens"),
    path("tokens/<int:token_id>/revoke/", token_views.api_token_revoke, name="api_token_revoke"),
    path("conversations/", conversation_views.conversation_list, name="conversations"),
    path("conversations/new/", conversation_views.conversation_new, name="conversation_new"),
    path(
        "conversations/new/tools/",
        conversation_views.tool_search,
        name="conversation_tool_search",
    ),
    path(
        "conversations/<int:conversation>/",
        conversation_views.conversation_detail,
        name="conversation",
    ),
    path(
        "conversations/<int:conversation>/waterfall/",
        conversation_views.conversation_waterfall_view,
        name="conversation_waterfall",
    ),
    path(
        "conversations/<int:conversation>/earlier/",
        conversation_views.conversation_earlier_rounds,
        name="conversation_earlier_rounds",
    ),
    path(
        "conversations/<int:conversation>/run/",
        conversation_views.conversation_run,
        name="conversation_run",
    ),
    path(
        "conversations/<int:conversation>/send/",
        conversation_views.conversation_send,
        name="conversation_send",
    ),
    path(
        "conversations/<int:conversation>/settings/",
        conversation_views.conversation_settings,
        name="conversation_settings",
    ),
    path(
        "conversations/<int:conversation>/stop/",
        conversation_views.conversation_stop,
        name="conversation_stop",
    ),
    path(
        "conversations/<int:conversation>/fork/",
        conversation_views.conversation_fork,
        name="conversation_fork",
    ),
    path(
        "conversations/<int:conversation>/delete/",
        conversation_views.conversation_delete,
        name="conversation_delete",
    ),
    path(
        "conversations/<int:conversation>/export.json",
        conversation_views.conversation_export,
        name="conversation_export",
    ),
    path(
        "conversations/<int:conversation>/messages/",
        conversation_views.message_add,
        name="message_add",
    ),
    path(
        "conversations/<int:conversation>/messages/<int:position>/",
        message_views.message_edit,
        name="message_edit",
    ),
    path(
        "conversations/<int:conversation>/messages/<int:position>/shown/",
        message_views.message_show,
        name="message",
    ),
    path(
        "conversations/<int:conversation>/calls/<int:execution>/decide/",
        conversation_views.call_decide,
        name="call_decide",
    ),
    path(
        "conversations/<int:conversation>/calls/<int:execution>/answer/",
        conversation_views.call_answer,
        name="call_answer",
    ),
]

urlpatterns += [
    path(
        "conversations/import/",
        transcript_views.conversation_import,
        name="conversation_import",
    ),
    path(
        "conversations/<int:conversation>/transcript/",
        transcript_views.conversation_transcript,
        name="conversation_transcript",
    ),
    path(
        "conversations/<int:conversation>/export.jsonl",
        transcript_views.conversation_export_jsonl,
        name="conversation_export_jsonl",
    ),
]

urlpatterns += [
    path(
        "conversations/<int:conversation>/model-calls/<int:model_call>/raw/",
        model_call_views.model_call_raw,
        name="model_call_raw",
    ),
    path(
        "conversations/<int:conversation>/replay/",
        replay_views.conversation_replay,
        name="conversation_replay",
    ),
    path(
        "conversations/<int:conversation>/replays/<uuid:group>/",
        replay_views.conversation_replay_detail,
        name="conversation_replay_detail",
    ),
    path("replays/", replay_views.replay_jobs, name="replay_jobs"),
    path("replays/<int:job>/", replay_views.replay_job, name="replay_job"),
    path("replays/<int:job>/resume/", replay_views.replay_job_resume, name="replay_job_resume"),
]

urlpatterns += [
    path(
        "conversations/<int:conversation>/compare/",
        comparison_views.comparison_new,
        name="comparison_new",
    ),
    path(
        "conversations/comparisons/<int:comparison>/",
        comparison_views.comparison_detail,
        name="comparison",
    ),
]
