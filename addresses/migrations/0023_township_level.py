"""Township precision, between street and district (the parser finds 乡镇 / 街道)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('addresses', '0022_move_map_and_import_models'),
        ('geo', '0002_township_level'),
    ]

    operations = [
        migrations.AlterField(
            model_name='address',
            name='precision',
            field=models.CharField(choices=[('rooftop', 'Rooftop'), ('street', 'Street'), ('township', 'Township'), ('district', 'District'), ('city', 'City'), ('province', 'Province'), ('country', 'Country'), ('none', 'Not located')], default='none', max_length=10, verbose_name='geocode precision'),
        ),
    ]
