"""Email as a channel: members and facilitators take part by mail (issue 14).

`settings.py` reads [email]; `reading.py` makes sense of an incoming mail; `composing.py`
builds the bot's mails; `links.py` signs the links in them and serves their pages;
`inbound.py` takes mail in (SMTP listener or IMAP mailbox); `outbound.py` sends through the
relay; `adapter.py` ties them to the core's ports.
"""

from adapters.email.adapter import EmailAdapter
from adapters.email.settings import EmailPlugin, EmailSettings

PLUGIN = EmailPlugin()

__all__ = ["PLUGIN", "EmailAdapter", "EmailPlugin", "EmailSettings"]
