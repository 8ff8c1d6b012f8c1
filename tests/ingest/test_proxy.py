"""Behind a reverse proxy (WEBHOOK_TRUSTED_PROXY), on the real `python -m webhook` (waitress):
the login throttle counts the client named by the proxy's X-Forwarded-For, and nobody else's
X-Forwarded-For is believed."""

import urllib.error
import urllib.request

from devstack.wait import wait_until
from tests.support.webhook import USER, basic, http
from webhook.throttle import DEFAULT_BURST


def status(service, forwarded_for, user=USER):
    """A wrong password for `user`, sent through a proxy on behalf of `forwarded_for`."""
    request = urllib.request.Request(service.url + "/alert", data=b"{}", method="POST",  # noqa: S310
                                     headers={**basic((user, "wrong")),
                                              "Content-Type": "application/json",
                                              "X-Forwarded-For": forwarded_for})
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def healthy(service):
    return http(service.url, "/healthz", auth=None)[0] == 200


def test_the_trusted_proxy_names_the_client_the_throttle_counts(webhook_service):
    service = webhook_service(WEBHOOK_TRUSTED_PROXY="127.0.0.1")
    wait_until(lambda: healthy(service), 15)
    for i in range(DEFAULT_BURST):
        assert status(service, "198.51.100.7", f"user-{i}") == 401
    assert status(service, "198.51.100.7", "user-new") == 429  # that client's budget is spent
    assert status(service, "198.51.100.8", "user-new") == 401  # another client behind the proxy


def test_without_a_trusted_proxy_x_forwarded_for_changes_nothing(webhook_service):
    service = webhook_service()
    wait_until(lambda: healthy(service), 15)
    for i in range(DEFAULT_BURST):
        assert status(service, f"198.51.100.{i}", f"user-{i}") == 401
    assert status(service, "203.0.113.1", "user-new") == 429  # all of them were 127.0.0.1
