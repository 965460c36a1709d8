"""A submitted daily report refuses UPDATE and DELETE in the database too (madoguchi.appendonly):
its snapshot and hash were rewritable together by a queryset or raw SQL."""

from django.db import migrations

from madoguchi import appendonly


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_field_verbose_names")]

    operations = [appendonly.migration("reports_dailyreport", "a submitted daily report is frozen")]
