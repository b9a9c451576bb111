from django.urls import path

from . import referrals, scores, views

urlpatterns = [
    path("surveys/responses/", views.SurveyResponseCreateView.as_view(), name="survey-response-create"),
    path("nps/", views.NpsView.as_view(), name="nps"),
    path("nps/compare/", views.NpsCompareView.as_view(), name="nps-compare"),
    path("csat/", views.CsatView.as_view(), name="csat"),
    path("referrals/", referrals.ReferralListCreateView.as_view(), name="referrals"),
    path("customers/<int:pk>/scores/", scores.CustomerScoresView.as_view(), name="customer-scores"),
]
