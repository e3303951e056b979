"""Moved to shared.signin.pagesession; this name stays until every importer says the new one."""
import sys

from .signin import pagesession

sys.modules[__name__] = pagesession
