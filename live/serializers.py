from rest_framework import serializers


class StreamTicketSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="Opens one socket: `GET /api/v1/stream?ticket=...`.")
    expires_in = serializers.IntegerField(help_text="Seconds the ticket stays valid (30).")
