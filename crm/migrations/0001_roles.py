"""Create the role groups (admin, manager, sales) and give them model permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    # codename prefixes per app label; admins may do everything in the admin.
    "admin": {"geo": ("add", "change", "delete", "view"), "customers": ("add", "change", "delete", "view"),
              "addresses": ("add", "change", "delete", "view"), "auth": ("add", "change", "delete", "view")},
    "manager": {"geo": ("view",), "customers": ("add", "change", "delete", "view"),
                "addresses": ("add", "change", "delete", "view")},
    "sales": {"geo": ("view",), "customers": ("add", "change", "view"), "addresses": ("add", "change", "view")},
}


def create_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, grants in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = []
        for app_label, actions in grants.items():
            for perm in Permission.objects.filter(content_type__app_label=app_label):
                if perm.codename.split("_", 1)[0] in actions:
                    perms.append(perm)
        group.permissions.add(*perms)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("geo", "0001_initial"),
        ("customers", "0001_squashed_0007"),
        ("addresses", "0001_squashed_0021"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
