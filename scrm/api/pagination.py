from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """`{"count", "next", "previous", "results"}`; `?page=` and `?page_size=` (max 200)."""

    page_size_query_param = "page_size"
    max_page_size = 200
