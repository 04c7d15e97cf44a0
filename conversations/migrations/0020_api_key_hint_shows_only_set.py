"""Stored key hints showed a key's last four characters ("••••1234"): now only that one is set."""

from django.db import migrations

SET = "•••• (set)"  # fcstudio.secrets.SET when this was written


def only_set(apps, schema_editor):
    Provider = apps.get_model("conversations", "Provider")
    Provider.objects.exclude(api_key_hint="").exclude(api_key_hint=SET).update(api_key_hint=SET)


class Migration(migrations.Migration):
    dependencies = [("conversations", "0019_replayjob_resends")]

    operations = [migrations.RunPython(only_set, migrations.RunPython.noop, elidable=True)]
