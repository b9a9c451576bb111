"""Errors of the customer record (mapped to HTTP in scrm.api.errors)."""

from scrm.errors import Conflict, DomainError, NotFound, ValidationFailed


class CustomerNotFound(NotFound):
    code = "customer_not_found"


class AmbiguousMatch(Conflict):
    """The keys given point at more than one customer."""

    code = "ambiguous_match"


class CustomerMerged(DomainError):
    """The customer is a tombstone; `survivor_id` names the record that replaced it."""

    status = 409
    code = "customer_merged"

    def __init__(self, survivor_id: int):
        super().__init__(f"This customer was merged into customer {survivor_id}.")
        self.survivor_id = survivor_id


__all__ = ["AmbiguousMatch", "Conflict", "CustomerMerged", "CustomerNotFound", "ValidationFailed"]
