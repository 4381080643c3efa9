from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tasks_google", "0001_schema"),
    ]

    operations = [
        migrations.AddField(
            model_name="taskexecution",
            name="trace_parent",
            field=models.CharField(
                blank=True,
                default="",
                help_text="W3C traceparent of the enqueue's span, which the attempts continue; "
                "empty when the enqueue was not traced.",
                max_length=55,
            ),
        ),
        migrations.AddField(
            model_name="taskexecution",
            name="trace_state",
            field=models.CharField(
                blank=True,
                default="",
                help_text="W3C tracestate that travels with trace_parent.",
                max_length=512,
            ),
        ),
    ]
