from django.db import models


class Room(models.Model):
    name = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=200)


class Message(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
