"""Where this machine reaches a listener: the one rule serve's control file, its query URL and the demo's
OTLP endpoint share."""

from agentwatch.listen import local_url


def test_an_any_address_bind_is_reached_on_loopback_and_a_named_host_on_itself():
    assert local_url("0.0.0.0:0", 40111) == "http://127.0.0.1:40111"
    assert local_url("[::]:8123", 8123) == "http://127.0.0.1:8123"
    assert local_url(":4318", 4318) == "http://127.0.0.1:4318"
    assert local_url("127.0.0.1:0", 5000) == "http://127.0.0.1:5000"
    assert local_url("10.0.0.5:9000", 9000) == "http://10.0.0.5:9000"
