"""An RTSP camera: Motion-JPEG over RTP (RFC 2435), interleaved on the RTSP TCP connection.

Real plate cameras stream H.264 over RTSP; what matters to the driver is the session (OPTIONS,
DESCRIBE, SETUP, PLAY, TEARDOWN), RTP timing and what happens when frames stop. RTP/JPEG lets the
simulator send the JPEGs it is shown without a video encoder, and FFmpeg (inside OpenCV) decodes
it as it would any RTSP camera. UDP transport is declined with 461, as many cameras behind NAT do,
so the client falls back to RTP over the RTSP connection.

Faults: no picture (`show(None)`: session up, no frames), `stalled` (frames stop), `disconnect()`
(every session dropped), `refuse` (DESCRIBE answers 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field

from kakou.tasks import StartStop

log = logging.getLogger(__name__)
MAX_PAYLOAD = 1400  # JPEG bytes per RTP packet, under a typical MTU


class NotRtpJpeg(ValueError):
    """The JPEG cannot be carried by RFC 2435 (progressive, odd sampling, custom Huffman tables…)."""


@dataclass(frozen=True)
class RtpJpeg:
    type: int  # 0 = 4:2:2, 1 = 4:2:0
    width: int
    height: int
    qtables: bytes  # two 64-byte 8-bit tables, zigzag order as in DQT
    scan: bytes  # entropy-coded data between SOS and EOI


def split_jpeg(jpeg: bytes) -> RtpJpeg:
    """Take a baseline JFIF apart into what RFC 2435 sends (the receiver rebuilds the headers)."""
    if jpeg[:2] != b"\xff\xd8":
        raise NotRtpJpeg("not a JPEG")
    i, tables, sof = 2, {}, None
    while i + 4 <= len(jpeg):
        if jpeg[i] != 0xFF:
            raise NotRtpJpeg(f"bad marker at {i}")
        marker, length = jpeg[i + 1], int.from_bytes(jpeg[i + 2 : i + 4], "big")
        seg = jpeg[i + 4 : i + 2 + length]
        if marker == 0xDB:
            j = 0
            while j < len(seg):
                if seg[j] >> 4:
                    raise NotRtpJpeg("16-bit quantisation table")
                tables[seg[j] & 0x0F] = seg[j + 1 : j + 65]
                j += 65
        elif marker == 0xC0:
            sof = seg
        elif marker in (0xC1, 0xC2, 0xC3, 0xDD):
            raise NotRtpJpeg("not baseline, or restart intervals")
        elif marker == 0xDA:
            end = jpeg.rfind(b"\xff\xd9")
            if sof is None or end < 0 or len(tables) < 2:
                raise NotRtpJpeg("incomplete JPEG")
            height, width = int.from_bytes(sof[1:3], "big"), int.from_bytes(sof[3:5], "big")
            sampling = sof[7]
            if sof[5] != 3 or sampling not in (0x21, 0x22) or width % 8 or height % 8 or max(width, height) > 2040:
                raise NotRtpJpeg("needs YCbCr 4:2:2/4:2:0, sides a multiple of 8 and at most 2040")
            return RtpJpeg(
                0 if sampling == 0x21 else 1, width, height, tables[0] + tables[1], jpeg[i + 2 + length : end]
            )
        i += 2 + length
    raise NotRtpJpeg("no scan")


def rtp_packets(frame: RtpJpeg, seq: int, timestamp: int, ssrc: int) -> list[bytes]:
    out = []
    offset = 0
    while offset < len(frame.scan) or offset == 0:
        chunk = frame.scan[offset : offset + MAX_PAYLOAD]
        last = offset + len(chunk) >= len(frame.scan)
        header = (
            bytes((0x80, (0x80 if last else 0) | 26))
            + (seq & 0xFFFF).to_bytes(2, "big")
            + (timestamp & 0xFFFFFFFF).to_bytes(4, "big")
            + ssrc.to_bytes(4, "big")
        )
        jpeg_header = (
            bytes((0,)) + offset.to_bytes(3, "big") + bytes((frame.type, 255, frame.width // 8, frame.height // 8))
        )
        qheader = b"\x00\x00" + len(frame.qtables).to_bytes(2, "big") + frame.qtables if offset == 0 else b""
        out.append(header + jpeg_header + qheader + chunk)
        seq += 1
        offset += len(chunk)
        if not chunk:
            break
    return out


@dataclass
class RtspCameraSim(StartStop):
    host: str = "127.0.0.1"
    port: int = 0
    path: str = "/lane1"
    fps: float = 10.0
    jpeg: bytes | None = None
    stalled: bool = False
    refuse: bool = False
    sessions: int = 0  # PLAYs served
    frames_sent: int = 0
    _server: asyncio.base_events.Server | None = field(default=None, repr=False)
    _conns: set[asyncio.Task] = field(default_factory=set, repr=False)
    _frame: RtpJpeg | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"rtsp://{self.host}:{self.port}{self.path}"

    def show(self, jpeg: bytes | None) -> None:
        """Stream this JPEG (NotRtpJpeg if RFC 2435 cannot carry it); None: no picture."""
        self._frame = split_jpeg(jpeg) if jpeg is not None else None
        self.jpeg = jpeg

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("RTSP camera simulator on %s", self.url)

    async def disconnect(self) -> None:
        """Drop every session (the camera rebooted); the listener stays up."""
        for t in list(self._conns):
            t.cancel()
        for t in list(self._conns):
            with contextlib.suppress(asyncio.CancelledError):
                await t

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            await self.disconnect()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Run the session in a task of our own so disconnect() can cancel it without asyncio logging
        # a cancelled connection handler as an error.
        task = asyncio.create_task(self._session(reader, writer))
        self._conns.add(task)
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            self._conns.discard(task)
            writer.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        streamer: asyncio.Task | None = None
        session = f"{random.getrandbits(32):08X}"
        try:
            while True:
                first = await reader.readexactly(1)
                if first == b"$":  # interleaved RTCP from the client: length-prefixed, skip it
                    hdr = await reader.readexactly(3)
                    await reader.readexactly(int.from_bytes(hdr[1:3], "big"))
                    continue
                head = first + await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method = lines[0].split(" ", 1)[0]
                headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
                if int(headers.get("content-length", "0") or 0):
                    await reader.readexactly(int(headers["content-length"]))
                cseq = headers.get("cseq", "0")
                status, extra, body = "200 OK", "", b""
                if method == "OPTIONS":
                    extra = "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER\r\n"
                elif method == "DESCRIBE":
                    if self.refuse:
                        status = "503 Service Unavailable"
                    else:
                        body = (
                            f"v=0\r\no=- 0 0 IN IP4 {self.host}\r\ns=kakou camera\r\nc=IN IP4 0.0.0.0\r\n"
                            "t=0 0\r\nm=video 0 RTP/AVP 26\r\na=rtpmap:26 JPEG/90000\r\na=control:track1\r\n"
                        ).encode()
                        extra = f"Content-Base: {self.url}/\r\nContent-Type: application/sdp\r\n"
                elif method == "SETUP":
                    transport = headers.get("transport", "")
                    if "interleaved" not in transport and "TCP" not in transport:
                        status = "461 Unsupported Transport"
                    else:
                        extra = f"Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: {session};timeout=60\r\n"
                elif method == "PLAY":
                    extra = f"Session: {session}\r\n"
                    if streamer is None:
                        self.sessions += 1
                        streamer = asyncio.create_task(self._stream(writer))
                elif method == "GET_PARAMETER":
                    extra = f"Session: {session}\r\n"
                elif method == "TEARDOWN":
                    writer.write(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n\r\n".encode())
                    return
                else:
                    status = "405 Method Not Allowed"
                writer.write(
                    f"RTSP/1.0 {status}\r\nCSeq: {cseq}\r\n{extra}Content-Length: {len(body)}\r\n\r\n".encode() + body
                )
                await writer.drain()
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            UnicodeDecodeError,
            ValueError,
        ):
            pass
        finally:
            if streamer:
                streamer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await streamer

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        seq, ssrc, t0 = random.getrandbits(16), random.getrandbits(32), time.monotonic()
        while True:
            frame = self._frame
            if frame is not None and not self.stalled:
                ts = int((time.monotonic() - t0) * 90_000)
                for pkt in rtp_packets(frame, seq, ts, ssrc):
                    writer.write(b"$\x00" + len(pkt).to_bytes(2, "big") + pkt)
                    seq += 1
                self.frames_sent += 1
                with contextlib.suppress(ConnectionError):
                    await writer.drain()
            await asyncio.sleep(1.0 / self.fps)
