"""dc_envelope.py — the envelope of room messages over data channels
(docs/API.md "Data channels"): one byte n, n bytes of a userId (to whom from
a client, from whom from the server; none: everyone), then the data.  For
the aiortc clients of test_datachannel.py and tests/e2e/aiortc_peer.py."""


def envelope(user, data):
    """[n][userId][data], a str for a str, bytes for bytes."""
    if isinstance(data, str):
        return chr(len(user)) + user + data
    return bytes([len(user)]) + user.encode() + data


def open_envelope(msg):
    """(userId, data) of a received message."""
    if isinstance(msg, str):
        n = ord(msg[0])
        return msg[1:1 + n], msg[1 + n:]
    return msg[1:1 + msg[0]].decode(), msg[1 + msg[0]:]
