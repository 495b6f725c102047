#!/usr/bin/python3
"""Writes the seed corpus of fuzz_h2_response (tests/fuzz/corpus/h2_response/): what an
HTTP/2 or gRPC server may send to the load generator, frame by frame. Each file starts
with the target's two mode bytes (bit 0: gRPC; bits 1-3: streams - 1; then the piece size
- 1), then the server's bytes. tests/loadgen/test_h2_frames.c checks the outcome of each.
Run: /usr/bin/python3 tests/fuzz/make_h2_seeds.py"""
import os
import struct

DATA, HEADERS, RST, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 6, 7, 8
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


def frame(kind, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", sid) + payload


def lit(name, value):
    """HPACK literal without indexing, new name, no Huffman (RFC 7541 6.2.2)."""
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def status(code):
    table = {200: b"\x88", 204: b"\x89", 206: b"\x8a", 304: b"\x8b", 400: b"\x8c", 404: b"\x8d",
             500: b"\x8e"}
    return table.get(code) or b"\x08" + bytes([3]) + str(code).encode()  # indexed name :status


GRPC_CT = lit(b"content-type", b"application/grpc")
PREFACE = frame(SETTINGS, 0, 0, struct.pack(">HI", 3, 100)) + frame(SETTINGS, ACK, 0)


def msg(payload):
    return b"\x00" + struct.pack(">I", len(payload)) + payload


def mode(grpc=False, streams=1, piece=256):
    return bytes([(1 if grpc else 0) | ((streams - 1) << 1), piece - 1])


def response(sid, code=200, body=b"hello\n", extra=b""):
    if not body:
        return frame(HEADERS, END_HEADERS | END_STREAM, sid, status(code) + extra)
    return frame(HEADERS, END_HEADERS, sid, status(code) + extra) + frame(DATA, END_STREAM, sid, body)


def grpc_call(sid, code=0, payload=b"\x0a\x02hi"):
    return (frame(HEADERS, END_HEADERS, sid, status(200) + GRPC_CT) +
            frame(DATA, 0, sid, msg(payload)) +
            frame(HEADERS, END_HEADERS | END_STREAM, sid, lit(b"grpc-status", str(code).encode())))


SEEDS = {
    "h2_ok": mode() + PREFACE + response(1),
    "h2_ok_split": mode(piece=7) + PREFACE + response(1, 404, b"not found"),
    "h2_streams": mode(streams=4) + PREFACE + response(3) + response(1, 503) + response(7) +
                  response(5, 204, b""),
    "h2_rst": mode(streams=2) + PREFACE + frame(RST, 0, 1, struct.pack(">I", 2)) + response(3),
    "h2_refused": mode(streams=2) + PREFACE + frame(RST, 0, 1, struct.pack(">I", 7)) + response(3),
    "h2_goaway": mode(streams=4) + PREFACE + frame(GOAWAY, 0, 0, struct.pack(">II", 3, 0)) +
                 response(1) + response(3),
    "h2_goaway_error": mode(streams=2) + PREFACE +
                       frame(GOAWAY, 0, 0, struct.pack(">II", 0, 1) + b"bad client"),
    "h2_http1": mode() + b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
    "h2_bad_settings": mode() + frame(SETTINGS, 0, 0, b"\x00\x03\x00"),
    "h2_length_mismatch": mode() + PREFACE +
                          frame(HEADERS, END_HEADERS, 1, status(200) + lit(b"content-length", b"10")) +
                          frame(DATA, END_STREAM, 1, b"short"),
    "h2_no_status": mode() + PREFACE + frame(HEADERS, END_HEADERS | END_STREAM, 1, lit(b"x", b"y")),
    "h2_status_006": mode() + PREFACE + frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\x08\x03006"),
    "h2_ping_window": mode() + PREFACE + frame(PING, 0, 0, b"12345678") +
                      frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1000)) + response(1),
    "h2_max_streams_1": mode(streams=4) + frame(SETTINGS, 0, 0, struct.pack(">HI", 3, 1)) +
                        response(1) + response(3),
    "grpc_ok": mode(grpc=True) + PREFACE + grpc_call(1),
    "grpc_status_5": mode(grpc=True, streams=2, piece=3) + PREFACE + grpc_call(1, 5) + grpc_call(3),
    "grpc_trailers_only": mode(grpc=True) + PREFACE +
                          frame(HEADERS, END_HEADERS | END_STREAM, 1,
                                status(200) + GRPC_CT + lit(b"grpc-status", b"12")),
    "grpc_http_503": mode(grpc=True) + PREFACE + response(1, 503, b"<html>busy</html>"),
    "grpc_truncated": mode(grpc=True) + PREFACE +
                      frame(HEADERS, END_HEADERS, 1, status(200) + GRPC_CT) +
                      frame(DATA, 0, 1, msg(b"0123456789")[:8]) +
                      frame(HEADERS, END_HEADERS | END_STREAM, 1, lit(b"grpc-status", b"0")),
    "grpc_not_grpc": mode(grpc=True) + PREFACE + response(1, 200, b"hello\n",
                                                           lit(b"content-type", b"text/plain")),
    "grpc_compressed": mode(grpc=True) + PREFACE +
                       frame(HEADERS, END_HEADERS, 1, status(200) + GRPC_CT) +
                       frame(DATA, 0, 1, b"\x01\x00\x00\x00\x01x") +
                       frame(HEADERS, END_HEADERS | END_STREAM, 1, lit(b"grpc-status", b"0")),
    "grpc_no_status": mode(grpc=True) + PREFACE +
                      frame(HEADERS, END_HEADERS, 1, status(200) + GRPC_CT) +
                      frame(DATA, END_STREAM, 1, msg(b"")),
}

GRPC_FRAME_SEEDS = {
    "one": b"\x00" + msg(b"\x0a\x02hi"),
    "two_split": b"\x03" + msg(b"a") + msg(b"bc"),
    "compressed": b"\x01" + b"\x01\x00\x00\x00\x02zz",
    "cut": b"\x00" + msg(b"0123456789")[:9],
    "bad_flag": b"\x00\x07\x00\x00\x00\x00",
    "huge": b"\x00\x00\xff\xff\xff\xff",
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for sub, seeds in (("h2_response", SEEDS), ("grpc_frame", GRPC_FRAME_SEEDS)):
        out = os.path.join(here, "corpus", sub)
        os.makedirs(out, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
