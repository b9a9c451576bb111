from django.urls import path

from . import inbox_views, views

app_name = "social"

urlpatterns = [
    path("inbox/", inbox_views.inbox_page, name="inbox"),
    path("inbox/duty/", inbox_views.duty_toggle_view, name="duty"),
    path("cases/<int:pk>/", inbox_views.case_page, name="case"),
    path("cases/<int:pk>/reply/", inbox_views.case_reply_view, name="case-reply"),
    path("cases/<int:pk>/replying/", inbox_views.case_replying_view, name="case-replying"),
    path("cases/<int:pk>/note/", inbox_views.case_note_view, name="case-note"),
    path("cases/<int:pk>/status/", inbox_views.case_status_view, name="case-status"),
    path("cases/<int:pk>/take/", inbox_views.case_take_view, name="case-take"),
    path("cases/<int:pk>/assign/", inbox_views.case_assign_view, name="case-assign"),
    path("replies/<int:pk>/retry/", inbox_views.reply_retry_view, name="reply-retry"),
    path("sla/", inbox_views.sla_page, name="sla"),
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
