"""URL map of the web app."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from liaison.api.urls import api
from liaison.health import views as health
from liaison.web import access_log, authentication, drafting, failures, mailboxes, psc, review, views

urlpatterns = [
    path("", views.stays, name="stays"),
    path("sejours/", views.all_stays, name="all_stays"),
    path("connexion/", authentication.Login.as_view(), name="login"),
    path("connexion/psc/", psc.psc_login, name="psc_login"),
    path("connexion/psc/retour/", psc.psc_callback, name="psc_callback"),
    path("reauthentification/", authentication.reauthenticate, name="reauthenticate"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("sejours/<int:stay_id>/lettre/", views.open_stay_letter, name="open_letter"),
    path("sejours/<int:stay_id>/check-list/", views.checklist_save, name="checklist_save"),
    path("lettres/<int:letter_id>/", views.letter_detail, name="letter"),
    path("lettres/<int:letter_id>/controle/", views.letter_check, name="letter_check"),
    path("lettres/<int:letter_id>/brouillon/", views.letter_save, name="letter_save"),
    path("lettres/<int:letter_id>/dossier/", drafting.letter_record, name="letter_record"),
    path("lettres/<int:letter_id>/dossier/section/", drafting.letter_record_take, name="letter_record_take"),
    path("lettres/<int:letter_id>/apercu.pdf", views.letter_preview_pdf, name="letter_preview_pdf"),
    path("lettres/<int:letter_id>/cda.xml", views.letter_cda, name="letter_cda"),
    path("lettres/<int:letter_id>/lettre.pdf", views.letter_pdf, name="letter_pdf"),
    path("lettres/<int:letter_id>/signer/", views.letter_sign, name="letter_sign"),
    path("lettres/<int:letter_id>/remise/", views.letter_hand_over, name="letter_hand_over"),
    path("lettres/<int:letter_id>/correction/", views.letter_correct, name="letter_correct"),
    path("lettres/<int:letter_id>/soumettre/", review.letter_submit, name="letter_submit"),
    path("lettres/<int:letter_id>/renvoyer/", review.letter_return, name="letter_return"),
    path("medicaments/", views.medicines, name="medicines"),
    path("correspondants/", views.correspondents, name="correspondents"),
    path("messagerie/", mailboxes.mailboxes, name="mailboxes"),
    path("messagerie/<str:address>/", mailboxes.mailbox, name="mailbox"),
    path(
        "messagerie/<str:address>/<str:key>/<int:index>/", mailboxes.mail_attachment, name="mail_attachment"
    ),
    path("acces-dossier/", access_log.access_log, name="access_log"),
    path("acces-dossier/export.csv", access_log.access_log_csv, name="access_log_csv"),
    path("envois/echecs/", failures.delivery_failures, name="delivery_failures"),
    path("envois/<int:delivery_id>/renvoyer/", failures.delivery_resend, name="delivery_resend"),
    path("sante/", health.health_page, name="health"),
    path("metriques/", health.metrics, name="metrics"),
    path("indicateurs/", include("liaison.indicators.urls")),
    path("campagne/", include("liaison.campaign.urls")),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]
