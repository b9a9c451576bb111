"""The interface in French: a complete, compiled catalogue, and pages that use it.

The catalogue checks read locale/fr/LC_MESSAGES/django.po and django.mo with the standard
library only, so a missing or fuzzy translation, or a .po edited without compiling the
.mo again (`make messages` then `manage.py compilemessages`), fails here.
"""

from __future__ import annotations

import ast
import gettext
import html
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, EmailFactory, PurchaseFactory, SocialIdentityFactory

LC_MESSAGES = Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES"
PO = LC_MESSAGES / "django.po"
MO = LC_MESSAGES / "django.mo"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


# --- A tiny .po reader ------------------------------------------------------------------------


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        context = f"[{self.msgctxt}] " if self.msgctxt is not None else ""
        return f"{PO.name}:{self.line} {context}{self.msgid!r}"


def _unquote(text: str) -> str:
    text = text.strip()
    assert text.startswith('"') and text.endswith('"'), f"not a PO string: {text}"
    return ast.literal_eval(text)


def parse_po(path: Path) -> list[Entry]:
    """Every entry of the file, the header (msgid "") included, in order."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] | None = None

    def start(lineno: int) -> Entry:
        nonlocal entry
        if entry is None or entry.msgstr:  # a keyword after msgstr begins the next entry
            entry = Entry(line=lineno)
            entries.append(entry)
        return entry

    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            entry, target = None, None
            continue
        if line.startswith("#~"):
            raise AssertionError(f"{path.name}:{lineno}: obsolete entry; run makemessages --no-obsolete")
        if line.startswith("#,"):
            start(lineno).flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        match = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(\".*\")$", line)
        if match:
            keyword, index, value = match.group(1), match.group(2), _unquote(match.group(3))
            current = start(lineno) if keyword in ("msgctxt", "msgid") else entry
            assert current is not None, f"{path.name}:{lineno}: {keyword} outside an entry"
            if keyword == "msgid" and current.msgid:
                current = start(lineno)
            target = (keyword, int(index or 0))
            _append(current, target, value, reset=True)
            continue
        if line.startswith('"') and entry is not None and target is not None:
            _append(entry, target, _unquote(line), reset=False)
            continue
        raise AssertionError(f"{path.name}:{lineno}: cannot read {raw!r}")
    return entries


def _append(entry: Entry, target: tuple[str, int], value: str, *, reset: bool) -> None:
    keyword, index = target
    if keyword == "msgstr":
        entry.msgstr[index] = value if reset else entry.msgstr[index] + value
    elif keyword == "msgid_plural":
        entry.msgid_plural = value if reset else (entry.msgid_plural or "") + value
    else:
        setattr(entry, keyword, value if reset else (getattr(entry, keyword) or "") + value)


def read_mo(path: Path) -> dict[str, str]:
    """The raw catalogue of a GNU .mo file: original -> translation, both NUL-joined as stored."""
    data = path.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic == 0x950412DE else ">"
    _revision, count, originals, translations = struct.unpack(order + "4I", data[4:20])
    catalogue = {}
    for i in range(count):
        o_len, o_off = struct.unpack(order + "2I", data[originals + 8 * i : originals + 8 * i + 8])
        t_len, t_off = struct.unpack(order + "2I", data[translations + 8 * i : translations + 8 * i + 8])
        catalogue[data[o_off : o_off + o_len].decode()] = data[t_off : t_off + t_len].decode()
    return catalogue


def _mo_key(entry: Entry) -> str:
    key = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
    return key if entry.msgid_plural is None else f"{key}\x00{entry.msgid_plural}"


@pytest.fixture(scope="module")
def po_entries() -> list[Entry]:
    return parse_po(PO)


@pytest.fixture(scope="module")
def header(po_entries: list[Entry]) -> dict[str, str]:
    first = po_entries[0]
    assert first.msgid == "" and first.msgctxt is None, "the .po must start with its header"
    pairs = (line.split(":", 1) for line in first.msgstr[0].splitlines() if ":" in line)
    return {name.strip(): value.strip() for name, value in pairs}


@pytest.fixture(scope="module")
def messages(po_entries: list[Entry]) -> list[Entry]:
    return po_entries[1:]


# --- (a) the catalogue is complete ----------------------------------------------------------------


def test_header_is_french_utf8_with_french_plurals(header, po_entries):
    assert "fuzzy" not in po_entries[0].flags, "remove #, fuzzy from the header"
    assert header["Language"] == "fr"
    assert "charset=UTF-8" in header["Content-Type"]
    assert header["Plural-Forms"].replace(" ", "") == "nplurals=2;plural=(n>1);"


def test_catalogue_is_not_empty(messages):
    msgids = {e.msgid for e in messages}
    # Strings from Python code, templates, plurals and a context must all have been collected.
    assert {"Customers", "Sign in", "%(counter)s customer", "agent"} <= msgids
    assert len(messages) > 100


def test_every_entry_is_translated_and_none_is_fuzzy(messages):
    fuzzy = [e.label for e in messages if "fuzzy" in e.flags]
    empty = [e.label for e in messages if not e.msgstr or any(not s.strip() for s in e.msgstr.values())]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    assert not empty, f"untranslated entries: {empty}"


def test_plural_entries_have_both_french_forms(messages):
    plurals = [e for e in messages if e.msgid_plural is not None]
    assert plurals
    for e in plurals:
        assert sorted(e.msgstr) == [0, 1], e.label
    singulars = [e for e in messages if e.msgid_plural is None]
    for e in singulars:
        assert sorted(e.msgstr) == [0], e.label


def test_placeholders_are_kept(messages):
    for e in messages:
        expected = set(PLACEHOLDER.findall(e.msgid)) | set(PLACEHOLDER.findall(e.msgid_plural or ""))
        for index, text in e.msgstr.items():
            assert set(PLACEHOLDER.findall(text)) == expected, f"{e.label} msgstr[{index}]: {text!r}"
        if "python-format" in e.flags or expected:
            for text in e.msgstr.values():
                # A lone % would break the %-formatting Django applies.
                assert "%" not in PLACEHOLDER.sub("", text).replace("%%", ""), f"{e.label}: {text!r}"


# --- (b) the committed .mo is the compiled .po --------------------------------------------------


def test_mo_holds_exactly_the_translations_of_the_po(messages):
    assert MO.exists(), "compile the catalogue: manage.py compilemessages -l fr"
    expected = {_mo_key(e): "\x00".join(e.msgstr[i] for i in sorted(e.msgstr)) for e in messages}
    compiled = {key: value for key, value in read_mo(MO).items() if key != ""}
    missing = sorted(set(expected) - set(compiled))
    extra = sorted(set(compiled) - set(expected))
    changed = sorted(k for k in set(expected) & set(compiled) if expected[k] != compiled[k])
    hint = "django.mo is stale: run manage.py compilemessages -l fr"
    assert not missing, f"{hint}; not in the .mo: {missing}"
    assert not extra, f"{hint}; only in the .mo: {extra}"
    assert not changed, f"{hint}; translated differently: {changed}"


def test_mo_is_read_by_gettext(messages):
    with MO.open("rb") as fp:
        catalogue = gettext.GNUTranslations(fp)
    assert catalogue.info()["language"] == "fr"
    # Aliases, so that makemessages does not collect this file as a source of msgids.
    one, plural, in_context = catalogue.gettext, catalogue.ngettext, catalogue.pgettext
    assert one("Sign in") == "Se connecter"
    assert in_context("role", "agent") == "conseiller"
    assert plural("%(counter)s customer", "%(counter)s customers", 1) == "%(counter)s client"
    assert plural("%(counter)s customer", "%(counter)s customers", 2) == "%(counter)s clients"


# --- (c) and (d) the pages ------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _default_language_afterwards():
    """LocaleMiddleware activates the request's language in this thread; do not leak it."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.content.decode())


