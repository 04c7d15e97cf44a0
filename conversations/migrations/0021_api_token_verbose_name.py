"""Audit rows and admin pages call an ApiToken an "API token"."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0020_api_key_hint_shows_only_set"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="apitoken",
            options={"ordering": ["-created_at", "-pk"], "verbose_name": "API token"},
        ),
    ]
