"""Webhooks the networks call: Facebook Page changes (`/webhooks/facebook/`).

Facebook checks the endpoint with a GET handshake (the verify token we chose), then
POSTs every change signed with the app secret. A delivery is checked on its exact bytes
before anything is read, kept as an InboundBatch per Page and answered at once; a
worker ingests it. Facebook retries a delivery that did not get a 200, and the same
delivery twice is one batch, so nothing is stored twice.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .models import ConnectedAccount, InboundBatch, Post
from .providers.facebook import parse_webhook, verify_signature
from .providers.files import record_from_post
from .services import inbound_batch_receive

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"


def facebook_webhook_receive(payload: Mapping[str, Any]) -> list[InboundBatch]:
    """Keep the posts of a Page webhook body (already authenticated), one batch per
    Page, tied to the connected account of that Page when there is one. Reactions,
    Messenger messages and other fields carry no post and are left out. Raises
    ValueError when the body is not a Page webhook."""
    if payload.get("object") != "page" or not isinstance(payload.get("entry", []), list):
        raise ValueError("not a Page webhook body")
    by_page: dict[str, list[dict[str, Any]]] = {}
    for index, entry in enumerate(payload.get("entry") or ()):
        if not isinstance(entry, Mapping):
            logger.warning("facebook webhook: entry %s is not an object", index)
            continue
        page_id = str(entry.get("id") or "")
        parsed = parse_webhook({"object": "page", "entry": [entry]})
        for problem in parsed.problems:
            logger.warning("facebook webhook: page %s entry %s: %s", page_id, index, problem.message)
        if parsed.removed:
            logger.info("facebook webhook: page %s removed %s (kept)", page_id, ", ".join(parsed.removed))
        if parsed.posts:
            by_page.setdefault(page_id, []).extend(record_from_post(post) for post in parsed.posts)
    accounts = {
        account.external_id: account
        for account in ConnectedAccount.objects.filter(network="facebook", external_id__in=list(by_page))
    }
    return [
        inbound_batch_receive(source=Post.Source.WEBHOOK, items=items, account=accounts.get(page_id))[0]
        for page_id, items in by_page.items()
    ]


def _handshake(request: HttpRequest) -> HttpResponse:
    token = settings.FACEBOOK_WEBHOOK_VERIFY_TOKEN
    given = request.GET.get("hub.verify_token", "")
    if (
        request.GET.get("hub.mode") == "subscribe"
        and token
        and hmac.compare_digest(given.encode(), token.encode())
    ):
        return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
    return HttpResponse("Verification refused.", status=403, content_type="text/plain")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def facebook_webhook(request: HttpRequest) -> HttpResponseBase:
    """GET: the subscription handshake. POST: a signed delivery of Page changes."""
    if request.method == "GET":
        return _handshake(request)
    secret = settings.FACEBOOK_APP_SECRET
    body = request.body
    if not secret or not verify_signature(body, request.headers.get(SIGNATURE_HEADER), secret):
        logger.warning("facebook webhook: refused a delivery with a bad or missing signature")
        return HttpResponse("Bad signature.", status=403, content_type="text/plain")
    try:
        payload = json.loads(body)
        if not isinstance(payload, Mapping):
            raise ValueError("not an object")
        batches = facebook_webhook_receive(payload)
    except ValueError:
        return JsonResponse({"detail": "Not a Page webhook body."}, status=400)
    return JsonResponse({"batches": [str(batch.pk) for batch in batches]})
