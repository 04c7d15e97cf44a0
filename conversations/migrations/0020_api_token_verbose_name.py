"""Audit rows and admin pages call an ApiToken an "API token"."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0019_replayjob_resends"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="apitoken",
            options={"ordering": ["-created_at", "-pk"], "verbose_name": "API token"},
        ),
    ]
