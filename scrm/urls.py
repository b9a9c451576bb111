from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from social import webhooks as social_webhooks

from . import views

api_v1 = (
    [
        path("", include("customers.api.urls")),
        path("", include("social.api.urls")),
        path("", include("influence.api.urls")),
    ],
    "api",
)

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("settings/api-keys/", views.api_keys, name="api-keys"),
    path("settings/api-keys/<int:pk>/revoke/", views.api_key_revoke_view, name="api-key-revoke"),
    path("customers/", include("customers.urls")),
    path("social/", include("social.urls")),
    path("", include("influence.urls")),
    path("health/", views.health, name="health"),
    path("webhooks/facebook/", social_webhooks.facebook_webhook, name="webhook-facebook"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("admin/", admin.site.urls),
]

admin.site.site_header = _("Social CRM")
admin.site.site_title = _("Social CRM")
