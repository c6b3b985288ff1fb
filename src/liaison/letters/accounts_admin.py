"""Account admin (users, groups, profiles): who grants what, as `letters.permissions` says.

A superuser grants everything. The establishment administrator creates and changes only the
accounts that open no patient and no admin; every grant is checked again on the server when the
form is validated and when it is saved, so a forged POST is refused, not merely hidden.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest

from liaison.letters.models import UserProfile
from liaison.letters.permissions import (
    PermissionDeniedFr,
    Role,
    accounts_changeable_by,
    can_change_account,
    can_grant_admin_rights,
    can_grant_units,
    check_account_grant,
    grantable_roles,
    has_patient_access,
    is_superuser,
    manages_accounts,
)

UNITS_REFUSED = "Seul un superutilisateur peut attribuer des services (ils ouvrent l'accès aux patients)."
PASSWORD_DISABLED = (
    "Ce compte ouvre désormais l'accès à des patients : son mot de passe a été désactivé "
    "(quiconque le connaissait ne peut plus s'en servir). Fixez-en un nouveau avec "
    "« Modifier le mot de passe »."
)


ADMIN_RIGHTS_FIELDS = ("is_superuser", "is_staff", "user_permissions")


def _refuse_forged(actor: Any, data: Any, fields: tuple[str, ...], message: str) -> None:
    """A field the actor's form does not show but the POST carries is refused, not ignored."""
    if not can_grant_admin_rights(actor) and any(f in data for f in fields):
        raise ValidationError(message)


def _roles_of_groups(groups: Any) -> set[Role]:
    names = {g.name for g in groups or ()}
    return {r for r in Role if r.value in names}


def _disable_password_if_access_granted(request: HttpRequest, user: User, had_access: bool) -> None:
    """Granting patient access to an account that had none disables the password set before."""
    user = User.objects.get(pk=user.pk)
    if not had_access and has_patient_access(user) and user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
        messages.warning(request, PASSWORD_DISABLED)


def _had_access(pk: int | None) -> bool:
    return pk is not None and has_patient_access(User.objects.get(pk=pk))


class AccountAdminMixin:
    """has_*_permission per account, for the user admin and the profile admin."""

    def _account(self, obj: Any) -> User | None:
        raise NotImplementedError

    def has_module_permission(self, request: HttpRequest) -> bool:
        return manages_accounts(request.user) and super().has_module_permission(request)  # type: ignore[misc]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return manages_accounts(request.user) and super().has_view_permission(request, obj)  # type: ignore[misc]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return can_change_account(request.user, None) and super().has_add_permission(request)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not can_change_account(request.user, self._account(obj)):
            return False
        return manages_accounts(request.user) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not can_change_account(request.user, self._account(obj)):
            return False
        return manages_accounts(request.user) and super().has_delete_permission(request, obj)  # type: ignore[misc]


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class LiaisonUserAdmin(AccountAdminMixin, UserAdmin):
    administrator_fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Informations personnelles", {"fields": ("first_name", "last_name", "email")}),
        ("Rôle", {"fields": ("is_active", "groups")}),
        ("Dates importantes", {"fields": ("last_login", "date_joined")}),
    )

    def _account(self, obj: User) -> User:
        return obj

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None):  # type: ignore[no-untyped-def]
        return () if can_grant_admin_rights(request.user) else ("last_login", "date_joined")

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None):  # type: ignore[no-untyped-def]
        if obj is not None and not can_grant_admin_rights(request.user):
            return self.administrator_fieldsets
        return super().get_fieldsets(request, obj)

    def get_form(self, request: HttpRequest, obj: User | None = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        form = super().get_form(request, obj, **kwargs)
        actor = request.user

        class CheckedForm(form):  # type: ignore[valid-type,misc]
            def clean(self) -> dict[str, Any]:
                data = super().clean()
                _refuse_forged(
                    actor,
                    self.data,
                    ADMIN_RIGHTS_FIELDS + (("groups",) if obj is None else ()),
                    "Seul un superutilisateur peut donner le statut équipe, le statut superutilisateur, "
                    "des permissions ou un rôle à la création du compte.",
                )
                groups = data.get("groups")
                try:
                    check_account_grant(
                        actor,
                        obj,
                        roles=_roles_of_groups(groups),
                        is_staff=bool(data.get("is_staff")) and not (obj and obj.is_staff),
                        is_superuser=bool(data.get("is_superuser")) and not (obj and obj.is_superuser),
                        permissions=bool(data.get("user_permissions")),
                    )
                except PermissionDeniedFr as refusal:
                    raise ValidationError(str(refusal)) from refusal
                granting = groups is not None and not can_grant_admin_rights(actor)
                if granting and any(g.permissions.exists() for g in groups):
                    raise ValidationError("Seul un superutilisateur peut donner un groupe de permissions.")
                return data

        return CheckedForm

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs: Any):  # type: ignore[no-untyped-def]
        if db_field.name == "groups" and not can_grant_admin_rights(request.user):
            kwargs["queryset"] = Group.objects.filter(
                name__in=[r.value for r in grantable_roles(request.user)], permissions__isnull=True
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: User, form: forms.Form, change: bool) -> None:
        before = User.objects.get(pk=obj.pk) if obj.pk else None
        if not can_change_account(request.user, before):
            raise PermissionDenied
        if not can_grant_admin_rights(request.user) and (obj.is_superuser or obj.is_staff):
            raise PermissionDenied
        request._liaison_had_access = _had_access(obj.pk)  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: forms.Form, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        account = form.instance
        if not can_grant_admin_rights(request.user):
            try:
                check_account_grant(request.user, None, roles=_roles_of_groups(account.groups.all()))
            except PermissionDeniedFr as refusal:
                raise PermissionDenied(str(refusal)) from refusal
            if account.user_permissions.exists() or account.is_staff or account.is_superuser:
                raise PermissionDenied
        _disable_password_if_access_granted(request, account, getattr(request, "_liaison_had_access", False))


