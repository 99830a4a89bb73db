"""Number each room's messages 1, 2, 3… (``seq``), existing ones in id order."""

from django.db import migrations, models


def number_existing(apps, schema_editor):
    Room = apps.get_model("rooms", "Room")
    Message = apps.get_model("rooms", "Message")
    for room in Room.objects.only("pk").iterator():
        seq = 0
        for message in Message.objects.filter(room=room).only("pk").order_by("id").iterator():
            seq += 1
            Message.objects.filter(pk=message.pk).update(seq=seq)
        Room.objects.filter(pk=room.pk).update(last_seq=seq)


class Migration(migrations.Migration):
    dependencies = [("rooms", "0002_presence_moves_to_its_app")]

    operations = [
        migrations.AddField(
            model_name="room",
            name="last_seq",
            field=models.PositiveBigIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="message",
            name="seq",
            field=models.PositiveBigIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(number_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="message",
            name="seq",
            field=models.PositiveBigIntegerField(editable=False),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(
                fields=("room", "seq"), name="message_unique_room_seq"
            ),
        ),
    ]
