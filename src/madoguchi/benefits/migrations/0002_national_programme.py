"""Seed the national point programme (second phase) as version 1.

The application window is wide so that a demo or pilot works out of the box; an operator sets
the real window in the admin, which creates version 2 (links keep the version they were made
under)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import migrations

JST = ZoneInfo("Asia/Tokyo")

CATEGORIES = [
    {
        "code": "card_acquisition",
        "label_ja": "マイナンバーカードの新規取得等（チャージまたはお買い物の25%）",
        "kind": "rate",
        "rate_percent": 25,
        "cap": 5000,
        "trigger": "provider_report",
    },
    {
        "code": "health_insurance",
        "label_ja": "健康保険証としての利用登録",
        "kind": "fixed",
        "points": 7500,
        "trigger": "health_insurance",
    },
    {
        "code": "public_fund",
        "label_ja": "公金受取口座の登録",
        "kind": "fixed",
        "points": 7500,
        "trigger": "public_fund",
    },
]


def seed(apps, schema_editor):
    Programme = apps.get_model("benefits", "Programme")
    ProgrammeVersion = apps.get_model("benefits", "ProgrammeVersion")
    programme, _ = Programme.objects.get_or_create(code="mynapoint-2", defaults={"scope": "national"})
    if not ProgrammeVersion.objects.filter(programme=programme).exists():
        ProgrammeVersion.objects.create(
            programme=programme,
            number=1,
            name_ja="マイナポイント第2弾",
            name_en="MyNaPoint, second phase",
            opens_at=datetime(2022, 1, 1, tzinfo=JST),
            closes_at=datetime(2030, 3, 31, 23, 59, 59, tzinfo=JST),
            categories=CATEGORIES,
            note="Seeded by migration.",
        )


def unseed(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("benefits", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
