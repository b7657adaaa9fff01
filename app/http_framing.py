"""Where an HTTP/1.1 request ends, told from the bytes received so far.

The buffering worker (app/buffering_worker.py) reads requests without blocking and
hands one to the app only once it is whole, so it must know where a request ends
before anything parses it: after the blank line that ends the headers, plus the
`Content-Length` body or the chunked body up to its last chunk and trailers.

Only framing is decided here. Anything malformed or ambiguous (two lengths, a
length and chunked, an unknown transfer coding, a bad chunk size) makes the
request "ready" at once, so that gunicorn's parser, which runs next on the same
bytes, answers it exactly as it answers every bad request. A body larger than the
app accepts is ready as soon as the app can tell (its declared length, or one
byte past the limit of a chunked body), so the app answers 413 without the
worker buffering the rest.
"""

# Longest header section waited for; beyond it the request is refused with 431.
HEADER_LIMIT = 64 * 1024
# Longest chunk-size line or trailer section waited for before calling it malformed.
_LINE_LIMIT = 4096
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")

_SIZE, _DATA, _DATA_END, _TRAILERS = range(4)


class HeadersTooLarge(Exception):
    """The header section is longer than HEADER_LIMIT and not yet over."""


class RequestFrame:
    """Tracks one request's framing as bytes arrive; `feed` says when it is whole.

    The same growing buffer is passed on every call; scanning resumes where the
    previous call stopped, so a request trickled byte by byte costs linear time.
    """

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.header_end = -1
        self.expects_continue = False
        self._searched = 0
        self._length = 0
        self._chunked = False
        # Chunked-body scanning state: position, phase, bytes left in the chunk.
        self._pos = 0
        self._phase = _SIZE
        self._left = 0
        self._decoded = 0
        # A chunked body as decoded so far (at most max_body + 1 bytes), and
        # whether it ended well (last chunk, or past the limit) or malformed.
        self._chunked_body = bytearray()
        self._chunked_done = False

    def body(self, buffer: bytes | bytearray) -> bytes | None:
        """The body for the app once `feed` said the request is whole: the bytes
        of a declared length, or a chunked body decoded (cut one byte past the
        limit when it is larger, which is all the app reads before refusing it).
        None where gunicorn's parser must decide (malformed or ambiguous framing,
        or a declared length over the limit, refused by its header)."""
        if self.header_end < 0:
            return None
        if self._chunked:
            return bytes(self._chunked_body) if self._chunked_done else None
        if self._length > self.max_body:
            return None
        return bytes(buffer[self.header_end : self.header_end + self._length])

    @property
    def cut_short(self) -> bool:
        """Whether the request was handed on before its body ended (over the
        limit): the client may still be sending it."""
        if self._chunked:
            return self._decoded > self.max_body
        return self._length > self.max_body

    @property
    def headers_done(self) -> bool:
        """Whether the header section has been received."""
        return self.header_end >= 0

    def feed(self, buffer: bytes | bytearray) -> bool:
        """True once `buffer` holds the whole request, or as much as the app needs
        to refuse it; raises HeadersTooLarge for an endless header section."""
        if self.header_end < 0:
            end = buffer.find(b"\r\n\r\n", max(0, self._searched - 3))
            if end < 0:
                self._searched = len(buffer)
                if len(buffer) > HEADER_LIMIT:
                    raise HeadersTooLarge
                return False
            self.header_end = end + 4
            if self._read_framing(bytes(buffer[:end])):
                return True
            self._pos = self.header_end
        if self._chunked:
            return self._scan_chunks(buffer)
        return len(buffer) - self.header_end >= self._length

    def _read_framing(self, head: bytes) -> bool:
        """Reads the framing headers; True when the request is ready at once."""
        lengths: list[bytes] = []
        codings: list[bytes] = []
        for line in head.split(b"\r\n")[1:]:
            name, colon, value = line.partition(b":")
            if not colon:
                continue
            name = name.strip().lower()
            if name == b"content-length":
                lengths.append(value.strip())
            elif name == b"transfer-encoding":
                codings.extend(c.strip().lower() for c in value.split(b","))
            elif name == b"expect":
                self.expects_continue = value.strip().lower() == b"100-continue"
        if codings:
            # Chunked must be the last coding and may not come with a length;
            # any other combination is gunicorn's to refuse.
            if lengths or codings[-1] != b"chunked":
                return True
            self._chunked = True
            return False
        if not lengths:
            return True  # no body
        if len(lengths) > 1 or not lengths[0].isdigit() or not lengths[0].isascii():
            return True
        self._length = int(lengths[0])
        return self._length == 0 or self._length > self.max_body

    def _scan_chunks(self, buffer: bytes | bytearray) -> bool:
        size = len(buffer)
        while True:
            if self._phase == _SIZE:
                eol = buffer.find(b"\r\n", self._pos)
                if eol < 0:
                    return size - self._pos > _LINE_LIMIT
                digits = bytes(buffer[self._pos : eol]).split(b";", 1)[0].strip()
                if not digits or not _HEX_DIGITS.issuperset(digits):
                    return True
                self._left = int(digits, 16)
                self._pos = eol + 2
                self._phase = _DATA if self._left else _TRAILERS
            elif self._phase == _DATA:
                taken = min(self._left, size - self._pos)
                room = self.max_body + 1 - len(self._chunked_body)
                self._chunked_body += buffer[self._pos : self._pos + min(taken, room)]
                self._pos += taken
                self._left -= taken
                self._decoded += taken
                if self._decoded > self.max_body:
                    self._chunked_done = True
                    return True
                if self._left:
                    return False
                self._phase = _DATA_END
            elif self._phase == _DATA_END:
                if size - self._pos < 2:
                    return False
                if buffer[self._pos : self._pos + 2] != b"\r\n":
                    return True
                self._pos += 2
                self._phase = _SIZE
            else:  # trailers: an empty line ends them
                if buffer[self._pos : self._pos + 2] == b"\r\n" or (
                    buffer.find(b"\r\n\r\n", self._pos) >= 0
                ):
                    self._chunked_done = True
                    return True
                return size - self._pos > _LINE_LIMIT
