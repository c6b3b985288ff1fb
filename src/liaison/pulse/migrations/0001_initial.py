"""The Heartbeat model moves here from `health` (issue 17: the background processes beat on a
floor below them). State only: the table `health_heartbeat` made by `health.0001_initial` stays
as it is, with its rows; `health.0002` removes the model from health's state after this one.
The content type (and so its permissions) is renamed with it on a database that has one."""

from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="health", model="heartbeat").update(app_label="pulse")


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="pulse", model="heartbeat").update(app_label="health")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("health", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Heartbeat",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("process", models.CharField(choices=[("worker", "Envoi des lettres (liaison worker)"), ("listener", "Écoute HL7 MLLP (liaison mllp)"), ("acks", "Lecture des accusés MSSanté (liaison read-acks)")], max_length=10)),
                        ("instance", models.CharField(max_length=100)),
                        ("started_at", models.DateTimeField()),
                        ("beat_at", models.DateTimeField(db_index=True)),
                    ],
                    options={
                        "verbose_name": "signe de vie",
                        "db_table": "health_heartbeat",
                        "constraints": [models.UniqueConstraint(fields=("process", "instance"), name="heartbeat_unique")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
