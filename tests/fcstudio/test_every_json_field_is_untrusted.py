"""Every JSONField of the studio's models stores and loads through the untrusted codec, so a
value a model or a tool sent (lone surrogate, NUL, non-finite number) fits every database and
a row written before the codec renders."""

from __future__ import annotations

from django.apps import apps
from django.db import models

from tools_app.engine.untrusted import UntrustedJSONDecoder, UntrustedJSONEncoder

OURS = ("fcstudio", "tools_app", "conversations")


def test_every_json_field_uses_the_untrusted_codec():
    fields = [
        field
        for label in OURS
        for model in apps.get_app_config(label).get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.JSONField)
    ]
    assert len(fields) >= 10
    wrong = [
        f"{field.model.__name__}.{field.name}"
        for field in fields
        if (field.encoder, field.decoder) != (UntrustedJSONEncoder, UntrustedJSONDecoder)
    ]
    assert wrong == []
