"""Replaying one recorded conversation is a background job of one conversation: the POST
answers at once with the job's page, which polls while the job runs and shows the per-call diff
once it is done. (The test client has no server loop, so the job runs inline, within the POST.)"""

from __future__ import annotations

from django.urls import reverse

from conversations.models import ReplayJob, ReplayJobStatus
from conversations.replay import new_replay_job
from conversations.transcript_import import import_transcript
from tools_app import catalog as catalog_ops

from .transcript_samples import json_lines

POLL = 'hx-trigger="every 1s"'


def answer_with(tool, response, people):
    tool.implementation_config = {"response": response}
    catalog_ops.save_tool(tool, author=people.editor, message="New mock response")


def test_the_post_makes_a_job_of_one_conversation_and_redirects_to_it(team, tool, people):
    answer_with(tool, {"temp": 21}, people)
    [conversation] = import_transcript(team, json_lines())
    answer_with(tool, {"temp": 19}, people)

    response = people.client_for("editor").post(
        reverse("conversation_replay", args=[team.slug, conversation.pk])
    )

    job = ReplayJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("replay_job", args=[team.slug, job.pk])
    assert (job.conversation, job.total, job.status, job.created_by) == (
        conversation,
        1,
        ReplayJobStatus.FINISHED,
        people.editor,
    )
    assert [(r["conversation"], r["same"], r["changed"]) for r in job.results] == [
        (conversation.pk, 0, 2)
    ]


def test_the_finished_job_page_shows_the_diff_and_stops_polling(team, tool, people):
    answer_with(tool, {"temp": 21}, people)
    [conversation] = import_transcript(team, json_lines())
    answer_with(tool, {"temp": 19}, people)
    editor = people.client_for("editor")
    editor.post(reverse("conversation_replay", args=[team.slug, conversation.pk]))
    url = reverse("replay_job", args=[team.slug, ReplayJob.objects.get().pk])

    page = editor.get(url).content.decode()
    fragment = editor.get(url, headers={"HX-Request": "true"}).content.decode()

    assert "Replay of the recorded tool calls" in page
    assert "1 of 1 conversation" in page and "2 calls changed so far" in page
    assert "0 same" in page and "2 changed" in page
    assert "<code>/temp</code> changed" in page and "FUNCTION_NOT_FOUND" in page
    assert POLL not in page
    assert fragment.lstrip().startswith('<div id="job-progress">') and POLL not in fragment
    assert "<code>/temp</code> changed" in fragment


def test_a_job_still_running_polls(team, tool, people):
    [conversation] = import_transcript(team, json_lines())
    job = new_replay_job(team, conversation=conversation, user=people.editor)
    url = reverse("replay_job", args=[team.slug, job.pk])
    viewer = people.client_for("viewer")

    queued = viewer.get(url, headers={"HX-Request": "true"}).content.decode()
    ReplayJob.objects.filter(pk=job.pk).update(status=ReplayJobStatus.RUNNING)
    running = viewer.get(url, headers={"HX-Request": "true"}).content.decode()

    assert POLL in queued and "Queued" in queued and "0 of 1 conversation" in queued
    assert POLL in running and "Running" in running
    assert "0 calls changed so far" in running
    assert 'id="replay-summary"' not in running


def test_roles(team, tool, people):
    [conversation] = import_transcript(team, json_lines())
    replay_url = reverse("conversation_replay", args=[team.slug, conversation.pk])

    assert people.client_for("viewer").post(replay_url).status_code == 403
    assert people.client_for("outsider").post(replay_url).status_code == 404
    assert not ReplayJob.objects.exists()
    job = new_replay_job(team, conversation=conversation)
    job_url = reverse("replay_job", args=[team.slug, job.pk])
    assert people.client_for("viewer").get(job_url).status_code == 200
    assert people.client_for("outsider").get(job_url).status_code == 404


def test_a_conversation_that_is_not_a_recording_gets_no_job(team, tool, people):
    [conversation] = import_transcript(team, json_lines())
    conversation.recorded = False
    conversation.save(update_fields=["recorded"])

    response = people.client_for("editor").post(
        reverse("conversation_replay", args=[team.slug, conversation.pk])
    )

    assert response.status_code == 400
    assert not ReplayJob.objects.exists()


def test_asking_again_while_a_replay_runs_shows_that_replay(team, tool, people):
    [conversation] = import_transcript(team, json_lines())
    running = new_replay_job(team, conversation=conversation)
    ReplayJob.objects.filter(pk=running.pk).update(status=ReplayJobStatus.RUNNING)

    response = people.client_for("editor").post(
        reverse("conversation_replay", args=[team.slug, conversation.pk])
    )

    assert response["Location"] == reverse("replay_job", args=[team.slug, running.pk])
    assert list(ReplayJob.objects.values_list("pk", "status")) == [
        (running.pk, ReplayJobStatus.RUNNING)
    ]
