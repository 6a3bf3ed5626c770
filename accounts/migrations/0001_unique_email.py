"""Email addresses unique per account, ignoring case: a unique index on lower(email) for non-empty ones.

The index lives on Django's own auth_user table (PostgreSQL and SQLite both support partial expression
indexes). Existing duplicates stop the migration with the accounts to fix, rather than a bare error.
"""

from django.db import migrations
from django.db.models import Count
from django.db.models.functions import Lower

INDEX = "accounts_user_email_lower_unique"


def refuse_duplicates(apps, schema_editor):
    User = apps.get_model("auth", "User")
    duplicates = (
        User.objects.exclude(email="")
        .annotate(address=Lower("email"))
        .values("address")
        .annotate(accounts=Count("id"))
        .filter(accounts__gt=1)
    )
    if duplicates:
        listed = "; ".join(
            f"{row['address']}: users {', '.join(str(pk) for pk in User.objects.filter(email__iexact=row['address']).values_list('pk', flat=True))}"
            for row in duplicates
        )
        raise RuntimeError(
            "Several accounts share an email address (ignoring case). Give each a different address or none "
            f"(admin: Users), then migrate again. {listed}"
        )


class Migration(migrations.Migration):
    dependencies = [("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        migrations.RunPython(refuse_duplicates, migrations.RunPython.noop),
        migrations.RunSQL(
            f"CREATE UNIQUE INDEX {INDEX} ON auth_user (LOWER(email)) WHERE email <> ''",
            f"DROP INDEX {INDEX}",
        ),
    ]
