"""`manage.py bench_proxy` runs end to end (a few requests): it measures every path side by side,
judges the target on the proxy's own server and says how many exchanges each path recorded."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from fcstudio.models import Team

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_bench_measures_each_path_and_counts_what_was_recorded():
    out = io.StringIO()
    call_command("bench_proxy", requests=4, warmup=1, stdout=out)
    report = out.getvalue()
    for path in ("direct", "proxy server", "studio /v1/", "floor uvicorn", "floor daphne"):
        for mode in ("plain", "streamed"):
            assert re.search(rf"^{mode} +{re.escape(path)} +whole exchange", report, re.M), path
    assert re.search(r"Target: at most 1 ms added at p50 \(plain, through serve_proxy\)", report)
    assert "Recorded: 10 of 10 exchanges through the proxy's server" in report
    assert "10 of 10 through the studio's /v1/" in report  # Daphne stopped after recording
    assert not Team.objects.exists()  # its throwaway team is gone
