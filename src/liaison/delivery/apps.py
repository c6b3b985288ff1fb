"""Delivery: the outbox of deliveries (DMP, MSSanté) and the worker that sends them."""

from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "liaison.delivery"
    label = "delivery"
    verbose_name = "Envois (DMP, MSSanté)"
    default_auto_field = "django.db.models.BigAutoField"
