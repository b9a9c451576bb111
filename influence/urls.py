from django.urls import path

from . import dashboard_views, roi_views, score_views, views

app_name = "influence"

urlpatterns = [
    path("s/<str:token>/", views.survey_page, name="survey"),
    path("s/<str:token>/thanks/", views.survey_thanks_page, name="survey-thanks"),
    path("surveys/invite/<int:case_id>/", views.survey_invite_view, name="survey-invite"),
    path("insights/service/", views.service_page, name="service"),
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
