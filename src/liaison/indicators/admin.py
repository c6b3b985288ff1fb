"""Admin of the QLS campaigns: the establishment administrator declares the sector and period.

The quality role draws the campaign's HAS sample on the indicator pages, once; a campaign whose
sample is drawn can no longer be changed or deleted (its period is the audit's)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from liaison.indicators.models import QlsCampaign
from liaison.letters.models import Establishment
from liaison.letters.permissions import is_superuser


@admin.register(QlsCampaign)
class QlsCampaignAdmin(admin.ModelAdmin):
    list_display = ("__str__", "sector", "period_from", "period_to", "declared_by", "declared_at", "drawn")
    list_filter = ("sector",)
    fields = ("establishment", "label", "sector", "period_from", "period_to", "declared_by", "declared_at")
    readonly_fields = ("declared_by", "declared_at")

    @admin.display(description="échantillon tiré", boolean=True)
    def drawn(self, obj: QlsCampaign) -> bool:
        return hasattr(obj, "audit")

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs: Any):  # type: ignore[no-untyped-def]
        if db_field.name == "establishment" and not is_superuser(request.user):
            profile = getattr(request.user, "profile", None)
            kwargs["queryset"] = Establishment.objects.filter(pk=getattr(profile, "establishment_id", None))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: QlsCampaign, form: Any, change: bool) -> None:
        if not change:
            obj.declared_by = request.user
        super().save_model(request, obj, form, change)

    def has_change_permission(self, request: HttpRequest, obj: QlsCampaign | None = None) -> bool:
        if obj is not None and hasattr(obj, "audit"):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: QlsCampaign | None = None) -> bool:
        if obj is not None and hasattr(obj, "audit"):
            return False
        return super().has_delete_permission(request, obj)
