"""A case timeline entry refuses UPDATE and DELETE in the database too (madoguchi.appendonly):
an entry was rewritable by a queryset or raw SQL."""

from django.db import migrations

from madoguchi import appendonly


class Migration(migrations.Migration):
    dependencies = [("cases", "0012_timeline_entry_labels")]

    operations = [appendonly.migration("cases_timelineentry", "a case timeline entry is never changed")]
