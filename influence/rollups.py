"""Dashboard rollups: posts per day counted once per dimension, so the marketing dashboard
reads a few thousand rows instead of scanning the posts table in a request.

`rollups_refresh` rebuilds whole days (in settings.TIME_ZONE) with two INSERT ... SELECT
statements that PostgreSQL and SQLite both run. The brand's own posts (`from_brand`) are
never counted. Every row carries day, network, language (lower case) and the author's
customer segment ("" without a customer); the rows come in two sets, told apart by
`rule`:

* rule set (`rule` not NULL): one row group per listening rule a post matched, with the
  rule's current kind and campaign. A post that matched two rules counts under both:
  this is what share of voice per competitor needs (`share_of_voice`'s per-rule counts).
* post set (`rule` NULL): each post counted once per kind of rule it matched, read from
  PostRuleMatch.kind as the listening selectors do:
    - rule_kind "brand" / "competitor", campaign "": the posts that matched at least one
      rule of that kind (any campaign). Brand volume, sentiment and the share of voice
      totals sum these rows.
    - rule_kind "brand" / "competitor", campaign C: the posts that matched at least one
      rule of that kind in campaign C (only for campaigns that are not blank). With a
      campaign filter the dashboard sums these instead.
    - rule_kind "", campaign "": the posts that matched no rule.

So with the same window and network, the post-set brand rows equal
`social.selectors.listening_figures` (volume per day, sentiment split) and the post-set
brand / competitor rows plus the competitor rule rows equal `share_of_voice`.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from customers.models import Customer, SocialIdentity
from social.models import ListeningRule, Post, PostRuleMatch

from .models import PostRollup

# Any constant: one refresh at a time, so two workers never interleave delete and insert.
_LOCK_KEY = 7_207_001

_COLUMNS = (
    "day", "network", "rule_id", "rule_kind", "campaign", "language", "segment",
    "posts", "positive", "neutral", "negative", "engagement", "rebuilt_at",
)  # fmt: skip

_RULE_ROWS = """
INSERT INTO {rollup} ({columns})
SELECT {day}, p.network, m.rule_id, r.kind, r.campaign, LOWER(p.language),
       COALESCE(SUBSTR(c.segment, 1, 12), ''), {counts}, %s
FROM {post} p
JOIN {match} m ON m.post_id = p.id
JOIN {rule} r ON r.id = m.rule_id
LEFT JOIN {identity} i ON i.id = p.author_id
LEFT JOIN {customer} c ON c.id = i.customer_id
WHERE p.from_brand = %s {since}
GROUP BY 1, 2, 3, 4, 5, 6, 7
"""

_POST_ROWS = """
INSERT INTO {rollup} ({columns})
SELECT {day}, p.network, CAST(NULL AS BIGINT), COALESCE(k.kind, ''), COALESCE(k.campaign, ''),
       LOWER(p.language), COALESCE(SUBSTR(c.segment, 1, 12), ''), {counts}, %s
FROM {post} p
LEFT JOIN (
    SELECT m.post_id, m.kind, '' AS campaign FROM {match} m {match_since}
    GROUP BY m.post_id, m.kind
    UNION ALL
    SELECT m.post_id, m.kind, r.campaign FROM {match} m JOIN {rule} r ON r.id = m.rule_id
    WHERE r.campaign <> '' {match_and_since}
    GROUP BY m.post_id, m.kind, r.campaign
) k ON k.post_id = p.id
LEFT JOIN {identity} i ON i.id = p.author_id
LEFT JOIN {customer} c ON c.id = i.customer_id
WHERE p.from_brand = %s {since}
GROUP BY 1, 2, 3, 4, 5, 6, 7
"""

_COUNTS = """COUNT(*),
       SUM(CASE WHEN p.sentiment_label = 'positive' THEN 1 ELSE 0 END),
       SUM(CASE WHEN p.sentiment_label = 'neutral' THEN 1 ELSE 0 END),
       SUM(CASE WHEN p.sentiment_label = 'negative' THEN 1 ELSE 0 END),
       SUM(p.likes + p.replies + p.reposts + p.quotes)"""


def rollup_zone() -> zoneinfo.ZoneInfo:
    """Rollup days are days of the installation's time zone (settings.TIME_ZONE)."""
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def rollup_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=rollup_zone())


def _tables() -> dict[str, str]:
    models = {
        "rollup": PostRollup,
        "post": Post,
        "match": PostRuleMatch,
        "rule": ListeningRule,
        "identity": SocialIdentity,
        "customer": Customer,
    }
    return {key: connection.ops.quote_name(model._meta.db_table) for key, model in models.items()}


def rollups_refresh(*, days: int | None = 2, today: date | None = None) -> int:
    """Rebuild the rollup rows of the last `days` days up to `today` included (days of
    settings.TIME_ZONE; `today` defaults to the current one), or of every day when `days`
    is None, in one transaction: the days' rows are deleted and counted again, so running
    it twice leaves the same rows. Returns the number of rows written."""
    if days is not None and days < 1:
        raise ValueError("days must be at least 1 (or None for every day)")
    since: datetime | None = None
    if days is not None:
        today = today or timezone.localtime(timezone.now(), rollup_zone()).date()
        first_day = today - timedelta(days=days - 1)
        since = rollup_day_start(first_day)
    tables = _tables()
    day_sql, day_params = connection.ops.datetime_cast_date_sql("p.created_at", (), settings.TIME_ZONE)
    quoted = ", ".join(connection.ops.quote_name(column) for column in _COLUMNS)
    parts = {
        **tables,
        "columns": quoted,
        "day": day_sql,
        "counts": _COUNTS,
        "since": "AND p.created_at >= %s" if since else "",
        # Through (rule, created_at): a range per rule, not a scan of every match ever made.
        "match_since": (
            f"WHERE m.rule_id IN (SELECT id FROM {tables['rule']}) AND m.created_at >= %s"  # noqa: S608
            if since
            else ""
        ),
        "match_and_since": "AND m.created_at >= %s" if since else "",
    }
    now = timezone.now()
    tail: list[Any] = [False, since] if since else [False]
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        if since is None:
            cursor.execute(f"DELETE FROM {tables['rollup']}")  # noqa: S608 - quoted table name
        else:
            cursor.execute(f"DELETE FROM {tables['rollup']} WHERE day >= %s", [since.date()])  # noqa: S608
        cursor.execute(_RULE_ROWS.format(**parts), [*day_params, now, *tail])
        written += cursor.rowcount
        match_params: list[Any] = [since, since] if since else []
        cursor.execute(_POST_ROWS.format(**parts), [*day_params, now, *match_params, *tail])
        written += cursor.rowcount
    return written
