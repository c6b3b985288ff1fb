"""URLs of the campaign side, mounted under /campagne/."""

from django.urls import path

from liaison.campaign import views

app_name = "campaign"
urlpatterns = [
    path("", views.home, name="home"),
    path("import/", views.import_upload, name="import"),
    path("import/opendata/", views.import_opendata, name="import_opendata"),
    path("import/attributs/", views.import_attributes, name="import_attributes"),
    path("chiffres/", views.figures, name="figures"),
    path("ciblage/", views.targeting, name="targeting"),
    path("campagnes/<int:campaign_id>/", views.campaign_detail, name="campaign"),
    path("campagnes/<int:campaign_id>/evaluation/", views.evaluation, name="evaluation"),
    path("campagnes/<int:campaign_id>/cibles/<int:target_id>/plan/", views.plan, name="plan"),
    path("pieces-jointes/<int:attachment_id>/", views.attachment, name="attachment"),
    path("etablissements/", views.establishments, name="establishments"),
    path("etablissements/<str:finess>/", views.establishment, name="establishment"),
    path("etablissements/<str:finess>/profil.pdf", views.establishment_pdf, name="establishment_pdf"),
]
