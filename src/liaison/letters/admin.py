"""Django admin for reference data (establishment administrators) and read-only audit rows."""

from __future__ import annotations

from django.contrib import admin

# Users, groups and profiles: who grants what (registered on import).
from liaison.letters import accounts_admin  # noqa: F401
from liaison.letters.models import (
    AuditEvent,
    Correspondent,
    Establishment,
    Practitioner,
    Unit,
)
from liaison.letters.permissions import is_superuser


@admin.register(Establishment)
class EstablishmentAdmin(admin.ModelAdmin):
    list_display = ("name", "finess_eg", "finess_ej", "sector")


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "sector", "establishment", "is_obstetric", "usual_exit_mode")
    list_filter = ("sector",)


@admin.register(Practitioner)
class PractitionerAdmin(admin.ModelAdmin):
    list_display = ("family_name", "given_name", "profession", "rpps", "specialty", "mssante")
    search_fields = ("family_name", "rpps")

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        # The account a practitioner signs with is linked by a superuser (it is an identity).
        return () if is_superuser(request.user) else ("user",)


@admin.register(Correspondent)
class CorrespondentAdmin(admin.ModelAdmin):
    list_display = ("__str__", "kind", "rpps", "finess", "mssante")
    search_fields = ("family_name", "organisation", "rpps")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "role", "action", "object_type", "object_id", "why")
    list_filter = ("action", "object_type")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
