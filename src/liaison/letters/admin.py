"""Django admin for reference data (establishment administrators) and read-only audit rows."""

from django.contrib import admin

from liaison.letters.models import (
    AuditEvent,
    Correspondent,
    Establishment,
    Practitioner,
    Unit,
    UserProfile,
)


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


@admin.register(Correspondent)
class CorrespondentAdmin(admin.ModelAdmin):
    list_display = ("__str__", "kind", "rpps", "finess", "mssante")
    search_fields = ("family_name", "organisation", "rpps")


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "establishment")
    filter_horizontal = ("units",)


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
