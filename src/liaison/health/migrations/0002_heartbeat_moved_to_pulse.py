"""The Heartbeat model now belongs to `pulse` (`pulse.0001_initial`): removed from health's state
only, its table `health_heartbeat` and its rows are kept (pulse's model names it)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("health", "0001_initial"),
        ("pulse", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Heartbeat")],
            database_operations=[],
        ),
    ]
