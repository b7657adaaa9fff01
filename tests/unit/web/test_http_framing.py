"""Where a request ends: whole requests are recognised whether they arrive at once
or byte by byte, nothing is handed on early, and malformed or oversized framing is
handed on at once for gunicorn's parser or the app to refuse."""

import pytest

from app.http_framing import HEADER_LIMIT, HeadersTooLarge, RequestFrame

LIMIT = 1000


def _first_whole(data: bytes, step: int = 1, limit: int = LIMIT) -> int | None:
    """How many bytes, fed `step` at a time, it takes until the frame is whole."""
    frame, buffer = RequestFrame(limit), bytearray()
    for start in range(0, len(data), step):
        buffer += data[start : start + step]
        if frame.feed(buffer):
            return len(buffer)
    return None


def _chunked(*pieces: bytes, trailers: bytes = b"") -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
    return (
        b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        + body
        + b"0\r\n"
        + trailers
        + b"\r\n"
    )


@pytest.mark.parametrize("step", [1, 7, 4096])
def test_a_request_without_body_is_whole_at_the_blank_line(step: int) -> None:
    request = b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n"
    assert _first_whole(request, step) == len(request)


@pytest.mark.parametrize("step", [1, 5, 4096])
def test_a_body_of_declared_length_is_waited_for(step: int) -> None:
    body = b'{"leads": []}'
    request = b"POST /leads HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body)
    assert _first_whole(request + body, step) == len(request + body)
    assert _first_whole(request + body[:-1], step) is None


def test_the_declared_length_is_known_once_whole() -> None:
    frame = RequestFrame(LIMIT)
    head = b"POST /leads HTTP/1.1\r\ncontent-LENGTH:  4 \r\n\r\n"
    assert not frame.feed(head)
    assert frame.feed(head + b"abcd")
    assert frame.body(head + b"abcd") == b"abcd"
    assert frame.header_end == len(head)


@pytest.mark.parametrize("step", [1, 3, 4096])
def test_a_chunked_body_is_whole_after_the_last_chunk(step: int) -> None:
    request = _chunked(b"hello ", b"world" * 30)
    assert _first_whole(request, step) == len(request)
    assert _first_whole(request[:-1], step) is None


def test_chunk_extensions_and_trailers_are_framed() -> None:
    request = _chunked(b"abc", trailers=b"X-Sum: 1\r\n").replace(
        b"3\r\n", b"3;name=v\r\n", 1
    )
    assert _first_whole(request, 1) == len(request)


def test_a_chunked_body_is_decoded() -> None:
    frame, request = RequestFrame(LIMIT), _chunked(b"abc", b"de" * 40)
    assert frame.feed(request)
    assert frame.body(request) == b"abc" + b"de" * 40


def test_a_chunked_body_past_the_limit_is_handed_on_one_byte_past_it() -> None:
    frame, buffer = RequestFrame(LIMIT), bytearray()
    buffer += b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    buffer += b"%x\r\n" % (10 * LIMIT)  # one chunk far larger than the limit
    start = len(buffer)
    while not frame.feed(buffer):
        buffer += b"a"
    assert len(buffer) - start == LIMIT + 1
    assert frame.body(buffer) == b"a" * (LIMIT + 1)  # all the app reads to refuse


def test_a_declared_length_past_the_limit_is_handed_on_at_once() -> None:
    frame = RequestFrame(LIMIT)
    assert frame.feed(b"POST /x HTTP/1.1\r\nContent-Length: 1001\r\n\r\n")
    assert frame.body(b"") is None  # the app refuses it by its header


@pytest.mark.parametrize(
    "head",
    [
        b"Content-Length: 5\r\nContent-Length: 5",
        b"Content-Length: 5\r\nTransfer-Encoding: chunked",
        b"Content-Length: -5",
        b"Content-Length: \xd9\xa5",  # a non-ASCII digit
        b"Transfer-Encoding: gzip",
        b"Transfer-Encoding: chunked, gzip",
    ],
)
def test_ambiguous_framing_is_handed_on_at_once(head: bytes) -> None:
    assert RequestFrame(LIMIT).feed(b"POST /x HTTP/1.1\r\n" + head + b"\r\n\r\n")


@pytest.mark.parametrize("size_line", [b"zz\r\n", b"\r\n", b"-1\r\n"])
def test_a_bad_chunk_size_is_handed_on_at_once(size_line: bytes) -> None:
    request = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + size_line
    frame = RequestFrame(LIMIT)
    assert frame.feed(request)
    assert frame.body(request) is None  # gunicorn's parser answers it


def test_a_chunk_without_its_line_end_is_handed_on() -> None:
    request = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY"
    assert RequestFrame(LIMIT).feed(request)


def test_an_endless_chunk_size_line_is_handed_on() -> None:
    request = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 5000
    assert RequestFrame(LIMIT).feed(request)


def test_an_endless_header_section_is_refused() -> None:
    frame, buffer = RequestFrame(LIMIT), bytearray(b"GET / HTTP/1.1\r\nX: ")
    with pytest.raises(HeadersTooLarge):
        while True:
            buffer += b"a" * 1024
            assert not frame.feed(buffer)
    assert HEADER_LIMIT < len(buffer) <= HEADER_LIMIT + 1024


def test_expect_continue_is_noticed() -> None:
    frame = RequestFrame(LIMIT)
    head = b"POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
    assert not frame.feed(head)
    assert frame.expects_continue and frame.headers_done


def test_scanning_resumes_instead_of_restarting() -> None:
    """Feeding a large body a byte at a time stays linear: each feed looks only
    at what is new (a quadratic scan would take minutes here)."""
    pieces = [b"x" * 7] * 20_000
    request = _chunked(*pieces)
    assert _first_whole(request, 1, limit=10**7) == len(request)
