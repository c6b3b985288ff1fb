"""URLs of the establishment indicators, mounted under /indicateurs/ (namespace `indicators`)."""

from django.urls import path, re_path

from liaison.indicators import views

app_name = "indicators"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    re_path(r"^preuves/(?P<indicator_id>[A-Z0-9-]+)\.(?P<fmt>csv|xlsx)$", views.proof, name="proof"),
    path("rapport.pdf", views.report_pdf, name="report"),
    path("qls/", views.audits, name="audits"),
    path("qls/<int:audit_id>/", views.audit, name="audit"),
    re_path(r"^qls/(?P<audit_id>[0-9]+)/grille\.(?P<fmt>csv|xlsx)$", views.audit_grid, name="audit_grid"),
    path("ifaq/", views.ifaq_page, name="ifaq"),
    path("numeriques/", views.digital_page, name="digital"),
    re_path(r"^numeriques/(?P<indicator_id>[A-Z0-9.-]+)\.csv$", views.digital_csv, name="digital_csv"),
]
