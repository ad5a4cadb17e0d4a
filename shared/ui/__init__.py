"""The server-rendered UI every service's pages share: Jinja2 templates, htmx, three languages, sign-in.

A service's ``pages.py`` needs only what this module exports; see the README section on the UI. What the pages
of every service do alike lives in the modules beside it: ``pages`` (``Pages``, ``base_context``), ``forms`` (the
one form post, ``post_form``), ``refusals`` (refusals said by code), ``vocabularies`` (the labels of the event
Literals), ``places`` (municipality and district names) and ``formats`` (dates and numbers).
"""

from shared.ui.access import PageForbidden, PageUser, SignInRequired, page_user, require_page_role
from shared.ui.i18n import LANGUAGES, N_, language_for, translations, translations_for
from shared.ui.login import install_ui, login_router
from shared.ui.templating import Message, PageTemplates, make_templates, translator

__all__ = [
    "LANGUAGES",
    "N_",
    "Message",
    "PageForbidden",
    "PageTemplates",
    "PageUser",
    "SignInRequired",
    "install_ui",
    "language_for",
    "login_router",
    "make_templates",
    "page_user",
    "require_page_role",
    "translations",
    "translations_for",
    "translator",
]
