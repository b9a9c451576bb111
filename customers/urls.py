from django.urls import path

from . import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list_page, name="list"),
    path("<int:pk>/", views.customer_detail_page, name="detail"),
    path("<int:pk>/edit/", views.customer_edit_page, name="edit"),
    path("<int:pk>/contact-points/", views.contact_point_add, name="contact-point-add"),
    path("<int:pk>/merge/", views.customer_merge_page, name="merge"),
    path("merges/<int:merge_id>/undo/", views.merge_undo_page, name="merge-undo"),
    path("review/", views.review_queue_page, name="review"),
    path("review/<int:pk>/decide/", views.review_decide_page, name="review-decide"),
]
