"""Many recordings replayed as one background job: a summary per conversation, and only the
chosen token's recordings."""

from __future__ import annotations

from django.urls import reverse

from conversations.models import Batch, BatchSource, Conversation, ReplayJob
from conversations.replay import new_replay_job, run_replay_job
from conversations.tokens import create_token
from conversations.transcript_import import import_transcript
from tools_app import catalog as catalog_ops

from .transcript_samples import json_lines


def answer_with(tool, response, people):
    tool.implementation_config = {"response": response}
    catalog_ops.save_tool(tool, author=people.editor, message="New mock response")


def test_a_job_replays_each_recording_and_sums_it_up(team, tool, people):
    answer_with(tool, {"temp": 21}, people)
    first, second = import_transcript(team, json_lines() + json_lines())
    answer_with(tool, {"temp": 19}, people)
    job = new_replay_job(team, user=people.editor)
    assert (job.status, job.total) == ("queued", 2)

    assert run_replay_job(job.pk) == "finished"
    assert run_replay_job(job.pk) == "skipped"  # a second delivery does nothing

    job.refresh_from_db()
    assert job.status == "finished"
    assert [(r["conversation"], r["same"], r["changed"]) for r in job.results] == [
        (first.pk, 0, 2),
        (second.pk, 0, 2),
    ]
    assert Batch.objects.filter(source=BatchSource.REPLAY).count() == 2


def test_a_token_job_replays_only_that_tokens_recordings(team, tool, provider, people):
    token, _ = create_token(team, provider, name="agent", user=people.admin)
    mine, _other = import_transcript(team, json_lines() + json_lines())
    Conversation.objects.filter(pk=mine.pk).update(api_token=token)
    job = new_replay_job(team, api_token=token)
    run_replay_job(job.pk)
    job.refresh_from_db()
    assert [r["conversation"] for r in job.results] == [mine.pk]


def test_starting_a_job_from_the_page(team, tool, people):
    import_transcript(team, json_lines())
    editor = people.client_for("editor")
    url = reverse("replay_jobs", args=[team.slug])

    response = editor.post(url, {"api_token": ""}, follow=True)

    page = response.content.decode()
    assert "Finished" in page and "1 of 1 conversation" in page
    assert "Weather in Paris and Oslo?" in page
    assert people.client_for("viewer").post(url).status_code == 403
    assert people.client_for("outsider").post(url).status_code == 404
    job = ReplayJob.objects.get()
    assert (
        people.client_for("outsider")
        .get(reverse("replay_job", args=[team.slug, job.pk]))
        .status_code
        == 404
    )
    assert 'id="replay-job-form"' not in people.client_for("viewer").get(url).content.decode()


def test_the_job_page_counts_progress_and_sums_up_what_changed(team, tool, people):
    answer_with(tool, {"temp": 21}, people)
    import_transcript(team, json_lines() + json_lines())
    answer_with(tool, {"temp": 19}, people)
    job = new_replay_job(team)
    url = reverse("replay_job", args=[team.slug, job.pk])
    viewer = people.client_for("viewer")
    assert "0 of 2 conversations" in viewer.get(url).content.decode()

    run_replay_job(job.pk)

    page = viewer.get(url).content.decode()
    assert "2 of 2 conversations" in page and "4 calls changed so far" in page
    assert 'id="job-summary"' in page
    assert "0 same" in page and "4 changed" in page and "0 newly failing" in page
