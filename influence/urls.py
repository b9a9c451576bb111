from django.urls import path

from . import dashboard_views, referral_views, roi_views, score_views, survey_import_views, views

app_name = "influence"

urlpatterns = [
    path("s/<str:token>/", views.survey_page, name="survey"),
    path("s/<str:token>/thanks/", views.survey_thanks_page, name="survey-thanks"),
    path("surveys/invite/<int:case_id>/", views.survey_invite_view, name="survey-invite"),
    path("insights/service/", views.service_page, name="service"),
    path("r/<str:code>/", referral_views.referral_link_page, name="referral-link"),
    path("insights/referrals/", referral_views.referrals_page, name="referrals"),
    path(
        "insights/referrals/<int:pk>/reward-paid/",
        referral_views.referral_reward_paid_view,
        name="referral-reward-paid",
    ),
    path(
        "insights/referrals/codes/<int:customer_id>/",
        referral_views.referral_code_create_view,
        name="referral-code-create",
    ),
    path("insights/surveys/import/", survey_import_views.survey_import_page, name="survey-import"),
    path("insights/", dashboard_views.dashboard_page, name="dashboard"),
    path("insights/customers/", dashboard_views.scored_customers_page, name="customers"),
    path("insights/surveys/", dashboard_views.survey_answers_page, name="survey-answers"),
    path("insights/scores/", score_views.scores_page, name="scores"),
    path("insights/scores/recompute/", score_views.scores_recompute_view, name="scores-recompute"),
    path("insights/roi/", roi_views.roi_page, name="roi"),
    path("insights/objectives/", roi_views.objectives_page, name="objectives"),
    path("insights/objectives/<int:pk>/", roi_views.objective_edit_page, name="objective-edit"),
    path("insights/objectives/<int:pk>/delete/", roi_views.objective_delete_view, name="objective-delete"),
]
