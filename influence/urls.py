from django.urls import path

from . import views

app_name = "influence"

urlpatterns = [
    path("s/<str:token>/", views.survey_page, name="survey"),
    path("s/<str:token>/thanks/", views.survey_thanks_page, name="survey-thanks"),
    path("surveys/invite/<int:case_id>/", views.survey_invite_view, name="survey-invite"),
    path("insights/service/", views.service_page, name="service"),
]
