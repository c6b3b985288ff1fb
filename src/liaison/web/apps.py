"""The web shell: base templates, login, the stays list."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "liaison.web"
    label = "web"
    verbose_name = "Interface web"

    def ready(self) -> None:
        from liaison.web import authentication  # noqa: F401  (stamps every login's session)
