"""load_demo's last line says where the studio answers: FCSTUDIO_PUBLIC_URL when it is set (the
demo provider already points there), not always port 8000."""

from __future__ import annotations

import io

from django.core.management import call_command


def test_the_ready_line_names_the_public_url(db, settings) -> None:
    settings.FCSTUDIO_PUBLIC_URL = "http://127.0.0.1:8765"
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "Demo workspace ready: http://127.0.0.1:8765/  user: demo" in out.getvalue()


def test_without_a_public_url_it_names_the_make_run_address(db, settings) -> None:
    settings.FCSTUDIO_PUBLIC_URL = ""
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "Demo workspace ready: http://127.0.0.1:8000/  user: demo" in out.getvalue()
