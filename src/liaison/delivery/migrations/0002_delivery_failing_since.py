"""`failing_since`: when the retry window of a failing delivery began (72 h before giving up)."""

from django.db import migrations, models
from django.db.models import F


def backfill(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    # Deliveries already failing or given up: their window began at the latest with their creation.
    Delivery = apps.get_model("delivery", "Delivery")
    Delivery.objects.filter(state__in=["failed", "given_up"]).update(failing_since=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="failing_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
