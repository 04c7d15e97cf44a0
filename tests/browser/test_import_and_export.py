"""Bring a real catalog in, see what the importer changed, and take it out again."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tools_app import catalog as catalog_ops
from tools_app.models import Tool


def test_import_the_bfcl_parallel_file_and_export_it(log_in, people, catalog, bfcl_dir):
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/")
    page.get_by_role("link", name="Import").click()
    page.get_by_label("…or upload a file").set_input_files(bfcl_dir / "BFCL_v4_parallel.json")
    page.get_by_role("button", name="Import").click()

    report = page.locator("#import-report")
    expect(report.get_by_role("heading")).to_contain_text("Imported 198 tools")
    expect(report).to_contain_text("0 rejected")
    expect(report.locator("#import-outcomes")).to_have_text("198 created · 0 updated · 0 unchanged")
    renamed = report.locator("tr", has_text="spotify_play")
    expect(renamed).to_contain_text("from spotify.play")
    expect(renamed).to_contain_text("renamed from 'spotify.play'")

    page.get_by_role("link", name="Back to the catalog").click()
    expect(page.locator("#tool-count")).to_have_text("198 tools")
    expect(page.locator("#tools tbody tr")).to_have_count(50)  # a page at a time
    with page.expect_download() as download:
        page.get_by_role("link", name="Export tools JSON").click()
    exported = json.loads(download.value.path().read_text())
    assert len(exported) == 198
    assert {entry["type"] for entry in exported} == {"function"}
    assert Tool.objects.filter(catalog=catalog).count() == 198


def test_pasting_broken_json_shows_where_it_broke(log_in, people, catalog):
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/import/")
    page.get_by_label("Paste").fill('[{"name": "a", "parameters": {]')
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-errors")).to_contain_text("line 1")
    assert not Tool.objects.exists()


def test_filter_a_large_catalog_while_typing(log_in, people, catalog, bfcl_dir):
    text = (bfcl_dir / "BFCL_v4_parallel.json").read_text()
    catalog_ops.import_text(catalog, text)
    page = log_in(people.viewer)
    page.goto("/t/acme/c/travel/")
    expect(page.locator("#tools tbody tr")).to_have_count(50)
    expect(page.locator("#page-number")).to_have_text("Page 1 of 4")
    page.get_by_label("Filter tools").fill("spotify")
    expect(page.locator("#tools tbody tr")).to_have_count(1)
    expect(page.locator("#tool-count")).to_have_text("1 of 198 tools")
    expect(page).to_have_url(re.compile(r"/t/acme/c/travel/\?q=spotify$"))
    page.get_by_label("Filter tools").fill("zzzz-nothing")
    expect(page.get_by_text("No tool matches “zzzz-nothing”.")).to_be_visible()


def test_a_dotted_name_does_not_overwrite_the_bfcl_tool_it_cleans_up_to(
    log_in, people, catalog, bfcl_dir
):
    catalog_ops.import_text(catalog, (bfcl_dir / "BFCL_v4_simple_python.json").read_text())
    bfcl_tool = Tool.objects.get(catalog=catalog, name="get_stock_price")
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/import/")
    dotted = {"name": "get.stock price", "description": "A quote, elsewhere.", "parameters": {}}
    page.get_by_label("Paste").fill(json.dumps([dotted]))
    page.get_by_role("button", name="Import").click()

    row = page.locator("#import-report tr", has_text="get.stock price")
    expect(row.get_by_role("link")).to_have_text("get_stock_price_4")
    expect(row).to_contain_text("created")
    expect(row).to_contain_text(
        "`get_stock_price` is another tool in the catalog; named `get_stock_price_4` instead"
    )
    page.goto("/t/acme/c/travel/tools/get_stock_price/")
    expect(page.get_by_label("Description")).to_have_value(bfcl_tool.description)


def test_uploading_the_bfcl_answers_says_they_are_not_tools(log_in, people, catalog, bfcl_dir):
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/import/")
    answers = bfcl_dir / "BFCL_v4_parallel.answers.json"
    page.get_by_label("…or upload a file").set_input_files(answers)
    page.get_by_role("button", name="Import").click()

    errors = page.locator("#import-errors li")
    expect(errors).to_have_count(1)
    expect(errors).to_contain_text("this looks like BFCL possible answers")
    expect(page.locator("#import-report")).to_have_count(0)
    assert not Tool.objects.exists()


def test_a_name_with_accents_keeps_its_letters(log_in, people, catalog):
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/import/")
    page.get_by_label("Paste").fill(json.dumps([{"name": "émoji_✨_tool", "parameters": {}}]))
    page.get_by_role("button", name="Import").click()

    row = page.locator("#import-report tr", has_text="émoji_✨_tool")
    expect(row.get_by_role("link")).to_have_text("emoji_tool")
    expect(row).to_contain_text("renamed from 'émoji_✨_tool'")
    assert Tool.objects.get(catalog=catalog).name == "emoji_tool"