def _signed_in(user, language: str | None) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    if language:
        response = client.post("/i18n/setlang/", {"language": language, "next": "/"})
        assert response.status_code == 302
        assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == language
    return client


@pytest.fixture
def customer(db):
    customer = CustomerFactory(first_name="Amélie", last_name="Poulain")
    EmailFactory(customer=customer, value="amelie@example.fr")
    SocialIdentityFactory(customer=customer, handle="amelie", followers_count=3)
    PurchaseFactory(customer=customer)
    PurchaseFactory(customer=customer)
    return customer


def test_login_page_in_french(client):
    page = _text(client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr"))
    assert '<html lang="fr">' in page
    for french in ("Se connecter", "Nom d’utilisateur", "Mot de passe", "CRM social"):
        assert french in page
    for english in ("Sign in", "Username", "Password"):
        assert english not in page


def test_failed_login_message_in_french(db):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    page = _text(client.post("/accounts/login/", {"username": "nobody", "password": "wrong"}))
    assert "Nom d’utilisateur ou mot de passe incorrect" in page


def test_customer_list_in_french(agent, customer):
    page = _text(_signed_in(agent, "fr").get("/customers/"))
    assert '<html lang="fr">' in page
    for french in (
        "Clients",
        "Rechercher",
        "Tous les réseaux",
        "Nom, e-mail, téléphone ou @pseudo",
        "1 client",
        "Téléphone",
        "Réseaux sociaux",
        "Se déconnecter",
        "agent · conseiller",  # user name and role
        "Accueil",
    ):
        assert french in page, french
    for english in ("Customers", "Search", "Any network", "Sign out", "Home"):
        assert english not in page, english


def test_customer_list_htmx_results_in_french(agent, customer):
    client = _signed_in(agent, "fr")
    page = _text(client.get("/customers/", {"q": "nobody-matches-this"}, HTTP_HX_REQUEST="true"))
    assert "0 client" in page
    assert "Aucun client ne correspond à cette recherche." in page


def test_customer_360_in_french(agent, customer):
    page = _text(_signed_in(agent, "fr").get(f"/customers/{customer.pk}/"))
    assert "Amélie Poulain" in page
    for french in (
        "client depuis le",
        "Modifier",
        "Coordonnées",
        "(principal)",
        "Ajouter",
        "Identités sociales",
        "3 abonnés",
        "déclarée par le client ou un partenaire",
        "Consentements",
        "E-mails marketing",
        "Traitement des données",
        "2 achats, 99,80 au total",
        "Commande",
        "Montant",
        "Publications",
        "Fidélité",
        "Rien pour l’instant.",
        "Historique",
    ):
        assert french in page, french
    for english in ("customer since", "Social identities", ">Consent<", "Purchases", "History", "in all"):
        assert english not in page, english


def test_customer_edit_and_saved_message_in_french(agent, customer):
    client = _signed_in(agent, "fr")
    page = _text(client.get(f"/customers/{customer.pk}/edit/"))
    for french in ("Prénom", "Date de naissance", "Enregistrer", "Annuler"):
        assert french in page, french
    response = client.post(
        f"/customers/{customer.pk}/edit/",
        {"first_name": "Amélie", "last_name": "Poulain", "locale": "fr-FR"},
        follow=True,
    )
    assert "Client enregistré." in _text(response)


def test_forbidden_page_in_french(agent):
    response = _signed_in(agent, "fr").get("/settings/api-keys/")
    assert response.status_code == 403
    assert "Accès refusé" in html.unescape(response.content.decode())


def test_api_keys_page_in_french(admin_user):
    page = _text(_signed_in(admin_user, "fr").get("/settings/api-keys/"))
    for french in (
        "Clés d’API",
        "Nouvelle clé",
        "Requêtes par minute",
        "Créer la clé",
        "boss · administrateur",
    ):
        assert french in page, french


def test_pages_stay_english_by_default(agent, customer, client):
    login = _text(client.get("/accounts/login/"))
    assert '<html lang="en">' in login
    assert "Sign in" in login and "Username" in login
    assert "Se connecter" not in login

    signed_in = _signed_in(agent, None)
    listing = _text(signed_in.get("/customers/"))
    assert '<html lang="en">' in listing
    for english in ("Customers", "Search", "Any network", "1 customer", "Sign out", "agent · agent"):
        assert english in listing, english
    assert "Rechercher" not in listing and "Se déconnecter" not in listing

    detail = _text(signed_in.get(f"/customers/{customer.pk}/"))
    for english in ("customer since", "Contact", "Social identities", "3 followers", "Consent", "History"):
        assert english in detail, english
    assert "2 purchases, 99.80 in all" in detail
    assert "Coordonnées" not in detail and "Historique" not in detail


def test_switching_back_to_english(agent, customer):
    client = _signed_in(agent, "fr")
    assert "Rechercher" in _text(client.get("/customers/"))
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = _text(client.get("/customers/"))
    assert "Search" in page and "Rechercher" not in page
