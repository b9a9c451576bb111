from django.urls import path

from . import scores, views

urlpatterns = [
    path("surveys/responses/", views.SurveyResponseCreateView.as_view(), name="survey-response-create"),
    path("nps/", views.NpsView.as_view(), name="nps"),
    path("csat/", views.CsatView.as_view(), name="csat"),
    path("customers/<int:pk>/scores/", scores.CustomerScoresView.as_view(), name="customer-scores"),
]
