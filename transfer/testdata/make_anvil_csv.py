#!/usr/bin/python3
"""Writes anvil_users.csv: a CSV of an Anvil app's Users table, the columns
Anvil's Users service creates (email, enabled, last_login, password_hash,
n_password_failures, confirmed_email, signed_up, remembered_logins,
email_confirmation_key, mfa) plus two an app added (role, name), as a
Python script downloading the table would write it (csv module, str() of
each value: True/False, None, datetimes with their zone). Anvil hashes
passwords with bcrypt ($2a$ from its Java bcrypt); python3-bcrypt makes
them here.

    /usr/bin/python3 make_anvil_csv.py
"""
import csv
import datetime
import os

import bcrypt

HERE = os.path.dirname(os.path.abspath(__file__))
utc = datetime.timezone.utc


def h(pw):
    return bcrypt.hashpw(pw.encode(), bcrypt.gensalt(10, prefix=b"2a")).decode()


rows = [
    # email, enabled, last_login, password_hash, n_password_failures, confirmed_email, signed_up,
    # remembered_logins, email_confirmation_key, mfa, role, name
    ["meredith@example.com", True, datetime.datetime(2024, 5, 2, 9, 30, 0, 250000, tzinfo=utc), h("meredith password"), 0, True,
     datetime.datetime(2024, 1, 15, 8, 0, 0, tzinfo=utc), '[{"login_time": "2024-05-02T09:30:00Z", "token_hash": "ab"}]', None, None, "admin", "Meredith"],
    ["locked@example.com", True, None, h("locked password"), 10, True,
     datetime.datetime(2024, 2, 1, 12, 0, 0, tzinfo=utc), None, None, None, None, "Locked Out"],
    ["pending@example.com", False, None, h("pending password"), 0, False,
     datetime.datetime(2024, 3, 1, 12, 0, 0, tzinfo=utc), None, "k3yK3yK3y", None, None, None],
    # A cell that a spreadsheet would run: imported as text, as it is.
    ["formula@example.com", True, None, h("formula password"), 0, True,
     datetime.datetime(2024, 3, 2, 12, 0, 0, tzinfo=utc), None, None, None, None, '=HYPERLINK("http://evil.example","click")'],
    # Google-only user: no password.
    ["google@example.com", True, datetime.datetime(2024, 4, 1, 7, 0, 0, tzinfo=utc), None, None, True,
     datetime.datetime(2024, 4, 1, 7, 0, 0, tzinfo=utc), None, None, None, None, None],
    # Not an address: refused.
    ["not an address", True, None, None, 0, False, None, None, None, None, None, None],
]

with open(os.path.join(HERE, "anvil_users.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["email", "enabled", "last_login", "password_hash", "n_password_failures", "confirmed_email", "signed_up",
                "remembered_logins", "email_confirmation_key", "mfa", "role", "name"])
    for r in rows:
        w.writerow(["" if v is None else str(v) for v in r])
