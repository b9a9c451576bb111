from django.urls import path

from . import views

app_name = "social"

urlpatterns = [
    path("listening/", views.dashboard_page, name="dashboard"),
    path("posts/", views.posts_page, name="posts"),
    path("rules/", views.rules_page, name="rules"),
    path("rules/new/", views.rule_create_page, name="rule-create"),
    path("rules/<int:pk>/", views.rule_edit_page, name="rule-edit"),
    path("rules/<int:pk>/poll/", views.rule_poll_view, name="rule-poll"),
    path("accounts/", views.accounts_page, name="accounts"),
    path("accounts/new/", views.account_create_page, name="account-create"),
    path("accounts/<int:pk>/", views.account_edit_page, name="account-edit"),
    path("accounts/<int:pk>/test/", views.account_test_view, name="account-test"),
    path("accounts/<int:pk>/toggle/", views.account_toggle_view, name="account-toggle"),
]
