"""Admin of the ADT messages received: read only, for the establishment administrator."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from liaison.ingest.masking import mask_identities
from liaison.ingest.models import InboundMessage
from liaison.letters.audit import record_object


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = (
        "received_at",
        "type_display",
        "control_id",
        "patient_ipp",
        "visit_number",
        "outcome",
        "ack_code",
        "short_reason",
    )
    list_filter = ("outcome", "event", "source")
    search_fields = ("=patient_ipp", "control_id", "visit_number")
    search_help_text = "IPP (exact), identifiant du message (MSH-10) ou numéro de séjour."
    date_hierarchy = "received_at"
    ordering = ("-received_at", "-id")
    list_per_page = 50
    show_full_result_count = False
    fields = (
        "received_at",
        "source",
        "peer",
        "sending_application",
        "sending_facility",
        "control_id",
        "message_type",
        "event",
        "patient_ipp",
        "visit_number",
        "outcome",
        "ack_code",
        "reason",
        "applied_at",
        "raw_display",
    )
    readonly_fields = fields

    @admin.display(description="type", ordering="event")
    def type_display(self, obj: InboundMessage) -> str:
        return f"{obj.message_type}^{obj.event}" if obj.event else obj.message_type

    @admin.display(description="motif")
    def short_reason(self, obj: InboundMessage) -> str:
        return obj.reason if len(obj.reason) <= 120 else obj.reason[:119] + "…"

    @admin.display(description="message brut (identités et contenu clinique masqués)")
    def raw_display(self, obj: InboundMessage) -> str:
        # One segment per line; format_html escapes the content. The administrator sees no patient.
        return format_html(
            '<pre style="white-space: pre-wrap; font-size: 0.9em">{}</pre>', mask_identities(obj.raw)
        )

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):  # type: ignore[no-untyped-def]
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200:  # the raw message was shown (masked): trace it anyway
            record_object(request.user, "read", "inboundmessage", object_id, "message ADT brut (masqué)")
        return response

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: InboundMessage | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: InboundMessage | None = None) -> bool:
        return False