@admin.register(Group)
class LiaisonGroupAdmin(GroupAdmin):
    """Groups are roles and carry permissions: a superuser's business only."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return is_superuser(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return is_superuser(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return is_superuser(request.user)


class UserProfileForm(forms.ModelForm):
    class Meta:
        model = UserProfile
        fields = "__all__"


@admin.register(UserProfile)
class UserProfileAdmin(AccountAdminMixin, admin.ModelAdmin):
    list_display = ("user", "establishment")
    filter_horizontal = ("units",)

    def _account(self, obj: UserProfile) -> User:
        return obj.user

    def get_readonly_fields(self, request: HttpRequest, obj: UserProfile | None = None):  # type: ignore[no-untyped-def]
        return () if can_grant_units(request.user) else ("units",)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs: Any):  # type: ignore[no-untyped-def]
        if db_field.name == "user":
            kwargs["queryset"] = accounts_changeable_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request: HttpRequest, obj: UserProfile | None = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        form = super().get_form(request, obj, **kwargs)
        actor = request.user

        class CheckedForm(form):  # type: ignore[valid-type,misc]
            def clean(self) -> dict[str, Any]:
                data = super().clean()
                _refuse_forged(actor, self.data, ("units",), UNITS_REFUSED)
                account = data.get("user")
                units = data.get("units")
                try:
                    if account is not None:
                        check_account_grant(actor, account, units=bool(units))
                    if obj is not None and obj.user_id != getattr(account, "pk", obj.user_id):
                        check_account_grant(actor, obj.user)
                except PermissionDeniedFr as refusal:
                    raise ValidationError(str(refusal)) from refusal
                return data

        return CheckedForm

    def save_model(self, request: HttpRequest, obj: UserProfile, form: forms.Form, change: bool) -> None:
        if not can_change_account(request.user, obj.user):
            raise PermissionDenied
        request._liaison_had_access = _had_access(obj.user_id)  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: forms.Form, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if not can_grant_units(request.user) and form.instance.units.exists():
            raise PermissionDenied
        _disable_password_if_access_granted(
            request, form.instance.user, getattr(request, "_liaison_had_access", False)
        )
